//! `PUT|GET /api/v4/projects/:id/packages/generic/:name/:version/(*path/):file`

use serde_json::json;

use super::auth::{self, Endpoint, Principal};
use super::http::{self, Req, Resp};
use super::objects;
use super::state::{NamespaceSettings, State, Status, iso};
use super::validate;

/// The decoded route parameters.
pub struct Target {
    pub id: String,
    pub name: String,
    pub version: String,
    /// The lazy `*path` splat between the version and the file name.
    pub path: Option<String>,
    pub file_name: String,
}

impl Target {
    /// The name stored for the file: `encoded_file_name`.
    fn stored_file_name(&self) -> String {
        match &self.path {
            Some(path) => http::encode_component(&format!("{path}/{}", self.file_name)),
            None => self.file_name.clone(),
        }
    }

    /// Grape's validation of the route parameters, errors joined by ", ".
    fn errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if !validate::package_name(&self.name) {
            errors.push("package_name is invalid".to_owned());
        }
        if !validate::package_version(&self.version) {
            errors.push("package_version is invalid".to_owned());
        }
        if let Some(path) = &self.path
            && !validate::file_path(path)
        {
            errors.push("path should be a valid file path".to_owned());
        }
        if !validate::file_name(&self.file_name) {
            errors.push("file_name is invalid".to_owned());
        }
        errors
    }
}

fn not_found() -> Resp {
    http::message(404, "404 Not Found")
}

/// `unauthorized_or! { not_found! }`
fn unauthorized_or_not_found(who: &Principal, endpoint: Endpoint) -> Resp {
    if who.authenticated() {
        not_found()
    } else {
        auth::unauthorized(endpoint)
    }
}

/// Newest semantics: the exception regex inverts the namespace setting.
fn duplicates_allowed(settings: Option<&NamespaceSettings>, name: &str, version: &str) -> bool {
    let default = NamespaceSettings::default();
    let settings = settings.unwrap_or(&default);
    let regex_match = settings
        .exception_regex
        .as_ref()
        .is_some_and(|r| r.is_match(name) || r.is_match(version));
    if settings.duplicates_allowed {
        !regex_match
    } else {
        regex_match
    }
}

pub fn put(s: &mut State, req: &Req, t: &Target) -> Resp {
    let endpoint = Endpoint::GenericPut;
    // `before { authenticate_non_get! }` runs before parameter validation.
    let who = match auth::resolve(s, req, endpoint) {
        Ok(who) => who,
        Err(e) => return e.response(endpoint),
    };
    if !who.authenticated() {
        return auth::unauthorized(endpoint);
    }

    let mut errors = t.errors();
    let status = req.param("status");
    if status.is_some_and(|v| v != "default" && v != "hidden") {
        errors.push("status does not have a valid value".to_owned());
    }
    let select = req.param("select");
    if select.is_some_and(|v| v != "package_file") {
        errors.push("select does not have a valid value".to_owned());
    }
    if !errors.is_empty() {
        return http::error(400, &errors.join(", "));
    }

    // authorized_user_project, then authorize_upload!
    let Some(project) = s.find_project(&t.id) else {
        return unauthorized_or_not_found(&who, endpoint);
    };
    if !auth::can_read_project(s, project, &who) {
        return unauthorized_or_not_found(&who, endpoint);
    }
    if !auth::can_create_package(s, project, &who) {
        return http::message(403, "403 Forbidden");
    }
    let project_id = project.id;
    let namespace = project.namespace().to_owned();

    let size = req.body.len() as u64;
    if s.max_file_size > 0 && size > s.max_file_size {
        return http::message(400, "400 Bad request - File is too large");
    }

    let file_name = t.stored_file_name();
    if let Some(package_id) = s.live_package(project_id, &t.name, &t.version)
        && !duplicates_allowed(s.namespace(&namespace), &t.name, &t.version)
        && s.installable_files(package_id)
            .iter()
            .any(|f| f.file_name == file_name)
    {
        return http::message(400, "400 Bad request - Duplicate package is not allowed");
    }

    let package_id = s.find_or_create_package(project_id, &t.name, &t.version);
    if let Some(status) = status
        && let Some(p) = s.packages.get_mut(&package_id)
    {
        p.status = if status == "hidden" {
            Status::Hidden
        } else {
            Status::Default
        };
    }
    let file_id = s.add_file(package_id, &file_name, req.body.to_vec());

    if select.is_some() {
        let Some(f) = s.files.get(&file_id) else {
            return http::message(500, "500 Internal Server Error");
        };
        let created = iso(f.created_at);
        return http::json(
            200,
            &json!({
                "id": f.id,
                "package_id": f.package_id,
                "created_at": created,
                "updated_at": created,
                "size": f.bytes.len(),
                "file_store": 1,
                "file_md5": null,
                "file_sha1": null,
                "file_name": f.file_name,
                "file": { "url": format!("/{}", f.file_name) },
                "file_sha256": f.sha256,
                "verification_retry_at": null,
                "verified_at": null,
                "verification_failure": null,
                "verification_retry_count": null,
                "verification_checksum": null,
                "verification_state": 0,
                "verification_started_at": null,
                "new_file_path": null,
            }),
        );
    }
    http::message(201, "201 Created")
}

