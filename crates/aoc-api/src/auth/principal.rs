//! Who is calling, and what they may do.

use std::collections::BTreeSet;
use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;

use crate::auth::AuthError;

/// AOC's roles. Each includes the ones before it: Admin ⊇ Analyst ⊇ Reader, which the derived
/// order expresses (`Admin > Analyst > Reader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
pub enum Role {
    /// Reads events, sources and coverage.
    Reader,
    /// A Reader who also annotates, exports and asks.
    Analyst,
    /// An Analyst who also starts collection and changes rules, sinks and settings.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Self; 3] = [Self::Reader, Self::Analyst, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "Reader",
            Self::Analyst => "Analyst",
            Self::Admin => "Admin",
        }
    }

    /// Whether holding `self` grants `other`.
    pub fn includes(self, other: Self) -> bool {
        self >= other
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller of a request. Handlers take it as an extractor
/// (`principal: Principal`); the authentication middleware puts it in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's tenant (`tid`).
    pub tenant_id: String,
    /// The immutable object id (`oid`) of the user or of the calling app's service principal;
    /// `(tenant_id, object_id)` identifies the caller.
    pub object_id: String,
    /// Display name (`name`); for display only.
    pub name: Option<String>,
    /// Sign-in name (`preferred_username`, `upn` or `unique_name`); mutable, for display only,
    /// never for authorization.
    pub username: Option<String>,
    /// The roles the token grants (as assigned, not expanded; see [`Principal::has`]).
    pub roles: BTreeSet<Role>,
    /// An application calling on its own behalf (client credentials), not a signed-in user.
    pub app: bool,
}

impl Principal {
    /// The caller when sign-in is off (local mode): every role.
    pub fn local() -> Self {
        Self {
            tenant_id: "local".into(),
            object_id: "local".into(),
            name: Some("Local user".into()),
            username: None,
            roles: Role::ALL.into_iter().collect(),
            app: false,
        }
    }

    /// Whether the caller holds `role` or a role above it.
    pub fn has(&self, role: Role) -> bool {
        self.roles.iter().any(|held| held.includes(role))
    }

    /// Every role the caller effectively holds, lowest first: `[Reader, Analyst]` for an Analyst.
    pub fn effective_roles(&self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| self.has(*r)).collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthError;

    /// The principal the authentication middleware found. Absent means the route is outside
    /// that middleware, which must not turn into access: it is refused as unauthenticated.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(AuthError::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(roles: &[Role]) -> Principal {
        Principal {
            roles: roles.iter().copied().collect(),
            ..Principal::local()
        }
    }

    #[test]
    fn roles_include_the_ones_below() {
        let admin = with(&[Role::Admin]);
        assert!(Role::ALL.iter().all(|r| admin.has(*r)));
        let analyst = with(&[Role::Analyst]);
        assert!(analyst.has(Role::Reader) && analyst.has(Role::Analyst));
        assert!(!analyst.has(Role::Admin));
        let reader = with(&[Role::Reader]);
        assert!(reader.has(Role::Reader));
        assert!(!reader.has(Role::Analyst) && !reader.has(Role::Admin));
        let nobody = with(&[]);
        assert!(Role::ALL.iter().all(|r| !nobody.has(*r)));
        assert!(nobody.effective_roles().is_empty());
        assert_eq!(analyst.effective_roles(), [Role::Reader, Role::Analyst]);
        assert_eq!(
            with(&[Role::Reader, Role::Admin]).effective_roles(),
            Role::ALL
        );
    }

    #[test]
    fn the_local_caller_holds_every_role() {
        let local = Principal::local();
        assert_eq!(local.object_id, "local");
        assert_eq!(local.name.as_deref(), Some("Local user"));
        assert_eq!(local.effective_roles(), Role::ALL);
        assert!(!local.app);
    }
}
