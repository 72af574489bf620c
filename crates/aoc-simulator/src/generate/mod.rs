//! Deterministic records: one (tenant, UTC hour) at a time, from (tenant seed, hour) alone.
//!
//! Record shapes follow the reference fixtures (Graph directoryAudit / signIn / Intune
//! auditEvent; unified audit log records of the Management Activity API).
//!
//! This module holds the generator core: the record types, the hour's volume and scenario mix
//! ([`generate_hour`]), and the [`Generator`] with its random instants and shared pickers
//! (people, addresses, file names, unified-log record bases). Each workload's scenarios live in
//! a module of their own, as further `impl Generator` blocks.

mod directory;
mod dlp;
mod exchange;
mod files;
mod intune;
mod power_bi;
mod sign_ins;
mod teams;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use serde_json::{Value, json};

use crate::profile::{TenantProfile, User};
use crate::rng::{SplitMix64, derive};

/// A Management Activity API content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ContentType {
    AzureActiveDirectory,
    Exchange,
    SharePoint,
    General,
    DlpAll,
}

impl ContentType {
    pub(crate) const ALL: [ContentType; 5] = [
        Self::AzureActiveDirectory,
        Self::Exchange,
        Self::SharePoint,
        Self::General,
        Self::DlpAll,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::AzureActiveDirectory => "Audit.AzureActiveDirectory",
            Self::Exchange => "Audit.Exchange",
            Self::SharePoint => "Audit.SharePoint",
            Self::General => "Audit.General",
            Self::DlpAll => "DLP.All",
        }
    }

    /// Content types are matched case-insensitively.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|ct| ct.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The `Audit_Exchange` part of content ids.
    pub(crate) fn id_name(self) -> String {
        self.name().replace('.', "_")
    }

    pub(crate) fn index(self) -> u8 {
        self as u8
    }
}

/// Where a record is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Source {
    DirectoryAudits,
    SignIns,
    IntuneAudit,
    Ual(ContentType),
}

impl Source {
    #[cfg(test)]
    pub(crate) fn is_graph(self) -> bool {
        !matches!(self, Self::Ual(_))
    }
}

/// One generated record.
#[derive(Debug, Clone)]
pub(crate) struct Generated {
    pub source: Source,
    /// The event time exactly as written in the record (UAL: whole seconds).
    pub time: DateTime<Utc>,
    pub id: String,
    /// Compact JSON text.
    pub json: String,
    /// Randomness for availability decisions, drawn for every record whatever the config.
    pub roll: u64,
}

/// Graph time: RFC 3339, seven fractional digits, `Z`.
pub(crate) fn graph_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.nanosecond() % 1_000_000_000 / 100
    )
}

/// Unified audit log `CreationTime`: UTC without `Z`, whole seconds.
pub(crate) fn ual_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Start of UTC hour `hour` (hours since the Unix epoch).
pub(crate) fn hour_start(hour: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(hour * 3600, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The hour (since the epoch) containing `t`.
pub(crate) fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// Activity by local hour of day (business hours high, nights low but not empty).
const DIURNAL: [f64; 24] = [
    0.25, 0.2, 0.15, 0.15, 0.2, 0.3, 0.5, 0.9, 1.5, 1.9, 1.9, 1.8, 1.5, 1.7, 1.9, 1.8, 1.6, 1.3,
    0.9, 0.7, 0.6, 0.5, 0.4, 0.3,
];

/// Generates every record of `profile`'s UTC hour `hour`, in no particular order.
pub(crate) fn generate_hour(
    profile: &TenantProfile,
    hour: i64,
    records_per_hour: u32,
) -> Vec<Generated> {
    let seed = derive(&[b"hour", &profile.seed.to_le_bytes(), &hour.to_le_bytes()]);
    let start = hour_start(hour);
    let mut g = Generator {
        profile,
        rng: SplitMix64::new(seed),
        start,
        out: Vec::new(),
    };
    if records_per_hour == 0 {
        return g.out;
    }
    let local = start + Duration::hours(profile.home.utc_offset);
    let local_hour = local.hour() as usize;
    let weekend = local.weekday().number_from_monday() >= 6;
    let night = !(7..20).contains(&local_hour);
    let mean = DIURNAL.iter().sum::<f64>() / 24.0;
    let day_factor = if weekend { 0.5 } else { 1.2 };
    let jitter = 0.85 + 0.3 * g.rng.unit();
    let target = (f64::from(records_per_hour) * DIURNAL[local_hour] / mean * day_factor * jitter)
        .round()
        .max(1.0) as usize;

    // Bursts come on top of the usual volume.
    if g.rng.chance(0.05) {
        g.mass_download();
    }
    if g.rng.chance(0.03) {
        g.mass_delete();
    }
    if g.rng.chance(0.03) {
        g.password_spray();
    }

    // Scenario weights; hostile ones weigh more at night (local time).
    let hostile = if night { 4 } else { 1 };
    let weights = [
        34,      // 0 sign-in
        15,      // 1 SharePoint / OneDrive file activity
        9,       // 2 mailbox activity
        6,       // 3 Teams
        5,       // 4 directory audit
        3,       // 5 sharing
        2,       // 6 Exchange admin
        2,       // 7 Intune
        1,       // 8 DLP
        hostile, // 9 risky sign-in
        1,       // 10 Power BI
        hostile, // 11 forwarding rule
    ];
    let mut normal = 0usize;
    while normal < target {
        let before = g.out.len();
        match g.rng.weighted(&weights) {
            0 => g.sign_in_scenario(),
            1 => g.file_activity(),
            2 => g.mailbox_activity(),
            3 => g.teams_activity(),
            4 => g.directory_activity(),
            5 => g.sharing_activity(),
            6 => g.exchange_admin(),
            7 => g.intune_activity(),
            8 => g.dlp_match(),
            9 => g.risky_sign_in(),
            10 => g.power_bi(),
            _ => g.forwarding_rule(),
        }
        normal += (g.out.len() - before).max(1);
    }
    g.out
}

/// Generates one (tenant, hour): the profile, the hour's RNG, and the records so far.
struct Generator<'a> {
    profile: &'a TenantProfile,
    rng: SplitMix64,
    start: DateTime<Utc>,
    out: Vec<Generated>,
}

/// The `User-Agent` of a browser on an operating system, as a profile names them.
fn user_agent(os: &str, browser: &str) -> &'static str {
    match (os, browser.split(' ').next().unwrap_or("")) {
        ("Ios", _) => {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
        }
        ("Android", _) => {
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0 Mobile Safari/537.36"
        }
        ("MacOs", "Safari") => {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15"
        }
        (_, "Firefox") => {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0"
        }
        (_, "Chrome") => {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0 Safari/537.36"
        }
        _ => {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0 Safari/537.36 Edg/133.0"
        }
    }
}

