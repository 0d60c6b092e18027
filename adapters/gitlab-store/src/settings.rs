//! What the GitLab store needs, checked before any request is made.

use url::Url;

use crate::token::Token;
use imglife_http::StoreOptions;

/// A configuration problem. `key` names the configuration key at fault,
/// when there is one, so that the caller can say where its value came
/// from; `message` follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: Option<String>,
    pub message: String,
}

impl SettingsError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            key: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key} {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SettingsError {}

#[derive(Debug, Clone)]
pub struct GitlabSettings {
    /// `https://gitlab.example.com/api/v4` (no trailing slash).
    pub(crate) api: Url,
    /// As configured, for messages: `42` or `platform/base-images`.
    pub(crate) project: String,
    pub(crate) token: Token,
    /// Timeouts, retries, requests in flight.
    pub(crate) http: StoreOptions,
    /// The most packages one listing may hold (`registry.max_records`):
    /// past it a listing is an error, never a truncated answer.
    pub(crate) max_records: usize,
}

/// `registry.max_records` when not set (the configuration's default).
const DEFAULT_MAX_RECORDS: usize = 100_000;

impl GitlabSettings {
    /// `url_key` names the key the URL came from (`registry.api_url` or
    /// `registry.url`) so that errors point at it.
    pub fn new(
        url_key: &str,
        url: Option<&str>,
        project: Option<&str>,
        token: Option<Token>,
    ) -> Result<Self, SettingsError> {
        let url = url.ok_or_else(|| {
            SettingsError::new(
                "registry.url is missing: set it to the GitLab instance, e.g. https://gitlab.example.com",
            )
        })?;
        let api = api_base(url_key, url)?;
        let project = project.map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| {
            SettingsError::new(
                "registry.project_id is missing: set it to the GitLab project that keeps the records, \
                 as its number (42) or full path (platform/base-images)",
            )
        })?;
        let numeric = project.bytes().all(|b| b.is_ascii_digit());
        if !numeric && !project.contains('/') {
            return Err(SettingsError::at(
                "registry.project_id",
                format!(
                    "'{project}': a project path must include its group, e.g. platform/{project}"
                ),
            ));
        }
        let token = token.ok_or_else(|| {
            SettingsError::new(
                "no GitLab token: set GITLAB_TOKEN to a token with the api scope \
                 (inside GitLab CI, CI_JOB_TOKEN is used when GITLAB_TOKEN is unset)",
            )
        })?;
        Ok(Self {
            api,
            project: project.to_owned(),
            token,
            http: StoreOptions::default(),
            max_records: DEFAULT_MAX_RECORDS,
        })
    }

    /// Timeouts, retries and requests in flight (`registry.*` keys).
    #[must_use]
    pub fn with_http(mut self, http: StoreOptions) -> Self {
        self.http = StoreOptions {
            concurrency: http.concurrency.max(1),
            ..http
        };
        self
    }

    /// The most packages one listing may hold (`registry.max_records`);
    /// at least 1.
    #[must_use]
    pub fn with_max_records(mut self, max_records: usize) -> Self {
        self.max_records = max_records.max(1);
        self
    }
}

/// Accepts `https://host`, `https://host/`, `https://host/api/v4` and
/// instances under a path (`https://host/gitlab`).
fn api_base(key: &str, raw: &str) -> Result<Url, SettingsError> {
    let parsed = Url::parse(raw.trim()).map_err(|e| {
        SettingsError::at(
            key,
            format!("'{raw}' is not a valid URL ({e}); use e.g. https://gitlab.example.com"),
        )
    })?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(SettingsError::at(
            key,
            format!(
                "'{raw}' must be an http:// or https:// URL with a host, e.g. https://gitlab.example.com"
            ),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(SettingsError::at(
            key,
            "must not carry credentials; put the token in GITLAB_TOKEN",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(SettingsError::at(
            key,
            format!("'{raw}' must not have a query or fragment"),
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v4").unwrap_or(path);
    let mut api = parsed.clone();
    api.set_path(&format!("{path}/api/v4"));
    Ok(api)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Token;

    fn token() -> Option<Token> {
        Token::from_env(&|n: &str| (n == "GITLAB_TOKEN").then(|| "t".to_owned()))
    }

    #[test]
    fn normalises_the_api_base() {
        for (raw, want) in [
            (
                "https://gitlab.example.com",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "https://gitlab.example.com/",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "https://gitlab.example.com/api/v4/",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "http://127.0.0.1:8080/gitlab",
                "http://127.0.0.1:8080/gitlab/api/v4",
            ),
        ] {
            let s = GitlabSettings::new("registry.url", Some(raw), Some("1"), token()).expect(raw);
            assert_eq!(s.api.as_str(), want);
        }
    }

    #[test]
    fn refuses_incomplete_settings() {
        let cases = [
            (None, Some("1"), token(), "registry.url is missing"),
            (
                Some("gitlab.example.com"),
                Some("1"),
                token(),
                "not a valid URL",
            ),
            (Some("ftp://x"), Some("1"), token(), "http:// or https://"),
            (Some("https://u:p@x"), Some("1"), token(), "credentials"),
            (Some("https://x"), None, token(), "project_id is missing"),
            (
                Some("https://x"),
                Some("proj"),
                token(),
                "include its group",
            ),
            (Some("https://x"), Some("g/p"), None, "GITLAB_TOKEN"),
        ];
        for (url, project, token, want) in cases {
            let err = GitlabSettings::new("registry.url", url, project, token).expect_err(want);
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
    }
}
