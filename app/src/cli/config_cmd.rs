//! `imglife config show`, `imglife config check` and the global `--check`:
//! the configuration in effect, where each value came from, and whether
//! it would work, without running a command or contacting anything.

use std::fmt::Write as _;
use std::path::Path;

use imglife_config::keys::{KEYS, Key};
use imglife_config::{ConfigFile, FileOrigin, Settings, StoreConfig};

use crate::cli::{AppCommand, Cli, Command, SourceArg};
use crate::compose;
use crate::error::Failure;
use crate::output::print;

/// What `config show` prints instead of a secret.
const REDACTED: &str = "<redacted>";

/// The configuration's warnings (unknown top-level keys), one `warning:`
/// line each on stderr.
pub fn warn(settings: &Settings) {
    for warning in &settings.warnings {
        anstream::eprintln!("warning: {}", imglife_domain::text::escape(warning));
    }
}

/// `config check` and `--check`: the configuration loaded (already done by
/// the caller), then what the command would build from it: the store
/// adapter (a write store for `register` and `app purge`, where CI=true
/// refuses the implicit default store), the tag rule of `status`, the
/// Docker daemon's endpoint for `register --source docker`. Nothing is
/// contacted.
pub fn check(
    command: Option<&Command>,
    settings: &Settings,
    cwd: &Path,
    ci: bool,
) -> Result<(), Failure> {
    match command {
        Some(Command::Register(args)) => {
            compose::record_store(settings, cwd, ci, args.dry_run)?;
            if args.source == Some(SourceArg::Docker)
                || (args.source.is_none()
                    && settings.source == imglife_config::SourceChoice::Docker)
            {
                compose::metadata_source(settings)?;
            }
        }
        Some(Command::App(AppCommand::Purge(args))) => {
            compose::record_store(settings, cwd, ci, args.dry_run)?;
        }
        _ => {
            compose::record_reader(settings, cwd)?;
        }
    }
    let tag_format = settings
        .build
        .as_ref()
        .and_then(|b| b.tag_format.as_deref());
    imglife::status::TagRule::new(tag_format)
        .map_err(|e| Failure::new(format!("{} {e}", settings.origin("build.tag_format"))))?;
    let store = settings.store().map_err(|e| Failure::new(e.to_string()))?;
    print(
        format!(
            "configuration is valid; store: {}\n",
            describe_store(&store)
        )
        .as_bytes(),
    )
}

/// `imglife config show`.
pub fn show(
    cli: &Cli,
    file: Option<&ConfigFile>,
    settings: &Settings,
    cwd: &Path,
) -> Result<(), Failure> {
    let store = settings.store().map_err(|e| Failure::new(e.to_string()))?;
    let env = |name: &str| std::env::var(name).ok();
    let text = render(&Shown {
        cli_flags: flags_given(cli),
        file: describe_file(file, cwd),
        settings,
        store: &store,
        env: &env,
        vars: std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect(),
    });
    print(text.as_bytes())
}

/// Everything `render` needs, so that tests can give their own.
struct Shown<'a> {
    /// Keys set by a flag, with the flag.
    cli_flags: Vec<(&'static str, &'static str)>,
    file: String,
    settings: &'a Settings,
    store: &'a StoreConfig,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Names of the variables set.
    vars: Vec<String>,
}

fn flags_given(cli: &Cli) -> Vec<(&'static str, &'static str)> {
    let mut flags = Vec::new();
    if cli.log_level.is_some() {
        flags.push(("log_level", "--log-level"));
    }
    if cli.log_format.is_some() {
        flags.push(("log_format", "--log-format"));
    }
    if cli.color.is_some() {
        flags.push(("color", "--color"));
    }
    flags
}

fn describe_file(file: Option<&ConfigFile>, cwd: &Path) -> String {
    match file {
        Some(ConfigFile {
            path,
            origin: FileOrigin::Flag,
        }) => format!("{} (--config)", path.display()),
        Some(ConfigFile {
            path,
            origin: FileOrigin::Env,
        }) => format!("{} (IMGLIFE_CONFIG)", path.display()),
        None => {
            let default = cwd.join("imglife.yaml");
            if default.is_file() {
                format!("{} (found in the working directory)", default.display())
            } else {
                "none (no ./imglife.yaml)".to_owned()
            }
        }
    }
}

/// The provider `store` is, as `registry.provider` spells it.
fn provider(store: &StoreConfig) -> &'static str {
    match store {
        StoreConfig::Fs(_) => "fs",
        StoreConfig::Gitlab(_) => "gitlab",
        StoreConfig::Gitea(_) => "gitea",
        StoreConfig::S3(_) => "s3",
        StoreConfig::Unsupported(name) => name,
    }
}

