//! Simulator configuration: seed, volume, faults, credentials, per-tenant behaviour.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that shapes a simulator run. Same `seed` (and `records_per_hour`) → same data.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Seed of all generated data; each tenant's seed is derived from it and the tenant id.
    pub seed: u64,
    /// About this many records per tenant per UTC hour, all sources together (more in business
    /// hours, fewer at night and on weekends; bursts come on top). Default 120.
    pub records_per_hour: u32,
    /// Injected faults (request failures and data properties).
    pub faults: Faults,
    /// When set, the token endpoint accepts only this client secret (and no certificate
    /// assertion): anything else answers `401 invalid_client` / `AADSTS7000215`.
    pub required_client_secret: Option<String>,
    /// `expires_in` of issued access tokens, and their real lifetime. Default 3599 s.
    pub token_lifetime: Duration,
    /// Per-tenant behaviour, keyed by tenant id (GUID, or a domain given to the token endpoint).
    /// Tenants not listed behave as [`TenantBehaviour::default`].
    pub tenants: HashMap<String, TenantBehaviour>,
    /// Push Graph change notifications for new directory-audit records of one tenant to a fixed
    /// URL, without a subscription.
    pub notify: Option<NotifyTarget>,
    /// Graph page size when `$top` is absent. Default 100.
    pub page_size: usize,
    /// Most records in one Management API content blob. Default 50.
    pub blob_max_records: usize,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            records_per_hour: 120,
            faults: Faults::default(),
            required_client_secret: None,
            token_lifetime: Duration::from_secs(3599),
            tenants: HashMap::new(),
            notify: None,
            page_size: 100,
            blob_max_records: 50,
        }
    }
}

/// Fault injection.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Share (0..=1) of API requests that fail with one of the enabled request-failing kinds.
    pub rate: f64,
    /// Enabled kinds. `Duplicate` and `Late` are data properties and ignore `rate`.
    pub kinds: Vec<FaultKind>,
    /// `Retry-After` of injected throttling and 503 answers. Default 1 s.
    pub retry_after: Duration,
    /// Delay of `Slow` answers. Default 3 s.
    pub slow: Duration,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate: 0.0,
            kinds: Vec::new(),
            retry_after: Duration::from_secs(1),
            slow: Duration::from_secs(3),
        }
    }
}

impl Faults {
    /// Whether `kind` is enabled.
    pub fn has(&self, kind: FaultKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// What can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `429` + `Retry-After` (Graph `activityLimitReached`; Management API `403`/`429` `AF429`;
    /// token endpoint `429`).
    Throttle,
    /// `500`, or `503` + `Retry-After`.
    ServerError,
    /// The answer comes after [`Faults::slow`].
    Slow,
    /// `200` with only the first half of the JSON body.
    Truncated,
    /// A content blob GET answers `AF20051` (content expired), from then on for that blob.
    Expired,
    /// Records repeated: the last record of a Graph page is also the first of the next page;
    /// some unified-log records are in two content blobs.
    Duplicate,
    /// Some records (about 7 %) become available 1–2 hours after their event instead of minutes.
    Late,
}

impl FaultKind {
    /// Every kind.
    pub fn all() -> Vec<FaultKind> {
        vec![
            Self::Throttle,
            Self::ServerError,
            Self::Slow,
            Self::Truncated,
            Self::Expired,
            Self::Duplicate,
            Self::Late,
        ]
    }

    /// The name [`FromStr`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::ServerError => "server_error",
            Self::Slow => "slow",
            Self::Truncated => "truncated",
            Self::Expired => "expired",
            Self::Duplicate => "duplicate",
            Self::Late => "late",
        }
    }

    /// Parses a comma-separated list (`throttle,server_error`); `all` means every kind, an empty
    /// string none.
    pub fn parse_list(text: &str) -> Result<Vec<FaultKind>, ParseFaultKindError> {
        let mut kinds = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                return Ok(Self::all());
            }
            let kind = part.parse()?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }

    /// Kinds that fail a request (as opposed to data properties).
    pub(crate) fn fails_requests(self) -> bool {
        !matches!(self, Self::Duplicate | Self::Late)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown fault kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault kind {0:?} (expected throttle, server_error, slow, truncated, expired, duplicate or late)"
)]
pub struct ParseFaultKindError(pub String);

impl FromStr for FaultKind {
    type Err = ParseFaultKindError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        Self::all()
            .into_iter()
            .find(|kind| {
                kind.name() == wanted || (wanted == "servererror" && *kind == Self::ServerError)
            })
            .ok_or_else(|| ParseFaultKindError(text.to_string()))
    }
}

/// How one tenant behaves (licences, permissions, admin settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantBehaviour {
    /// Entra ID P1/P2: without it `auditLogs/signIns` answers `403`
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant`. Default true.
    pub sign_ins_premium: bool,
    /// The app holds `DeviceManagementApps.Read.All`: without it `deviceManagement/auditEvents`
    /// answers `403 Authorization_RequestDenied`. Default true.
    pub intune_permission: bool,
    /// Management API content types an admin disabled: `start` and content listing answer
    /// `AF20023`.
    pub disabled_content_types: Vec<String>,
}

impl Default for TenantBehaviour {
    fn default() -> Self {
        Self {
            sign_ins_premium: true,
            intune_permission: true,
            disabled_content_types: Vec::new(),
        }
    }
}

/// A fixed receiver of Graph change notifications (as if a `users` + `groups` subscription
/// existed for `tenant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    /// Where notifications are POSTed (query string kept).
    pub url: String,
    /// Echoed as `clientState` in every notification.
    pub client_state: String,
    /// Tenant whose directory-audit records trigger notifications.
    pub tenant: String,
}
