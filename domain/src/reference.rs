//! Image references, parsed with the grammar of the OCI distribution
//! reference (distribution 2.8) and normalised the way Docker does, so that
//! `alpine:3.19` and `docker.io/library/alpine:3.19` are the same record.

use std::fmt;

/// Registry host used for references that name none (Docker's default).
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Docker's legacy spelling of the default registry, normalised away.
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace Docker adds to single-component names on the default registry.
const OFFICIAL_NAMESPACE: &str = "library";
/// distribution's `NameTotalLengthMax`: its `Parse` refuses a name
/// (`domain/path`, the part before `:tag` and `@digest`) longer than this,
/// and Docker's `ParseNormalizedNamed` parses the *normalised* name
/// (`docker.io/library/alpine`), so the limit applies after normalisation.
/// The OCI distribution spec states the same for "the registry hostname
/// (and optional port), `/`, and `<name>`".
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// distribution's tag grammar `[\w][\w.-]{0,127}`; the OCI distribution
/// spec: "Tags MUST be at most 128 characters in length".
const TAG_LENGTH_MAX: usize = 128;
/// RFC 1035 2.3.4 (kept by RFC 1123): a label of a host name has at most 63
/// octets, the whole name at most 253 characters written out (255 octets on
/// the wire). distribution's grammar sets no length; DNS does.
const HOST_LABEL_LENGTH_MAX: usize = 63;
const HOST_LENGTH_MAX: usize = 253;
/// A TCP port: 1 to 65535 (port 0 is "any port" and cannot be connected to).
const PORT_MAX: u32 = 65_535;
/// A whole reference is the name, a tag and a digest: 255 + 1 + 128 + 1 +
/// the digest (`sha512:` and 128 hex digits: 135). Anything longer is
/// refused before it is scanned or echoed in a message.
const REFERENCE_LENGTH_MAX: usize = 1024;

/// Why a string is not an acceptable image reference. The message is meant
/// to follow the flag name: `--image 'x': <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(String);

