//! The package API: list packages, show one, list its files, delete a
//! package or a file. Offset pagination as `offset_header_builder.rb` does it.

// The early-return helpers carry the finished response in `Err`.
#![allow(clippy::result_large_err)]

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::auth::{self, Endpoint, Principal};
use super::http::{self, Req, Resp};
use super::state::{FileRow, Package, State, Status, iso};

const PACKAGE_TYPES: &[&str] = &[
    "maven",
    "npm",
    "conan",
    "nuget",
    "pypi",
    "composer",
    "generic",
    "golang",
    "debian",
    "rubygems",
    "helm",
    "terraform_module",
    "rpm",
    "ml_model",
    "cargo",
];
const STATUSES: &[&str] = &[
    "default",
    "hidden",
    "processing",
    "error",
    "pending_destruction",
    "deprecated",
];
/// `Kaminari::ActiveRecordRelationMethods::MAX_COUNT_LIMIT`
const MAX_COUNT_LIMIT: usize = 10_000;

fn project_not_found() -> Resp {
    http::message(404, "404 Project Not Found")
}

fn record_not_found() -> Resp {
    http::message(404, "404 Not found")
}

fn forbidden() -> Resp {
    http::message(403, "403 Forbidden")
}

/// Validated pagination parameters.
struct Page {
    page: usize,
    per_page: usize,
}

/// Grape validation of `page`/`per_page` and of enumerated parameters.
struct Params<'a> {
    req: &'a Req,
    errors: Vec<String>,
}

impl<'a> Params<'a> {
    fn new(req: &'a Req) -> Self {
        Self {
            req,
            errors: Vec::new(),
        }
    }

    fn integer(&mut self, name: &str) -> Option<i64> {
        let raw = self.req.param(name)?;
        match raw.trim().parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors.push(format!("{name} is invalid"));
                None
            }
        }
    }

    fn pagination(&mut self) -> Page {
        let page = match self.integer("page") {
            Some(v) if v < 0 => {
                self.errors
                    .push("page does not have a valid value".to_owned());
                1
            }
            Some(v) => v.max(1) as usize,
            None => 1,
        };
        let per_page = match self.integer("per_page") {
            Some(0) => {
                self.errors
                    .push("per_page has a value not allowed".to_owned());
                20
            }
            Some(v) if v < 0 => {
                self.errors
                    .push("per_page does not have a valid value".to_owned());
                20
            }
            Some(v) => (v as usize).min(100),
            None => 20,
        };
        Page { page, per_page }
    }

    fn one_of(&mut self, name: &str, values: &[&str], default: &'a str) -> &'a str {
        match self.req.param(name) {
            Some(v) if values.contains(&v) => v,
            Some(_) => {
                self.errors
                    .push(format!("{name} does not have a valid value"));
                default
            }
            None => default,
        }
    }

    fn integer_id(&mut self, name: &str, raw: &str) -> u64 {
        match raw.parse::<u64>() {
            Ok(v) => v,
            Err(_) => {
                self.errors.push(format!("{name} is invalid"));
                0
            }
        }
    }

    fn finish(self) -> Result<(), Resp> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(http::error(400, &self.errors.join(", ")))
        }
    }
}

/// `find_project!` plus `authorize_packages_access!` (read_package).
fn project_access(s: &State, req: &Req, id: &str) -> Result<(Principal, u64), Resp> {
    let who = auth::resolve(s, req, Endpoint::Api).map_err(|e| e.response(Endpoint::Api))?;
    let project = s.find_project(id).ok_or_else(project_not_found)?;
    if !auth::can_read_project(s, project, &who) {
        return Err(project_not_found());
    }
    if !auth::can_read_package(s, project, &who) {
        return Err(forbidden());
    }
    Ok((who, project.id))
}

/// `PackageFinder`: `.displayable.find(id)` within the project.
fn displayable_package(s: &State, project_id: u64, package_id: u64) -> Option<&Package> {
    s.packages
        .get(&package_id)
        .filter(|p| p.project_id == project_id && p.status == Status::Default)
}

