//! The job queue on Valkey (Redis protocol), shared by every `aoc serve` and `aoc worker`.
//!
//! Keys, all under one hash tag so a cluster keeps them on one node:
//! - `aoc:{jobs}:queue`: a list of waiting job ids, oldest first;
//! - `aoc:{jobs}:running`: a sorted set of running job ids scored by their lease's end (ms);
//! - `aoc:{jobs}:job:<id>`: a hash per job (status, owner, payload, result, …), expiring at the
//!   job's keep time while it is not running.
//!
//! Every change is one Lua script, so it is atomic; time is the server's (`TIME`), so workers on
//! machines whose clocks differ agree on when a lease ran out.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use redis::aio::ConnectionManager;

use aoc_store::{
    ClaimedJob, JobId, JobOutcome, JobQueue, JobRecord, NewJob, StoreError, StoreResult,
    storable_json,
};

/// The longest one queue operation may take before it counts as Valkey being unavailable.
const OP_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared by the scripts: the server's clock in ms, and integers written without exponents.
const PRELUDE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function int(n) return string.format('%d', n) end
";

const ENQUEUE: &str = r"
-- KEYS: job, queue; ARGV: id, kind, owner, payload, max_attempts, keep_ms
local keep = tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'owner', ARGV[3], 'payload', ARGV[4],
  'status', 'queued', 'attempts', 0, 'max_attempts', ARGV[5], 'keep_ms', ARGV[6],
  'created_at', int(now), 'expires_at', int(now + keep))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
";

const CLAIM: &str = r"
-- KEYS: queue, running; ARGV: job key prefix, worker, lease_ms
-- First the jobs whose worker's lease ran out: back to the front of the queue, or failed
-- when their attempts are used up (the text is aoc_store::abandoned_error's).
local lost = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. int(now))
for _, id in ipairs(lost) do
  redis.call('ZREM', KEYS[2], id)
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'status') == 'running' then
    local attempts = tonumber(redis.call('HGET', key, 'attempts'))
    local max = tonumber(redis.call('HGET', key, 'max_attempts'))
    redis.call('HDEL', key, 'worker')
    if attempts >= max then
      local keep = tonumber(redis.call('HGET', key, 'keep_ms'))
      redis.call('HSET', key, 'status', 'failed', 'error', 'the job was stopped ' .. int(attempts)
        .. ' time(s) by its worker ending before it finished',
        'finished_at', int(now), 'expires_at', int(now + keep))
      redis.call('PEXPIRE', key, keep)
    else
      redis.call('HSET', key, 'status', 'queued')
      redis.call('LPUSH', KEYS[1], id)
    end
  end
end
while true do
  local id = redis.call('LPOP', KEYS[1])
  if not id then return false end
  local key = ARGV[1] .. id
  -- Skips ids whose job expired while it waited.
  if redis.call('HGET', key, 'status') == 'queued' then
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'status', 'running', 'worker', ARGV[2], 'started_at', int(now))
    redis.call('PERSIST', key)
    redis.call('ZADD', KEYS[2], int(now + tonumber(ARGV[3])), id)
    local job = redis.call('HMGET', key, 'kind', 'owner', 'payload')
    return {id, job[1], job[2], job[3], attempts}
  end
end
";

const RENEW: &str = r"
-- KEYS: job, running; ARGV: id, worker, lease_ms
if redis.call('HGET', KEYS[1], 'status') ~= 'running'
  or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
redis.call('ZADD', KEYS[2], int(now + tonumber(ARGV[3])), ARGV[1])
return 1
";

const FINISH: &str = r"
-- KEYS: job, running; ARGV: id, worker, status, field (result or error), value
if redis.call('HGET', KEYS[1], 'status') ~= 'running'
  or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
