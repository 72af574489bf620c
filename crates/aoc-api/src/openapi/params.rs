//! Query parameters, for the document only.
//!
//! The handlers read the raw query string themselves (see [`crate::params`]) so that a refusal
//! names the parameter at fault and unknown or repeated ones are refused; these structs only
//! describe what they accept. The tests check both ways that each route's documented
//! parameters are exactly the ones its handler knows, and that documented values and examples
//! are accepted.

#![allow(
    dead_code,
    reason = "never built: the structs only describe query strings"
)]

use utoipa::{IntoParams, ToSchema};

use aoc_model::{EventResult, MAX_PAGE_SIZE, aggregate::MAX_TOP};
use aoc_store::AuditOutcome;

use aoc_services::export::ExportFormat;

/// `order`: which end of the time range comes first.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SortOrder {
    /// Newest first (the default).
    Newest,
    /// Oldest first.
    Oldest,
}

/// The events filters, taken alike by the list, the aggregations and the export.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilters {
    /// Events at or after this time: RFC 3339 (`2025-03-01T10:00:00Z`, any offset) or a date
    /// (`2025-03-01`, midnight UTC).
    #[param(example = "2025-03-01T00:00:00Z")]
    from: Option<String>,
    /// Events before this time (not included), written as `from`.
    #[param(example = "2025-03-02")]
    to: Option<String>,
    /// The last N hours (1 – 8760), instead of `from`.
    #[param(minimum = 1, maximum = 8760, example = 24)]
    hours: Option<u32>,
    /// Tenant id (the Entra tenant's GUID, or the name an import was given).
    #[param(example = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58")]
    tenant: Option<String>,
    /// A path the event was seen via: `graph.directory_audits`, `graph.sign_ins`,
    /// `graph.intune_audit`, `o365.Audit.Exchange`, `import`… Like every name filter: part of
    /// a name in any case, a whole name in double quotes, or a pattern with `*`.
    #[param(example = "graph.directory_audits")]
    source: Option<String>,
    /// The Microsoft 365 service: `Entra ID`, `Exchange`, `SharePoint`, `OneDrive`, `Teams`,
    /// `Intune`…
    #[param(example = "Exchange")]
    service: Option<String>,
    /// The operation: part of a name in any case (`inboxrule`), a whole name in double quotes
    /// (`"Set-Mailbox"`), or a pattern with `*` (`Set-*`). The unified log's final period
    /// (`Add member to role.`) may be written or not.
    #[param(example = "New-InboxRule")]
    operation: Option<String>,
    /// Who did it: part of a user principal name, display name or object id in any case, or a
    /// whole one in double quotes; also every event of a person whose records elsewhere carry
    /// the display name asked for.
    #[param(example = "lee.gomez@contoso.com")]
    actor: Option<String>,
    /// What it was done to: part of a target's object id, user principal name or name in any
    /// case, or a whole one in double quotes.
    #[param(example = "Global Administrator")]
    target: Option<String>,
    /// The application signed in to or acting, by name (`Microsoft Teams`, `Azure Portal`): part
    /// of one in any case, or a whole one in double quotes.
    #[param(example = "Teams")]
    application: Option<String>,
    /// The client address (`203.0.113.7`; `1.2.3.4:5678`, `[2001:db8::1]:443` and
    /// `::ffff:1.2.3.4` are understood) or a CIDR block (`203.0.113.0/24`).
    #[param(example = "203.0.113.0/24")]
    ip: Option<String>,
    /// The country or region the source reported (`US`, `FR`), any case, or its name
    /// (`France`).
    #[param(example = "US")]
    country: Option<String>,
    /// The outcome of the operation.
    #[param(value_type = Option<EventResult>)]
    result: Option<String>,
    /// Events an analyst tagged with this tag.
    #[param(example = "investigating")]
    tag: Option<String>,
    /// The search box's query language, held together with the other filters. Bare words
    /// search every field: each must occur, as a phrase of its letters and digits whose last
    /// part is a prefix (`payroll.xl`, `admin.kim`, `203.0.113`); `"a phrase"` as written.
    /// `field:value` filters as the parameter of that name (`actor:`, `target:`, `application:`,
    /// `operation:`, `service:`, `source:`, `country:`, `result:`, `ip:`, `tag:`, `tenant:`);
    /// `AND` (or side by side), `OR`, `NOT` (or `-`) and parentheses combine them; `after:`,
    /// `before:`, `time:` (`today`, `2026-12-01`, `>=now-2h`, `A..B`) and `last:24h` bound the
    /// time. A mistake is refused naming its character (`at character 12: …`). See
    /// docs/query-language.md.
    #[param(example = "fabrikam")]
    q: Option<String>,
    /// Newest (default) or oldest first.
    #[param(inline, value_type = Option<SortOrder>)]
    order: Option<String>,
    /// Leaves out events seen via this source (read as `source`).
    not_source: Option<String>,
    /// Leaves out events of this service (read as `service`).
    not_service: Option<String>,
    /// Leaves out this operation (read as `operation`).
    #[param(example = "\"UserLoggedIn\"")]
    not_operation: Option<String>,
    /// Leaves out this actor (read as `actor`).
    not_actor: Option<String>,
    /// Leaves out events done to this target (read as `target`).
    not_target: Option<String>,
    /// Leaves out this application (read as `application`); events that name none stay.
    not_application: Option<String>,
    /// Leaves out this country (read as `country`).
    not_country: Option<String>,
    /// Leaves out this outcome.
    #[param(value_type = Option<EventResult>)]
    not_result: Option<String>,
}

