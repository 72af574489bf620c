//! The record store: generated hours (cached, bounded), availability times, content blobs and
//! the queries the endpoints need.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};

use crate::generate::{ContentType, Source, generate_hour, hour_of};
use crate::profile::TenantProfile;
use crate::rng::{SplitMix64, derive};

/// Blob slots are this long: a content type's blobs appear about every 15 minutes.
pub(crate) const SLOT_SECONDS: i64 = 900;
/// Graph retention (Entra ID P1/P2): older records are not served.
pub(crate) const GRAPH_RETENTION_DAYS: i64 = 30;
/// Latest availability of any record after its event (Late included).
pub(crate) const MAX_DELAY_MINUTES: i64 = 120;
/// Cached records (all tenants) before the oldest hours are dropped.
const CACHE_RECORDS: usize = 150_000;
/// Cached blob slots before the oldest are dropped.
const CACHE_SLOTS: usize = 20_000;

/// A record as served.
#[derive(Debug)]
pub(crate) struct Rec {
    pub source: Source,
    pub time: DateTime<Utc>,
    pub id: String,
    pub json: Box<str>,
    /// Graph: when the record becomes visible. Unified log: its blob's `contentCreated`.
    pub available: DateTime<Utc>,
    /// Unified log: the blob slot, and the second slot of a duplicated record.
    pub slot: i64,
    pub dup_slot: Option<i64>,
}

/// One content blob.
#[derive(Debug)]
pub(crate) struct Blob {
    pub content_type: ContentType,
    pub content_id: String,
    pub created: DateTime<Utc>,
    pub records: Vec<Arc<Rec>>,
}

impl Blob {
    pub(crate) fn expiration(&self) -> DateTime<Utc> {
        self.created + Duration::days(7)
    }
}

/// A time bound: the instant and whether it is included.
pub(crate) type Bound = Option<(DateTime<Utc>, bool)>;

fn after_lower(t: DateTime<Utc>, lo: Bound) -> bool {
    match lo {
        None => true,
        Some((b, true)) => t >= b,
        Some((b, false)) => t > b,
    }
}

fn before_upper(t: DateTime<Utc>, hi: Bound) -> bool {
    match hi {
        None => true,
        Some((b, true)) => t <= b,
        Some((b, false)) => t < b,
    }
}

/// A FIFO cache bounded by a total weight.
struct Fifo<K, V> {
    map: HashMap<K, (V, usize)>,
    order: VecDeque<K>,
    weight: usize,
    cap: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Fifo<K, V> {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            weight: 0,
            cap,
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        self.map.get(key).map(|(v, _)| v.clone())
    }

    fn insert(&mut self, key: K, value: V, weight: usize) -> V {
        if let Some((existing, _)) = self.map.get(&key) {
            return existing.clone();
        }
        self.map.insert(key.clone(), (value.clone(), weight));
        self.order.push_back(key);
        self.weight += weight;
        while self.weight > self.cap && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front()
                && let Some((_, w)) = self.map.remove(&old)
            {
                self.weight -= w;
            }
        }
        value
    }
}

type HourKey = (String, i64);
type SlotKey = (String, ContentType, i64);

/// Generated data of every tenant.
pub(crate) struct DataStore {
    seed: u64,
    records_per_hour: u32,
    late: bool,
    duplicate: bool,
    blob_max_records: usize,
    profiles: Mutex<HashMap<String, Arc<TenantProfile>>>,
    hours: Mutex<Fifo<HourKey, Arc<Vec<Arc<Rec>>>>>,
    slots: Mutex<Fifo<SlotKey, Arc<Vec<Arc<Blob>>>>>,
}

impl DataStore {
    pub(crate) fn new(
        seed: u64,
        records_per_hour: u32,
        late: bool,
        duplicate: bool,
        blob_max_records: usize,
    ) -> Self {
        Self {
            seed,
            records_per_hour,
            late,
            duplicate,
            blob_max_records: blob_max_records.max(1),
            profiles: Mutex::new(HashMap::new()),
            hours: Mutex::new(Fifo::new(CACHE_RECORDS)),
            slots: Mutex::new(Fifo::new(CACHE_SLOTS)),
        }
    }

