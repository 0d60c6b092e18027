//! Where credentials would go. For a registry with token authentication,
//! the user's Basic credentials go to the token service the registry names
//! in its challenge (the `realm`), which may be another host. imglife keeps plain HTTP to loopback and `insecure_registries`
//! hosts: a realm outside that rule gets no credentials.

use crate::transport::plain_http;

/// `Err(why)` when credentials must not be sent to the token service
/// `realm` names.
pub fn check_realm(realm: &str, insecure: &[String]) -> Result<(), String> {
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
        assert!(check_realm("https://auth.docker.io/token", &none).is_ok());
        assert!(check_realm("http://127.0.0.1:5003/token", &none).is_ok());
        let err =
            check_realm("http://auth.example.com/token", &none).expect_err("plain HTTP off-host");
        assert!(err.contains("insecure_registries"), "{err}");
        let listed = vec!["auth.example.com".to_owned()];
        assert!(check_realm("http://auth.example.com/token", &listed).is_ok());
        assert!(check_realm("ftp://x/token", &none).is_err());
        assert!(check_realm("not a url", &none).is_err());
    }
}
