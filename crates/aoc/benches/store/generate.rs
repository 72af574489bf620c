//! Generation (not timed): raw records cycling through every fixture shape, mutated per index.

use super::*;

// ---------------------------------------------------------------------------------------------
// Generation

/// splitmix64: a cheap, well-mixed hash of the index, so runs are reproducible.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(crate) fn user_upn(u: u64) -> String {
    let first = FIRST[(u % 50) as usize];
    let last = LAST[(u / 50 % 40) as usize];
    format!("{first}.{last}@contoso.com")
}

pub(crate) fn user_name(u: u64) -> String {
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    format!(
        "{} {}",
        cap(FIRST[(u % 50) as usize]),
        cap(LAST[(u / 50 % 40) as usize])
    )
}

pub(crate) fn user_object_id(u: u64) -> String {
    format!("{:08x}-5a1e-4c0d-9e2b-{:012x}", mix(u) as u32, u)
}

pub(crate) fn ip(j: u64) -> IpAddr {
    IpAddr::from([
        198,
        18 + (j / 256) as u8,
        (j % 256) as u8,
        (j * 37 % 253 + 1) as u8,
    ])
}

/// One fixture record and what to replace in it.
pub(crate) struct Shape {
    raw: Value,
    source: &'static str,
    /// The e-mail addresses in the record (lowercased), in order of appearance: the n-th is
    /// replaced by the n-th user drawn for each generated record.
    emails: Vec<String>,
    /// The actor's object id and display name, replaced by those of the actor's new user.
    actor: Option<(usize, Option<String>, Option<String>)>,
}

pub(crate) fn is_email(s: &str) -> bool {
    s.contains('@')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

pub(crate) fn collect_emails(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if is_email(s) => {
            let s = s.to_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_emails(v, out)),
        Value::Object(obj) => obj.values().for_each(|v| collect_emails(v, out)),
        _ => {}
    }
}

pub(crate) fn shapes() -> Vec<Shape> {
    aoc_store::testsuite::data::fixture_records()
        .into_iter()
        .map(|raw| {
            let source = match detect_kind(&raw) {
                RecordKind::DirectoryAudit => "graph.directory_audits",
                RecordKind::SignIn => "graph.sign_ins",
                RecordKind::IntuneAudit => "graph.intune_audit",
                _ => match raw.get("Workload").and_then(Value::as_str) {
                    Some("Exchange") => "o365.Audit.Exchange",
                    Some("SharePoint" | "OneDrive") => "o365.Audit.SharePoint",
                    _ => "o365.Audit.AzureActiveDirectory",
                },
            };
            let mut emails = Vec::new();
            collect_emails(&raw, &mut emails);
            let actor = normalize(raw.clone(), &Context::new(source))
                .ok()
                .and_then(|event| {
                    let upn = event.actor.upn?.to_lowercase();
                    let k = emails.iter().position(|e| *e == upn)?;
                    let id = event.actor.id.filter(|id| !id.contains('@'));
                    Some((k, id.map(|i| i.to_lowercase()), event.actor.display_name))
                });
            Shape {
                raw,
                source,
                emails,
                actor,
            }
        })
        .collect()
}

/// Rewrites every string of `value` found in `map` (by lowercase), and `ip[:port]` strings.
pub(crate) fn rewrite(value: &mut Value, map: &HashMap<String, String>, new_ip: &str) {
    match value {
        Value::String(s) => {
            if let Some(new) = map.get(&s.to_lowercase()) {
                *s = new.clone();
            } else if s.parse::<IpAddr>().is_ok() {
                *s = new_ip.to_owned();
            } else if let Some((host, port)) = s.rsplit_once(':')
                && host.parse::<std::net::Ipv4Addr>().is_ok()
                && port.parse::<u16>().is_ok()
            {
                *s = format!("{new_ip}:{port}");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, map, new_ip)),
        Value::Object(obj) => obj.values_mut().for_each(|v| rewrite(v, map, new_ip)),
        _ => {}
    }
}