const FILE_WORDS: [&str; 16] = [
    "Budget",
    "Forecast",
    "Roadmap",
    "Contract",
    "Invoice",
    "Salaries",
    "Board deck",
    "Minutes",
    "Customer list",
    "Pricing",
    "Design",
    "Proposal",
    "Report",
    "Plan",
    "Review",
    "Checklist",
];
const FILE_EXTS: [&str; 5] = ["xlsx", "docx", "pptx", "pdf", "csv"];

impl<'a> Generator<'a> {
    /// A uniformly random instant of the hour (100 ns ticks).
    fn at(&mut self) -> DateTime<Utc> {
        let ticks = self.rng.below(36_000_000_000) as i64;
        self.start + Duration::nanoseconds(ticks * 100)
    }

    /// The start of a burst lasting `seconds`, so the whole burst stays in the hour.
    fn burst_start(&mut self, seconds: i64) -> DateTime<Utc> {
        let latest = (3600 - seconds).max(1);
        let ticks = self.rng.below(latest as u64 * 10_000_000) as i64;
        self.start + Duration::nanoseconds(ticks * 100)
    }

    fn emit(&mut self, source: Source, time: DateTime<Utc>, id: String, value: Value) {
        let roll = self.rng.next_u64();
        self.out.push(Generated {
            source,
            time,
            id,
            json: value.to_string(),
            roll,
        });
    }

    fn user(&mut self) -> &'a User {
        let users = &self.profile.users;
        &users[self.rng.below(users.len() as u64) as usize]
    }

    fn regular_user(&mut self) -> &'a User {
        let users = &self.profile.users;
        let regular: Vec<&'a User> = users.iter().filter(|u| !u.admin).collect();
        regular[self.rng.below(regular.len() as u64) as usize]
    }

    fn admin(&mut self) -> &'a User {
        let admins: Vec<&'a User> = self.profile.admins().collect();
        admins[self.rng.below(admins.len() as u64) as usize]
    }

    fn guid(&mut self) -> String {
        self.rng.guid()
    }

    fn hostile_ip(&mut self) -> String {
        if self.rng.chance(0.25) {
            format!(
                "2001:db8:{:x}::{:x}",
                self.rng.range(1, 0xfff),
                self.rng.range(1, 0xffff)
            )
        } else {
            format!("192.0.2.{}", self.rng.range(1, 254))
        }
    }

    fn travel_ip(&mut self) -> String {
        format!("198.51.100.{}", self.rng.range(100, 254))
    }

    fn file_name(&mut self) -> String {
        let word = *self.rng.pick(&FILE_WORDS);
        let ext = *self.rng.pick(&FILE_EXTS);
        match self.rng.below(3) {
            0 => format!("{word}.{ext}"),
            1 => format!("{word} {}.{ext}", self.rng.range(2019, 2026)),
            _ => format!("{word} v{}.{ext}", self.rng.range(1, 9)),
        }
    }

    fn ual_base(
        &mut self,
        record_type: i64,
        workload: &str,
        operation: &str,
        time: DateTime<Utc>,
    ) -> (String, serde_json::Map<String, Value>) {
        let id = self.guid();
        let mut m = serde_json::Map::new();
        m.insert("OrganizationId".into(), json!(self.profile.tid));
        m.insert("Version".into(), json!(1));
        m.insert("Workload".into(), json!(workload));
        m.insert("CreationTime".into(), json!(ual_time(time)));
        m.insert("Id".into(), json!(id));
        m.insert("Operation".into(), json!(operation));
        m.insert("RecordType".into(), json!(record_type));
        (id, m)
    }

    fn emit_ual(
        &mut self,
        ct: ContentType,
        time: DateTime<Utc>,
        id: String,
        m: serde_json::Map<String, Value>,
    ) {
        self.emit(Source::Ual(ct), time, id, Value::Object(m));
    }
}
