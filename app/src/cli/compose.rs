//! The composition root: the one place that turns configuration into
//! adapters. Use cases only ever see the ports: a `RecordReader` for the
//! commands that read, a `RecordStore` for those that write.

use std::path::Path;
use std::time::Duration;

use imglife::sources::{Fallback, Unavailable};
use imglife::stores::DryRun;
use imglife_config::{
    DEFAULT_FS_PATH, GiteaStoreConfig, GitlabStoreConfig, HttpConfig, S3StoreConfig, Settings,
    SourceChoice, StoreConfig,
};
use imglife_docker_daemon::{DockerSource, Endpoint};
use imglife_domain::ports::{
    ImageMetadataSource, RecordReader, RecordStore, Reporter, SilentReporter,
};
use imglife_fs_store::FsStore;
use imglife_fs_store::cache::FsCache;
use imglife_gitea_store::{GiteaSettings, GiteaStore};
use imglife_gitlab_store::{
    GitlabSettings, GitlabStore, RetryPolicy, SettingsError, StoreOptions, Token,
};
use imglife_oci_registry::{RegistryOptions, RegistrySource};
use imglife_terminal::SpinnerReporter;

use crate::error::Failure;

/// Progress on stderr (a spinner, a bar for long reads) when it is
/// wanted and stderr is a terminal; nothing for machine-readable output.
pub fn reporter(show_progress: bool) -> Box<dyn Reporter> {
    if show_progress {
        Box::new(SpinnerReporter::new())
    } else {
        Box::new(SilentReporter)
    }
}

/// The async runtime of one command: a single thread is enough for a CLI
/// whose work is waiting on I/O, and it starts fastest.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
}

/// The store of `status` and `app list`: a reader, so a read command holds
/// nothing that could write or delete. Reading is allowed everywhere, also
/// from the implicit default store under `CI=true`.
pub fn record_reader(settings: &Settings, cwd: &Path) -> Result<Box<dyn RecordReader>, Failure> {
    let config = store_config(settings)?;
    Ok(open_store(settings, cwd, config)?)
}

/// The store of `register` and `app purge`. A dry run gets the configured
/// store as a reader inside `DryRun`, which writes nothing, so the use
/// cases run unchanged; only a real write is refused the implicit default
/// store under `CI=true`.
pub fn record_store(
    settings: &Settings,
    cwd: &Path,
    ci: bool,
    dry_run: bool,
) -> Result<Box<dyn RecordStore>, Failure> {
    if dry_run {
        return Ok(Box::new(DryRun::new(record_reader(settings, cwd)?)));
    }
    let config = store_config(settings)?;
    // In CI the working directory is thrown away with the job: an
    // implicit local store there would lose every record silently.
    if let StoreConfig::Fs(fs) = &config
        && ci
        && !fs.configured
    {
        return Err(Failure::new(format!(
            "no record store is configured and CI=true: records in the default \
             filesystem store ({DEFAULT_FS_PATH}) would vanish with the job; configure \
             a store in imglife.yaml (registry.url and registry.project_id for GitLab), \
             or keep records on disk on purpose with registry.provider: fs and \
             registry.path (IMGLIFE_REGISTRY__PROVIDER=fs IMGLIFE_REGISTRY__PATH=DIR)"
        )));
    }
    open_store(settings, cwd, config)
}

/// The read cache of `status`, `app list` and `app purge`: `cache.dir`,
/// else `$XDG_CACHE_HOME/imglife`, else `$HOME/.cache/imglife`; none with
/// `--no-cache` or when there is no such directory (nothing cached, nothing
/// said). It reads at most `registry.max_records` entries.
pub fn record_cache(settings: &Settings, cwd: &Path, no_cache: bool) -> Option<FsCache> {
    if no_cache {
        return None;
    }
    let env = |name: &str| std::env::var(name).ok();
    let dir = settings.cache_dir(cwd, &env)?;
    let max_records = settings
        .registry
        .as_ref()
        .and_then(|r| r.max_records)
        .unwrap_or(imglife_config::DEFAULT_MAX_RECORDS);
    Some(FsCache::new(dir).max_records(max_records))
}

