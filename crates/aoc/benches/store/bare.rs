//! The bare engine baselines: the same rows written with each engine's plainest fast path.

use super::*;

// ---------------------------------------------------------------------------------------------
// Bare engines

/// The bare SQLite baseline: the same DDL in another file, rows written with prepared multi-row
/// INSERTs, one transaction per batch, `seq` assigned here instead of read back.
pub(crate) struct BareSqlite {
    conn: SqliteConnection,
    next_seq: i64,
}

pub(crate) const BARE_SQLITE_CHUNK: usize = 500;

impl BareSqlite {
    pub(crate) async fn open(
        path: &Path,
        page_size: Option<u32>,
        setup: &[String],
    ) -> Result<Self> {
        // The engine's own migrations make the table and indexes, so they are identical.
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
        store.migrate().await?;
        drop(store);
        let mut conn = sqlite_options(path).connect().await?;
        if let Some(size) = page_size {
            // The file is still empty: a new page size takes with VACUUM, outside WAL mode.
            sqlx::raw_sql(AssertSqlSafe(format!(
                "PRAGMA journal_mode = DELETE; PRAGMA page_size = {size}; VACUUM; \
                 PRAGMA journal_mode = WAL"
            )))
            .execute(&mut conn)
            .await?;
        }
        for sql in setup {
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await?;
        }
        Ok(Self { conn, next_seq: 1 })
    }

    pub(crate) async fn insert(
        &mut self,
        columns: &[EventColumns<'_>],
        ingested_at: i64,
    ) -> Result<()> {
        let mut tx = self.conn.begin().await?;
        for chunk in columns.chunks(BARE_SQLITE_CHUNK) {
            let rows =
                vec!["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"; chunk.len()].join(",");
            let sql = format!(
                "INSERT INTO events (seq, id, tenant_id, dedupe_key, source, service, timestamp, \
                 ingested_at, operation, result, actor_upn, actor_id, client_ip, summary, payload, \
                 client_ip_key, country, target_keys, target_names, activity_key, actor_keys, \
                 application, application_key) VALUES {rows}"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (k, c) in chunk.iter().enumerate() {
                let e = c.event;
                q = q
                    .bind(self.next_seq + k as i64)
                    .bind(e.id.as_bytes().to_vec())
                    .bind(c.tenant_id.as_ref())
                    .bind(c.dedupe_key.as_ref())
                    .bind(c.source.as_ref())
                    .bind(c.service.as_ref())
                    .bind(e.timestamp.timestamp_micros())
                    .bind(ingested_at)
                    .bind(c.operation.as_ref())
                    .bind(e.result.as_str())
                    .bind(c.actor_upn.as_deref())
                    .bind(c.actor_id.as_deref())
                    .bind(c.client_ip.as_deref())
                    .bind(c.summary.as_ref())
                    .bind(c.payload.as_slice())
                    .bind(c.client_ip_key.map(|k| k.to_vec()))
                    .bind(c.country.as_deref())
                    .bind(c.target_keys.as_str())
                    .bind(c.target_names.as_deref())
                    .bind(c.activity_key.as_deref())
                    .bind(c.actor_keys.as_str())
                    .bind(c.application.as_deref())
                    .bind(c.application_key.as_deref());
            }
            q.execute(&mut *tx).await?;
            let rows = vec!["(?,?)"; chunk.len()].join(",");
            let sql = format!("INSERT INTO events_fts (rowid, body) VALUES {rows}");
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (k, c) in chunk.iter().enumerate() {
                q = q.bind(self.next_seq + k as i64).bind(c.search.as_str());
            }
            q.execute(&mut *tx).await?;
            self.next_seq += chunk.len() as i64;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    // The pragmas of SqliteStore::connect.
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(StdDuration::from_secs(10))
        .pragma("cache_size", "-65536")
        .pragma("temp_store", "memory")
}

/// COPY text format: backslash, newline, carriage return and tab escaped.
pub(crate) fn copy_text(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("\\N");
        return;
    };
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

/// `to_tsvector('simple', tokens)` computed here: each token with its positions. Tokens are
/// letters and digits only (aoc_model::search), so they need no quoting.
pub(crate) fn tsvector_text(search: &str) -> String {
    let mut positions: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (n, token) in search.split(' ').filter(|t| !t.is_empty()).enumerate() {
        let pos = (n + 1).min(16_383);
        match index.get(token) {
            Some(&k) => positions[k].1.push(pos),
            None => {
                index.insert(token, positions.len());
                positions.push((token, vec![pos]));
            }
        }
    }
    let mut out = String::with_capacity(search.len() * 2);
    for (k, (token, pos)) in positions.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(token);
        out.push(':');
        for (p, n) in pos.iter().take(256).enumerate() {
            if p > 0 {
                out.push(',');
            }
            let _ = write!(out, "{n}");
        }
    }
    out
}

pub(crate) async fn bare_pg_copy(
    pool: &PgPool,
    columns: &[EventColumns<'_>],
    ingested_at: &str,
) -> Result<()> {
    let mut buf = String::with_capacity(columns.len() * 4096);
    for c in columns {
        let e = c.event;
        let ts = e.timestamp.to_rfc3339_opts(SecondsFormat::Micros, true);
        let id = e.id.as_uuid().to_string();
        let search = tsvector_text(&c.search);
        // bytea as text is `\x` and hex; COPY's own escaping doubles the backslash.
        let mut payload = String::with_capacity(2 + c.payload.len() * 2);
        payload.push_str("\\\\x");
        for byte in &c.payload {
            let _ = write!(payload, "{byte:02x}");
        }
        let ip_key = c.client_ip_key.map(|key| {
            let mut hex = String::from("\\\\x");
            for byte in key {
                let _ = write!(hex, "{byte:02x}");
            }
            hex
        });
        let fields: [Option<&str>; 23] = [
            Some(&id),
            Some(&c.tenant_id),
            Some(&c.dedupe_key),
            Some(&c.source),
            Some(&c.service),
            Some(&ts),
            Some(ingested_at),
            Some(&c.operation),
            Some(e.result.as_str()),
            c.actor_upn.as_deref(),
            c.actor_id.as_deref(),
            c.client_ip.as_deref(),
            Some(&c.summary),
            None,
            Some(&search),
            None,
            c.country.as_deref(),
            Some(&c.target_keys),
            c.target_names.as_deref(),
            c.activity_key.as_deref(),
            Some(&c.actor_keys),
            c.application.as_deref(),
            c.application_key.as_deref(),
        ];
        for (k, field) in fields.into_iter().enumerate() {
            if k > 0 {
                buf.push('\t');
            }
            if k == 13 {
                buf.push_str(&payload);
            } else if k == 15 {
                match &ip_key {
                    Some(hex) => buf.push_str(hex),
                    None => buf.push_str("\\N"),
                }
            } else {
                copy_text(&mut buf, field);
            }
        }
        buf.push('\n');
    }
    let statement = format!("COPY events ({BARE_COLUMNS}) FROM STDIN");
    let mut copy = pool.copy_in_raw(&statement).await?;
    copy.send(buf.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

pub(crate) fn months(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or_default();
    while m <= to.date_naive() {
        let next = m
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or_default();
        out.push((m, next));
        m = next;
    }
    out
}