    /// The cast of tenant `tid` (a lower-case GUID).
    pub(crate) fn profile(&self, tid: &str) -> Arc<TenantProfile> {
        let mut profiles = self.profiles.lock().unwrap_or_else(PoisonError::into_inner);
        profiles
            .entry(tid.to_string())
            .or_insert_with(|| Arc::new(TenantProfile::new(self.seed, tid)))
            .clone()
    }

    /// `contentCreated` of slot `slot` of a content type: the slot's end plus up to two minutes.
    pub(crate) fn slot_created(&self, tid: &str, ct: ContentType, slot: i64) -> DateTime<Utc> {
        let jitter =
            derive(&[b"slot", tid.as_bytes(), &[ct.index()], &slot.to_le_bytes()]) % 120_000;
        Utc.timestamp_opt(slot * SLOT_SECONDS, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
            + Duration::milliseconds(jitter as i64)
    }

    /// The records of one hour, sorted by (time, source, id).
    pub(crate) fn hour(&self, tid: &str, hour: i64) -> Arc<Vec<Arc<Rec>>> {
        let key = (tid.to_string(), hour);
        if let Some(found) = self
            .hours
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found;
        }
        let profile = self.profile(tid);
        let mut records: Vec<Arc<Rec>> = generate_hour(&profile, hour, self.records_per_hour)
            .into_iter()
            .map(|g| {
                let late = self.late && g.roll % 1000 < 70;
                let fraction = (g.roll >> 10) & 0xFFFF_FFFF;
                let (available, slot, dup_slot) = match g.source {
                    Source::Ual(ct) => {
                        let delay_ms = if late {
                            85 * 60_000 + fraction % (15 * 60_000)
                        } else {
                            20 * 60_000 + fraction % (45 * 60_000)
                        };
                        let target = g.time + Duration::milliseconds(delay_ms as i64);
                        let slot = (target.timestamp() + SLOT_SECONDS - 1).div_euclid(SLOT_SECONDS);
                        let dup =
                            (self.duplicate && (g.roll >> 48) % 1000 < 50).then_some(slot + 2);
                        (self.slot_created(tid, ct, slot), slot, dup)
                    }
                    _ => {
                        let delay_ms = if late {
                            3_600_000 + fraction % 3_540_000
                        } else {
                            60_000 + fraction % 540_000
                        };
                        (g.time + Duration::milliseconds(delay_ms as i64), 0, None)
                    }
                };
                Arc::new(Rec {
                    source: g.source,
                    time: g.time,
                    id: g.id,
                    json: g.json.into_boxed_str(),
                    available,
                    slot,
                    dup_slot,
                })
            })
            .collect();
        records.sort_by(|a, b| (a.time, a.source, &a.id).cmp(&(b.time, b.source, &b.id)));
        let weight = records.len().max(1);
        self.hours
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::new(records), weight)
    }

    /// Every record with `from <= time < to`, sorted by (time, source, id).
    pub(crate) fn ground_truth(
        &self,
        tid: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Arc<Rec>> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        for hour in hour_of(from)..=hour_of(to - Duration::nanoseconds(1)) {
            out.extend(
                self.hour(tid, hour)
                    .iter()
                    .filter(|r| r.time >= from && r.time < to)
                    .cloned(),
            );
        }
        out
    }

    /// One page of a Graph collection: records of `source` within the bounds, available at
    /// `asof`, within retention, in time order (`desc`: newest first), skipping `offset`,
    /// at most `take`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn graph_page(
        &self,
        tid: &str,
        source: Source,
        lo: Bound,
        hi: Bound,
        desc: bool,
        asof: DateTime<Utc>,
        offset: usize,
        take: usize,
    ) -> Vec<Arc<Rec>> {
        let retention = asof - Duration::days(GRAPH_RETENTION_DAYS);
        let lo_t = match lo {
            Some((t, _)) if t > retention => t,
            _ => retention,
        };
        let hi_t = match hi {
            Some((t, _)) if t < asof => t,
            _ => asof,
        };
        let mut out = Vec::new();
        if hi_t < lo_t {
            return out;
        }
        let (first, last) = (hour_of(lo_t), hour_of(hi_t));
        let mut skip = offset;
        let hours: Box<dyn Iterator<Item = i64>> = if desc {
            Box::new((first..=last).rev())
        } else {
            Box::new(first..=last)
        };
        for hour in hours {
            let records = self.hour(tid, hour);
            let matching = |r: &&Arc<Rec>| {
                r.source == source
                    && r.available <= asof
                    && r.time >= retention
                    && after_lower(r.time, lo)
                    && before_upper(r.time, hi)
            };
            let picked: Vec<&Arc<Rec>> = if desc {
                records.iter().rev().filter(matching).collect()
            } else {
                records.iter().filter(matching).collect()
            };
            if skip >= picked.len() {
                skip -= picked.len();
                continue;
            }
            for r in picked.into_iter().skip(skip) {
                if out.len() == take {
                    return out;
                }
                out.push(r.clone());
            }
            skip = 0;
            if out.len() == take {
                return out;
            }
        }
        out
    }

    /// The blobs of a slot (empty slots have none).
    pub(crate) fn slot(&self, tid: &str, ct: ContentType, slot: i64) -> Arc<Vec<Arc<Blob>>> {
        let key = (tid.to_string(), ct, slot);
        if let Some(found) = self
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found;
        }
        let slot_end = Utc
            .timestamp_opt(slot * SLOT_SECONDS, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        // Primary records of this slot are at most MAX_DELAY old at the slot end; duplicates
        // come from two slots earlier.
        let earliest =
            slot_end - Duration::minutes(MAX_DELAY_MINUTES) - Duration::seconds(3 * SLOT_SECONDS);
        let source = Source::Ual(ct);
        let mut records: Vec<Arc<Rec>> = Vec::new();
        for hour in hour_of(earliest)..=hour_of(slot_end) {
            records.extend(
                self.hour(tid, hour)
                    .iter()
                    .filter(|r| r.source == source && (r.slot == slot || r.dup_slot == Some(slot)))
                    .cloned(),
            );
        }
        // Records in a blob are not time-ordered.
        let mut rng = SplitMix64::new(derive(&[
            b"blob-order",
            tid.as_bytes(),
            &[ct.index()],
            &slot.to_le_bytes(),
        ]));
        rng.shuffle(&mut records);
        let created = self.slot_created(tid, ct, slot);
        let region = &tid[..4.min(tid.len())];
        let blobs: Vec<Arc<Blob>> = records
            .chunks(self.blob_max_records)
            .enumerate()
            .map(|(part, chunk)| {
                let created = created + Duration::milliseconds(part as i64);
                Arc::new(Blob {
                    content_type: ct,
                    content_id: content_id(ct, slot, part, created, region),
                    created,
                    records: chunk.to_vec(),
                })
            })
            .collect();
        let weight = 1;
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::new(blobs), weight)
    }

    /// Blobs of a content type with `start <= contentCreated < end` and `contentCreated <= asof`,
    /// oldest first.
    pub(crate) fn blobs_between(
        &self,
        tid: &str,
        ct: ContentType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        asof: DateTime<Utc>,
    ) -> Vec<Arc<Blob>> {
        let mut out = Vec::new();
        let first = start.timestamp().div_euclid(SLOT_SECONDS) - 1;
        let last = end.timestamp().div_euclid(SLOT_SECONDS) + 1;
        for slot in first..=last {
            if self.slot_created(tid, ct, slot) > asof {
                break;
            }
            for blob in self.slot(tid, ct, slot).iter() {
                if blob.created >= start && blob.created < end && blob.created <= asof {
                    out.push(blob.clone());
                }
            }
        }
        out
    }

    /// The blob a content id names, whether or not it is available yet.
    pub(crate) fn blob(&self, tid: &str, content_id: &str) -> Option<Arc<Blob>> {
        let (ct, slot, part) = parse_content_id(content_id)?;
        let blobs = self.slot(tid, ct, slot);
        let blob = blobs.get(part)?;
        (blob.content_id == content_id).then(|| blob.clone())
    }

    /// Directory-audit records that became available in `(after, until]`.
    pub(crate) fn directory_audits_available(
        &self,
        tid: &str,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<Arc<Rec>> {
        let mut out = Vec::new();
        if until <= after {
            return out;
        }
        let first = hour_of(after - Duration::minutes(MAX_DELAY_MINUTES + 1));
        for hour in first..=hour_of(until) {
            out.extend(
                self.hour(tid, hour)
                    .iter()
                    .filter(|r| {
                        r.source == Source::DirectoryAudits
                            && r.available > after
                            && r.available <= until
                    })
                    .cloned(),
            );
        }
        out.sort_by(|a, b| (a.available, &a.id).cmp(&(b.available, &b.id)));
        out
    }
}

