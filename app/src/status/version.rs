//! The tag rule of `status`: which tags are versions, which of them may be
//! compared, and in what order.
//!
//! After Renovate's `docker` versioning, with imglife's own convention:
//!
//! - A tag is *versioned* when, after an optional leading `v`, it starts
//!   with numbers separated by dots (`3`, `3.21`, `3.21.3`). `latest`,
//!   `stable`, `edge`, branch names and commit hashes (7 to 40 hex digits,
//!   not all digits) are not.
//! - The organisation's build, `-core<version>` by default (the original
//!   tool's `build.tag_format`, `{{.Version}}-core{{.CoreVersion}}`), is
//!   part of the version: `3.21.3` < `3.21.3-core1.0.0` <
//!   `3.21.3-core1.2.0` < `3.21.4`.
//! - A pre-release is letters right after the numbers (`3.8.0b1`) or a
//!   piece `alpha`, `beta`, `rc`, `pre` or `preview`, optionally numbered
//!   (`-rc1`, `-alpha.2`, `-beta`), after the version or after the build.
//!   It ranks below its release and above the release before.
//! - What else follows a `-` is the *suffix* (`-alpine`, `-slim`,
//!   `-bookworm`). The suffix and the number of version parts make the
//!   *track*: only tags of the same track are compared (`20-alpine` and
//!   `22-slim` never are; neither are `3.19` and `3.21.3`).

use std::cmp::Ordering;

#[cfg(test)]
mod tests;

/// The original tool's default `build.tag_format`.
pub const DEFAULT_TAG_FORMAT: &str = "{{.Version}}-core{{.CoreVersion}}";

/// The words that make a piece after `-` a pre-release.
const PRERELEASE_WORDS: &[&str] = &["alpha", "beta", "preview", "pre", "rc"];

/// Parses tags: with the configured tag format, then with the default one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRule {
    formats: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(String),
    /// `{{.Version}}` or `{mirror-tag}`: the upstream tag.
    Upstream,
    /// `{{.CoreVersion}}` (numbers only) or `{build_name}` (letters, then
    /// numbers): the organisation's build.
    Build {
        named: bool,
    },
}

impl Default for TagRule {
    fn default() -> Self {
        Self {
            formats: vec![default_format()],
        }
    }
}

/// `{{.Version}}-core{{.CoreVersion}}`
fn default_format() -> Vec<Token> {
    vec![
        Token::Upstream,
        Token::Text("-core".to_owned()),
        Token::Build { named: false },
    ]
}

impl TagRule {
    /// `tag_format` is `build.tag_format` of the configuration file, in
    /// either of the original tool's spellings: a Go template of the tag
    /// (`{{.Version}}-core{{.CoreVersion}}`), or a token template of the
    /// whole reference (`{registry}/{folder}:{mirror-tag}-{build_name}`,
    /// of which only the tag, after the last `:`, counts). Tags that do
    /// not follow it are still read with the default format, so that
    /// `-core<version>` stays part of the version.
    pub fn new(tag_format: Option<&str>) -> Result<Self, String> {
        let mut rule = Self::default();
        if let Some(format) = tag_format {
            let tokens = Self::tokens(format)?;
            if tokens != rule.formats[0] {
                rule.formats.insert(0, tokens);
            }
        }
        Ok(rule)
    }

