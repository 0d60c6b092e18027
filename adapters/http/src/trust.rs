//! The certificates HTTPS trusts, read once per process.
//!
//! Left alone, every reqwest client scans the whole certificate directory
//! (`/etc/ssl/certs`: hundreds of files) when it is built, which was over
//! half of `imglife register`'s time against a registry. Distributions keep
//! the same roots in one bundle file; reading that once and handing the
//! parsed certificates to every client gives the same trust for a fraction
//! of the cost. `SSL_CERT_FILE` and `SSL_CERT_DIR` add to it, as OpenSSL
//! and Go honour them.

use std::path::Path;
use std::sync::OnceLock;

use reqwest::Certificate;

/// Where distributions keep their bundle, most common first.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem", // openSUSE
    "/etc/ssl/cert.pem",      // Alpine, macOS
];

/// A certificate file larger than this is not a certificate file (the
/// biggest distribution bundles are about 250 KiB).
const MAX_PEM_FILE: u64 = 4 * 1024 * 1024;

/// What a client trusts.
#[derive(Debug, Clone)]
pub enum Roots {
    /// Exactly these certificates: the system bundle plus the user's.
    Only(Vec<Certificate>),
    /// No bundle file was found: the TLS library's own lookup of the
    /// system store, plus these (the user's) certificates.
    SystemPlus(Vec<Certificate>),
}

/// The roots of this process; the first call reads the files, later calls
/// get the same answer (an error included: the environment does not
/// change while imglife runs).
pub fn roots() -> Result<&'static Roots, String> {
    static ROOTS: OnceLock<Result<Roots, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
            load(
                BUNDLES,
                env("SSL_CERT_FILE").as_deref().map(Path::new),
                env("SSL_CERT_DIR").as_deref(),
            )
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The CA of the GitLab instance a CI job runs for, from the file the runner
/// names in `CI_SERVER_TLS_CA_FILE` (a self-signed or private GitLab);
/// empty when unset. Read once.
pub fn gitlab_ci_server() -> Result<&'static [Certificate], String> {
    static CA: OnceLock<Result<Vec<Certificate>, String>> = OnceLock::new();
    CA.get_or_init(|| {
        let Some(path) = std::env::var_os("CI_SERVER_TLS_CA_FILE").filter(|v| !v.is_empty()) else {
            return Ok(Vec::new());
        };
        let path = Path::new(&path);
        let pem = read_pem_file(path).map_err(|e| {
            format!(
                "CI_SERVER_TLS_CA_FILE={}: cannot be read: {e}",
                path.display()
            )
        })?;
        parse(&pem).map_err(|e| {
            format!(
                "CI_SERVER_TLS_CA_FILE={} does not hold PEM certificates ({e})",
                path.display()
            )
        })
    })
    .as_deref()
    .map_err(Clone::clone)
}

fn load(
    bundles: &[&str],
    cert_file: Option<&Path>,
    cert_dirs: Option<&std::ffi::OsStr>,
) -> Result<Roots, String> {
    let bundle = bundles.iter().find_map(|path| {
        let path = Path::new(path);
        read_pem_file(path).ok().map(|pem| (path, pem))
    });
    // What the variables name is often the bundle itself, or the directory
    // it is generated from: CI images set `SSL_CERT_FILE` and
    // `SSL_CERT_DIR` to `/etc/ssl/certs/ca-certificates.crt` and
    // `/etc/ssl/certs` for every tool. Reading those again adds no trust
    // (update-ca-certificates and update-ca-trust write every certificate
    // of that directory into the bundle) and scanning the directory, ~300
    // files, cost `register` 10 ms a run: the scan the bundle is read to
    // avoid.
    let bundle_path = bundle
        .as_ref()
        .and_then(|(path, _)| path.canonicalize().ok());
    let bundle_dir = bundle_path.as_deref().and_then(Path::parent);
    let is_bundle = |path: &Path| bundle_path.is_some() && path.canonicalize().ok() == bundle_path;
    let is_bundle_dir =
        |dir: &Path| bundle_dir.is_some() && dir.canonicalize().ok().as_deref() == bundle_dir;

    let mut extra = Vec::new();
    if let Some(path) = cert_file.filter(|path| !is_bundle(path)) {
        let pem = read_pem_file(path).map_err(|e| {
            format!(
                "SSL_CERT_FILE={}: cannot be read: {e}; point it at a PEM bundle or unset it",
                path.display()
            )
        })?;
        extra.extend(parse(&pem).map_err(|e| {
            format!(
                "SSL_CERT_FILE={} does not hold PEM certificates ({e}); point it at a PEM bundle \
                 or unset it",
                path.display()
            )
        })?);
    }
    if let Some(dirs) = cert_dirs {
        for dir in std::env::split_paths(dirs).filter(|dir| !is_bundle_dir(dir)) {
            extra.extend(read_dir(&dir)?);
        }
    }
    Ok(match bundle {
        Some((_, pem)) => {
            let mut certs = parse(&pem).unwrap_or_default();
            certs.extend(extra);
            Roots::Only(certs)
        }
        None => Roots::SystemPlus(extra),
    })
}

