//! Newtypes for the identifiers that cross crate boundaries.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The Entra tenant an event belongs to (a GUID in practice, but kept as given: imports may
/// carry a tenant name chosen by the operator).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantId(String);

impl TenantId {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key that makes a record unique within its tenant: `{record family}:{native id}`, or
/// `{record family}:h:{hash}` when the source gives no id (see `aoc-normalize`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DedupeKey(String);

impl DedupeKey {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// AOC's event id: derived from (tenant, dedupe key) alone, so the same record gets the same id
/// on every instance and every run. A 128-bit BLAKE3 prefix laid out as a version-8 UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventId(Uuid);

impl EventId {
    pub fn derive(tenant: &TenantId, key: &DedupeKey) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(tenant.as_str().as_bytes());
        // A separator that cannot occur in UTF-8 text keeps ("ab","c") and ("a","bc") apart.
        hasher.update(&[0xff]);
        hasher.update(key.as_str().as_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest.as_bytes()[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EventId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Ingest sequence number: strictly increasing in commit order, the cursor of detection and sinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seq(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_is_deterministic_and_tenant_scoped() {
        let key = DedupeKey::new("o365:abc");
        let a = EventId::derive(&TenantId::new("t1"), &key);
        assert_eq!(a, EventId::derive(&TenantId::new("t1"), &key));
        assert_ne!(a, EventId::derive(&TenantId::new("t2"), &key));
        assert_eq!(a.as_uuid().get_version_num(), 8);
    }

    #[test]
    fn event_id_separates_tenant_and_key() {
        let a = EventId::derive(&TenantId::new("ab"), &DedupeKey::new("c"));
        let b = EventId::derive(&TenantId::new("a"), &DedupeKey::new("bc"));
        assert_ne!(a, b);
    }
}