/// `{created:17}{part:06}${slot:020}${audit_exchange}${Audit_Exchange}$sim{region}`, shaped like
/// the real ids (`<digits>$<digits>$audit_exchange$Audit_Exchange$emea0021`).
fn content_id(
    ct: ContentType,
    slot: i64,
    part: usize,
    created: DateTime<Utc>,
    region: &str,
) -> String {
    let id_name = ct.id_name();
    format!(
        "{}{:06}${:020}${}${}$sim{}",
        created.format("%Y%m%d%H%M%S%3f"),
        part,
        slot,
        id_name.to_ascii_lowercase(),
        id_name,
        region
    )
}

fn parse_content_id(content_id: &str) -> Option<(ContentType, i64, usize)> {
    let parts: Vec<&str> = content_id.split('$').collect();
    if parts.len() != 5 || parts[0].len() != 23 {
        return None;
    }
    let ct = ContentType::parse(&parts[3].replace('_', "."))?;
    let slot: i64 = parts[1].parse().ok()?;
    let part: usize = parts[0][17..].parse().ok()?;
    Some((ct, slot, part))
}

/// Management API time: milliseconds and `Z`.
pub(crate) fn api_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58";

    fn day() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, 0, 0, 0)
            .single()
            .expect("date")
    }

    #[test]
    fn every_ual_record_is_in_exactly_its_blobs() {
        for duplicate in [false, true] {
            let store = DataStore::new(7, 120, true, duplicate, 5);
            let from = day();
            let to = from + Duration::hours(3);
            let truth: Vec<Arc<Rec>> = store
                .ground_truth(TID, from, to)
                .into_iter()
                .filter(|r| !r.source.is_graph())
                .collect();
            assert!(!truth.is_empty());
            let mut seen: HashMap<String, usize> = HashMap::new();
            for ct in ContentType::ALL {
                let blobs = store.blobs_between(
                    TID,
                    ct,
                    from - Duration::hours(1),
                    to + Duration::hours(3),
                    to + Duration::days(1),
                );
                for blob in blobs {
                    assert!(blob.records.len() <= 5);
                    assert_eq!(
                        store.blob(TID, &blob.content_id).map(|b| b.created),
                        Some(blob.created)
                    );
                    for r in &blob.records {
                        assert!(blob.created >= r.time);
                        // First appearance within the bound; a duplicate copy comes 30 min later.
                        assert!(r.available - r.time <= Duration::minutes(MAX_DELAY_MINUTES));
                        assert!(blob.created - r.time <= Duration::minutes(MAX_DELAY_MINUTES + 32));
                        *seen.entry(r.id.clone()).or_default() += 1;
                    }
                }
            }
            let mut dups = 0;
            for r in &truth {
                let n = seen.get(&r.id).copied().unwrap_or(0);
                assert!(n == 1 || duplicate && n == 2, "{} seen {n} times", r.id);
                dups += usize::from(n == 2);
            }
            assert_eq!(dups > 0, duplicate);
        }
    }

    #[test]
    fn graph_pages_partition_the_window() {
        let store = DataStore::new(7, 120, false, false, 50);
        let from = day();
        let to = from + Duration::hours(5);
        let asof = to + Duration::hours(3);
        let want: Vec<String> = store
            .ground_truth(TID, from, to)
            .into_iter()
            .filter(|r| r.source == Source::SignIns)
            .map(|r| r.id.clone())
            .collect();
        for desc in [false, true] {
            let mut got = Vec::new();
            let mut offset = 0;
            loop {
                let page = store.graph_page(
                    TID,
                    Source::SignIns,
                    Some((from, true)),
                    Some((to, false)),
                    desc,
                    asof,
                    offset,
                    7,
                );
                offset += page.len();
                let done = page.len() < 7;
                got.extend(page.iter().map(|r| r.id.clone()));
                if done {
                    break;
                }
            }
            if desc {
                got.reverse();
            }
            assert_eq!(got, want);
        }
    }

    #[test]
    fn content_ids_round_trip() {
        let created = day();
        let id = content_id(ContentType::Exchange, 1234, 2, created, "8f3c");
        assert_eq!(
            parse_content_id(&id),
            Some((ContentType::Exchange, 1234, 2))
        );
        assert!(id.contains("$audit_exchange$Audit_Exchange$"));
        assert_eq!(parse_content_id("nonsense"), None);
    }
}
