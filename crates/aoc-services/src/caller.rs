//! Who is calling, and what they may do: the one answer every door (HTTP, MCP, the worker)
//! gives the services, and the checks the services make with it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use aoc_model::Author;

use crate::error::ServiceError;

/// AOC's roles. Each includes the ones before it: Admin ⊇ Analyst ⊇ Reader, which the derived
/// order expresses (`Admin > Analyst > Reader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The tenants whose data a caller may see. Every caller sees every tenant of this server
/// today; the scope is part of the caller so cached answers are already kept apart by it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TenantScope {
    #[default]
    All,
}

impl TenantScope {
    /// The scope as cache keys and logs name it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::All => "tenants=all",
        }
    }
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
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
    /// The roles the token grants (as assigned, not expanded; see [`Caller::has`]).
    pub roles: BTreeSet<Role>,
    /// An application calling on its own behalf (client credentials), not a signed-in user.
    pub app: bool,
    /// The tenants whose data the caller may see.
    pub scope: TenantScope,
}

impl Caller {
    /// The caller when sign-in is off (local mode): every role.
    pub fn local() -> Self {
        Self {
            tenant_id: "local".into(),
            object_id: "local".into(),
            name: Some("Local user".into()),
            username: None,
            roles: Role::ALL.into_iter().collect(),
            app: false,
            scope: TenantScope::All,
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

    /// The caller's highest role's name, `none` without one.
    pub fn highest_role(&self) -> &'static str {
        self.effective_roles().last().map_or("none", |r| r.as_str())
    }

    /// `tenant/object id`: whose budget a model call spends, and who owns a job.
    pub fn key(&self) -> String {
        format!("{}/{}", self.tenant_id, self.object_id)
    }

    /// The caller as annotations and the audit trail name them.
    pub fn author(&self) -> Author {
        Author::new(
            self.object_id.clone(),
            self.name.clone().or_else(|| self.username.clone()),
        )
    }

    /// Refuses a caller without `role`.
    ///
    /// # Errors
    /// [`ServiceError::MissingRole`].
    pub fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.has(role) {
            Ok(())
        } else {
            tracing::info!(object_id = %self.object_id, needed = %role, "request refused: role missing");
            Err(ServiceError::MissingRole(role))
        }
    }

    /// Lets the owner of a thing, or an Admin, through; `what` says whose it is in the refusal.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`].
    pub fn require_owner_or_admin(&self, owned: bool, what: &str) -> Result<(), ServiceError> {
        if owned || self.has(Role::Admin) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(what.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(roles: &[Role]) -> Caller {
        Caller {
            roles: roles.iter().copied().collect(),
            ..Caller::local()
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
        assert_eq!(nobody.highest_role(), "none");
        assert_eq!(analyst.effective_roles(), [Role::Reader, Role::Analyst]);
        assert_eq!(analyst.highest_role(), "Analyst");
        assert_eq!(
            with(&[Role::Reader, Role::Admin]).effective_roles(),
            Role::ALL
        );
        assert!(reader.require(Role::Analyst).is_err());
        assert!(analyst.require(Role::Analyst).is_ok());
    }

    #[test]
    fn the_local_caller_holds_every_role() {
        let local = Caller::local();
        assert_eq!(local.object_id, "local");
        assert_eq!(local.name.as_deref(), Some("Local user"));
        assert_eq!(local.effective_roles(), Role::ALL);
        assert!(!local.app);
        assert_eq!(local.key(), "local/local");
    }
}