pub fn get(s: &mut State, req: &Req, t: &Target) -> Resp {
    let endpoint = Endpoint::GenericGet;
    let errors = t.errors();
    if !errors.is_empty() {
        return http::error(400, &errors.join(", "));
    }
    let who = match auth::resolve(s, req, endpoint) {
        Ok(who) => who,
        Err(e) => return e.response(endpoint),
    };

    // authorized_user_project(action: :read_package)
    let Some(project) = s.find_project(&t.id) else {
        return unauthorized_or_not_found(&who, endpoint);
    };
    if !auth::can_read_package(s, project, &who) {
        if auth::can_read_project(s, project, &who) {
            return http::message(403, "403 Forbidden");
        }
        return unauthorized_or_not_found(&who, endpoint);
    }
    let project_id = project.id;

    // PackageFinder: installable (default, hidden); then the newest file.
    let record_not_found = || http::message(404, "404 Not found");
    let Some(package_id) = s
        .live_package(project_id, &t.name, &t.version)
        .filter(|id| {
            s.packages
                .get(id)
                .is_some_and(|p| matches!(p.status, Status::Default | Status::Hidden))
        })
    else {
        return record_not_found();
    };
    let file_name = t.stored_file_name();
    let Some(file) = s
        .installable_files(package_id)
        .into_iter()
        .rev()
        .find(|f| f.file_name == file_name)
    else {
        return record_not_found();
    };
    let mut resp = if s.download_redirect {
        let location = objects::signed_url(&s.object_storage_url, project_id, file);
        let mut r = http::empty(302);
        http::set_header(&mut r, "location", &location);
        r
    } else {
        let mut r = http::empty(200);
        *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(file.bytes.clone()));
        http::set_header(&mut r, "content-type", "application/octet-stream");
        http::set_header(
            &mut r,
            "content-disposition",
            &content_disposition(&file.file_name),
        );
        http::set_header(&mut r, "content-transfer-encoding", "binary");
        http::set_header(&mut r, "x-checksum-sha256", &file.sha256);
        r
    };
    http::set_header(
        &mut resp,
        "cache-control",
        "max-age=0, private, must-revalidate",
    );
    if let Some(p) = s.packages.get_mut(&package_id) {
        p.last_downloaded_at = Some(jiff::Timestamp::now());
    }
    resp
}

/// `attachment; filename="<name>"; filename*=UTF-8''<name>`
pub fn content_disposition(name: &str) -> String {
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        name.replace('"', "%22"),
        http::encode_component(name)
    )
}
