//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1): the scheme and its
//! parameters, quoted values included (`scope="repository:a:pull,push"`
//! holds a comma that a naive split would cut).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// The first challenge of a header value; `None` when there is no
    /// scheme.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        Some(Self {
            scheme: scheme.to_owned(),
            params: params(rest),
        })
    }

    /// Case-insensitive, as schemes are.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// A parameter's value (names are case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_owned();
        if name.is_empty() {
            return out;
        }
        if chars.next() != Some('=') {
            continue; // a token68 or a bare word: no value
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_owned();
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_and_bare_parameters() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service=registry.docker.io,scope="repository:a/b:pull,push""#,
        )
        .expect("challenge");
        assert!(c.is("bearer"));
        assert_eq!(c.param("Realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        assert_eq!(c.param("error"), None);
    }

    #[test]
    fn escapes_and_odd_spacing() {
        let c = Challenge::parse(r#"Basic  realm = "a \"b\" c" ,charset="UTF-8""#).expect("basic");
        assert!(c.is("Basic"));
        assert_eq!(c.param("realm"), Some(r#"a "b" c"#));
        assert_eq!(c.param("charset"), Some("UTF-8"));
        assert_eq!(Challenge::parse("  "), None);
        assert!(Challenge::parse("Negotiate").is_some_and(|c| c.param("realm").is_none()));
    }
}