fn store_config(settings: &Settings) -> Result<StoreConfig, Failure> {
    settings.store().map_err(|e| Failure::new(e.to_string()))
}

/// The configured store adapter, the same for reading and writing.
fn open_store(
    settings: &Settings,
    cwd: &Path,
    config: StoreConfig,
) -> Result<Box<dyn RecordStore>, Failure> {
    match config {
        StoreConfig::Fs(fs) => Ok(Box::new(
            FsStore::new(&fs.root, cwd)
                .must_exist(fs.configured)
                .max_records(fs.max_records),
        )),
        StoreConfig::Gitlab(gitlab) => Ok(Box::new(gitlab_store(settings, &gitlab)?)),
        StoreConfig::Gitea(gitea) => Ok(Box::new(gitea_store(settings, &gitea)?)),
        StoreConfig::S3(s3) => Ok(Box::new(s3_store(settings, &s3)?)),
        StoreConfig::Unsupported(name) => Err(Failure::new(format!(
            "registry.provider {name}: this build of imglife cannot use the {name} store yet; \
             use registry.provider: fs"
        ))),
    }
}

/// An adapter's configuration error, with the key's origin (file and
/// line, or variable) when the key is known.
fn settings_failure(settings: &Settings, error: &SettingsError) -> Failure {
    match &error.key {
        Some(key) => Failure::new(format!("{} {}", settings.origin(key), error.message)),
        None => Failure::new(error.message.clone()),
    }
}

/// GitLab CI's variable naming the instance's URL.
const CI_SERVER_URL: &str = "CI_SERVER_URL";

fn gitlab_store(settings: &Settings, config: &GitlabStoreConfig) -> Result<GitlabStore, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let token = Token::from_env(&env);
    let http = config.http;
    // Inside GitLab CI the instance is known: with no registry.url, the
    // records go to the GitLab that runs the job.
    let ci_server = env("CI_SERVER_URL").filter(|u| !u.trim().is_empty());
    let (url_key, url) = match (&config.url, ci_server) {
        (Some(url), _) => (config.url_key, Some(url.clone())),
        (None, Some(server)) => (CI_SERVER_URL, Some(server)),
        (None, None) => (config.url_key, None),
    };
    let gitlab = GitlabSettings::new(url_key, url.as_deref(), config.project.as_deref(), token)
        .map_err(|e| match e.key.as_deref() {
            Some(CI_SERVER_URL) => Failure::new(format!(
                "variable CI_SERVER_URL (GitLab CI's, used as registry.url) {}",
                e.message
            )),
            _ => settings_failure(settings, &e),
        })?
        .with_http(store_options(&http))
        .with_max_records(http.max_records);
    GitlabStore::new(gitlab).map_err(|e| settings_failure(settings, &e))
}

/// The Gitea store: `registry.url`, `registry.owner`, `registry.repo`, the
/// HTTP-store keys, and the token in `GITEA_TOKEN` (optional: without it
/// requests are anonymous, enough to read a public owner's records).
fn gitea_store(settings: &Settings, config: &GiteaStoreConfig) -> Result<GiteaStore, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let token = imglife_gitea_store::Token::from_env(&env);
    let failure = |e: imglife_gitea_store::SettingsError| match &e.key {
        Some(key) => Failure::new(format!("{} {}", settings.origin(key), e.message)),
        None => Failure::new(e.message),
    };
    let http = config.http;
    let gitea = GiteaSettings::new(
        config.url.as_deref(),
        config.owner.as_deref(),
        config.repo.as_deref(),
        token,
    )
    .map_err(failure)?
    .with_http(store_options(&http))
    .with_max_records(http.max_records);
    GiteaStore::new(gitea).map_err(failure)
}