impl ReferenceError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A content digest such as `sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: String,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`. Algorithms are one lower-case word (`sha256`,
    /// `sha512`, ...); the hex part is lower case, of the algorithm's length
    /// where that is known, else at least 32 characters.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let Some((algorithm, hex)) = input.split_once(':') else {
            return Err(ReferenceError::new(format!(
                "digest '{input}' must look like sha256:<64 hex digits>"
            )));
        };
        if algorithm.is_empty()
            || !algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(ReferenceError::new(format!(
                "digest algorithm '{algorithm}' must be a lower-case word such as sha256"
            )));
        }
        let expected_len = match algorithm {
            "sha256" => Some(64),
            "sha512" => Some(128),
            _ => None,
        };
        let hex_ok = hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let len_ok = match expected_len {
            Some(n) => hex.len() == n,
            None => hex.len() >= 32,
        };
        if !hex_ok || !len_ok {
            let want = expected_len.map_or_else(
                || "at least 32 lower-case hex digits".to_owned(),
                |n| format!("{n} lower-case hex digits"),
            );
            return Err(ReferenceError::new(format!(
                "digest '{input}' must have {want} after '{algorithm}:'"
            )));
        }
        Ok(Self {
            algorithm: algorithm.to_owned(),
            hex: hex.to_owned(),
        })
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// A fully qualified image reference with a tag, a digest or both.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parses and normalises a reference. A tag or a digest is required:
    /// imglife never assumes `:latest`, because a record for "latest" says
    /// nothing about which build it describes.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let reference = Self::parse_name_only(input)?;
        if reference.tag.is_none() && reference.digest.is_none() {
            return Err(ReferenceError::new(format!(
                "'{input}' has no tag or digest; add one, e.g. {reference}:1.2.0 \
                 (imglife does not assume :latest)"
            )));
        }
        Ok(reference)
    }

    /// Parses a reference whose tag and digest are optional (a repository
    /// name such as `registry.example.com/bases/alpine`), normalised the
    /// same way. Used by filters on the read side.
    pub fn parse_name_only(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::new("is empty"));
        }
        if input.len() > REFERENCE_LENGTH_MAX {
            return Err(ReferenceError::new(format!(
                "is {} characters long; an image reference has at most \
                 {NAME_TOTAL_LENGTH_MAX} for the repository (registry/path), \
                 {TAG_LENGTH_MAX} for the tag, and a digest",
                input.chars().count()
            )));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(ReferenceError::new(format!(
                "'{}' contains {}; an image reference has none",
                input.escape_debug(),
                describe_char(c)
            )));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (input, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_and_tag[..at], Some(&name_and_tag[at + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        let (domain, path) = split_domain(name)?;
        let total = domain.len() + 1 + path.len();
        if total > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::new(format!(
                "the repository name ({domain}/...) is {total} characters long; \
                 the limit is {NAME_TOTAL_LENGTH_MAX} (registry and path together)"
            )));
        }
        Ok(Self {
            domain,
            path,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// Registry host, lower-cased, with its port when one was given.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Repository path inside the registry, e.g. `library/alpine`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `domain/path`: the repository, without tag or digest.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        c => format!("the character U+{:04X}", u32::from(c)),
    }
}

/// Docker's rule: the first component names a registry when it contains a
/// `.` or a `:`, is `localhost`, or has upper-case letters; otherwise the
/// whole name is a path on Docker Hub.
fn split_domain(name: &str) -> Result<(String, String), ReferenceError> {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            validate_domain(first)?;
            (first.to_ascii_lowercase(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN.to_owned()
    } else {
        domain
    };
    validate_path(&path)?;
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        format!("{OFFICIAL_NAMESPACE}/{path}")
    } else {
        path
    };
    Ok((domain, path))
}

fn validate_domain(domain: &str) -> Result<(), ReferenceError> {
    if domain.starts_with('[') {
        return Err(ReferenceError::new(format!(
            "registry '{domain}': IPv6 registry addresses are not supported; use a host name \
             (e.g. localhost:5000)"
        )));
    }
    let (host, port) = match domain.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    if let Some(port) = port {
        validate_port(domain, host, port)?;
    }
    if host.len() > HOST_LENGTH_MAX {
        return Err(ReferenceError::new(format!(
            "registry host is {} characters long; a host name has at most {HOST_LENGTH_MAX}",
            host.len()
        )));
    }
    for component in host.split('.') {
        let bytes = component.as_bytes();
        let ok = !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-';
        if !ok {
            return Err(ReferenceError::new(format!(
                "registry host '{host}' is not a valid host name \
                 (letters, digits and inner '-', separated by '.')"
            )));
        }
        if bytes.len() > HOST_LABEL_LENGTH_MAX {
            return Err(ReferenceError::new(format!(
                "registry host '{host}' has a label of {} characters; a label of a host name \
                 has at most {HOST_LABEL_LENGTH_MAX}",
                bytes.len()
            )));
        }
    }
    Ok(())
}

/// 1 to 65535, written without leading zeros: `r.io:5000` and
/// `r.io:05000` would name one registry but give two record keys.
fn validate_port(domain: &str, host: &str, port: &str) -> Result<(), ReferenceError> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReferenceError::new(format!(
            "registry '{domain}' has an invalid port '{port}' (digits only)"
        )));
    }
    let value = port
        .parse::<u32>()
        .ok()
        .filter(|p| (1..=PORT_MAX).contains(p));
    match value {
        None => Err(ReferenceError::new(format!(
            "registry '{host}' has the port {port}; a port is a number from 1 to {PORT_MAX}"
        ))),
        Some(value) if port.starts_with('0') => Err(ReferenceError::new(format!(
            "registry '{domain}': write the port without leading zeros ({host}:{value})"
        ))),
        Some(_) => Ok(()),
    }
}

