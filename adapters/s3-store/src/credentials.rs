//! AWS credentials, found in the order the AWS SDKs use:
//!
//! 1. `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with
//!    `AWS_SESSION_TOKEN` when set);
//! 2. the profile `AWS_PROFILE` (else `default`) of the shared files
//!    `~/.aws/credentials` and `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`,
//!    `AWS_CONFIG_FILE`): its keys, or its `web_identity_token_file` and
//!    `role_arn`;
//! 3. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`
//!    (`AWS_ROLE_SESSION_NAME`), exchanged with STS
//!    (`AssumeRoleWithWebIdentity`, `AWS_ENDPOINT_URL_STS` to override);
//! 4. container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS),
//!    or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//!    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod Identity);
//! 5. the EC2 instance metadata service (IMDSv2), unless
//!    `AWS_EC2_METADATA_DISABLED=true` (`AWS_EC2_METADATA_SERVICE_ENDPOINT`
//!    to override).
//!
//! Steps 3 to 5 are object_store's credential providers, running on
//! imglife's HTTP client (`connector.rs`); they cache what they fetch until
//! it expires. Secrets never appear in `Debug` output, logs or messages:
//! only where they came from does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::client::CredentialProvider;

use crate::profile::{self, Profile};
use crate::settings::SettingsError;