local keep = tonumber(redis.call('HGET', KEYS[1], 'keep_ms'))
redis.call('HDEL', KEYS[1], 'worker')
redis.call('HSET', KEYS[1], 'status', ARGV[3], ARGV[4], ARGV[5], 'finished_at', int(now),
  'expires_at', int(now + keep))
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
";

const GET: &str = r"
-- KEYS: job, running; ARGV: id. The job's fields, its status as a worker would see it first:
-- a running job whose lease ran out waits for the next claim.
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return {} end
local status = redis.call('HGET', KEYS[1], 'status')
local lease = redis.call('ZSCORE', KEYS[2], ARGV[1])
if status == 'running' and lease and tonumber(lease) < now then status = 'queued' end
table.insert(fields, 1, status)
return fields
";

const DEPTH: &str = r"
-- KEYS: queue, running
return redis.call('LLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. int(now))
";

/// The Valkey job queue. Cheap to clone: one multiplexed connection per process.
#[derive(Clone)]
pub struct ValkeyJobQueue {
    connection: ConnectionManager,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    enqueue: Script,
    claim: Script,
    renew: Script,
    finish: Script,
    get: Script,
    depth: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

fn unavailable(error: &redis::RedisError) -> StoreError {
    // A URL that does not parse is named by its category only: its text may hold the password.
    let detail = match error.kind() {
        redis::ErrorKind::InvalidClientConfig => error.category().to_owned(),
        _ => error.to_string(),
    };
    StoreError::Unavailable(format!("Valkey: {detail}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn time(fields: &HashMap<String, String>, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    fields
        .get(name)
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| StoreError::Corrupt(format!("job {name} {v:?}")))
        })
        .transpose()
}

/// One multiplexed, self-reconnecting connection to Valkey: a process opens one and shares it
/// (the queue, the answer cache, the token budgets).
///
/// # Errors
/// [`StoreError::Unavailable`] when Valkey cannot be reached; the message never holds the URL
/// (it may carry a password).
pub async fn connect(url: &str) -> StoreResult<ConnectionManager> {
    let client = redis::Client::open(url).map_err(|e| unavailable(&e))?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(OP_TIMEOUT))
        .set_response_timeout(Some(OP_TIMEOUT));
    tokio::time::timeout(
        OP_TIMEOUT * 2,
        client.get_connection_manager_with_config(config),
    )
    .await
    .map_err(|_| StoreError::Unavailable("Valkey did not answer in time".into()))?
    .map_err(|e| unavailable(&e))
}

impl ValkeyJobQueue {
    /// Connects to a `redis://` or `rediss://` URL. The default key prefix is `aoc:{jobs}:`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Valkey cannot be reached.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with_prefix(url, "aoc:{jobs}:").await
    }

    /// Connects, keeping the queue's keys under `prefix` (tests, or several AOCs on one Valkey).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Valkey cannot be reached.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> StoreResult<Self> {
        Ok(Self::with_prefix(connect(url).await?, prefix))
    }

    /// A queue over an open connection, its keys under `prefix` (tests use their own).
    pub fn with_prefix(connection: ConnectionManager, prefix: &str) -> Self {
        Self {
            connection,
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts {
                enqueue: script(ENQUEUE),
                claim: script(CLAIM),
                renew: script(RENEW),
                finish: script(FINISH),
                get: script(GET),
                depth: script(DEPTH),
            }),
        }
    }

    fn job_key(&self, id: &str) -> String {
        format!("{}job:{id}", self.prefix)
    }

    fn queue_key(&self) -> String {
        format!("{}queue", self.prefix)
    }

    fn running_key(&self) -> String {
        format!("{}running", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(OP_TIMEOUT, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| StoreError::Unavailable("Valkey did not answer in time".into()))?
            .map_err(|e| unavailable(&e))
    }
}