    fn tokens(format: &str) -> Result<Vec<Token>, String> {
        let mut tokens = Vec::new();
        let mut rest = format;
        while !rest.is_empty() {
            let (token, after) = if let Some(inner) = rest.strip_prefix("{{") {
                let end = inner
                    .find("}}")
                    .ok_or_else(|| format!("'{format}': '{{{{' without '}}}}'"))?;
                let name = inner[..end].trim();
                let token = match name {
                    ".Version" => Token::Upstream,
                    ".CoreVersion" => Token::Build { named: false },
                    _ => {
                        return Err(format!(
                            "'{format}': unknown placeholder '{{{{{name}}}}}'; the tag may hold \
                             {{{{.Version}}}} and {{{{.CoreVersion}}}}"
                        ));
                    }
                };
                (token, &inner[end + 2..])
            } else if let Some(inner) = rest.strip_prefix('{') {
                let end = inner
                    .find('}')
                    .ok_or_else(|| format!("'{format}': '{{' without '}}'"))?;
                let token = match &inner[..end] {
                    "mirror-tag" | "mirror_tag" => Token::Upstream,
                    "build_name" => Token::Build { named: true },
                    // Parts of the repository, before the tag: kept as
                    // text that `check` refuses if it is in the tag.
                    "registry" | "folder" => Token::Text(format!("{{{}}}", &inner[..end])),
                    other => {
                        return Err(format!(
                            "'{format}': unknown placeholder '{{{other}}}'; the tag may hold \
                             {{mirror-tag}} and {{build_name}}"
                        ));
                    }
                };
                (token, &inner[end + 1..])
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                (Token::Text(rest[..end].to_owned()), &rest[end..])
            };
            match (tokens.last_mut(), token) {
                (Some(Token::Text(text)), Token::Text(more)) => text.push_str(&more),
                (_, token) => tokens.push(token),
            }
            rest = after;
        }
        // A whole reference: only its tag, after the last ':', counts.
        let cut = tokens.iter().enumerate().rev().find_map(|(at, t)| match t {
            Token::Text(text) => text.rsplit_once(':').map(|(_, tail)| (at, tail.to_owned())),
            _ => None,
        });
        if let Some((at, tail)) = cut {
            tokens.drain(..=at);
            if !tail.is_empty() {
                tokens.insert(0, Token::Text(tail));
            }
        }
        Self::check(format, &tokens)?;
        Ok(tokens)
    }

    fn check(format: &str, tokens: &[Token]) -> Result<(), String> {
        let upstream = tokens.iter().filter(|t| **t == Token::Upstream).count();
        let builds = tokens
            .iter()
            .filter(|t| matches!(t, Token::Build { .. }))
            .count();
        if upstream != 1 || builds > 1 {
            return Err(format!(
                "'{format}': the tag must hold the upstream version once ({{{{.Version}}}} or \
                 {{mirror-tag}}) and the organisation's version at most once \
                 ({{{{.CoreVersion}}}} or {{build_name}})"
            ));
        }
        for pair in tokens.windows(2) {
            if !matches!(pair[0], Token::Text(_)) && !matches!(pair[1], Token::Text(_)) {
                return Err(format!(
                    "'{format}': two placeholders need text between them, such as '-core'"
                ));
            }
        }
        for token in tokens {
            if let Token::Text(text) = token
                && text.contains('{')
            {
                return Err(format!(
                    "'{format}': {{registry}} and {{folder}} belong to the repository, before the \
                     ':'; the tag may hold {{mirror-tag}} and {{build_name}}"
                ));
            }
            if let Token::Text(text) = token
                && let Some(bad) = text
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
            {
                return Err(format!(
                    "'{format}': '{bad}' cannot appear in a tag (letters, digits, '.', '-' and \
                     '_' can)"
                ));
            }
        }
        Ok(())
    }

