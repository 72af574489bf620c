//! Per-caller rate limits on the expensive routes (export, aggregations, later ask): each
//! caller gets a budget of requests per minute, refilled steadily; past it the answer is 429
//! with `Retry-After`.
//!
//! The limiter lives in the router (an `Extension`), and a handler opts in by taking
//! [`Expensive`] as an argument, so a route's cost is visible in its signature.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::Caller;
use crate::error::problem;

/// The limiter shared by the expensive routes of one router.
#[derive(Clone)]
pub struct ExpensiveLimiter(Option<Arc<DefaultKeyedRateLimiter<String>>>);

impl ExpensiveLimiter {
    /// `per_minute` requests per caller and minute; 0 switches the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self(
            NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
        )
    }
}

/// Proof that the caller is within their budget; a handler of an expensive route takes it.
pub struct Expensive;

/// Past the budget: 429 with the seconds to wait.
pub struct TooManyRequests {
    retry_after_seconds: u64,
}

impl IntoResponse for TooManyRequests {
    fn into_response(self) -> Response {
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/rate-limited",
            "Too many requests",
            format!(
                "this route is limited per caller; try again in {} s",
                self.retry_after_seconds
            ),
        );
        if let Ok(value) = HeaderValue::from_str(&self.retry_after_seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Expensive {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let Some(ExpensiveLimiter(Some(limiter))) = parts.extensions.get::<ExpensiveLimiter>()
        else {
            return Ok(Self);
        };
        let caller = parts
            .extensions
            .get::<Caller>()
            .map(Caller::key)
            .unwrap_or_default();
        match limiter.check_key(&caller) {
            Ok(()) => Ok(Self),
            Err(not_until) => {
                crate::telemetry::rate_limited();
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(TooManyRequests {
                    retry_after_seconds: wait.as_secs() + 1,
                }
                .into_response())
            }
        }
    }
}
