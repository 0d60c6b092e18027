//! Who is calling (GitLab's `api_guard.rb` / `auth_finders.rb` order) and what
//! they may do (the policies the generic and package endpoints check).

use super::http::{self, Req, Resp};
use super::state::{Project, State};
use super::{Role, Scope, Visibility};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Generic PUT: job tokens by header/param only, Basic PAT, deploy tokens.
    GenericPut,
    /// Generic GET: also Basic `gitlab-ci-token:<job token>`.
    GenericGet,
    /// List, package files, deletes: no Basic, no deploy tokens.
    Api,
}

impl Endpoint {
    fn generic(self) -> bool {
        self != Endpoint::Api
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User(String),
    Deploy {
        project_id: u64,
        read: bool,
        write: bool,
    },
}

impl Principal {
    pub fn authenticated(&self) -> bool {
        *self != Principal::Anonymous
    }
}

pub enum AuthError {
    /// An invalid token where GitLab raises `UnauthorizedError`.
    Unauthorized,
    /// A `read_api` token on a non-GET request.
    InsufficientScope,
}

impl AuthError {
    pub fn response(&self, endpoint: Endpoint) -> Resp {
        match self {
            AuthError::Unauthorized => unauthorized(endpoint),
            AuthError::InsufficientScope => {
                let desc =
                    "The request requires higher privileges than provided by the access token.";
                let mut r = http::json(
                    403,
                    &serde_json::json!({
                        "error": "insufficient_scope",
                        "error_description": desc,
                        "scope": "api",
                    }),
                );
                http::set_header(
                    &mut r,
                    "www-authenticate",
                    &format!(
                        "Bearer realm=\"\", error=\"insufficient_scope\", error_description=\"{desc}\", scope=\"api\""
                    ),
                );
                r
            }
        }
    }
}

/// 401 `{"message":"401 Unauthorized"}`; the generic endpoints add the
/// Basic realm challenge.
pub fn unauthorized(endpoint: Endpoint) -> Resp {
    let mut r = http::message(401, "401 Unauthorized");
    if endpoint.generic() {
        http::set_header(
            &mut r,
            "www-authenticate",
            "Basic realm=\"GitLab Packages Registry\"",
        );
    }
    r
}

pub fn resolve(state: &State, req: &Req, endpoint: Endpoint) -> Result<Principal, AuthError> {
    let basic = req.header("authorization").and_then(parse_basic);
    let bearer = req.header("authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    });

    // deploy_token_from_request (deploy_token_allowed: generic endpoints only)
    if endpoint.generic() {
        if let Some(token) = req.header("deploy-token").filter(|t| !t.is_empty()) {
            return match state.deploy_tokens.get(token) {
                Some(d) => Ok(deploy(d)),
                None => Err(AuthError::Unauthorized),
            };
        }
        let token = match &basic {
            Some((_, password)) => Some(password.clone()),
            None => bearer.clone(),
        };
        if let Some(d) = token.and_then(|t| state.deploy_tokens.get(&t)) {
            return Ok(deploy(d));
        }
    }

    // find_user_from_bearer_token: PAT by param, header or Bearer (invalid
    // -> 401), then Basic password when basic_auth_personal_access_token.
    let pat = req
        .param("private_token")
        .filter(|t| !t.is_empty())
        .or_else(|| req.header("private-token").filter(|t| !t.is_empty()))
        .map(str::to_owned)
        .or(bearer);
    if let Some(token) = pat {
        return match state.personal_tokens.get(&token) {
            Some((user, scope)) => user_with_scope(req, user, *scope),
            None => Err(AuthError::Unauthorized),
        };
    }
    if endpoint.generic()
        && let Some((_, password)) = &basic
        && let Some((user, scope)) = state.personal_tokens.get(password)
    {
        return user_with_scope(req, user, *scope);
    }

    // find_user_from_job_token
    let job = req
        .header("job-token")
        .filter(|t| !t.is_empty())
        .or_else(|| req.param("job_token").filter(|t| !t.is_empty()));
    if let Some(token) = job {
        return match state.job_tokens.get(token) {
            Some(user) => Ok(Principal::User(user.clone())),
            None => Err(AuthError::Unauthorized),
        };
    }
    if endpoint == Endpoint::GenericGet
        && let Some((login, password)) = &basic
        && login == "gitlab-ci-token"
        && !password.is_empty()
    {
        return match state.job_tokens.get(password) {
            Some(user) => Ok(Principal::User(user.clone())),
            None => Err(AuthError::Unauthorized),
        };
    }

    // Invalid Basic credentials: anonymous.
    Ok(Principal::Anonymous)
}

fn deploy(d: &super::state::DeployToken) -> Principal {
    Principal::Deploy {
        project_id: d.project_id,
        read: d.read,
        write: d.write,
    }
}

fn user_with_scope(req: &Req, user: &str, scope: Scope) -> Result<Principal, AuthError> {
    if scope == Scope::ReadApi && !req.is_get() {
        return Err(AuthError::InsufficientScope);
    }
    Ok(Principal::User(user.to_owned()))
}

fn role(state: &State, project: &Project, who: &Principal) -> Option<Role> {
    match who {
        Principal::User(u) => state.role(project.id, u),
        _ => None,
    }
}

fn own_deploy_token(project: &Project, who: &Principal) -> Option<(bool, bool)> {
    match who {
        Principal::Deploy {
            project_id,
            read,
            write,
        } if *project_id == project.id => Some((*read, *write)),
        _ => None,
    }
}

pub fn can_read_project(state: &State, project: &Project, who: &Principal) -> bool {
    project.visibility == Visibility::Public
        || role(state, project, who).is_some()
        || own_deploy_token(project, who).is_some()
}

pub fn can_read_package(state: &State, project: &Project, who: &Principal) -> bool {
    project.visibility == Visibility::Public
        || role(state, project, who).is_some()
        || own_deploy_token(project, who).is_some_and(|(r, w)| r || w)
}

pub fn can_create_package(state: &State, project: &Project, who: &Principal) -> bool {
    role(state, project, who).is_some_and(|r| r >= Role::Developer)
        || own_deploy_token(project, who).is_some_and(|(_, w)| w)
}

pub fn can_destroy_package(state: &State, project: &Project, who: &Principal) -> bool {
    role(state, project, who).is_some_and(|r| r >= Role::Maintainer)
}

/// `Authorization: Basic base64(user:password)`.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(rest.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64() {
        assert_eq!(
            super::base64_decode("dXNlcjpnbHBhdC14eXo=").as_deref(),
            Some(&b"user:glpat-xyz"[..])
        );
        assert_eq!(super::base64_decode("YQ").as_deref(), Some(&b"a"[..]));
    }
}