/// Where the credentials come from: what messages name (never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    Environment { session_token: bool },
    /// The keys of a profile, in the file that held them.
    Profile {
        name: String,
        file: PathBuf,
        session_token: bool,
    },
    /// STS `AssumeRoleWithWebIdentity`; `profile` when a profile named
    /// the token file and the role.
    WebIdentity {
        token_file: String,
        role_arn: String,
        profile: Option<String>,
    },
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS task role).
    ContainerRelative { uri: String },
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI` with a token file (EKS Pod
    /// Identity).
    ContainerFull { uri: String, token_file: String },
    /// The EC2 instance metadata service.
    Instance { endpoint: String },
}

impl CredentialSource {
    /// For messages: where the credentials were read.
    pub fn describe(&self) -> String {
        match self {
            Self::Environment { .. } => "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned(),
            Self::Profile { name, file, .. } => {
                format!("profile '{name}' of {}", file.display())
            }
            Self::WebIdentity {
                role_arn, profile, ..
            } => match profile {
                Some(name) => format!("web identity for role {role_arn} (profile '{name}')"),
                None => format!(
                    "web identity for role {role_arn} (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)"
                ),
            },
            Self::ContainerRelative { .. } => {
                "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)".to_owned()
            }
            Self::ContainerFull { .. } => {
                "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)".to_owned()
            }
            Self::Instance { endpoint } => format!("EC2 instance metadata at {endpoint}"),
        }
    }

    /// What to check when S3 says the signature does not match: the secret.
    pub(crate) fn check_secret(&self) -> String {
        match self {
            Self::Environment { .. } => "check AWS_SECRET_ACCESS_KEY".to_owned(),
            Self::Profile { name, file, .. } => format!(
                "check aws_secret_access_key of profile '{name}' in {}",
                file.display()
            ),
            other => format!(
                "the temporary credentials from {} were refused; check the role and the server's \
                 clock",
                other.describe()
            ),
        }
    }

    /// What to check when S3 does not know the access key.
    pub(crate) fn check_key_id(&self) -> String {
        match self {
            Self::Environment { .. } => "check AWS_ACCESS_KEY_ID".to_owned(),
            Self::Profile { name, file, .. } => format!(
                "check aws_access_key_id of profile '{name}' in {}",
                file.display()
            ),
            other => format!("check {}", other.describe()),
        }
    }

    /// What to check when S3 refuses the session token.
    pub(crate) fn check_token(&self) -> String {
        match self {
            Self::Environment {
                session_token: true,
            } => "AWS_SESSION_TOKEN has expired or is invalid; renew it".to_owned(),
            Self::Environment {
                session_token: false,
            } => "temporary keys need AWS_SESSION_TOKEN; set it".to_owned(),
            Self::Profile { name, file, .. } => format!(
                "aws_session_token of profile '{name}' in {} has expired or is invalid",
                file.display()
            ),
            other => format!("the credentials from {} have expired", other.describe()),
        }
    }
}

/// The credentials the store signs with, as configured: fixed keys, or
/// how to fetch temporary ones.
#[derive(Clone)]
pub struct Credentials {
    source: CredentialSource,
    keys: Keys,
}

#[derive(Clone)]
enum Keys {
    Fixed(Arc<AwsCredential>),
    /// object_store configuration keys for its credential providers.
    Fetched(Vec<(AmazonS3ConfigKey, String)>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} = [redacted])", self.source.describe())
    }
}

/// The credentials ready to use: fixed keys, or a provider that fetches
/// and caches temporary ones.
#[derive(Debug, Clone)]
pub(crate) enum Provider {
    Fixed(Arc<AwsCredential>),
    Fetched(Arc<dyn CredentialProvider<Credential = AwsCredential>>),
}

impl Provider {
    pub(crate) async fn get(&self) -> Result<Arc<AwsCredential>, object_store::Error> {
        match self {
            Self::Fixed(credential) => Ok(Arc::clone(credential)),
            Self::Fetched(provider) => provider.get_credential().await,
        }
    }
}

impl Credentials {
    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// Keys given directly, no session token (tests, tools).
    pub fn from_keys(key_id: &str, secret: &str) -> Self {
        Self {
            source: CredentialSource::Environment {
                session_token: false,
            },
            keys: Keys::Fixed(Arc::new(AwsCredential {
                key_id: key_id.to_owned(),
                secret_key: secret.to_owned(),
                token: None,
            })),
        }
    }

    /// Finds the credentials as the AWS SDKs do (see the module's
    /// documentation). Nothing is fetched yet: STS, the container endpoint
    /// and the instance metadata service are asked on first use.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        // 1. The environment's keys.
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(key_id), Some(secret)) => {
                let token = get("AWS_SESSION_TOKEN");
                return fixed(
                    CredentialSource::Environment {
                        session_token: token.is_some(),
                    },
                    key_id.trim(),
                    secret.trim(),
                    token.as_deref().map(str::trim),
                    ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"),
                );
            }
            (Some(_), None) => {
                return Err(SettingsError::new(
                    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both, or \
                     neither to use a profile or a role",
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError::new(
                    "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both, or \
                     neither to use a profile or a role",
                ));
            }
            (None, None) => {}
        }
        // 2. The shared files' profile.
        if let Some(found) = from_profile(&get)? {
            return Ok(found);
        }
        // 3. Web identity from the environment.
        match (get("AWS_WEB_IDENTITY_TOKEN_FILE"), get("AWS_ROLE_ARN")) {
            (Some(token_file), Some(role_arn)) => {
                return Ok(web_identity(
                    token_file,
                    role_arn,
                    get("AWS_ROLE_SESSION_NAME"),
                    None,
                    &get,
                ));
            }
            (Some(_), None) => {
                return Err(SettingsError::new(
                    "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; set the role to \
                     assume",
                ));
            }
            _ => {}
        }
        // 4. The container's endpoint.
        if let Some(uri) = get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            return Ok(Self {
                source: CredentialSource::ContainerRelative { uri: uri.clone() },
                keys: Keys::Fetched(vec![(key("aws_container_credentials_relative_uri"), uri)]),
            });
        }
        if let Some(uri) = get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            let Some(token_file) = get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") else {
                return Err(SettingsError::new(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI is set without \
                     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which imglife needs (a token given \
                     directly in AWS_CONTAINER_AUTHORIZATION_TOKEN is not supported)",
                ));
            };
            return Ok(Self {
                source: CredentialSource::ContainerFull {
                    uri: uri.clone(),
                    token_file: token_file.clone(),
                },
                keys: Keys::Fetched(vec![
                    (key("aws_container_credentials_full_uri"), uri),
                    (key("aws_container_authorization_token_file"), token_file),
                ]),
            });
        }
        // 5. The instance metadata service.
        if get("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Err(no_credentials("AWS_EC2_METADATA_DISABLED=true"));
        }
        let endpoint = get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| "http://169.254.169.254".to_owned());
        Ok(Self {
            source: CredentialSource::Instance {
                endpoint: endpoint.clone(),
            },
            keys: Keys::Fetched(vec![(key("aws_metadata_endpoint"), endpoint)]),
        })
    }

    /// The provider for the store: fixed keys as they are; fetched ones
    /// through object_store's providers on `connector` (imglife's client).
    pub(crate) fn provider(
        &self,
        connector: crate::connector::Connector,
        bucket: &str,
        region: &str,
    ) -> Result<Provider, SettingsError> {
        match &self.keys {
            Keys::Fixed(credential) => Ok(Provider::Fixed(Arc::clone(credential))),
            Keys::Fetched(config) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    // One retry of object_store's own: imglife's retry
                    // policy wraps every S3 request, and with it the
                    // fetch of the credentials it needs.
                    .with_retry(object_store::RetryConfig {
                        max_retries: 1,
                        ..object_store::RetryConfig::default()
                    })
                    .with_http_connector(connector);
                for (key, value) in config {
                    builder = builder.with_config(*key, value);
                }
                let store = builder.build().map_err(|e| {
                    SettingsError::new(format!(
                        "cannot use {}: {}",
                        self.source.describe(),
                        crate::errors::describe_object_store(&e)
                    ))
                })?;
                Ok(Provider::Fetched(Arc::clone(store.credentials())))
            }
        }
    }
}

fn key(name: &str) -> AmazonS3ConfigKey {
    name.parse()
        .unwrap_or_else(|_| unreachable!("object_store knows the configuration key {name}"))
}

/// Fixed keys, checked for what would break an HTTP header: the key id
/// goes into `Authorization`, the token into `x-amz-security-token`.
fn fixed(
    source: CredentialSource,
    key_id: &str,
    secret: &str,
    token: Option<&str>,
    (key_id_name, token_name): (&str, &str),
) -> Result<Credentials, SettingsError> {
    let visible = |text: &str| text.bytes().all(|b| b.is_ascii_graphic());
    if !visible(key_id) {
        return Err(SettingsError::new(format!(
            "{key_id_name} holds characters an access key id never has; check its value"
        )));
    }
    if token.is_some_and(|t| !visible(t)) {
        return Err(SettingsError::new(format!(
            "{token_name} holds characters a session token never has; check its value"
        )));
    }
    Ok(Credentials {
        source,
        keys: Keys::Fixed(Arc::new(AwsCredential {
            key_id: key_id.to_owned(),
            secret_key: secret.to_owned(),
            token: token.map(str::to_owned),
        })),
    })
}

fn web_identity(
    token_file: String,
    role_arn: String,
    session_name: Option<String>,
    profile: Option<String>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Credentials {
    let mut config = vec![
        (key("aws_web_identity_token_file"), token_file.clone()),
        (key("aws_role_arn"), role_arn.clone()),
        (
            key("aws_role_session_name"),
            session_name.unwrap_or_else(|| "imglife".to_owned()),
        ),
    ];
    if let Some(sts) = get("AWS_ENDPOINT_URL_STS") {
        config.push((key("aws_endpoint_url_sts"), sts.trim().to_owned()));
    }
    Credentials {
        source: CredentialSource::WebIdentity {
            token_file,
            role_arn,
            profile,
        },
        keys: Keys::Fetched(config),
    }
}

fn no_credentials(why: &str) -> SettingsError {
    SettingsError::new(format!(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE \
         (~/.aws/credentials), or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN ({why})"
    ))
}

/// The shared files' files: the variable that names each, else `~/.aws/`.
fn shared_files(get: &dyn Fn(&str) -> Option<String>) -> (Option<PathBuf>, Option<PathBuf>) {
    let home = get("HOME").map(PathBuf::from);
    let file = |variable: &str, default: &str| -> Option<PathBuf> {
        match get(variable) {
            Some(path) => Some(expand_home(path.trim(), home.as_deref())),
            None => home.as_ref().map(|h| h.join(".aws").join(default)),
        }
    };
    (
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        file("AWS_CONFIG_FILE", "config"),
    )
}

/// `~/x` → `$HOME/x`, as the SDKs expand it.
fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// The credentials of the profile `AWS_PROFILE` (else `default`), or
/// `None` when there is no `default` profile with credentials and none was
/// asked for.
fn from_profile(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, SettingsError> {
    let asked = get("AWS_PROFILE").map(|p| p.trim().to_owned());
    let name = asked.clone().unwrap_or_else(|| "default".to_owned());
    let (credentials_file, config_file) = shared_files(get);
    let read =
        |path: &Option<PathBuf>, kind: profile::Kind| -> Result<Option<Profile>, SettingsError> {
            match path {
                Some(path) => {
                    profile::read(path, kind, &name).map_err(|e| SettingsError::new(e.to_string()))
                }
                None => Ok(None),
            }
        };
    let from_credentials = read(&credentials_file, profile::Kind::Credentials)?;
    let from_config = read(&config_file, profile::Kind::Config)?;
    if from_credentials.is_none() && from_config.is_none() {
        return match asked {
            Some(name) => Err(SettingsError::new(format!(
                "AWS_PROFILE={name}: no such profile in {} or {}",
                show(&credentials_file),
                show(&config_file)
            ))),
            None => Ok(None),
        };
    }
    // The credentials file wins over the config file, key by key.
    let merged = Profile::merge(from_config, from_credentials);
    let described = format!("profile '{name}'");
    if merged.has("aws_access_key_id") || merged.has("aws_secret_access_key") {
        let (Some(key_id), Some(secret)) = (
            merged.value("aws_access_key_id"),
            merged.value("aws_secret_access_key"),
        ) else {
            return Err(SettingsError::new(format!(
                "{described} in {} has only one of aws_access_key_id and aws_secret_access_key; \
                 set both",
                merged
                    .file_of("aws_access_key_id", "aws_secret_access_key")
                    .display()
            )));
        };
        let file = merged
            .file_of("aws_secret_access_key", "aws_access_key_id")
            .to_path_buf();
        let token = merged.value("aws_session_token");
        let names = (
            format!("aws_access_key_id of {described} in {}", file.display()),
            format!("aws_session_token of {described} in {}", file.display()),
        );
        return fixed(
            CredentialSource::Profile {
                name: name.clone(),
                file,
                session_token: token.is_some(),
            },
            key_id,
            secret,
            token,
            (&names.0, &names.1),
        )
        .map(Some);
    }
    if let (Some(token_file), Some(role_arn)) = (
        merged.value("web_identity_token_file"),
        merged.value("role_arn"),
    ) {
        return Ok(Some(web_identity(
            token_file.to_owned(),
            role_arn.to_owned(),
            merged.value("role_session_name").map(str::to_owned),
            Some(name.clone()),
            get,
        )));
    }
    let unsupported = [
        (
            "source_profile",
            "assumes a role from another profile (role_arn with source_profile)",
        ),
        (
            "credential_source",
            "assumes a role (role_arn with credential_source)",
        ),
        ("credential_process", "runs a credential_process"),
        (
            "sso_session",
            "signs in with IAM Identity Center (sso_session)",
        ),
        (
            "sso_start_url",
            "signs in with IAM Identity Center (sso_start_url)",
        ),
        ("login_session", "signs in with aws login"),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(k, _)| merged.has(k)) {
        return Err(SettingsError::new(format!(
            "{described} {what}, which imglife does not support; give it keys \
             (aws_access_key_id, aws_secret_access_key), or set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY (e.g. from `aws configure export-credentials`)"
        )));
    }
    match asked {
        Some(_) => Err(SettingsError::new(format!(
            "{described} has no credentials imglife can use: it needs aws_access_key_id and \
             aws_secret_access_key, or web_identity_token_file and role_arn"
        ))),
        // A `default` profile that only sets a region: look further.
        None => Ok(None),
    }
}

fn show(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "(no HOME)".to_owned(), |p| p.display().to_string())
}

#[cfg(test)]
mod s3_tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> Result<Credentials, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Credentials::from_env(&|name: &str| vars.get(name).cloned())
    }

    fn fixed_keys(credentials: &Credentials) -> (String, String, Option<String>) {
        match &credentials.keys {
            Keys::Fixed(c) => (c.key_id.clone(), c.secret_key.clone(), c.token.clone()),
            Keys::Fetched(_) => panic!("expected fixed keys: {credentials:?}"),
        }
    }

    fn temp_home() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".aws")).expect("mkdir");
        dir
    }

    #[test]
    fn environment_keys_come_first_and_are_never_shown() {
        let c = resolve(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t-ENV"),
            ("AWS_SESSION_TOKEN", "tok-ENV"),
            ("AWS_PROFILE", "missing-profile-is-not-read"),
        ])
        .expect("credentials");
        assert_eq!(
            fixed_keys(&c),
            (
                "AKIDENV".into(),
                "s3cr3t-ENV".into(),
                Some("tok-ENV".into())
            )
        );
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("tok-ENV"),
            "{shown}"
        );
        assert_eq!(c.source().check_secret(), "check AWS_SECRET_ACCESS_KEY");

        let e = resolve(&[("AWS_ACCESS_KEY_ID", "AKID")]).expect_err("half");
        assert!(e.message.contains("AWS_SECRET_ACCESS_KEY is not"), "{e}");
        let e = resolve(&[
            ("AWS_ACCESS_KEY_ID", "AK ID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ])
        .expect_err("blank inside");
        assert!(e.message.contains("AWS_ACCESS_KEY_ID holds"), "{e}");
    }

    #[test]
    fn profiles_from_both_files_credentials_file_first() {
        let home = temp_home();
        std::fs::write(
            home.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = sdefault\n\n\
             [ci]\n# a comment\naws_access_key_id=AKIDCI\naws_secret_access_key = sci ; not a comment\n",
        )
        .expect("write");
        std::fs::write(
            home.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile ci]\naws_access_key_id = AKIDCONFIG\n\
             aws_session_token = tci\n[profile wi]\nweb_identity_token_file = /t\nrole_arn = arn:aws:iam::1:role/r\n\
             [profile chained]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
        )
        .expect("write");
        let home_var = home.path().to_str().expect("utf-8");
        let c = resolve(&[("HOME", home_var)]).expect("default");
        assert_eq!(fixed_keys(&c).0, "AKIDDEFAULT");
        let c = resolve(&[("HOME", home_var), ("AWS_PROFILE", "ci")]).expect("ci");
        assert_eq!(
            fixed_keys(&c),
            (
                "AKIDCI".into(),
                "sci ; not a comment".into(),
                Some("tci".into())
            )
        );
        assert!(
            c.source().check_secret().contains("profile 'ci'"),
            "{:?}",
            c.source()
        );
        let c = resolve(&[("HOME", home_var), ("AWS_PROFILE", "wi")]).expect("wi");
        assert!(matches!(
            c.source(),
            CredentialSource::WebIdentity { profile: Some(p), .. } if p == "wi"
        ));
        let e = resolve(&[("HOME", home_var), ("AWS_PROFILE", "chained")]).expect_err("chained");
        assert!(e.message.contains("source_profile"), "{e}");
        let e = resolve(&[("HOME", home_var), ("AWS_PROFILE", "nope")]).expect_err("nope");
        assert!(
            e.message.contains("AWS_PROFILE=nope: no such profile"),
            "{e}"
        );

        // Files named by their variables, `~/` expanded.
        std::fs::write(
            home.path().join("elsewhere"),
            "[default]\naws_access_key_id = AKIDELSEWHERE\naws_secret_access_key = s\n",
        )
        .expect("write");
        let c = resolve(&[
            ("HOME", home_var),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere"),
        ])
        .expect("elsewhere");
        assert_eq!(fixed_keys(&c).0, "AKIDELSEWHERE");
    }

    #[test]
    fn then_web_identity_then_containers_then_instance_metadata() {
        let c = resolve(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::1:role/ci"),
        ])
        .expect("web identity");
        assert!(matches!(
            c.source(),
            CredentialSource::WebIdentity { profile: None, .. }
        ));
        let c = resolve(&[(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/x",
        )])
        .expect("ecs");
        assert!(matches!(
            c.source(),
            CredentialSource::ContainerRelative { .. }
        ));
        let e = resolve(&[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://169.254.170.23/v1",
        )])
        .expect_err("no token file");
        assert!(
            e.message.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
            "{e}"
        );
        let c = resolve(&[]).expect("instance");
        assert_eq!(
            c.source(),
            &CredentialSource::Instance {
                endpoint: "http://169.254.169.254".to_owned()
            }
        );
        let e = resolve(&[("AWS_EC2_METADATA_DISABLED", "true")]).expect_err("none");
        assert!(e.message.starts_with("no AWS credentials"), "{e}");
    }
}
