//! Who is calling (`services/auth`: `OAuth2` reads `?token=`,
//! `?access_token=` and `Authorization: token|bearer <t>`; `Basic` takes a
//! token as password, or as user name with an empty password) and what
//! they may do with an owner's packages (`determineAccessMode`).

use super::state::State;
use super::{Access, Scope, Visibility};

/// `perm.AccessMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    None,
    Read,
    Write,
    Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doer {
    Anonymous,
    /// Signed in with a token of this scope.
    User {
        id: u64,
        scope: Scope,
    },
}

impl Doer {
    pub fn is_signed(self) -> bool {
        self != Doer::Anonymous
    }

    /// `scope.HasScope(read:package | write:package)`; requests without a
    /// token are not limited by scopes.
    pub fn has_scope(self, mode: Mode) -> bool {
        match self {
            Doer::Anonymous => true,
            Doer::User { scope, .. } => match mode {
                Mode::None => true,
                Mode::Read => matches!(scope, Scope::ReadPackage | Scope::WritePackage),
                Mode::Write | Mode::Owner => scope == Scope::WritePackage,
            },
        }
    }
}

/// The token presented, if any.
fn presented(req: &super::http::Req) -> Option<String> {
    for name in ["token", "access_token"] {
        if let Some(t) = req.param(name).filter(|t| !t.is_empty()) {
            return Some(t.to_owned());
        }
    }
    let value = req.header("authorization")?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(base64_decode(rest)?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        let token = if password.is_empty() || password == "x-oauth-basic" {
            user
        } else {
            password
        };
        return Some(token.to_owned());
    }
    None
}

/// `authGroup.Verify`: `Err(token)` for a token Gitea does not know.
pub fn authenticate(state: &State, req: &super::http::Req) -> Result<Doer, String> {
    let Some(token) = presented(req) else {
        return Ok(Doer::Anonymous);
    };
    match state.tokens.get(&token) {
        Some((id, scope)) => Ok(Doer::User {
            id: *id,
            scope: *scope,
        }),
        None => Err(token),
    }
}

/// `determineAccessMode`.
pub fn access_mode(state: &State, owner: u64, doer: Doer) -> Mode {
    let Some(owner) = state.owners.get(&owner) else {
        return Mode::None;
    };
    let user = match doer {
        Doer::User { id, .. } => Some(id),
        Doer::Anonymous => None,
    };
    let visible = match owner.visibility {
        Visibility::Public => true,
        Visibility::Limited => user.is_some(),
        Visibility::Private => false,
    };
    if owner.is_org {
        let member = user.and_then(|u| state.members.get(&(owner.id, u)).copied());
        match member {
            Some(Access::Read) => Mode::Read,
            Some(Access::Write) => Mode::Write,
            Some(Access::Owner) => Mode::Owner,
            None if visible => Mode::Read,
            None => Mode::None,
        }
    } else if user == Some(owner.id) {
        Mode::Owner
    } else if visible {
        Mode::Read
    } else {
        Mode::None
    }
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
    let s = s.trim().trim_end_matches('=');
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
            super::base64_decode("dXNlcjp0b2tlbg==").as_deref(),
            Some(&b"user:token"[..])
        );
    }
}