    /// The version a tag stands for, or `None` when the tag is not
    /// versioned (`latest`, `edge`, `main`, a commit hash).
    pub fn parse(&self, tag: &str) -> Option<Version> {
        if is_commit_hash(tag) {
            return None;
        }
        let (upstream, build) = match self.split(tag) {
            Some((upstream, build, rest)) => {
                let mut pieces: Vec<&str> = if rest.is_empty() {
                    Vec::new()
                } else {
                    rest[1..].split('-').collect()
                };
                let pre = take_prerelease(&mut pieces);
                (upstream, Some((build, pre, pieces)))
            }
            None => (tag, None),
        };
        let upstream = upstream.strip_prefix('v').unwrap_or(upstream);
        let mut pieces = upstream.split('-');
        let (release, inline) = split_release(pieces.next()?)?;
        let mut suffix: Vec<&str> = pieces.collect();
        let pre = if inline.is_empty() {
            take_prerelease(&mut suffix)
        } else {
            Some(Prerelease::new(inline))
        };
        let build = build.map(|(text, build_pre, more)| {
            suffix.extend(more);
            let letters = text.len()
                - text
                    .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            Build {
                name: text[..letters].to_owned(),
                release: numbers(&text[letters..]),
                pre: build_pre,
            }
        });
        Some(Version {
            track: Track {
                suffix: suffix.join("-"),
                parts: release.len(),
            },
            key: Key {
                release,
                pre,
                build,
            },
            tag: tag.to_owned(),
        })
    }

    /// `(upstream, build, rest)` when the tag follows the format; `rest`
    /// is empty or starts with `-`.
    fn split<'t>(&self, tag: &'t str) -> Option<(&'t str, &'t str, &'t str)> {
        self.formats.iter().find_map(|tokens| {
            let mut found = Captures::default();
            if !matches(tokens, tag, 0, &mut found) {
                return None;
            }
            let (u0, u1) = found.upstream?;
            let (b0, b1) = found.build?;
            let end = found.end?;
            Some((&tag[u0..u1], &tag[b0..b1], &tag[end..]))
        })
    }
}

#[derive(Debug, Default)]
struct Captures {
    upstream: Option<(usize, usize)>,
    build: Option<(usize, usize)>,
    end: Option<usize>,
}

/// Matches `tokens` against `tag[at..]`, backtracking over the length of
/// the upstream version (shortest first); the build takes all the numbers
/// it can. What follows the last token must be empty or start with `-`.
fn matches(tokens: &[Token], tag: &str, at: usize, found: &mut Captures) -> bool {
    let Some((token, more)) = tokens.split_first() else {
        let rest = &tag[at..];
        if rest.is_empty() || rest.starts_with('-') {
            found.end = Some(at);
            return true;
        }
        return false;
    };
    match token {
        Token::Text(text) => {
            tag[at..].starts_with(text.as_str()) && matches(more, tag, at + text.len(), found)
        }
        Token::Build { named } => {
            let rest = &tag[at..];
            let letters = if *named {
                rest.len()
                    - rest
                        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                        .len()
            } else {
                0
            };
            let digits = numbers_len(&rest[letters..]);
            // `rc1` is a pre-release, never a build.
            if digits == 0 || is_prerelease_word(&rest[..letters]) {
                return false;
            }
            let end = at + letters + digits;
            found.build = Some((at, end));
            matches(more, tag, end, found)
        }
        Token::Upstream => {
            for end in at + 1..=tag.len() {
                if tag.is_char_boundary(end) && matches(more, tag, end, found) {
                    found.upstream = Some((at, end));
                    return true;
                }
            }
            false
        }
    }
}

/// The length of the longest `\d+(\.\d+)*` at the start of `text`.
fn numbers_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = 0;
    let mut at = 0;
    loop {
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return end;
        }
        at += digits;
        end = at;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
        } else {
            return end;
        }
    }
}

/// `3.21.3` into numbers; `text` is `\d+(\.\d+)*`.
fn numbers(text: &str) -> Vec<Number> {
    text.split('.').map(Number::new).collect()
}

/// Renovate's `^\d+(\.\d+)*\w*$`: the numbers, then letters, digits or
/// `_` right after them (an inline pre-release such as `b1`).
fn split_release(piece: &str) -> Option<(Vec<Number>, &str)> {
    let len = numbers_len(piece);
    if len == 0 {
        return None;
    }
    let (release, inline) = piece.split_at(len);
    if !inline
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some((numbers(release), inline))
}

fn is_prerelease_word(letters: &str) -> bool {
    PRERELEASE_WORDS
        .iter()
        .any(|w| letters.eq_ignore_ascii_case(w))
}