#[async_trait]
impl JobQueue for ValkeyJobQueue {
    fn queue_kind(&self) -> &'static str {
        "valkey"
    }

    async fn enqueue_job(&self, job: &NewJob) -> StoreResult<()> {
        let id = job.id.to_string();
        let _: i64 = self
            .run(
                self.scripts
                    .enqueue
                    .key(self.job_key(&id))
                    .key(self.queue_key())
                    .arg(&id)
                    .arg(&job.kind)
                    .arg(&job.owner)
                    .arg(storable_json(&job.payload).to_string())
                    .arg(job.max_attempts.max(1))
                    .arg(millis(job.keep)),
            )
            .await?;
        Ok(())
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        let key = id.to_string();
        let reply: Vec<String> = self
            .run(
                self.scripts
                    .get
                    .key(self.job_key(&key))
                    .key(self.running_key())
                    .arg(&key),
            )
            .await?;
        let Some((status, pairs)) = reply.split_first() else {
            return Ok(None);
        };
        let fields: HashMap<String, String> = pairs
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        let field = |name: &str| {
            fields
                .get(name)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("job {key} has no {name}")))
        };
        let result = fields
            .get("result")
            .map(|text| serde_json::from_str(text))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("job result: {e}")))?;
        Ok(Some(JobRecord {
            id,
            kind: field("kind")?,
            owner: field("owner")?,
            status: status.parse().map_err(StoreError::Corrupt)?,
            attempts: field("attempts")?
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("job {key} attempts")))?,
            created_at: time(&fields, "created_at")?
                .ok_or_else(|| StoreError::Corrupt(format!("job {key} has no created_at")))?,
            started_at: time(&fields, "started_at")?,
            finished_at: time(&fields, "finished_at")?,
            expires_at: time(&fields, "expires_at")?
                .ok_or_else(|| StoreError::Corrupt(format!("job {key} has no expires_at")))?,
            result,
            error: fields.get("error").cloned(),
        }))
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> StoreResult<Option<ClaimedJob>> {
        let reply: Option<(String, String, String, String, u32)> = self
            .run(
                self.scripts
                    .claim
                    .key(self.queue_key())
                    .key(self.running_key())
                    .arg(self.job_key(""))
                    .arg(worker)
                    .arg(millis(lease)),
            )
            .await?;
        reply
            .map(|(id, kind, owner, payload, attempt)| {
                Ok(ClaimedJob {
                    id: id
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("job id {id:?}: {e}")))?,
                    kind,
                    owner,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
                    attempt,
                })
            })
            .transpose()
    }

    async fn renew_job(&self, id: JobId, worker: &str, lease: Duration) -> StoreResult<bool> {
        let key = id.to_string();
        let renewed: i64 = self
            .run(
                self.scripts
                    .renew
                    .key(self.job_key(&key))
                    .key(self.running_key())
                    .arg(&key)
                    .arg(worker)
                    .arg(millis(lease)),
            )
            .await?;
        Ok(renewed == 1)
    }

    async fn finish_job(&self, id: JobId, worker: &str, outcome: &JobOutcome) -> StoreResult<bool> {
        let key = id.to_string();
        let (status, result, error) = outcome.stored();
        let (field, value) = match (result, error) {
            (Some(result), _) => ("result", result),
            (None, error) => ("error", error.unwrap_or_default()),
        };
        let finished: i64 = self
            .run(
                self.scripts
                    .finish
                    .key(self.job_key(&key))
                    .key(self.running_key())
                    .arg(&key)
                    .arg(worker)
                    .arg(status.as_str())
                    .arg(field)
                    .arg(value),
            )
            .await?;
        Ok(finished == 1)
    }

    async fn purge_jobs(&self) -> StoreResult<u64> {
        // Valkey expires jobs by itself (each hash carries its keep time).
        Ok(0)
    }

    async fn queued_jobs(&self) -> StoreResult<u64> {
        self.run(
            self.scripts
                .depth
                .key(self.queue_key())
                .key(self.running_key()),
        )
        .await
    }
}

#[cfg(test)]
mod tests;