/// One line on where records go.
fn describe_store(store: &StoreConfig) -> String {
    let or_unset = |v: &Option<String>| v.as_deref().map_or("(not set)".to_owned(), redact_url);
    match store {
        StoreConfig::Fs(fs) if fs.configured => format!("filesystem {}", fs.root.display()),
        StoreConfig::Fs(fs) => format!(
            "filesystem {} (the embedded default: nothing configured)",
            fs.root.display()
        ),
        StoreConfig::Gitlab(g) => {
            let url = match (&g.url, std::env::var("CI_SERVER_URL")) {
                (Some(url), _) => redact_url(url),
                (None, Ok(server)) if !server.trim().is_empty() => {
                    format!("{} (CI_SERVER_URL)", redact_url(&server))
                }
                (None, _) => "(no URL)".to_owned(),
            };
            format!(
                "gitlab {url} project {}",
                g.project.as_deref().unwrap_or("(not set)")
            )
        }
        StoreConfig::Gitea(g) => format!(
            "gitea {} owner {} repo {}",
            or_unset(&g.url),
            g.owner.as_deref().unwrap_or("(not set)"),
            g.repo.as_deref().unwrap_or("(not set)")
        ),
        StoreConfig::S3(s) => format!(
            "s3 bucket {} region {} prefix {} endpoint {}",
            s.bucket.as_deref().unwrap_or("(not set)"),
            s.region.as_deref().unwrap_or("(default)"),
            s.prefix.as_deref().unwrap_or("(none)"),
            s.url.as_deref().map_or("AWS".to_owned(), redact_url)
        ),
        StoreConfig::Unsupported(name) => format!("{name} (not supported by this build)"),
    }
}

/// A URL's password, if it carries one, replaced by `<redacted>`:
/// `https://user:secret@host` → `https://user:<redacted>@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:{REDACTED}@{host}{path}")
            } else {
                format!("{scheme}://{REDACTED}@{host}{path}")
            }
        }
        None => url.to_owned(),
    }
}

/// Whether `key` matters to the selected store: every key outside
/// `registry:` does; inside it, those of the store in use.
fn applies(key: &Key, provider: &str) -> bool {
    key.stores.is_empty() || key.stores.contains(&provider)
}

/// Where a value came from, for the annotation.
fn origin(shown: &Shown<'_>, key: &Key) -> Option<String> {
    if let Some((_, flag)) = shown.cli_flags.iter().find(|(k, _)| *k == key.name) {
        return Some(format!("flag {flag}"));
    }
    shown.settings.origins.get(key.name).cloned()
}

/// The YAML document: a header, every key under its section with its
/// value and origin, then the credentials the environment holds.
fn render(shown: &Shown<'_>) -> String {
    let provider = provider(shown.store);
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut section = "";
    for key in KEYS {
        let value = shown.settings.yaml_value(key.name);
        let set_by = origin(shown, key);
        let (value, note) = match (value, key.name) {
            // Unset provider: what the rule picked, and why.
            (None, "registry.provider") => (
                Some(provider.to_owned()),
                match shown.store {
                    StoreConfig::Gitlab(_) => "default: registry.url is set".to_owned(),
                    _ => "default: no store configured, the embedded filesystem store".to_owned(),
                },
            ),
            (None, "registry.url") if provider == "gitlab" => {
                match (shown.env)("CI_SERVER_URL").filter(|u| !u.trim().is_empty()) {
                    Some(server) => (
                        Some(redact_url(&server)),
                        "variable CI_SERVER_URL (GitLab CI)".to_owned(),
                    ),
                    None => (None, "not set".to_owned()),
                }
            }
            (Some(v), "registry.url" | "registry.api_url") => (
                Some(redact_url(v.trim_matches(['\'', '"']))),
                set_by.unwrap_or_else(|| "default".to_owned()),
            ),
            (Some(v), _) => (Some(v), set_by.unwrap_or_else(|| "default".to_owned())),
            (None, _) => match key.default {
                Some(default) => (Some(default_yaml(default)), "default".to_owned()),
                None => (None, "not set".to_owned()),
            },
        };
        let relevant = applies(key, provider) && key.name != "registry.config_ref";
        let is_set = note != "default" && note != "not set";
        if !relevant && !is_set {
            continue;
        }
        let note = if relevant {
            note
        } else {
            format!("{note}; not read by the {provider} store")
        };
        let top = key.section();
        let indent = if top == key.name {
            ""
        } else {
            if section != top {
                lines.push((format!("{top}:"), String::new()));
            }
            "  "
        };
        section = top;
        let left = match value {
            Some(v) => format!("{indent}{}: {v}", key.leaf()),
            None => format!("{indent}# {}:", key.leaf()),
        };
        lines.push((left, note));
    }
    let credentials = credentials(shown, provider);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "# imglife configuration in effect (imglife config show)"
    );
    let _ = writeln!(out, "# config file: {}", shown.file);
    let _ = writeln!(out, "# store: {}", describe_store(shown.store));
    let _ = writeln!(
        out,
        "# layers, lowest first: default < config file < IMGLIFE_* variable < flag"
    );
    let width = lines
        .iter()
        .chain(credentials.iter())
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for (left, note) in lines.iter().chain(credentials.iter()) {
        if note.is_empty() {
            let _ = writeln!(out, "{left}");
        } else {
            let _ = writeln!(out, "{left:width$}  # {note}");
        }
    }
    out
}

