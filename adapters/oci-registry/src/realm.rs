//! Where credentials would go. For a registry with token authentication,
//! the user's Basic credentials go to the token service the registry names
//! in its challenge (the `realm`), which may be another host. imglife keeps plain HTTP to loopback and `insecure_registries`
//! hosts: a realm outside that rule gets no credentials.

use crate::transport::plain_http;

/// The realm of a `Bearer` challenge, if it is one.
fn bearer_realm(challenge: &str) -> Option<&str> {
    let (scheme, params) = challenge.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    params.split(',').find_map(|param| {
        let (name, value) = param.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("realm")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// `Err(why)` when credentials must not be sent to the challenge's realm.
pub fn check_challenge(challenge: &str, insecure: &[String]) -> Result<(), String> {
    let Some(realm) = bearer_realm(challenge) else {
        return Ok(()); // Basic: the credentials go to the registry itself
    };
    let Ok(url) = url::Url::parse(realm) else {
        return Err(format!(
            "the registry names a token service '{realm}' that is not a URL"
        ));
    };
    match (url.scheme(), url.host_str()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(host)) => {
            let host_port = match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            if plain_http(&host_port, insecure) {
                Ok(())
            } else {
                Err(format!(
                    "the registry sends credentials to the token service {realm} over plain HTTP; \
                     imglife will not send them unencrypted (list {host_port} in \
                     registry.insecure_registries if that is intended)"
                ))
            }
        }
        _ => Err(format!(
            "the registry names an unusable token service '{realm}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_only_to_safe_realms() {
        let none: Vec<String> = Vec::new();
        assert!(check_challenge(r#"Basic realm="registry""#, &none).is_ok());
        assert!(
            check_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="x""#,
                &none
            )
            .is_ok()
        );
        assert!(
            check_challenge(
                r#"Bearer realm="http://127.0.0.1:5003/token",service="x""#,
                &none
            )
            .is_ok()
        );
        let err = check_challenge(
            r#"Bearer realm="http://auth.example.com/token",service="x""#,
            &none,
        )
        .expect_err("plain HTTP off-host");
        assert!(err.contains("insecure_registries"), "{err}");
        let listed = vec!["auth.example.com".to_owned()];
        assert!(
            check_challenge(r#"bearer realm="http://auth.example.com/token""#, &listed).is_ok()
        );
        assert!(check_challenge(r#"Bearer realm="ftp://x/token""#, &none).is_err());
    }
}