fn validate_path(path: &str) -> Result<(), ReferenceError> {
    if path.is_empty() {
        return Err(ReferenceError::new("the repository name is empty"));
    }
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::new(format!(
            "repository name '{path}' must be lower case"
        )));
    }
    for component in path.split('/') {
        if !is_path_component(component) {
            return Err(ReferenceError::new(format!(
                "repository name '{path}' has an invalid component '{component}' \
                 (lower-case letters and digits, joined by '.', '_', '__' or dashes)"
            )));
        }
    }
    Ok(())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    if bytes.is_empty() {
        return Err(ReferenceError::new("the tag after ':' is empty"));
    }
    if bytes.len() > TAG_LENGTH_MAX {
        return Err(ReferenceError::new(format!(
            "tag '{tag}' is {} characters long; the limit is {TAG_LENGTH_MAX}",
            bytes.len()
        )));
    }
    if !word(bytes[0]) || !bytes.iter().all(|b| word(*b) || *b == b'.' || *b == b'-') {
        return Err(ReferenceError::new(format!(
            "tag '{tag}' is invalid (letters, digits, '_', '.' and '-', \
             not starting with '.' or '-')"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(input: &str) -> String {
        ImageRef::parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(norm("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(
            norm("docker.io/alpine:3.19"),
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(
            norm("index.docker.io/library/alpine:3.19"),
            "docker.io/library/alpine:3.19"
        );
        assert_eq!(norm("myteam/app:1"), "docker.io/myteam/app:1");
        assert_eq!(norm("localhost/app:1"), "localhost/app:1");
        assert_eq!(
            norm("Registry.Example.COM/apps/x:1"),
            "registry.example.com/apps/x:1"
        );
        assert_eq!(norm("127.0.0.1:5000/a/b/c:v1"), "127.0.0.1:5000/a/b/c:v1");
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            norm(&format!("r.io/x:1.0@{digest}")),
            format!("r.io/x:1.0@{digest}")
        );
    }

    #[test]
    fn rejects_what_the_grammar_rejects() {
        for bad in [
            "",
            "alpine",
            "r.io/App:1",
            "r.io/app:",
            "r.io/app:.x",
            "r.io//app:1",
            "r.io/app-:1",
            "r.io:abc/app:1",
            "-r.io/app:1",
            "r.io/app:1@sha256:abc",
            "r.io/app@md5:",
            "r.io/a pp:1",
            "r.io/a..b:1",
            "[::1]:5000/a:1",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(ImageRef::parse(&format!("r.io/app:{}", "t".repeat(129))).is_err());
    }

    fn error(input: &str) -> String {
        match ImageRef::parse(input) {
            Ok(r) => panic!("{input:?} was accepted as {r}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn ports_are_1_to_65535_written_once() {
        for ok in ["r.io:1/a:1", "r.io:65535/a:1", "localhost:5000/a:1"] {
            assert!(ImageRef::parse(ok).is_ok(), "{ok}");
        }
        for (bad, says) in [
            ("r.io:0/a:1", "from 1 to 65535"),
            ("r.io:65536/a:1", "from 1 to 65535"),
            ("r.io:12345678901234567890/a:1", "from 1 to 65535"),
            ("r.io:99999999999999999999999999/a:1", "from 1 to 65535"),
            ("r.io:05000/a:1", "r.io:5000"),
            ("r.io:/a:1", "invalid port"),
        ] {
            let e = error(bad);
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn host_names_follow_dns_lengths() {
        let label = "a".repeat(63);
        assert!(ImageRef::parse(&format!("{label}.io/a:1")).is_ok());
        let e = error(&format!("{}.io/a:1", "a".repeat(64)));
        assert!(e.contains("label of 64 characters"), "{e}");
        // 4 labels of 63 and 3 dots: 255 > 253
        let host = [label.as_str(); 4].join(".");
        let e = error(&format!("{host}/a:1"));
        assert!(e.contains("at most 253"), "{e}");
    }

    #[test]
    fn the_255_limit_is_on_the_normalised_name() {
        // docker.io/library/ + 237 = 255
        let path = "a".repeat(255 - "docker.io/library/".len());
        assert!(ImageRef::parse(&format!("{path}:1")).is_ok());
        let e = error(&format!("{path}b:1"));
        assert!(e.contains("256 characters long"), "{e}");
        assert!(!e.contains(&path), "the name is not echoed: {e}");
        let path = "a/".repeat(200) + "a";
        let e = error(&format!("r.io/{path}:1"));
        assert!(e.contains("limit is 255"), "{e}");
    }

    #[test]
    fn huge_input_is_refused_without_being_echoed() {
        let huge = format!("r.io/{}:1", "a".repeat(100_000));
        let e = error(&huge);
        assert!(e.len() < 200, "{e}");
        assert!(e.contains("100007 characters"), "{e}");
    }
}