fn package_entity(s: &State, p: &Package, can_destroy: bool, with_versions: bool) -> Value {
    let mut links = serde_json::Map::new();
    if p.status == Status::Default {
        let full_path = s
            .projects
            .get(&p.project_id)
            .map(|pr| pr.full_path.as_str())
            .unwrap_or_default();
        links.insert(
            "web_path".into(),
            json!(format!("/{full_path}/-/packages/{}", p.id)),
        );
    }
    if can_destroy {
        links.insert(
            "delete_api_path".into(),
            json!(format!(
                "{}/api/v4/projects/{}/packages/{}",
                s.api_url, p.project_id, p.id
            )),
        );
    }
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "version": p.version,
        "package_type": "generic",
        "status": p.status.as_str(),
        "_links": links,
        "created_at": iso(p.created_at),
        "last_downloaded_at": p.last_downloaded_at.map(iso),
        "tags": [],
    });
    if with_versions {
        let versions: Vec<Value> = s
            .packages
            .values()
            .filter(|o| {
                o.project_id == p.project_id
                    && o.name == p.name
                    && o.id != p.id
                    && o.status == Status::Default
            })
            .map(|o| {
                json!({
                    "id": o.id,
                    "version": o.version,
                    "created_at": iso(o.created_at),
                    "tags": [],
                })
            })
            .collect();
        v["versions"] = json!(versions);
    }
    v
}

fn file_entity(f: &FileRow) -> Value {
    json!({
        "id": f.id,
        "package_id": f.package_id,
        "created_at": iso(f.created_at),
        "file_name": f.file_name,
        "size": f.bytes.len(),
        "file_md5": null,
        "file_sha1": null,
        "file_sha256": f.sha256,
    })
}

/// The page of `items` plus GitLab's offset pagination headers.
fn paginate<T>(
    req: &Req,
    api_url: &str,
    items: Vec<T>,
    p: &Page,
    entity: impl Fn(T) -> Value,
) -> Resp {
    let total = items.len();
    let start = (p.page - 1).saturating_mul(p.per_page);
    let page_items: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(p.per_page)
        .map(entity)
        .collect();
    let has_next = total > start.saturating_add(p.per_page);
    let counted = total <= MAX_COUNT_LIMIT;
    let total_pages = total.div_ceil(p.per_page).max(1);

    let base = match req.header("host") {
        Some(host) => format!("http://{host}{}", req.path),
        None => format!("{api_url}{}", req.path),
    };
    let href = |page: usize| {
        let mut params: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .cloned()
            .collect();
        params.push(("page".into(), page.to_string()));
        params.push(("per_page".into(), p.per_page.to_string()));
        params.sort();
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", http::cgi_escape(k), http::cgi_escape(v)))
            .collect();
        format!("{base}?{}", query.join("&"))
    };
    let prev_page = (p.page > 1).then(|| p.page - 1);
    let next_page = has_next.then(|| p.page + 1);
    let mut links = Vec::new();
    if let Some(n) = prev_page {
        links.push(format!("<{}>; rel=\"prev\"", href(n)));
    }
    if let Some(n) = next_page {
        links.push(format!("<{}>; rel=\"next\"", href(n)));
    }
    links.push(format!("<{}>; rel=\"first\"", href(1)));
    if counted {
        links.push(format!("<{}>; rel=\"last\"", href(total_pages)));
    }

    let mut resp = http::json(200, &Value::Array(page_items));
    let opt = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    http::set_header(&mut resp, "x-per-page", &p.per_page.to_string());
    http::set_header(&mut resp, "x-page", &p.page.to_string());
    http::set_header(&mut resp, "x-next-page", &opt(next_page));
    http::set_header(&mut resp, "x-prev-page", &opt(prev_page));
    http::set_header(&mut resp, "link", &links.join(", "));
    if counted {
        http::set_header(&mut resp, "x-total", &total.to_string());
        http::set_header(&mut resp, "x-total-pages", &total_pages.to_string());
    }
    resp
}

/// `GET /projects/:id/packages`
pub fn list(s: &State, req: &Req, id: &str) -> Resp {
    let mut params = Params::new(req);
    let page = params.pagination();
    let order_by = params.one_of(
        "order_by",
        &["created_at", "name", "version", "type"],
        "created_at",
    );
    let sort = params.one_of("sort", &["asc", "desc"], "asc");
    let package_type = req
        .param("package_type")
        .map(|_| params.one_of("package_type", PACKAGE_TYPES, "generic"));
    let status = req
        .param("status")
        .map(|_| params.one_of("status", STATUSES, "default"));
    if let Err(resp) = params.finish() {
        return resp;
    }
    let (who, project_id) = match project_access(s, req, id) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let can_destroy = s
        .projects
        .get(&project_id)
        .is_some_and(|p| auth::can_destroy_package(s, p, &who));

    let name_query = req.param("package_name").map(str::to_lowercase);
    let version = req.param("package_version");
    let mut packages: Vec<&Package> = s
        .packages
        .values()
        .filter(|p| p.project_id == project_id)
        .filter(|_| package_type.is_none_or(|t| t == "generic"))
        .filter(|p| match status {
            Some(st) => p.status.as_str() == st,
            None => p.status == Status::Default,
        })
        .filter(|p| {
            name_query
                .as_deref()
                .is_none_or(|q| p.name.to_lowercase().contains(q))
        })
        .filter(|p| version.is_none_or(|v| p.version == v))
        .collect();
    packages.sort_by(|a, b| {
        let primary = match order_by {
            "name" => a.name.cmp(&b.name),
            "version" => a.version.cmp(&b.version),
            "type" => Ordering::Equal,
            _ => a.created_at.cmp(&b.created_at),
        };
        let ord = primary.then(a.id.cmp(&b.id));
        if sort == "desc" { ord.reverse() } else { ord }
    });
    paginate(req, &s.api_url, packages, &page, |p| {
        package_entity(s, p, can_destroy, false)
    })
}

