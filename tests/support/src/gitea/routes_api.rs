//! `/api/v1/packages/{owner}[/{type}/{name}/...]`
//! (`routers/api/v1/packages/package.go` behind the middlewares of
//! `routers/api/v1/api.go`): JSON answers, `403` where the package
//! registry routes answer `401`.

// The early-return helpers carry the finished response in `Err`.
#![allow(clippy::result_large_err)]

use serde_json::{Value, json};

use super::auth::{self, Doer, Mode};
use super::http::{self, Req, Resp};
use super::state::{PackageRow, State, VersionRow, rfc3339};

/// `[api] DEFAULT_PAGING_NUM`.
const DEFAULT_PAGING_NUM: i64 = 30;

/// `APIError`: `{"message": ..., "url": <swagger>}`.
pub fn api_error(s: &State, status: u16, message: &str) -> Resp {
    http::json(
        status,
        &json!({ "message": message, "url": format!("{}/api/swagger", s.url) }),
    )
}

/// `APIContext.NotFound`.
pub fn not_found(s: &State) -> Resp {
    http::json(
        404,
        &json!({
            "errors": [],
            "message": "The target couldn't be found.",
            "url": format!("{}/api/swagger", s.url),
        }),
    )
}

/// What the middlewares found.
struct Guard {
    owner: u64,
    doer: Doer,
    version: Option<u64>,
}

/// `apiAuth`, `tokenRequiresScopes(package)`, `UserAssignmentAPI`,
/// `PackageAssignmentAPI`, `reqPackageAccess(read)`; then the route's
/// `reqToken` and `reqPackageAccess(write)` when asked.
fn guard(
    s: &State,
    req: &Req,
    owner: &str,
    version: Option<(&str, &str, &str)>,
    require_token: bool,
    need: Mode,
) -> Result<Guard, Resp> {
    let doer = auth::authenticate(s, req).map_err(|token| {
        // `ErrAccessTokenNotExist` echoes the token it was given.
        api_error(
            s,
            401,
            &format!("access token does not exist [sha: {token}]"),
        )
    })?;
    let level = if req.is_write() {
        Mode::Write
    } else {
        Mode::Read
    };
    if !doer.has_scope(level) {
        let scope = if level == Mode::Write {
            "write:package"
        } else {
            "read:package"
        };
        return Err(api_error(
            s,
            403,
            &format!("token does not have at least one of required scope(s): [{scope}]"),
        ));
    }
    let owner = s.owner_id(owner).ok_or_else(|| not_found(s))?;
    let version = match version {
        Some((kind, name, version)) => {
            let found = (kind == "generic")
                .then(|| s.find_version(owner, name, version))
                .flatten();
            Some(found.ok_or_else(|| api_error(s, 404, "package does not exist"))?)
        }
        None => None,
    };
    let mode = auth::access_mode(s, owner, doer);
    let denied = || {
        api_error(
            s,
            403,
            "user should have specific permission or be a site admin",
        )
    };
    if mode < Mode::Read {
        return Err(denied());
    }
    if require_token && !doer.is_signed() {
        return Err(api_error(s, 401, "token is required"));
    }
    if mode < need {
        return Err(denied());
    }
    Ok(Guard {
        owner,
        doer,
        version,
    })
}

fn user_json(s: &State, id: u64) -> Value {
    let Some(o) = s.owners.get(&id) else {
        return Value::Null;
    };
    let visibility = match o.visibility {
        super::Visibility::Public => "public",
        super::Visibility::Limited => "limited",
        super::Visibility::Private => "private",
    };
    json!({
        "id": o.id,
        "login": o.name,
        "login_name": "",
        "source_id": 0,
        "full_name": "",
        "email": format!("{}@noreply.localhost", o.name.to_lowercase()),
        "avatar_url": format!("{}/avatars/{}", s.url, o.id),
        "html_url": format!("{}/{}", s.url, o.name),
        "language": "",
        "is_admin": false,
        "restricted": false,
        "active": true,
        "prohibit_login": false,
        "visibility": visibility,
        "username": o.name,
    })
}

fn repo_json(s: &State, id: u64) -> Value {
    let Some(r) = s.repos.get(&id) else {
        return Value::Null;
    };
    let owner = s.owners.get(&r.owner);
    let owner_name = owner.map(|o| o.name.as_str()).unwrap_or_default();
    json!({
        "id": r.id,
        "owner": user_json(s, r.owner),
        "name": r.name,
        "full_name": format!("{owner_name}/{}", r.name),
        "private": owner.is_some_and(|o| o.visibility != super::Visibility::Public),
        "html_url": format!("{}/{owner_name}/{}", s.url, r.name),
    })
}

/// `convert.ToPackage`: the `id` is the version's.
fn package_json(s: &State, p: &PackageRow, v: &VersionRow) -> Value {
    let owner = s
        .owners
        .get(&p.owner)
        .map(|o| o.name.as_str())
        .unwrap_or_default();
    json!({
        "id": v.id,
        "owner": user_json(s, p.owner),
        "repository": p.repo.map(|r| repo_json(s, r)).unwrap_or(Value::Null),
        "creator": user_json(s, v.creator),
        "type": "generic",
        "name": p.name,
        "version": v.version,
        "html_url": format!(
            "{}/{owner}/-/packages/generic/{}/{}",
            s.url,
            http::encode(&p.name),
            http::encode(&v.version)
        ),
        "created_at": rfc3339(v.created_unix),
    })
}

