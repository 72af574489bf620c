//! The one HTTP policy of every Microsoft call: timeouts, bounded retries with exponential
//! backoff and jitter on throttling, server errors, transport errors and unreadable bodies,
//! `Retry-After` honoured, one token refresh on 401, and metrics by source.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::error::{CallError, Service, parse_error_body};
use super::pacer::Pacer;
use crate::telemetry::{self, RetryReason};

/// Management API codes that mean "try again later" (field-tested by other collectors).
const RETRYABLE_CODES: [&str; 4] = ["AF429", "AF50000", "AF50005", "AF50006"];

#[derive(Debug, Clone)]
pub struct HttpPolicy {
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest `Retry-After` AOC waits; longer ones are cut to this.
    pub max_retry_after: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

/// Hands out bearer tokens; `refresh` forces a new one (after a 401).
#[async_trait]
pub trait Bearer: Send + Sync {
    async fn token(&self, refresh: bool) -> Result<String, CallError>;
}

/// One call's context.
pub struct Call<'a> {
    pub service: Service,
    /// Metrics label: the source (`graph.sign_ins`) or `token`.
    pub source: &'a str,
    pub bearer: Option<&'a dyn Bearer>,
    pub pacer: Option<&'a Pacer>,
}

#[derive(Clone)]
pub struct MsHttp {
    client: reqwest::Client,
    policy: HttpPolicy,
}

enum Retry {
    After(Duration, RetryReason),
    Now(RetryReason),
}

impl MsHttp {
    /// # Errors
    /// When the TLS backend cannot be set up.
    pub fn new(policy: HttpPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .user_agent(concat!("AOC/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, policy })
    }

    /// Sends the request `build` makes (again for every attempt) and decodes the answer with
    /// `decode`; a body `decode` rejects (cut off mid-way, say) is fetched again.
    ///
    /// # Errors
    /// The last failure once attempts are used up, or at once for errors retrying cannot fix.
    pub async fn call<T>(
        &self,
        call: &Call<'_>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        decode: impl Fn(&Answer) -> Result<T, String>,
    ) -> Result<T, CallError> {
        let service = call.service;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.max_attempts;
            if let Some(pacer) = call.pacer {
                pacer.wait().await;
            }
            let mut request = build(&self.client);
            if let Some(bearer) = call.bearer {
                request = request.bearer_auth(bearer.token(refreshed).await?);
            }
            let (error, retry) = match self.send(request).await {
                Err(message) => {
                    count_request(call.source, telemetry::STATUS_TRANSPORT);
                    (
                        CallError::Transport { service, message },
                        Retry::After(self.backoff(attempt), RetryReason::Transport),
                    )
                }
                Ok(answer) if answer.status.is_success() => {
                    count_request(call.source, answer.status.as_str());
                    match decode(&answer) {
                        Ok(value) => return Ok(value),
                        Err(message) => (
                            CallError::Decode { service, message },
                            Retry::After(self.backoff(attempt), RetryReason::Unreadable),
                        ),
                    }
                }
                Ok(answer) => {
                    count_request(call.source, answer.status.as_str());
                    let (code, message, body_request_id) = parse_error_body(&answer.body);
                    let request_id = header(&answer.headers, "request-id").or(body_request_id);
                    let status = answer.status.as_u16();
                    let throttled = status == 429
                        || code.as_deref() == Some("AF429")
                        || code.as_deref() == Some("activityLimitReached");
                    let retryable = throttled
                        || matches!(status, 500 | 502 | 503 | 504 | 509)
                        || code
                            .as_deref()
                            .is_some_and(|c| RETRYABLE_CODES.contains(&c));
                    let error = CallError::Microsoft {
                        service,
                        status,
                        code,
                        message: message.unwrap_or_else(|| {
                            answer
                                .status
                                .canonical_reason()
                                .unwrap_or("error")
                                .to_owned()
                        }),
                        request_id,
                    };
                    if status == 401 && call.bearer.is_some() && !refreshed {
                        refreshed = true;
                        (error, Retry::Now(RetryReason::Unauthorized))
                    } else if retryable {
                        if throttled {
                            telemetry::Throttled {
                                source: call.source,
                            }
                            .emit();
                        }
                        let delay = retry_after(&answer.headers)
                            .map(|d| d.min(self.policy.max_retry_after))
                            .unwrap_or_else(|| self.backoff(attempt));
                        (
                            error,
                            Retry::After(
                                delay,
                                if throttled {
                                    RetryReason::Throttled
                                } else {
                                    RetryReason::ServerError
                                },
                            ),
                        )
                    } else {
                        return Err(error);
                    }
                }
            };
            if last {
                return Err(error);
            }
            let (delay, reason) = match retry {
                Retry::After(delay, reason) => (delay, reason),
                Retry::Now(reason) => (Duration::ZERO, reason),
            };
            telemetry::Retrying {
                source: call.source,
                attempt,
                reason,
                delay,
                error: &error,
            }
            .emit();
            tokio::time::sleep(delay).await;
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, String> {
        let response = request.send().await.map_err(describe)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(describe)?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// `min(base · 2^(attempt-1), max)` ± 20 % jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.policy.max_delay);
        exp.mul_f64(0.8 + 0.4 * jitter())
    }
}

fn count_request(source: &str, status: &str) {
    telemetry::RequestAnswered { source, status }.emit();
}

/// A transport error without the URL's query (no secrets travel there, but it is noise).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "response body failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(&error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A number in [0, 1) that differs between calls; jitter needs spread, not secrecy.
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos
        ^ COUNTER
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("17"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(17)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let http = MsHttp::new(HttpPolicy::default()).expect("client");
        for attempt in 1..20 {
            let d = http.backoff(attempt);
            let nominal =
                Duration::from_secs(1 << (attempt - 1).min(6)).min(Duration::from_secs(60));
            assert!(
                d >= nominal.mul_f64(0.79) && d <= nominal.mul_f64(1.21),
                "{attempt}: {d:?}"
            );
        }
        let spread: std::collections::HashSet<u128> =
            (0..20).map(|_| http.backoff(3).as_nanos()).collect();
        assert!(spread.len() > 1);
    }
}