/// Takes the first piece when it is a pre-release (`rc1`, `alpha.2`,
/// `beta`, `pre`).
fn take_prerelease(pieces: &mut Vec<&str>) -> Option<Prerelease> {
    let first = *pieces.first()?;
    let lower = first.to_ascii_lowercase();
    let word = PRERELEASE_WORDS.iter().find(|w| lower.starts_with(**w))?;
    let numbers = &first[word.len()..];
    let numbered = numbers.split(['.', '_']).enumerate().all(|(i, n)| {
        (i == 0 && n.is_empty()) || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if !numbered {
        return None;
    }
    pieces.remove(0);
    Some(Prerelease::new(first))
}

/// Renovate's rule: 7 to 40 hexadecimal digits, not all of them digits.
fn is_commit_hash(tag: &str) -> bool {
    (7..=40).contains(&tag.len())
        && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !tag.bytes().all(|b| b.is_ascii_digit())
}

/// Tags of one track are compared with each other and with no other.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Track {
    /// `alpine` for `20-alpine`; empty when there is none.
    pub suffix: String,
    /// The number of upstream version parts: 3 for `3.21.3-core1.0.0`.
    pub parts: usize,
}

/// A versioned tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    track: Track,
    key: Key,
    tag: String,
}

impl Version {
    pub fn track(&self) -> &Track {
        &self.track
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Of the upstream version or of the organisation's build.
    pub fn is_prerelease(&self) -> bool {
        self.key.pre.is_some() || self.key.build.as_ref().is_some_and(|b| b.pre.is_some())
    }

    /// The version order alone, ignoring the track and the spelling:
    /// `v3.21.3` and `3.21.3` are the same version.
    pub fn cmp_version(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl Ord for Version {
    /// A total order: by track, then version, then the tag's text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.track
            .cmp(&other.track)
            .then_with(|| self.key.cmp(&other.key))
            .then_with(|| self.tag.cmp(&other.tag))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    release: Vec<Number>,
    pre: Option<Prerelease>,
    build: Option<Build>,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release
            .cmp(&other.release)
            .then_with(|| release_last(&self.pre, &other.pre))
            // No build < any build.
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The organisation's build of an upstream version: `core1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Build {
    /// Letters before the numbers (`{build_name}` only).
    name: String,
    release: Vec<Number>,
    pre: Option<Prerelease>,
}

impl Ord for Build {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name
            .cmp(&other.name)
            .then_with(|| self.release.cmp(&other.release))
            .then_with(|| release_last(&self.pre, &other.pre))
    }
}

impl PartialOrd for Build {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A release ranks above its pre-releases.
fn release_last(a: &Option<Prerelease>, b: &Option<Prerelease>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => a.cmp(b),
    }
}

/// A number of any length, compared by value (`09` = `9`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Number(String);

impl Number {
    fn new(digits: &str) -> Self {
        let trimmed = digits.trim_start_matches('0');
        Self(if trimmed.is_empty() { "0" } else { trimmed }.to_owned())
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `rc1`, `alpha.2`, `b1`: compared piece by piece, numbers by value and
/// below words, words without case (`alpha` < `beta` < `pre` < `rc`); a
/// pre-release that continues another ranks above it (`beta` < `beta.2`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Prerelease(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Piece {
    Number(Number),
    Word(String),
}

impl Prerelease {
    fn new(text: &str) -> Self {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(first) = rest.chars().next() {
            if matches!(first, '.' | '_' | '-') {
                rest = &rest[1..];
                continue;
            }
            let digit = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digit || matches!(c, '.' | '_' | '-'))
                .unwrap_or(rest.len());
            let (piece, tail) = rest.split_at(end);
            pieces.push(if digit {
                Piece::Number(Number::new(piece))
            } else {
                Piece::Word(piece.to_ascii_lowercase())
            });
            rest = tail;
        }
        Self(pieces)
    }
}

impl Ord for Prerelease {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Prerelease {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
