//! `/api/packages/{owner}/generic/{name}/{version}[/{file}]`
//! (`routers/api/packages/generic/generic.go` behind the middlewares of
//! `routers/api/packages/api.go`).

// The early-return helpers carry the finished response in `Err`.
#![allow(clippy::result_large_err)]

use super::auth::{self, Doer, Mode};
use super::http::{self, Req, Resp};
use super::objects;
use super::state::{AddError, State};

/// The decoded route parameters.
pub struct Target {
    pub owner: String,
    pub name: String,
    pub version: String,
}

/// `reqPackageAccess`'s refusal: too little access, or a token without the
/// package scope. Gitea answers 401 here, never 403.
fn unauthorized() -> Resp {
    let mut r = http::http_error(
        401,
        "user should have specific permission or be a site admin",
    );
    http::set_header(
        &mut r,
        "www-authenticate",
        "Basic realm=\"Gitea Package API\"",
    );
    r
}

/// `verifyAuth`, `UserAssignmentWeb`, then `reqPackageAccess(read)` of the
/// group and, for writes, `reqPackageAccess(write)` of the route.
fn guard(s: &State, req: &Req, owner: &str, need: Mode) -> Result<(u64, Doer), Resp> {
    let doer = auth::authenticate(s, req)
        .map_err(|_| http::http_error(401, "Failed to authenticate user"))?;
    let owner = s
        .owner_id(owner)
        .ok_or_else(|| http::plain(404, "Not found.\n"))?;
    for mode in [Mode::Read, need] {
        if !doer.has_scope(mode) || auth::access_mode(s, owner, doer) < mode {
            return Err(unauthorized());
        }
    }
    Ok((owner, doer))
}

/// `isValidPackageName`: `\A[-_+.\w]+\z` (Go's `\w` is ASCII), not `..`,
/// and a single character must be a letter or a digit.
pub fn valid_package_name(name: &str) -> bool {
    if name.len() == 1 && !name.as_bytes()[0].is_ascii_alphanumeric() {
        return false;
    }
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+.".contains(&b))
        && name != ".."
}

/// `isValidFileName`: `\A[-_+=:;.()\[\]{}~!@#$%^& \w]+\z`, no leading or
/// trailing space, not `.` or `..`.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+=:;.()[]{}~!@#$%^& ".contains(&b))
        && name.trim() == name
        && name != "."
        && name != ".."
}

/// The version must not have leading or trailing white space
/// (`packageVersion != strings.TrimSpace(packageVersion)`).
pub fn valid_version(version: &str) -> bool {
    version.trim() == version
}

/// `UploadPackage`.
pub fn put(s: &mut State, req: &Req, t: &Target, file: &str) -> Resp {
    let (owner, doer) = match guard(s, req, &t.owner, Mode::Write) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    if !valid_package_name(&t.name) {
        return http::plain(400, "invalid package name");
    }
    if !valid_file_name(file) {
        return http::plain(400, "invalid filename");
    }
    if !valid_version(&t.version) {
        return http::plain(400, "invalid package version");
    }
    if s.size_limit
        .is_some_and(|limit| req.body.len() as u64 > limit)
    {
        return http::plain(403, "maximum allowed package type size exceeded");
    }
    let creator = match doer {
        Doer::User { id, .. } => id,
        Doer::Anonymous => owner,
    };
    match s.add_file(owner, creator, &t.name, &t.version, file, req.body.to_vec()) {
        Ok(_) => http::empty(201),
        Err(AddError::Duplicate) => http::plain(409, "package file already exists"),
    }
}

/// `DownloadPackageFile` (GET and HEAD).
pub fn get(s: &State, req: &Req, t: &Target, file: &str) -> Resp {
    let (owner, _) = match guard(s, req, &t.owner, Mode::Read) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(version) = s.find_version(owner, &t.name, &t.version) else {
        return http::plain(404, "package does not exist");
    };
    let Some(row) = s
        .files_of(version)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(file))
    else {
        return http::plain(404, "package file does not exist");
    };
    if s.download_redirect {
        let mut r = http::empty(303);
        http::set_header(
            &mut r,
            "location",
            &objects::signed_url(&s.object_storage_url, &row.sha256),
        );
        return r;
    }
    let mut r = http::empty(200);
    *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(row.bytes.clone()));
    http::set_header(&mut r, "content-type", "application/octet-stream");
    http::set_header(
        &mut r,
        "content-disposition",
        &format!("attachment; filename=\"{}\"", row.name),
    );
    if let Ok(t) = jiff::Timestamp::from_second(row.created_unix) {
        http::set_header(
            &mut r,
            "last-modified",
            &t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        );
    }
    r
}

/// `DeletePackageFile`: the version goes with its last file.
pub fn delete_file(s: &mut State, req: &Req, t: &Target, file: &str) -> Resp {
    let (owner, _) = match guard(s, req, &t.owner, Mode::Write) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(version) = s.find_version(owner, &t.name, &t.version) else {
        return http::plain(404, "package does not exist");
    };
    let Some(id) = s
        .files_of(version)
        .into_iter()
        .find(|f| f.name.eq_ignore_ascii_case(file))
        .map(|f| f.id)
    else {
        return http::plain(404, "package file does not exist");
    };
    s.remove_file(id);
    http::empty(204)
}

/// `DeletePackage`: the version and all its files.
pub fn delete_version(s: &mut State, req: &Req, t: &Target) -> Resp {
    let (owner, _) = match guard(s, req, &t.owner, Mode::Write) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(version) = s.find_version(owner, &t.name, &t.version) else {
        return http::plain(404, "package does not exist");
    };
    s.remove_version(version);
    http::empty(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_and_versions_follow_gitea() {
        for ok in [
            "registry.example.com+apps+x",
            "a",
            "7",
            "my_pkg-1.0+x",
            "...",
        ] {
            assert!(valid_package_name(ok), "{ok}");
        }
        for bad in ["", ".", "-", "..", "a/b", "a b", "ä"] {
            assert!(!valid_package_name(bad), "{bad}");
        }
        for ok in ["record.json", "a b.txt", "x(1)[2]{3}~!@#$%^&=:;.bin"] {
            assert!(valid_file_name(ok), "{ok}");
        }
        for bad in ["", ".", "..", " a", "a ", "a/b", "a?b", "a\"b"] {
            assert!(!valid_file_name(bad), "{bad}");
        }
        assert!(valid_version("1.0 beta"));
        assert!(!valid_version(" 1.0"));
        assert!(!valid_version("1.0\t"));
    }
}