/// The S3 store: `registry.bucket`, `registry.region`, `registry.prefix`,
/// `registry.url` (endpoint override), the HTTP-store keys, and the
/// credentials the AWS SDKs would find (variables, shared files, web
/// identity, container, instance metadata).
fn s3_store(
    settings: &Settings,
    config: &S3StoreConfig,
) -> Result<imglife_s3_store::S3Store, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    // Without `registry.region`, the region the AWS SDKs and CLI take from
    // the environment, in their order; a CI job set up for AWS has one.
    let env_region = match &config.region {
        Some(_) => None,
        None => ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .into_iter()
            .find_map(|name| {
                env(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|value| (name, value))
            }),
    };
    let failure = |e: imglife_s3_store::SettingsError| match (e.key.as_deref(), &env_region) {
        (Some("registry.region"), Some((name, _))) => Failure::new(format!(
            "{name} (the region, as registry.region is not set) {}",
            e.message
        )),
        (Some(key), _) => Failure::new(format!("{} {}", settings.origin(key), e.message)),
        (None, _) => Failure::new(e.message),
    };
    let credentials = imglife_s3_store::Credentials::from_env(&env).map_err(failure)?;
    let http = config.http;
    let region = config
        .region
        .as_deref()
        .or(env_region.as_ref().map(|(_, value)| value.as_str()));
    let s3 = imglife_s3_store::S3Settings::new(
        config.bucket.as_deref(),
        region,
        config.prefix.as_deref(),
        config.url.as_deref(),
        credentials,
    )
    .map_err(failure)?
    .with_http(store_options(&http))
    .with_max_records(http.max_records);
    imglife_s3_store::S3Store::new(s3).map_err(failure)
}

/// The HTTP-store keys every networked store takes the same way.
fn store_options(http: &HttpConfig) -> StoreOptions {
    StoreOptions {
        retry: RetryPolicy {
            max_retries: http.max_retries,
            budget: Duration::from_secs(http.retry_budget_secs),
            ..RetryPolicy::default()
        },
        connect_timeout: Duration::from_secs(http.connect_timeout_secs),
        request_timeout: Duration::from_secs(http.timeout_secs),
        concurrency: http.concurrency,
    }
}

/// The image-metadata source for `--base` and `--platform` when they are
/// missing: `source: registry`, `docker`, or `auto` (the registry, else
/// the local daemon).
pub fn metadata_source(
    settings: &Settings,
) -> Result<Option<Box<dyn ImageMetadataSource>>, Failure> {
    Ok(Some(match settings.source {
        SourceChoice::Registry => Box::new(registry_source(settings)?),
        SourceChoice::Docker => Box::new(docker_source(settings)?),
        SourceChoice::Auto => {
            let daemon: Box<dyn ImageMetadataSource> = match docker_source(settings) {
                Ok(source) => Box::new(source),
                Err(e) => Box::new(Unavailable::new("docker daemon", e.to_string())),
            };
            Box::new(Fallback::new(Box::new(registry_source(settings)?), daemon))
        }
    }))
}

/// The daemon the docker CLI would use here: `DOCKER_HOST` with the TLS
/// variables, else the current docker context (`DOCKER_CONTEXT`, the
/// configuration's `currentContext`), else the default socket.
fn docker_source(settings: &Settings) -> Result<DockerSource, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let endpoint = Endpoint::resolve(&env).map_err(|e| Failure::new(e.to_string()))?;
    Ok(DockerSource::new(
        endpoint,
        Duration::from_secs(settings.inspection.timeout_secs.max(1)),
    ))
}

fn registry_source(settings: &Settings) -> Result<RegistrySource, Failure> {
    // Zero timeouts were refused when the configuration was loaded.
    let inspection = settings.inspection;
    let options = RegistryOptions {
        insecure_registries: settings
            .registry
            .as_ref()
            .map(|r| r.insecure_registries.clone())
            .unwrap_or_default(),
        connect_timeout: Duration::from_secs(inspection.connect_timeout_secs),
        timeout: Duration::from_secs(inspection.timeout_secs),
        max_retries: usize::try_from(inspection.max_retries).unwrap_or(usize::MAX),
    };
    Ok(RegistrySource::new(options, RegistrySource::process_env()))
}