/// `GET /projects/:id/packages/:package_id`
pub fn show(s: &State, req: &Req, id: &str, package_id: &str) -> Resp {
    let mut params = Params::new(req);
    let package_id = params.integer_id("package_id", package_id);
    if let Err(resp) = params.finish() {
        return resp;
    }
    let (who, project_id) = match project_access(s, req, id) {
        Ok(ok) => ok,
        Err(resp) => return resp,
    };
    let Some(package) = displayable_package(s, project_id, package_id) else {
        return record_not_found();
    };
    let can_destroy = s
        .projects
        .get(&project_id)
        .is_some_and(|p| auth::can_destroy_package(s, p, &who));
    http::json(200, &package_entity(s, package, can_destroy, true))
}

/// `GET /projects/:id/packages/:package_id/package_files`
pub fn files(s: &State, req: &Req, id: &str, package_id: &str) -> Resp {
    let mut params = Params::new(req);
    let package_id = params.integer_id("package_id", package_id);
    let page = params.pagination();
    let order_by = params.one_of("order_by", &["id", "created_at", "file_name"], "id");
    let sort = params.one_of("sort", &["asc", "desc"], "asc");
    if let Err(resp) = params.finish() {
        return resp;
    }
    let project_id = match project_access(s, req, id) {
        Ok((_, project_id)) => project_id,
        Err(resp) => return resp,
    };
    if displayable_package(s, project_id, package_id).is_none() {
        return record_not_found();
    }
    let mut files = s.installable_files(package_id);
    files.sort_by(|a, b| {
        let primary = match order_by {
            "created_at" => a.created_at.cmp(&b.created_at),
            "file_name" => a.file_name.cmp(&b.file_name),
            _ => Ordering::Equal,
        };
        let ord = primary.then(a.id.cmp(&b.id));
        if sort == "desc" { ord.reverse() } else { ord }
    });
    paginate(req, &s.api_url, files, &page, file_entity)
}

/// Access checks shared by both deletes: read, then `authorize_destroy_package!`.
fn destroy_access(s: &State, req: &Req, id: &str) -> Result<u64, Resp> {
    let (who, project_id) = project_access(s, req, id)?;
    let allowed = s
        .projects
        .get(&project_id)
        .is_some_and(|p| auth::can_destroy_package(s, p, &who));
    if allowed {
        Ok(project_id)
    } else {
        Err(forbidden())
    }
}

/// `DELETE /projects/:id/packages/:package_id`
pub fn delete_package(s: &mut State, req: &Req, id: &str, package_id: &str) -> Resp {
    let mut params = Params::new(req);
    let package_id = params.integer_id("package_id", package_id);
    if let Err(resp) = params.finish() {
        return resp;
    }
    let project_id = match destroy_access(s, req, id) {
        Ok(project_id) => project_id,
        Err(resp) => return resp,
    };
    if displayable_package(s, project_id, package_id).is_none() {
        return record_not_found();
    }
    s.mark_package_for_destruction(package_id);
    http::empty(204)
}

/// `DELETE /projects/:id/packages/:package_id/package_files/:file_id`
pub fn delete_file(s: &mut State, req: &Req, id: &str, package_id: &str, file_id: &str) -> Resp {
    let mut params = Params::new(req);
    let package_id = params.integer_id("package_id", package_id);
    let file_id = params.integer_id("package_file_id", file_id);
    if let Err(resp) = params.finish() {
        return resp;
    }
    let project_id = match destroy_access(s, req, id) {
        Ok(project_id) => project_id,
        Err(resp) => return resp,
    };
    if displayable_package(s, project_id, package_id).is_none() {
        return record_not_found();
    }
    let found = s
        .installable_files(package_id)
        .iter()
        .any(|f| f.id == file_id);
    if !found {
        return http::message(404, "404 Not Found");
    }
    if let Some(f) = s.files.get_mut(&file_id) {
        f.pending_destruction = true;
    }
    http::empty(204)
}
