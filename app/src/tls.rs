//! The trust roots for HTTPS, read once per process from the system's CA
//! bundle file.
//!
//! Left alone, every reqwest client scans the whole certificate directory
//! (`/etc/ssl/certs`: hundreds of files) when it is built, which was over
//! half of `imglife register`'s time against a registry. Distributions
//! keep the same roots in one bundle file; reading that once and handing
//! it to each adapter gives the same trust for a fraction of the cost.

use std::sync::{Arc, OnceLock};

use crate::error::Failure;

/// Where distributions keep their bundle, most common first.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem", // openSUSE
    "/etc/ssl/cert.pem",      // Alpine, macOS
];

/// PEM roots to use instead of scanning the system store: the bundle plus
/// `SSL_CERT_FILE` when set. `None` when no bundle file exists: then the
/// adapters fall back to their own system lookup.
pub fn roots() -> Result<Option<Arc<Vec<u8>>>, Failure> {
    static ROOTS: OnceLock<Option<Arc<Vec<u8>>>> = OnceLock::new();
    if let Some(roots) = ROOTS.get() {
        return Ok(roots.clone());
    }
    let mut pem = match BUNDLES.iter().find_map(|path| std::fs::read(path).ok()) {
        Some(bundle) => bundle,
        None => return Ok(ROOTS.get_or_init(|| None).clone()),
    };
    if let Some(extra) = extra() {
        let extra = extra?;
        pem.push(b'\n');
        pem.extend_from_slice(&extra);
    }
    Ok(ROOTS.get_or_init(|| Some(Arc::new(pem))).clone())
}

/// The PEM bundle named by `SSL_CERT_FILE`, trusted in addition to the
/// system's roots.
pub fn extra() -> Option<Result<Vec<u8>, Failure>> {
    let path = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty())?;
    Some(std::fs::read(&path).map_err(|e| {
        Failure::new(format!(
            "SSL_CERT_FILE={}: cannot be read: {e}; point it at a PEM bundle or unset it",
            std::path::Path::new(&path).display()
        ))
    }))
}
