//! What the Gitea store needs, checked before any request is made.

use url::Url;

use crate::token::{Token, VARIABLE};
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
pub struct GiteaSettings {
    /// The instance, without a trailing slash: `https://gitea.example.com`
    /// or `https://example.com/gitea`.
    pub(crate) base: Url,
    /// The user or organisation that owns the packages.
    pub(crate) owner: String,
    /// `registry.repo`: the repository each package is linked to, when set.
    pub(crate) repo: Option<String>,
    /// `None`: requests are anonymous (enough to read a public owner's
    /// packages).
    pub(crate) token: Option<Token>,
    /// Timeouts, retries, requests in flight.
    pub(crate) http: StoreOptions,
    /// The most packages one listing may hold (`registry.max_records`):
    /// past it a listing is an error, never a truncated answer.
    pub(crate) max_records: usize,
}

/// `registry.max_records` when not set (the configuration's default).
const DEFAULT_MAX_RECORDS: usize = 100_000;

/// Gitea's longest user or organisation name is 40 characters, a
/// repository name 100; anything much longer is a mistake, not a name.
const MAX_NAME: usize = 255;

impl GiteaSettings {
    pub fn new(
        url: Option<&str>,
        owner: Option<&str>,
        repo: Option<&str>,
        token: Option<Token>,
    ) -> Result<Self, SettingsError> {
        let url = url.map(str::trim).filter(|u| !u.is_empty()).ok_or_else(|| {
            SettingsError::new(
                "registry.url is missing: set it to the Gitea instance, e.g. https://gitea.example.com",
            )
        })?;
        let base = instance_base(url)?;
        let owner = owner.map(str::trim).filter(|o| !o.is_empty()).ok_or_else(|| {
            SettingsError::new(
                "registry.owner is missing: set it to the Gitea user or organisation that owns the \
                 records' packages, e.g. platform",
            )
        })?;
        if let Some((_, repo)) = owner.split_once('/') {
            return Err(SettingsError::at(
                "registry.owner",
                format!(
                    "'{}' must be a user or organisation name without '/'; put the repository \
                     ('{}') in registry.repo",
                    imglife_domain::text::escape(owner),
                    imglife_domain::text::escape(repo)
                ),
            ));
        }
        check_name("registry.owner", owner, "a user or organisation name")?;
        let repo = repo.map(str::trim).filter(|r| !r.is_empty());
        if let Some(repo) = repo {
            if let Some((_, name)) = repo.rsplit_once('/') {
                return Err(SettingsError::at(
                    "registry.repo",
                    format!(
                        "'{}' must be the repository's name without its owner ('{}'); the owner \
                         is registry.owner",
                        imglife_domain::text::escape(repo),
                        imglife_domain::text::escape(name)
                    ),
                ));
            }
            check_name("registry.repo", repo, "a repository name")?;
            if repo == "." || repo == ".." {
                return Err(SettingsError::at(
                    "registry.repo",
                    format!("'{repo}' is not a repository name"),
                ));
            }
        }
        if let Some(token) = &token
            && (token.secret().len() < 4
                || token
                    .secret()
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace()))
        {
            return Err(SettingsError::new(format!(
                "{VARIABLE} does not hold a Gitea token (too short, or it has spaces or control \
                 characters); check its value"
            )));
        }
        Ok(Self {
            base,
            owner: owner.to_owned(),
            repo: repo.map(str::to_owned),
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

/// Gitea's user, organisation and repository names use letters, digits,
/// `-`, `_` and `.`; a value with anything else would be sent into a URL
/// path and answered with a confusing 404.
fn check_name(key: &str, value: &str, what: &str) -> Result<(), SettingsError> {
    let ok = value.len() <= MAX_NAME
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SettingsError::at(
            key,
            format!(
                "'{}' is not {what}: Gitea names hold only letters, digits, '-', '_' and '.'",
                imglife_domain::text::escape(value)
            ),
        ))
    }
}

/// Accepts `https://host`, `https://host/`, an instance under a path
/// (`https://host/gitea`), and the same with `/api/v1` or `/api/packages`
/// appended (the API's own addresses, as users often copy them).
fn instance_base(raw: &str) -> Result<Url, SettingsError> {
    const KEY: &str = "registry.url";
    let parsed = Url::parse(raw).map_err(|e| {
        SettingsError::at(
            KEY,
            format!(
                "'{}' is not a valid URL ({e}); use e.g. https://gitea.example.com",
                imglife_domain::text::escape(raw)
            ),
        )
    })?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(SettingsError::at(
            KEY,
            format!(
                "'{}' must be an http:// or https:// URL with a host, e.g. https://gitea.example.com",
                imglife_domain::text::escape(raw)
            ),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(SettingsError::at(
            KEY,
            format!("must not carry credentials; put the token in {VARIABLE}"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(SettingsError::at(
            KEY,
            format!(
                "'{}' must not have a query or fragment",
                imglife_domain::text::escape(raw)
            ),
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    let path = path
        .strip_suffix("/api/v1")
        .or_else(|| path.strip_suffix("/api/packages"))
        .unwrap_or(path);
    let mut base = parsed.clone();
    base.set_path(path);
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Option<Token> {
        Token::from_env(&|n: &str| (n == "GITEA_TOKEN").then(|| "gitea-token".to_owned()))
    }

    #[test]
    fn normalises_the_instance_url() {
        for (raw, want) in [
            ("https://gitea.example.com", "https://gitea.example.com/"),
            ("https://gitea.example.com/", "https://gitea.example.com/"),
            (
                "https://gitea.example.com/api/v1/",
                "https://gitea.example.com/",
            ),
            (
                "https://gitea.example.com/api/packages",
                "https://gitea.example.com/",
            ),
            (
                "http://127.0.0.1:3000/gitea/",
                "http://127.0.0.1:3000/gitea",
            ),
        ] {
            let s = GiteaSettings::new(Some(raw), Some("platform"), None, token()).expect(raw);
            assert_eq!(s.base.as_str(), want, "{raw}");
        }
    }

    #[test]
    fn refuses_incomplete_or_wrong_settings() {
        /// url, owner, repo, token, and what the error says.
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<Token>,
            &'static str,
        );
        let cases: [Case; 10] = [
            (None, Some("o"), None, token(), "registry.url is missing"),
            (
                Some("gitea.example.com"),
                Some("o"),
                None,
                token(),
                "not a valid URL",
            ),
            (
                Some("ftp://x"),
                Some("o"),
                None,
                token(),
                "http:// or https://",
            ),
            (
                Some("https://u:p@x"),
                Some("o"),
                None,
                token(),
                "GITEA_TOKEN",
            ),
            (
                Some("https://x"),
                None,
                None,
                token(),
                "registry.owner is missing",
            ),
            (
                Some("https://x"),
                Some("org/repo"),
                None,
                token(),
                "registry.repo",
            ),
            (
                Some("https://x"),
                Some("my org"),
                None,
                token(),
                "only letters",
            ),
            (
                Some("https://x"),
                Some("o"),
                Some(".."),
                token(),
                "not a repository",
            ),
            (
                Some("https://x"),
                Some("o"),
                Some("o/base"),
                token(),
                "without its owner ('base')",
            ),
            (
                Some("https://x"),
                Some("o"),
                None,
                Token::from_env(&|_| Some("a b c d".to_owned())),
                "GITEA_TOKEN",
            ),
        ];
        for (url, owner, repo, token, want) in cases {
            let err = GiteaSettings::new(url, owner, repo, token).expect_err(want);
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
    }

    #[test]
    fn the_token_is_optional() {
        let s = GiteaSettings::new(Some("https://x"), Some("o"), Some("base-images"), None)
            .expect("anonymous");
        assert!(s.token.is_none());
        assert_eq!(s.repo.as_deref(), Some("base-images"));
    }
}
