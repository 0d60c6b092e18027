//! Every configuration key, described once: its default, its variable,
//! the flag that overrides it and the commands that read it.
//!
//! `imglife config show` walks this table, `docs/configuration.md` is
//! generated from it (`imglife docs`), and the tests below hold it to
//! `settings.rs` and `store.rs`: a key added there and missing here, or a
//! default changed on one side only, fails the build's tests.

/// The commands that read the store configuration.
const STORE_COMMANDS: &[&str] = &["register", "status", "app list", "app purge"];
/// Every command that loads the configuration.
const ALL_COMMANDS: &[&str] = &[
    "register",
    "status",
    "app list",
    "app purge",
    "config show",
    "config check",
];
/// The providers that speak HTTP.
const HTTP_STORES: &[&str] = &["gitlab", "gitea", "s3"];

/// One key of `imglife.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Dotted path: `registry.url`.
    pub name: &'static str,
    /// The default as written in YAML; `None` when there is none.
    pub default: Option<&'static str>,
    /// What may be written: `off, error, warn, info, debug, trace`, `seconds`.
    pub values: &'static str,
    /// The flag that overrides it, if any.
    pub flag: Option<&'static str>,
    /// The commands that read it.
    pub commands: &'static [&'static str],
    /// For `registry.*` keys: the stores that read it (empty: every store,
    /// or not a store key).
    pub stores: &'static [&'static str],
    /// One line on what it does.
    pub about: &'static str,
}

impl Key {
    /// `IMGLIFE_REGISTRY__URL`.
    pub fn variable(&self) -> String {
        format!(
            "IMGLIFE_{}",
            self.name.replace('.', "__").to_ascii_uppercase()
        )
    }

    /// The top-level section (`registry`), or the key itself.
    pub fn section(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }

    /// The last part of the name (`url` of `registry.url`).
    pub fn leaf(&self) -> &'static str {
        self.name.rsplit('.').next().unwrap_or(self.name)
    }
}

const fn key(
    name: &'static str,
    default: Option<&'static str>,
    values: &'static str,
    commands: &'static [&'static str],
    about: &'static str,
) -> Key {
    Key {
        name,
        default,
        values,
        flag: None,
        commands,
        stores: &[],
        about,
    }
}

const fn flag(mut key: Key, flag: &'static str) -> Key {
    key.flag = Some(flag);
    key
}

const fn stores(mut key: Key, stores: &'static [&'static str]) -> Key {
    key.stores = stores;
    key
}