/// Every certificate in the regular files of an `SSL_CERT_DIR` entry;
/// files that hold none (a CRL, a README) are passed over, as OpenSSL does.
fn read_dir(dir: &Path) -> Result<Vec<Certificate>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "SSL_CERT_DIR names {}, which cannot be read: {e}; fix or unset SSL_CERT_DIR",
            dir.display()
        )
    })?;
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        if let Ok(pem) = read_pem_file(&entry.path()) {
            certs.extend(parse(&pem).unwrap_or_default());
        }
    }
    Ok(certs)
}

/// Reads a regular file of bounded size (never a FIFO or a device).
fn read_pem_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut pem = Vec::new();
    file.take(MAX_PEM_FILE + 1).read_to_end(&mut pem)?;
    if pem.len() as u64 > MAX_PEM_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_PEM_FILE / 1024 / 1024
        )));
    }
    Ok(pem)
}

fn parse(pem: &[u8]) -> Result<Vec<Certificate>, String> {
    let certs = Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate found".to_owned());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A public root (ISRG Root X2), only to have a real certificate.
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIICGzCCAaGgAwIBAgIQQdKd0XLq7qeAwSxs6S+HUjAKBggqhkjOPQQDAzBPMQsw
CQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJuZXQgU2VjdXJpdHkgUmVzZWFyY2gg
R3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBYMjAeFw0yMDA5MDQwMDAwMDBaFw00
MDA5MTcxNjAwMDBaME8xCzAJBgNVBAYTAlVTMSkwJwYDVQQKEyBJbnRlcm5ldCBT
ZWN1cml0eSBSZXNlYXJjaCBHcm91cDEVMBMGA1UEAxMMSVNSRyBSb290IFgyMHYw
EAYHKoZIzj0CAQYFK4EEACIDYgAEzZvVn4CDCuwJSvMWSj5cz3es3mcFDR0HttwW
+1qLFNvicWDEukWVEYmO6gbf9yoWHKS5xcUy4APgHoIYOIvXRdgKam7mAHf7AlF9
ItgKbppbd9/w+kHsOdx1ymgHDB/qo0IwQDAOBgNVHQ8BAf8EBAMCAQYwDwYDVR0T
AQH/BAUwAwEB/zAdBgNVHQ4EFgQUfEKWrt5LSDv6kviejM9ti6lyN5UwCgYIKoZI
zj0EAwMDaAAwZQIwe3lORlCEwkSHRhtFcP9Ymd70/aTSVaYgLXTWNLxBo1BfASdW
tL4ndQavEi51mI38AjEAi/V3bNTIZargCyzuFJ0nN6T5U6VR5CmD1/iQMVtCnwr1
/q4AaOeMSQ+2b1tbFfLn
-----END CERTIFICATE-----
";

    fn temp_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "imglife-trust-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn the_bundle_is_trusted_alone_with_the_users_certificates_added() {
        let dir = temp_dir();
        let bundle = dir.join("bundle.pem");
        std::fs::write(&bundle, CERT).expect("write");
        let extra = dir.join("extra.pem");
        std::fs::write(&extra, format!("{CERT}{CERT}")).expect("write");
        let bundles = [bundle.to_str().expect("utf-8")];
        match load(&bundles, Some(&extra), None) {
            Ok(Roots::Only(certs)) => assert_eq!(certs.len(), 3),
            other => panic!("{other:?}"),
        }
        let missing = ["/nonexistent/bundle.pem"];
        match load(&missing, Some(&extra), Some(dir.as_os_str())) {
            // extra.pem twice (the file, then the directory) + bundle.pem
            Ok(Roots::SystemPlus(certs)) => assert_eq!(certs.len(), 5),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_bundle_and_its_own_directory_are_not_read_again() {
        let dir = temp_dir();
        let bundle = dir.join("ca-certificates.crt");
        std::fs::write(&bundle, CERT).expect("write");
        std::fs::write(dir.join("one.pem"), CERT).expect("write");
        let other = temp_dir();
        std::fs::write(other.join("two.pem"), format!("{CERT}{CERT}")).expect("write");
        let bundles = [bundle.to_str().expect("utf-8")];
        // SSL_CERT_FILE is the bundle (spelt another way), SSL_CERT_DIR
        // its directory plus another: only the other directory adds.
        let spelt = dir.join(".").join("ca-certificates.crt");
        let dirs = std::env::join_paths([dir.clone(), other.clone()]).expect("paths");
        match load(&bundles, Some(&spelt), Some(&dirs)) {
            Ok(Roots::Only(certs)) => assert_eq!(certs.len(), 3),
            other => panic!("{other:?}"),
        }
        // Without a bundle, nothing is a duplicate: both directories count.
        let bundle_less = ["/nonexistent/bundle.pem"];
        match load(&bundle_less, None, Some(&dirs)) {
            Ok(Roots::SystemPlus(certs)) => assert_eq!(certs.len(), 4),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(dir).ok();
        std::fs::remove_dir_all(other).ok();
    }

    #[test]
    fn a_bad_ssl_cert_file_is_an_error_that_names_it() {
        let dir = temp_dir();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let err = load(&[], Some(&junk), None).expect_err("junk");
        assert!(
            err.contains("SSL_CERT_FILE=") && err.contains("junk.pem"),
            "{err}"
        );
        let err = load(&[], Some(&dir.join("absent.pem")), None).expect_err("absent");
        assert!(err.contains("cannot be read"), "{err}");
        let err = load(&[], None, Some(dir.join("absent").as_os_str())).expect_err("dir");
        assert!(err.contains("SSL_CERT_DIR"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
