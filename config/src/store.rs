//! Which record store the configuration selects.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::settings::{ProjectId, Provider, RegistrySettings, Settings};

/// Root of the filesystem store when `registry.path` is not set, relative
/// to the working directory.
pub const DEFAULT_FS_PATH: &str = ".imglife/records";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStoreConfig {
    pub root: PathBuf,
    /// False when nothing was configured and the embedded default applies.
    pub configured: bool,
    /// The most records one listing may hold (`registry.max_records`).
    pub max_records: usize,
}

/// The GitLab store as configured; the token comes from the environment
/// and is looked up by the adapter's composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitlabStoreConfig {
    /// The key the URL came from, for messages: `registry.api_url` or
    /// `registry.url`.
    pub url_key: &'static str,
    pub url: Option<String>,
    /// Project number or full path, as text.
    pub project: Option<String>,
    pub http: HttpConfig,
}

/// The Gitea store as configured (`registry.url`, `registry.owner`,
/// `registry.repo`); the token (`GITEA_TOKEN`) comes from the environment
/// and is looked up by the adapter's composition. The values are checked
/// by the adapter, whose errors name the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiteaStoreConfig {
    pub url: Option<String>,
    /// The user or organisation that owns the packages.
    pub owner: Option<String>,
    /// The repository each package is linked to.
    pub repo: Option<String>,
    pub http: HttpConfig,
}

/// The S3 store as configured (`registry.bucket`, `registry.region`,
/// `registry.prefix`, `registry.url` as the endpoint override); the
/// credentials come from the AWS variables and files, looked up by the
/// adapter's composition. The values are checked by the adapter, whose
/// errors name the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3StoreConfig {
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
    /// The endpoint of an S3-compatible server; AWS when absent.
    pub url: Option<String>,
    pub http: HttpConfig,
}

/// Timeouts, retries and concurrency of an HTTP store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub retry_budget_secs: u64,
    pub concurrency: usize,
    /// The most records one listing may hold (`registry.max_records`).
    pub max_records: usize,
}

/// `registry.max_records` when not set: far above any real fleet, far
/// below what would keep imglife busy for long.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// `registry.concurrency` when not set: requests in flight while reading
/// many records, the same for every HTTP store. Reading is round trips, so
/// time is records × RTT / concurrency: 10,000 GitLab records at 20 ms RTT
/// took 15.0 s at 16, 8.0 s at 32, 4.5 s at 64, 2.9 s at 128 (issue 15,
/// emulator behind a 10 ms one-way proxy). 64 meets the target (a quarter
/// of listing + `xargs -P16 curl`); past it the gain per connection halves.
/// Per store:
/// - GitLab: GitLab.com allows 2,000 authenticated API requests a minute
///   per user, which a large read passes at any concurrency (one request
///   at a time at 20 ms is 3,000 a minute), so a lower default would not
///   avoid it: a 429 waits for its `Retry-After` (imglife-http's retry).
///   Self-managed instances have no package-API limit unless an
///   administrator sets one.
/// - Gitea: no API rate limit of its own (Go server, requests queue).
/// - S3: AWS serves 5,500 GETs a second per prefix; it picks HTTP/1.1, so
///   64 connections, each paying its handshakes once (MinIO and GCS offer
///   HTTP/2).
///
/// Over HTTP/2 (GitLab.com, most Gitea front ends) the 64 requests share
/// one connection: fewer streams than servers allow on one (nginx 128,
/// Go 250).
pub const DEFAULT_CONCURRENCY: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Fs(FsStoreConfig),
    Gitlab(GitlabStoreConfig),
    Gitea(GiteaStoreConfig),
    S3(S3StoreConfig),
    /// A provider this build does not implement yet, with its name.
    Unsupported(&'static str),
}

