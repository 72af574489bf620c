//! The normalized event of DESIGN.md.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DedupeKey, EventId, Seq, TenantId};

/// One audit record, normalized. `raw` keeps the record exactly as the source sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    pub dedupe_key: DedupeKey,
    /// Assigned by the store at commit; `None` before.
    pub seq: Option<Seq>,
    pub tenant_id: TenantId,
    /// The collector or path it came through: `graph.directory_audits`, `o365.Audit.Exchange`, `import`…
    pub source: String,
    /// The Microsoft 365 service: `Entra ID`, `Exchange`, `SharePoint`, `OneDrive`, `Teams`, `Intune`…
    pub service: String,
    pub timestamp: DateTime<Utc>,
    /// Set by the store at commit; `None` before.
    pub ingested_at: Option<DateTime<Utc>>,
    /// The operation, e.g. `Add member to role`, `UserLoginFailed`, `New-InboxRule`. The unified
    /// log's Entra names end with a period (`Add member to role.`) where Graph's do not; it is
    /// dropped so one name filters and counts both (`raw` keeps the original).
    pub operation: String,
    pub category: Option<String>,
    pub result: EventResult,
    pub result_reason: Option<String>,
    pub actor: Actor,
    /// The caller's IPv4 or IPv6 address, without port.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, example = "203.0.113.7")
    )]
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub location: Option<Location>,
    pub targets: Vec<Target>,
    /// Name → value of the record's `Parameters`, `ExtendedProperties` and additional details.
    pub details: BTreeMap<String, String>,
    /// Name → old and new value of every modified property, so a rule or a person can ask
    /// "changed from A to B".
    pub changes: BTreeMap<String, Change>,
    /// One human sentence.
    pub summary: String,
    pub raw: serde_json::Value,
    /// The other collection paths that delivered this same activity, each with its own original
    /// record (see [`crate::activity`]): a sign-in read from Graph and from the unified audit log
    /// is one event, `source` naming the path that delivered it first.
    #[serde(default)]
    pub also_seen_via: Vec<Sighting>,
}

/// One more delivery of an event's activity, by another collection path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sighting {
    /// The collector or path, as [`Event::source`].
    pub source: String,
    /// The record's own dedupe key: a repeat of it is recognised and dropped.
    pub dedupe_key: DedupeKey,
    /// When AOC stored this record.
    pub ingested_at: Option<DateTime<Utc>>,
    /// The record exactly as this path sent it; `null` in lists, which leave raw records out.
    pub raw: serde_json::Value,
}

impl Event {
    /// Every path that delivered this activity: `source`, then the others.
    pub fn seen_via(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.source.as_str())
            .chain(self.also_seen_via.iter().map(|s| s.source.as_str()))
    }

    /// The application signed in to or acting, by name, when the record names one (Graph's
    /// `appDisplayName`, or a well-known application id's name).
    pub fn application(&self) -> Option<&str> {
        ["appDisplayName", "applicationName"]
            .iter()
            .filter_map(|key| self.details.get(*key))
            .map(|name| name.trim())
            .find(|name| !name.is_empty())
    }

    /// The id follows from the tenant and the dedupe key; call after changing either.
    pub fn refresh_id(&mut self) {
        self.id = EventId::derive(&self.tenant_id, &self.dedupe_key);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventResult {
    Success,
    Failure,
    Partial,
    #[default]
    Unknown,
}

impl EventResult {
    pub const ALL: [EventResult; 4] = [Self::Success, Self::Failure, Self::Partial, Self::Unknown];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Partial => "partial",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

impl fmt::Display for EventResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ActorKind {
    User,
    App,
    ServicePrincipal,
    System,
    #[default]
    Unknown,
}

impl ActorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::App => "app",
            Self::ServicePrincipal => "service_principal",
            Self::System => "system",
            Self::Unknown => "unknown",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub kind: ActorKind,
    /// Object id (user or service principal GUID) or app id.
    pub id: Option<String>,
    /// User principal name, when the actor is a user.
    pub upn: Option<String>,
    pub display_name: Option<String>,
}

impl Actor {
    /// The best single name to show: UPN, else display name, else id.
    pub fn label(&self) -> Option<&str> {
        self.upn
            .as_deref()
            .or(self.display_name.as_deref())
            .or(self.id.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    pub country: Option<String>,
    pub state: Option<String>,
    pub city: Option<String>,
}

/// Something the operation touched.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    pub kind: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
}

/// A modified property's old and new value, as the source wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub old: Option<String>,
    pub new: Option<String>,
}