/// A default as written in the table, as YAML (quoted when YAML would
/// read it otherwise).
fn default_yaml(text: &str) -> String {
    if text.starts_with('[') || text.parse::<u64>().is_ok() {
        return text.to_owned();
    }
    serde_json::to_string(text)
        .ok()
        .filter(|_| text.contains(['{', '}', ':', '#']))
        .unwrap_or_else(|| text.to_owned())
}

/// The secrets the environment holds, by name only, each with whether
/// and how it is used. Values are never read into the output.
fn credentials(shown: &Shown<'_>, provider: &str) -> Vec<(String, String)> {
    let env = shown.env;
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let mut names: Vec<String> = shown
        .vars
        .iter()
        .filter(|name| is_secret(name))
        .filter(|name| set(name))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let mut lines = vec![(
        if names.is_empty() {
            "credentials: {}".to_owned()
        } else {
            "credentials:".to_owned()
        },
        "from the environment: which are used, never their values".to_owned(),
    )];
    let gitlab_token =
        imglife_gitlab_store::Token::from_env(&|n: &str| env(n)).map(|t| t.source().variable());
    let s3_source = (provider == "s3").then(|| {
        imglife_s3_store::Credentials::from_env(&|n: &str| env(n))
            .map(|c| c.source().describe())
            .unwrap_or_else(|e| format!("invalid: {e}"))
    });
    for name in names {
        let note = match name.as_str() {
            "GITLAB_TOKEN" | "CI_JOB_TOKEN" if provider != "gitlab" => {
                format!("not used: the store is {provider}")
            }
            "GITLAB_TOKEN" | "CI_JOB_TOKEN" if gitlab_token == Some(name.as_str()) => {
                let header = if name == "GITLAB_TOKEN" {
                    "PRIVATE-TOKEN"
                } else {
                    "JOB-TOKEN"
                };
                format!("used: the gitlab store's token, sent as {header}")
            }
            "GITLAB_TOKEN" | "CI_JOB_TOKEN" => "not used: GITLAB_TOKEN comes first".to_owned(),
            "GITEA_TOKEN" if provider == "gitea" => "used: the gitea store's token".to_owned(),
            "GITEA_TOKEN" => format!("not used: the store is {provider}"),
            aws if aws.starts_with("AWS_") => match &s3_source {
                Some(source) => format!("s3 store credentials: {source}"),
                None => format!("not used: the store is {provider}"),
            },
            "CI_REGISTRY_PASSWORD" => "register: credentials for $CI_REGISTRY".to_owned(),
            _ => "register: credentials of an OCI registry".to_owned(),
        };
        lines.push((format!("  {name}: {REDACTED}"), note));
    }
    lines
}