/// `genAPILinks`: next, last, first, prev, joined by `,`.
fn link_header(s: &State, req: &Req, total: usize, limit: usize, page: usize) -> Option<String> {
    let total_pages = total.div_ceil(limit).max(1);
    let page = page.min(total_pages);
    let href = |n: usize| {
        let mut params: Vec<(String, String)> = req
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        params.push(("page".to_owned(), n.to_string()));
        params.sort();
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", http::encode(k), http::encode(v)))
            .collect();
        format!("{}{}?{}", s.url, req.path, query.join("&"))
    };
    let mut links = Vec::new();
    if page < total_pages {
        links.push(format!("<{}>; rel=\"next\"", href(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", href(total_pages)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", href(1)));
        links.push(format!("<{}>; rel=\"prev\"", href(page - 1)));
    }
    (!links.is_empty()).then(|| links.join(","))
}

/// `ListPackages`: the owner's package versions, newest first.
pub fn list(s: &State, req: &Req, owner: &str) -> Resp {
    let g = match guard(s, req, owner, None, false, Mode::Read) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let kind = req.param("type").map(str::trim).unwrap_or_default();
    let query = req
        .param("q")
        .map(|q| q.trim().to_lowercase())
        .unwrap_or_default();
    let mut versions: Vec<(&PackageRow, &VersionRow)> = s
        .versions_of(g.owner)
        .into_iter()
        .filter(|_| kind.is_empty() || kind == "all" || kind == "generic")
        .filter(|(p, _)| query.is_empty() || p.name.to_lowercase().contains(&query))
        .collect();
    // `configureOrderBy`: created_unix descending, then id ascending.
    versions.sort_by(|(_, a), (_, b)| b.created_unix.cmp(&a.created_unix).then(a.id.cmp(&b.id)));
    // `GetListOptions`: page from 1; `ToCorrectPageSize`.
    let page = req.form_int("page").max(1) as usize;
    let limit = match req.form_int("limit") {
        n if n <= 0 => DEFAULT_PAGING_NUM as usize,
        n => (n as usize).min(s.max_response_items),
    };
    let total = versions.len();
    let items: Vec<Value> = versions
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .map(|(p, v)| package_json(s, p, v))
        .collect();
    let mut resp = http::json(200, &Value::Array(items));
    if let Some(link) = link_header(s, req, total, limit, page) {
        http::set_header(&mut resp, "link", &link);
    }
    http::set_header(&mut resp, "x-total-count", &total.to_string());
    http::set_header(
        &mut resp,
        "access-control-expose-headers",
        "Link, X-Total-Count",
    );
    resp
}

/// `GetPackage`.
pub fn show(s: &State, req: &Req, owner: &str, kind: &str, name: &str, version: &str) -> Resp {
    let g = match guard(
        s,
        req,
        owner,
        Some((kind, name, version)),
        false,
        Mode::Read,
    ) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let found = g
        .version
        .and_then(|id| s.versions.get(&id))
        .and_then(|v| Some((s.packages.get(&v.package)?, v)));
    match found {
        Some((p, v)) => http::json(200, &package_json(s, p, v)),
        None => api_error(s, 404, "package does not exist"),
    }
}

/// `ListPackageFiles`.
pub fn files(s: &State, req: &Req, owner: &str, kind: &str, name: &str, version: &str) -> Resp {
    let g = match guard(
        s,
        req,
        owner,
        Some((kind, name, version)),
        false,
        Mode::Read,
    ) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let files: Vec<Value> = g
        .version
        .map(|v| s.files_of(v))
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            json!({
                "id": f.id,
                "size": f.bytes.len(),
                "name": f.name,
                "md5": "",
                "sha1": "",
                "sha256": f.sha256,
                "sha512": f.sha512,
            })
        })
        .collect();
    http::json(200, &Value::Array(files))
}

/// `DeletePackage` (API): the version and its files.
pub fn delete(
    s: &mut State,
    req: &Req,
    owner: &str,
    kind: &str,
    name: &str,
    version: &str,
) -> Resp {
    let g = match guard(
        s,
        req,
        owner,
        Some((kind, name, version)),
        true,
        Mode::Write,
    ) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    if let Some(v) = g.version {
        s.remove_version(v);
    }
    http::empty(204)
}

/// `LinkPackage`: `POST .../{type}/{name}/-/link/{repo}`.
pub fn link(s: &mut State, req: &Req, owner: &str, kind: &str, name: &str, repo: &str) -> Resp {
    if !s.link_api {
        return not_found(s);
    }
    let g = match guard(s, req, owner, None, true, Mode::Write) {
        Ok(g) => g,
        Err(resp) => return resp,
    };
    let Some(package) = (kind == "generic")
        .then(|| s.find_package(g.owner, name))
        .flatten()
    else {
        return api_error(s, 404, "package does not exist");
    };
    let Some(repo_id) = s.find_repository(g.owner, repo).map(|r| r.id) else {
        return api_error(
            s,
            404,
            &format!(
                "repository does not exist [id: 0, uid: {}, owner_name: , name: {repo}]",
                g.owner
            ),
        );
    };
    if s.packages.get(&package).and_then(|p| p.repo).is_some() {
        return api_error(s, 400, "invalid argument");
    }
    if auth::access_mode(s, g.owner, g.doer) < Mode::Write {
        return api_error(s, 403, "permission denied");
    }
    if let Some(p) = s.packages.get_mut(&package) {
        p.repo = Some(repo_id);
    }
    http::empty(201)
}