/// Every key, in the order `config show` and the reference list them.
pub const KEYS: &[Key] = &[
    flag(
        key(
            "log_level",
            Some("warn"),
            "off, error, warn, info, debug, trace",
            ALL_COMMANDS,
            "How much is logged on stderr.",
        ),
        "--log-level",
    ),
    flag(
        key(
            "log_format",
            Some("text"),
            "text, json",
            ALL_COMMANDS,
            "The format of log lines on stderr.",
        ),
        "--log-format",
    ),
    flag(
        key(
            "color",
            Some("auto"),
            "auto, always, never",
            ALL_COMMANDS,
            "When to colour output; auto honours NO_COLOR, TERM=dumb and non-terminals.",
        ),
        "--color",
    ),
    flag(
        key(
            "source",
            Some("auto"),
            "auto, registry, docker",
            &["register"],
            "Where missing --base and --platform are read: the image's registry, else the local Docker daemon (auto).",
        ),
        "register --source",
    ),
    key(
        "registry.provider",
        None,
        "fs, gitlab, gitea, s3",
        STORE_COMMANDS,
        "The record store. Unset: gitlab when registry.url is set, else the embedded filesystem store.",
    ),
    stores(
        key(
            "registry.url",
            None,
            "URL",
            STORE_COMMANDS,
            "GitLab or Gitea instance, or the S3 endpoint override. Inside GitLab CI the gitlab store defaults to $CI_SERVER_URL.",
        ),
        HTTP_STORES,
    ),
    stores(
        key(
            "registry.api_url",
            None,
            "URL",
            STORE_COMMANDS,
            "GitLab's API when it is not at registry.url (GitLab.com: https://gitlab.com).",
        ),
        &["gitlab"],
    ),
    stores(
        key(
            "registry.project_id",
            None,
            "number or group/project",
            STORE_COMMANDS,
            "The GitLab project that keeps the records.",
        ),
        &["gitlab"],
    ),
    stores(
        key(
            "registry.owner",
            None,
            "text",
            STORE_COMMANDS,
            "The Gitea user or organisation that owns the packages.",
        ),
        &["gitea"],
    ),
    stores(
        key(
            "registry.repo",
            None,
            "text",
            STORE_COMMANDS,
            "The Gitea repository the packages are linked to.",
        ),
        &["gitea"],
    ),
    stores(
        key(
            "registry.bucket",
            None,
            "text",
            STORE_COMMANDS,
            "The S3 bucket.",
        ),
        &["s3"],
    ),
    stores(
        key(
            "registry.region",
            None,
            "text",
            STORE_COMMANDS,
            "The S3 region (or an S3-compatible server's region string). Not set: \
             `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.",
        ),
        &["s3"],
    ),
    stores(
        key(
            "registry.prefix",
            None,
            "text",
            STORE_COMMANDS,
            "Key prefix of the records inside the S3 bucket.",
        ),
        &["s3"],
    ),
    key(
        "registry.insecure_registries",
        Some("[]"),
        "list of HOST[:PORT]",
        &["register"],
        "OCI registries read over plain HTTP (loopback hosts always are).",
    ),
    key(
        "registry.config_ref",
        None,
        "text",
        &[],
        "The original tool's key (a Git ref for its check command): accepted, not read.",
    ),
    stores(
        key(
            "registry.path",
            Some(".imglife/records"),
            "directory",
            STORE_COMMANDS,
            "Root directory of the filesystem store, relative to the working directory.",
        ),
        &["fs"],
    ),
    stores(
        key(
            "registry.connect_timeout_secs",
            Some("10"),
            "seconds, at least 1",
            STORE_COMMANDS,
            "HTTP stores: how long to wait for a connection.",
        ),
        HTTP_STORES,
    ),
    stores(
        key(
            "registry.timeout_secs",
            Some("30"),
            "seconds, at least 1",
            STORE_COMMANDS,
            "HTTP stores: how long one request may take, body included.",
        ),
        HTTP_STORES,
    ),
    stores(
        key(
            "registry.max_retries",
            Some("4"),
            "number",
            STORE_COMMANDS,
            "HTTP stores: retries of a transient fault after the first attempt.",
        ),
        HTTP_STORES,
    ),
    stores(
        key(
            "registry.retry_budget_secs",
            Some("60"),
            "seconds",
            STORE_COMMANDS,
            "HTTP stores: no retry starts after this many seconds.",
        ),
        HTTP_STORES,
    ),
    stores(
        key(
            "registry.concurrency",
            Some("64"),
            "number, at least 1",
            STORE_COMMANDS,
            "HTTP stores: parallel requests when reading many records.",
        ),
        HTTP_STORES,
    ),
    key(
        "registry.max_records",
        Some("100000"),
        "number, at least 1",
        STORE_COMMANDS,
        "The most records one listing may hold; more is an error, never a shortened list.",
    ),
    flag(
        key(
            "retention.keep_last",
            Some("5"),
            "number",
            &["app purge"],
            "Records kept per application image repository, newest first.",
        ),
        "app purge --keep-last",
    ),
    flag(
        key(
            "retention.max_age_days",
            Some("30"),
            "days",
            &["app purge"],
            "Records younger than this are always kept.",
        ),
        "app purge --max-age-days",
    ),
    key(
        "inspection.connect_timeout_secs",
        Some("10"),
        "seconds, at least 1",
        &["register"],
        "Reading image metadata from a registry: how long to wait for a connection.",
    ),
    key(
        "inspection.timeout_secs",
        Some("60"),
        "seconds, at least 1",
        &["register"],
        "Reading image metadata: the whole inspection, retries included (also the Docker daemon's bound).",
    ),
    key(
        "inspection.max_retries",
        Some("3"),
        "number",
        &["register"],
        "Reading image metadata from a registry: retries of a transient fault.",
    ),
    flag(
        key(
            "cache.dir",
            // The default depends on the environment (config show would
            // print variable names, not a value): said in `about`.
            None,
            "directory",
            &["status", "app list", "app purge"],
            "The read cache: records downloaded before, kept by store and version so that only new or changed ones are downloaded (docs/cache.md). Relative to the working directory. Unset: $XDG_CACHE_HOME/imglife, else ~/.cache/imglife; with neither variable, or with --no-cache, nothing is cached.",
        ),
        "--no-cache",
    ),
    key(
        "build.tag_format",
        Some("{{.Version}}-core{{.CoreVersion}}"),
        "template",
        &["status"],
        "How the organisation's base image tags are made (the original tool's build.tag_format).",
    ),
];

