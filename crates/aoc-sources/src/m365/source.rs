//! The sources AOC collects, named as they appear in events, configuration and metrics.

use std::fmt;
use std::str::FromStr;

use aoc_normalize::RecordKind;

/// A Management Activity API content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentType {
    AzureActiveDirectory,
    Exchange,
    SharePoint,
    General,
    DlpAll,
}

impl ContentType {
    pub const ALL: [ContentType; 5] = [
        Self::AzureActiveDirectory,
        Self::Exchange,
        Self::SharePoint,
        Self::General,
        Self::DlpAll,
    ];

    /// The API's name: `Audit.Exchange`, `DLP.All`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AzureActiveDirectory => "Audit.AzureActiveDirectory",
            Self::Exchange => "Audit.Exchange",
            Self::SharePoint => "Audit.SharePoint",
            Self::General => "Audit.General",
            Self::DlpAll => "DLP.All",
        }
    }
}

/// The API behind a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceApi {
    /// A Graph v1.0 collection (relative path) filtered on its time field.
    Graph {
        collection: &'static str,
        time_field: &'static str,
    },
    Management(ContentType),
}

/// One collectable source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    DirectoryAudits,
    SignIns,
    IntuneAudit,
    Management(ContentType),
}

impl SourceKind {
    pub const ALL: [SourceKind; 8] = [
        Self::DirectoryAudits,
        Self::SignIns,
        Self::IntuneAudit,
        Self::Management(ContentType::AzureActiveDirectory),
        Self::Management(ContentType::Exchange),
        Self::Management(ContentType::SharePoint),
        Self::Management(ContentType::General),
        Self::Management(ContentType::DlpAll),
    ];

    /// `graph.sign_ins`, `o365.Audit.Exchange`: the `source` of the events it yields.
    pub fn name(self) -> &'static str {
        match self {
            Self::DirectoryAudits => "graph.directory_audits",
            Self::SignIns => "graph.sign_ins",
            Self::IntuneAudit => "graph.intune_audit",
            Self::Management(ContentType::AzureActiveDirectory) => {
                "o365.Audit.AzureActiveDirectory"
            }
            Self::Management(ContentType::Exchange) => "o365.Audit.Exchange",
            Self::Management(ContentType::SharePoint) => "o365.Audit.SharePoint",
            Self::Management(ContentType::General) => "o365.Audit.General",
            Self::Management(ContentType::DlpAll) => "o365.DLP.All",
        }
    }

    pub fn record_kind(self) -> RecordKind {
        match self {
            Self::DirectoryAudits => RecordKind::DirectoryAudit,
            Self::SignIns => RecordKind::SignIn,
            Self::IntuneAudit => RecordKind::IntuneAudit,
            Self::Management(_) => RecordKind::UnifiedAudit,
        }
    }

    /// Which API serves this source, and where.
    pub fn api(self) -> SourceApi {
        match self {
            Self::DirectoryAudits => SourceApi::Graph {
                collection: "v1.0/auditLogs/directoryAudits",
                time_field: "activityDateTime",
            },
            Self::SignIns => SourceApi::Graph {
                collection: "v1.0/auditLogs/signIns",
                time_field: "createdDateTime",
            },
            Self::IntuneAudit => SourceApi::Graph {
                collection: "v1.0/deviceManagement/auditEvents",
                time_field: "activityDateTime",
            },
            Self::Management(content_type) => SourceApi::Management(content_type),
        }
    }

    /// Graph's identity reports share a 5 requests / 10 s limit per app and tenant.
    pub fn is_identity_report(self) -> bool {
        matches!(self, Self::DirectoryAudits | Self::SignIns)
    }

    /// What the app registration needs for this source (application permissions).
    pub fn permission(self) -> &'static str {
        match self {
            Self::DirectoryAudits | Self::SignIns => {
                "Microsoft Graph: AuditLog.Read.All and Directory.Read.All"
            }
            Self::IntuneAudit => "Microsoft Graph: DeviceManagementApps.Read.All",
            Self::Management(ContentType::DlpAll) => {
                "Office 365 Management APIs: ActivityFeed.Read and ActivityFeed.ReadDlp"
            }
            Self::Management(_) => "Office 365 Management APIs: ActivityFeed.Read",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|s| s.name()).collect()
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| {
                k.name().eq_ignore_ascii_case(wanted)
                    || k.name()
                        .split_once('.')
                        .is_some_and(|(_, short)| short.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| {
                format!(
                    "unknown source {wanted:?}: expected one of {}",
                    Self::names().join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_short_forms_parse() {
        for kind in SourceKind::ALL {
            assert_eq!(kind.name().parse::<SourceKind>(), Ok(kind));
        }
        assert_eq!("sign_ins".parse(), Ok(SourceKind::SignIns));
        assert_eq!(
            "Audit.Exchange".parse(),
            Ok(SourceKind::Management(ContentType::Exchange))
        );
        assert!("mail".parse::<SourceKind>().is_err());
    }
}