pub(crate) fn set(raw: &mut Value, key: &str, value: String) {
    if let Some(obj) = raw.as_object_mut()
        && obj.contains_key(key)
    {
        obj.insert(key.to_owned(), Value::String(value));
    }
}

pub(crate) struct Generator {
    shapes: Vec<Shape>,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    pub(crate) n: usize,
}

impl Generator {
    pub(crate) fn new(n: usize) -> Self {
        let end = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_default();
        Self {
            shapes: shapes(),
            start: end - Duration::days(DAYS),
            end,
            n,
        }
    }

    /// Record `i`'s time: in index order over the 90 days, jittered by up to ±30 minutes, as
    /// several collectors delivering roughly in time order would.
    fn time(&self, i: usize) -> DateTime<Utc> {
        let span = (self.end - self.start).num_microseconds().unwrap_or(1);
        let at = (span as i128 * i as i128 / self.n as i128) as i64;
        let jitter = (mix(i as u64 ^ 0x7177) % 3_600_000_000) as i64 - 1_800_000_000;
        let t = self.start + Duration::microseconds((at + jitter).clamp(0, span - 1));
        t.min(self.end - Duration::seconds(1))
    }

    fn record(&self, i: usize) -> (Value, &'static str) {
        let shape = &self.shapes[i % self.shapes.len()];
        let mut raw = shape.raw.clone();
        let h = mix(i as u64);
        let time = self.time(i);
        let users: Vec<u64> = (0..shape.emails.len())
            .map(|n| mix(h ^ (n as u64 + 1)) % USERS)
            .collect();
        let mut map: HashMap<String, String> = shape
            .emails
            .iter()
            .zip(&users)
            .map(|(email, &u)| (email.clone(), user_upn(u)))
            .collect();
        if let Some((k, id, name)) = &shape.actor {
            if let Some(id) = id {
                map.insert(id.clone(), user_object_id(users[*k]));
            }
            if let Some(name) = name.as_ref().filter(|n| !n.contains('@')) {
                map.insert(name.to_lowercase(), user_name(users[*k]));
            }
        }
        let new_ip = ip((h >> 20) % IPS).to_string();
        rewrite(&mut raw, &map, &new_ip);
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            h >> 32,
            (h >> 16) & 0xffff,
            h & 0xfff,
            (h >> 12) & 0xfff,
            i
        );
        set(&mut raw, "id", id.clone());
        set(&mut raw, "Id", id);
        let graph_time = time.to_rfc3339_opts(SecondsFormat::Micros, true);
        set(&mut raw, "activityDateTime", graph_time.clone());
        set(&mut raw, "createdDateTime", graph_time);
        set(
            &mut raw,
            "CreationTime",
            time.format("%Y-%m-%dT%H:%M:%S").to_string(),
        );
        if raw.get("SourceFileName").is_some() {
            let f = (h >> 40) % 400;
            let site = SITES[(f % 8) as usize];
            let name = format!(
                "{}-{:02} {}.{}",
                2024 + f % 2,
                1 + f % 12,
                FILE_WORDS[(f / 4 % 10) as usize],
                FILE_EXTS[(f / 40 % 4) as usize]
            );
            let folder = "Shared Documents";
            set(
                &mut raw,
                "SiteUrl",
                format!("https://contoso.sharepoint.com/sites/{site}/"),
            );
            set(
                &mut raw,
                "ObjectId",
                format!("https://contoso.sharepoint.com/sites/{site}/{folder}/{name}"),
            );
            set(&mut raw, "SourceFileName", name);
        }
        (raw, shape.source)
    }

    pub(crate) fn batch(&self, from: usize, to: usize) -> Vec<(Value, &'static str)> {
        (from..to).map(|i| self.record(i)).collect()
    }
}

pub(crate) fn normalize_batch(
    batch: Vec<(Value, &'static str)>,
    tenant: &TenantId,
) -> Result<Vec<Event>> {
    batch
        .into_iter()
        .map(|(raw, source)| {
            normalize(raw, &Context::new(source).with_tenant(tenant.clone()))
                .map_err(anyhow::Error::from)
        })
        .collect()
}