impl Settings {
    /// The store: `registry.provider` when given; GitLab when only
    /// `registry.url` is; otherwise the filesystem store.
    pub fn store(&self) -> Result<StoreConfig, ConfigError> {
        let registry = self.registry.clone().unwrap_or_default();
        let provider = match (registry.provider, &registry.url) {
            (Some(p), _) => Some(p),
            (None, Some(_)) => Some(Provider::Gitlab),
            (None, None) => None,
        };
        match provider {
            None => fs(self, &registry, registry.path.is_some()),
            Some(Provider::Fs) => fs(self, &registry, true),
            Some(Provider::Gitlab) => gitlab(self, &registry),
            Some(Provider::Gitea) => gitea(self, &registry),
            Some(Provider::S3) => s3(self, &registry),
        }
    }
}

fn gitlab(settings: &Settings, registry: &RegistrySettings) -> Result<StoreConfig, ConfigError> {
    let (url_key, url) = match (&registry.api_url, &registry.url) {
        (Some(api), _) => ("registry.api_url", Some(api.clone())),
        (None, url) => ("registry.url", url.clone()),
    };
    let project = registry.project_id.as_ref().map(|p| match p {
        ProjectId::Number(n) => n.to_string(),
        ProjectId::Path(p) => p.clone(),
    });
    Ok(StoreConfig::Gitlab(GitlabStoreConfig {
        url_key,
        url,
        project,
        http: http_settings(settings, registry)?,
    }))
}

fn gitea(settings: &Settings, registry: &RegistrySettings) -> Result<StoreConfig, ConfigError> {
    Ok(StoreConfig::Gitea(GiteaStoreConfig {
        url: registry.url.clone(),
        owner: registry.owner.clone(),
        repo: registry.repo.clone(),
        http: http_settings(settings, registry)?,
    }))
}

fn s3(settings: &Settings, registry: &RegistrySettings) -> Result<StoreConfig, ConfigError> {
    Ok(StoreConfig::S3(S3StoreConfig {
        bucket: registry.bucket.clone(),
        region: registry.region.clone(),
        prefix: registry.prefix.clone(),
        url: registry.url.clone(),
        http: http_settings(settings, registry)?,
    }))
}

/// The HTTP-store keys with their defaults; a zero where at least one is
/// needed is an error naming the key and where its value came from.
fn http_settings(
    settings: &Settings,
    registry: &RegistrySettings,
) -> Result<HttpConfig, ConfigError> {
    let http = HttpConfig {
        connect_timeout_secs: registry.connect_timeout_secs.unwrap_or(10),
        timeout_secs: registry.timeout_secs.unwrap_or(30),
        max_retries: registry.max_retries.unwrap_or(4),
        retry_budget_secs: registry.retry_budget_secs.unwrap_or(60),
        concurrency: registry.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        max_records: registry.max_records.unwrap_or(DEFAULT_MAX_RECORDS),
    };
    for (key, value) in [
        ("registry.connect_timeout_secs", http.connect_timeout_secs),
        ("registry.timeout_secs", http.timeout_secs),
        ("registry.concurrency", http.concurrency as u64),
        ("registry.max_records", http.max_records as u64),
    ] {
        if value == 0 {
            return Err(ConfigError::new(format!(
                "{} must be at least 1",
                settings.origin(key)
            )));
        }
    }
    Ok(http)
}

fn fs(
    settings: &Settings,
    registry: &RegistrySettings,
    configured: bool,
) -> Result<StoreConfig, ConfigError> {
    let root = registry
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FS_PATH));
    if root.as_os_str().is_empty() {
        return Err(ConfigError::new(format!(
            "{} is empty; set it to the directory that keeps the records",
            settings.origin("registry.path")
        )));
    }
    let max_records = registry.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
    if max_records == 0 {
        return Err(ConfigError::new(format!(
            "{} must be at least 1",
            settings.origin("registry.max_records")
        )));
    }
    Ok(StoreConfig::Fs(FsStoreConfig {
        root,
        configured,
        max_records,
    }))
}

#[cfg(test)]
mod concurrency_tests {
    use super::*;
    use crate::settings::Provider;