/// Paging of `GET /api/events`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventPaging {
    /// Events per page: 1 – 500, default 50.
    #[param(minimum = 1, maximum = 500, default = 50)]
    page_size: Option<u32>,
    /// The `next_cursor` of the previous page, asked with the same filters.
    cursor: Option<String>,
}

const _: () = assert!(MAX_PAGE_SIZE == 500, "the documented page size range");
const _: () = assert!(MAX_TOP == 100, "the documented top range");

/// Which facets `GET /api/events/facets` computes, and how many values each.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FacetOptions {
    /// Comma-separated facet names: `operation`, `actor`, `service`, `result`, `country`,
    /// `source`, `ip`, `application`, `target` (every one when absent).
    #[param(example = "operation,actor")]
    fields: Option<String>,
    /// Values per facet: 1 – 100, default 10.
    #[param(minimum = 1, maximum = 100, default = 10)]
    top: Option<u32>,
}

/// What `GET /api/events/aggregations` computes besides the totals.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AggregationOptions {
    /// Width of the timeline's buckets: `auto` (default: a width that gives at most 120
    /// buckets), or a whole number of seconds, minutes, hours or days from one minute to 366
    /// days: `300s`, `5m`, `1h`, `1d`.
    #[param(pattern = "^(auto|[0-9]+[smhd]?)$", example = "1h")]
    interval: Option<String>,
    /// Length of each top list (operations, actors, addresses): 1 – 100, default 10.
    #[param(minimum = 1, maximum = 100, default = 10)]
    top: Option<u32>,
}

/// The file `GET /api/events/export` writes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportOptions {
    /// `csv` (default), `json` (one array) or `ndjson` (one event per line).
    #[param(inline, value_type = Option<ExportFormat>)]
    format: Option<String>,
}

/// The range and sources of `GET /api/sources/coverage`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageFilters {
    /// Only this tenant (its GUID, any case).
    #[param(format = Uuid, example = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58")]
    tenant: Option<String>,
    /// Only this source, e.g. `graph.sign_ins`, `o365.Audit.Exchange`.
    #[param(example = "graph.sign_ins")]
    source: Option<String>,
    /// Hours starting at or after this time: RFC 3339 or a date. `from` must be before `to`,
    /// at most 31 days apart. Without either: the 24 hours up to the end of the current hour;
    /// `to` alone means the 24 hours before it, `from` alone up to now.
    from: Option<String>,
    /// Hours starting before this time, written as `from`.
    to: Option<String>,
}

/// The filters and paging of `GET /api/audit-trail`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilters {
    /// Entries at or after this time: RFC 3339 or a date.
    #[param(example = "2025-03-01T00:00:00Z")]
    from: Option<String>,
    /// Entries before this time, written as `from`.
    #[param(example = "2025-03-02")]
    to: Option<String>,
    /// The acting user's Entra object id, exactly (`local` when sign-in is off).
    #[param(example = "0c4e7a91-2b6d-4f38-9a15-e3d7c2b8f604")]
    actor: Option<String>,
    /// An action (`comment.add`), or every action under a prefix that ends with a period
    /// (`comment.`).
    #[param(example = "events.")]
    action: Option<String>,
    /// Whether the request did what it asked.
    #[param(value_type = Option<AuditOutcome>)]
    outcome: Option<String>,
    /// The `next_cursor` of the previous page, asked with the same filters.
    cursor: Option<String>,
    /// Entries per page: 1 – 500, default 50.
    #[param(minimum = 1, maximum = 500, default = 50)]
    page_size: Option<u32>,
}

/// How far back `POST /api/fetch-audit-logs` reaches.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FetchWindow {
    /// Fetch the last N hours (1 – 168) instead of from each source's watermark. A window that
    /// starts after the watermark does not move it, so the scheduler still fills the gap.
    #[param(minimum = 1, maximum = 168, example = 24)]
    hours: Option<u32>,
}

/// Graph's URL check of `POST /api/webhooks/graph`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct GraphValidation {
    /// Sent by Graph when a subscription is created, to check the URL: the answer is this
    /// token as plain text, and the body is not read. Other parameters (the query string of
    /// the subscription's `notificationUrl`) are ignored.
    #[param(example = "Validation: Testing client application reachability")]
    validation_token: Option<String>,
}