/// Variables holding secrets: the stores' tokens, every `AWS_*`, the
/// GitLab CI registry password, and `IMGLIFE_<HOST>_{USERNAME,PASSWORD,TOKEN}`.
fn is_secret(name: &str) -> bool {
    matches!(
        name,
        "GITLAB_TOKEN" | "CI_JOB_TOKEN" | "GITEA_TOKEN" | "CI_REGISTRY_PASSWORD"
    ) || name.starts_with("AWS_")
        || (name.starts_with("IMGLIFE_")
            && !name.contains("__")
            && ["_USERNAME", "_PASSWORD", "_TOKEN"]
                .iter()
                .any(|s| name.ends_with(s)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use imglife_config::{Overrides, RegistrySettings};

    use super::*;

    fn shown_text(settings: &Settings, env: &[(&str, &str)]) -> String {
        let map: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| map.get(name).cloned();
        let store = settings.store().expect("store");
        render(&Shown {
            cli_flags: vec![("log_level", "--log-level")],
            file: "none".to_owned(),
            settings,
            store: &store,
            env: &lookup,
            vars: env.iter().map(|(k, _)| (*k).to_owned()).collect(),
        })
    }

    #[test]
    fn every_value_has_an_origin_and_secrets_stay_hidden() {
        let mut settings = Settings {
            registry: Some(RegistrySettings {
                url: Some("https://ci:hunter2@gitlab.example.com".into()),
                project_id: Some(imglife_config::ProjectId::Number(42)),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        settings.origins.insert(
            "registry.url".into(),
            "config file /w/imglife.yaml line 2".into(),
        );
        settings.origins.insert(
            "registry.project_id".into(),
            "variable IMGLIFE_REGISTRY__PROJECT_ID".into(),
        );
        let text = shown_text(
            &settings,
            &[
                ("GITLAB_TOKEN", "glpat-hidden-value"),
                ("CI_JOB_TOKEN", "job-hidden-value"),
                ("AWS_SECRET_ACCESS_KEY", "aws-hidden-value"),
                ("IMGLIFE_GHCR_IO_TOKEN", "ghp-hidden-value"),
                ("HOME", "/root"),
            ],
        );
        assert!(!text.contains("hidden-value"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        for needle in [
            "url: https://ci:<redacted>@gitlab.example.com",
            "# config file /w/imglife.yaml line 2",
            "project_id: 42",
            "# variable IMGLIFE_REGISTRY__PROJECT_ID",
            "provider: gitlab",
            "# default: registry.url is set",
            "log_level: warn",
            "# flag --log-level",
            "timeout_secs: 30",
            "GITLAB_TOKEN: <redacted>",
            "used: the gitlab store's token, sent as PRIVATE-TOKEN",
            "CI_JOB_TOKEN: <redacted>",
            "not used: GITLAB_TOKEN comes first",
            "AWS_SECRET_ACCESS_KEY: <redacted>",
            "IMGLIFE_GHCR_IO_TOKEN: <redacted>",
        ] {
            assert!(text.contains(needle), "{needle} missing:\n{text}");
        }
        assert!(!text.contains("HOME"), "{text}");
        assert!(!text.contains("  path:"), "fs keys left out: {text}");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
        assert_eq!(yaml["registry"]["project_id"], serde_yaml::Value::from(42));
        assert_eq!(
            yaml["inspection"]["timeout_secs"],
            serde_yaml::Value::from(60)
        );
    }

    #[test]
    fn the_default_store_is_named_and_keys_of_other_stores_are_flagged() {
        let mut settings = Settings {
            registry: Some(RegistrySettings {
                bucket: Some("b".into()),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        settings.origins.insert(
            "registry.bucket".into(),
            "variable IMGLIFE_REGISTRY__BUCKET".into(),
        );
        let text = shown_text(&settings, &[]);
        assert!(text.contains("provider: fs"), "{text}");
        assert!(text.contains("the embedded filesystem store"), "{text}");
        assert!(text.contains("path: .imglife/records"), "{text}");
        assert!(
            text.contains("variable IMGLIFE_REGISTRY__BUCKET; not read by the fs store"),
            "{text}"
        );
        assert!(text.contains("credentials: {}"), "{text}");
        assert!(
            text.contains("tag_format: \"{{.Version}}-core{{.CoreVersion}}\""),
            "{text}"
        );
        serde_yaml::from_str::<serde_yaml::Value>(&text).expect("valid YAML");
    }

    #[test]
    fn urls_lose_their_passwords_only() {
        assert_eq!(redact_url("https://g.example/x"), "https://g.example/x");
        assert_eq!(
            redact_url("https://u:p@g.example:8443/api?x=@"),
            "https://u:<redacted>@g.example:8443/api?x=@"
        );
        assert_eq!(
            redact_url("https://token@g.example"),
            "https://<redacted>@g.example"
        );
    }

    #[test]
    fn loading_then_showing_names_file_lines() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("imglife.yaml"),
            "registry:\n  provider: fs\n  path: recs\nretention:\n  keep_last: 3\n",
        )
        .expect("write");
        let settings = imglife_config::load(None, dir.path(), &Overrides::default()).expect("load");
        let text = shown_text(&settings, &[]);
        assert!(
            text.contains("line 3") && text.contains("path: recs"),
            "{text}"
        );
        assert!(text.contains("keep_last: 3"), "{text}");
    }
}