    fn http(provider: Provider, concurrency: Option<usize>) -> HttpConfig {
        let settings = Settings {
            registry: Some(RegistrySettings {
                provider: Some(provider),
                concurrency,
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        match settings.store().expect("a store") {
            StoreConfig::Gitlab(c) => c.http,
            StoreConfig::Gitea(c) => c.http,
            StoreConfig::S3(c) => c.http,
            other => panic!("not an HTTP store: {other:?}"),
        }
    }

    #[test]
    fn every_http_store_reads_64_at_a_time_unless_configured() {
        assert_eq!(DEFAULT_CONCURRENCY, 64);
        for provider in [Provider::Gitlab, Provider::Gitea, Provider::S3] {
            assert_eq!(http(provider, None).concurrency, 64, "{provider:?}");
            assert_eq!(http(provider, Some(200)).concurrency, 200, "{provider:?}");
        }
    }

    #[test]
    fn zero_concurrency_is_refused_for_gitlab_too() {
        let settings = Settings {
            registry: Some(RegistrySettings {
                provider: Some(Provider::Gitlab),
                concurrency: Some(0),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        let error = settings.store().expect_err("zero").to_string();
        assert!(error.contains("registry.concurrency"), "{error}");
    }
}

#[cfg(test)]
mod gitea_tests {
    use super::*;
    use crate::settings::Provider;

    fn settings(registry: RegistrySettings) -> Settings {
        Settings {
            registry: Some(registry),
            ..Settings::default()
        }
    }

    #[test]
    fn provider_gitea_selects_the_gitea_store_with_its_keys() {
        let config = settings(RegistrySettings {
            provider: Some(Provider::Gitea),
            url: Some("https://gitea.example.com".to_owned()),
            owner: Some("platform".to_owned()),
            repo: Some("base-images".to_owned()),
            concurrency: Some(4),
            ..RegistrySettings::default()
        })
        .store()
        .expect("gitea");
        let StoreConfig::Gitea(gitea) = config else {
            panic!("not the gitea store: {config:?}");
        };
        assert_eq!(gitea.url.as_deref(), Some("https://gitea.example.com"));
        assert_eq!(gitea.owner.as_deref(), Some("platform"));
        assert_eq!(gitea.repo.as_deref(), Some("base-images"));
        assert_eq!(gitea.http.concurrency, 4);
        assert_eq!(gitea.http.max_records, DEFAULT_MAX_RECORDS);
    }

    #[test]
    fn zero_http_values_name_the_key_and_its_origin() {
        let mut config = settings(RegistrySettings {
            provider: Some(Provider::Gitea),
            max_records: Some(0),
            ..RegistrySettings::default()
        });
        config.origins.insert(
            "registry.max_records".to_owned(),
            "variable IMGLIFE_REGISTRY__MAX_RECORDS".to_owned(),
        );
        let error = config.store().expect_err("zero").to_string();
        assert_eq!(
            error,
            "registry.max_records (from variable IMGLIFE_REGISTRY__MAX_RECORDS) must be at least 1"
        );
    }
}

#[cfg(test)]
mod s3_tests {
    use super::*;
    use crate::settings::Provider;

    #[test]
    fn provider_s3_selects_the_s3_store_with_its_keys() {
        let config = Settings {
            registry: Some(RegistrySettings {
                provider: Some(Provider::S3),
                url: Some("http://garage.internal:3900".to_owned()),
                bucket: Some("imglife".to_owned()),
                region: Some("garage".to_owned()),
                prefix: Some("builds".to_owned()),
                timeout_secs: Some(5),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        }
        .store()
        .expect("s3");
        let StoreConfig::S3(s3) = config else {
            panic!("not the s3 store: {config:?}");
        };
        assert_eq!(s3.bucket.as_deref(), Some("imglife"));
        assert_eq!(s3.region.as_deref(), Some("garage"));
        assert_eq!(s3.prefix.as_deref(), Some("builds"));
        assert_eq!(s3.url.as_deref(), Some("http://garage.internal:3900"));
        assert_eq!(s3.http.timeout_secs, 5);
        assert_eq!(s3.http.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(s3.http.max_records, DEFAULT_MAX_RECORDS);
    }
}