/// Top-level sections of the original tool's `imglife.yaml` that imglife
/// accepts without reading (or, for `build`, reads only `tag_format` of).
pub const FOREIGN_SECTIONS: &[&str] = &["sync", "build", "retention", "lifecycle", "status"];

/// Every top-level key a config file may hold without a warning.
pub fn top_level_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = KEYS.iter().map(Key::section).collect();
    keys.extend_from_slice(FOREIGN_SECTIONS);
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|k| seen.insert(*k));
    keys
}

/// The key named `name`, if any.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

impl crate::Settings {
    /// The value of `key` in these settings as one line of YAML
    /// (`warn`, `'007'`, `[a.io, b.io:5000]`), `None` when it is not set.
    pub fn yaml_value(&self, key: &str) -> Option<String> {
        let value = figment::value::Value::serialize(self).ok()?;
        yaml_scalar(value.find_ref(key)?)
    }
}

fn yaml_scalar(value: &figment::value::Value) -> Option<String> {
    use figment::value::Value;
    let text = |s: &str| {
        serde_yaml::to_string(s)
            .map(|t| t.trim_end().to_owned())
            .unwrap_or_else(|_| format!("{s:?}"))
    };
    match value {
        Value::String(_, s) => Some(text(s)),
        Value::Char(_, c) => Some(text(&c.to_string())),
        Value::Bool(_, b) => Some(b.to_string()),
        Value::Num(_, n) => n
            .to_u128()
            .map(|n| n.to_string())
            .or_else(|| n.to_i128().map(|n| n.to_string()))
            .or_else(|| n.to_f64().map(|n| n.to_string())),
        Value::Array(_, items) => Some(format!(
            "[{}]",
            items
                .iter()
                .filter_map(yaml_scalar)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Value::Empty(..) | Value::Dict(..) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use figment::value::Value;

    use super::*;
    use crate::settings::{
        BuildSettings, ProjectId, Provider, RegistrySettings, RetentionSettings, Settings,
    };
    use crate::store::StoreConfig;

    /// Every leaf of a settings value, as dotted paths.
    fn leaves(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Dict(_, dict) => {
                for (k, v) in dict {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(v, &path, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    #[test]
    fn the_table_holds_every_setting_and_nothing_else() {
        let full = Settings {
            registry: Some(RegistrySettings {
                provider: Some(Provider::Gitlab),
                url: Some("u".into()),
                api_url: Some("a".into()),
                project_id: Some(ProjectId::Number(1)),
                owner: Some("o".into()),
                repo: Some("r".into()),
                bucket: Some("b".into()),
                region: Some("r".into()),
                prefix: Some("p".into()),
                insecure_registries: vec!["x".into()],
                config_ref: Some("main".into()),
                path: Some("p".into()),
                connect_timeout_secs: Some(1),
                timeout_secs: Some(1),
                max_retries: Some(1),
                retry_budget_secs: Some(1),
                concurrency: Some(1),
                max_records: Some(1),
            }),
            retention: Some(RetentionSettings {
                keep_last: Some(1),
                max_age_days: Some(1),
            }),
            build: Some(BuildSettings {
                tag_format: Some("t".into()),
            }),
            cache: Some(crate::settings::CacheSettings {
                dir: Some("c".into()),
            }),
            ..Settings::default()
        };
        let value = Value::serialize(&full).expect("serializes");
        let mut settings = BTreeSet::new();
        leaves(&value, "", &mut settings);
        let table: BTreeSet<String> = KEYS.iter().map(|k| k.name.to_owned()).collect();
        assert_eq!(
            settings, table,
            "config/src/keys.rs must list exactly the keys of settings.rs"
        );
    }

    #[test]
    fn defaults_match_the_code() {
        let defaults = Value::serialize(Settings::default()).expect("serializes");
        for key in KEYS {
            if let Some(Value::String(_, s)) = defaults.find_ref(key.name) {
                assert_eq!(key.default, Some(s.as_str()), "{}", key.name);
            }
            if let Some(Value::Num(_, n)) = defaults.find_ref(key.name) {
                let n = n.to_u128().expect("unsigned").to_string();
                assert_eq!(key.default, Some(n.as_str()), "{}", key.name);
            }
        }
        // Store defaults live in store.rs.
        let gitlab = Settings {
            registry: Some(RegistrySettings {
                provider: Some(Provider::Gitlab),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        let Ok(StoreConfig::Gitlab(g)) = gitlab.store() else {
            panic!("gitlab")
        };
        for (name, value) in [
            ("registry.connect_timeout_secs", g.http.connect_timeout_secs),
            ("registry.timeout_secs", g.http.timeout_secs),
            ("registry.max_retries", u64::from(g.http.max_retries)),
            ("registry.retry_budget_secs", g.http.retry_budget_secs),
            ("registry.concurrency", g.http.concurrency as u64),
            ("registry.max_records", g.http.max_records as u64),
        ] {
            assert_eq!(
                find(name).and_then(|k| k.default),
                Some(value.to_string().as_str()),
                "{name}"
            );
        }
        let Ok(StoreConfig::Fs(fs)) = Settings::default().store() else {
            panic!("fs")
        };
        assert_eq!(
            find("registry.path").and_then(|k| k.default),
            fs.root.to_str()
        );
        let (keep_last, max_age_days) = Settings::default().retention();
        assert_eq!(
            find("retention.keep_last").and_then(|k| k.default),
            Some(keep_last.to_string().as_str())
        );
        assert_eq!(
            find("retention.max_age_days").and_then(|k| k.default),
            Some(max_age_days.to_string().as_str())
        );
    }

    #[test]
    fn values_render_as_yaml() {
        let settings = Settings {
            registry: Some(RegistrySettings {
                path: Some("007".into()),
                insecure_registries: vec!["a.io".into(), "b.io:5000".into()],
                project_id: Some(ProjectId::Number(42)),
                ..RegistrySettings::default()
            }),
            ..Settings::default()
        };
        assert_eq!(settings.yaml_value("log_level").as_deref(), Some("warn"));
        assert_eq!(
            settings.yaml_value("registry.path").as_deref(),
            Some("'007'")
        );
        assert_eq!(
            settings
                .yaml_value("registry.insecure_registries")
                .as_deref(),
            Some("[a.io, b.io:5000]")
        );
        assert_eq!(
            settings.yaml_value("registry.project_id").as_deref(),
            Some("42")
        );
        assert_eq!(
            settings.yaml_value("inspection.timeout_secs").as_deref(),
            Some("60")
        );
        assert_eq!(settings.yaml_value("registry.url"), None);
        assert_eq!(settings.yaml_value("build.tag_format"), None);
    }

    #[test]
    fn variables_nest_with_double_underscores() {
        assert_eq!(
            find("registry.project_id").map(Key::variable).as_deref(),
            Some("IMGLIFE_REGISTRY__PROJECT_ID")
        );
        assert_eq!(
            find("log_level").map(Key::variable).as_deref(),
            Some("IMGLIFE_LOG_LEVEL")
        );
    }

    #[test]
    fn top_level_keys_include_the_original_sections() {
        let keys = top_level_keys();
        for k in [
            "registry",
            "log_level",
            "sync",
            "lifecycle",
            "status",
            "build",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(
            keys.len(),
            keys.iter().collect::<BTreeSet<_>>().len(),
            "no repeats"
        );
    }
}
