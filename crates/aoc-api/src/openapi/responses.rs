//! The error answers many routes share, as reusable responses of the document
//! (`#/components/responses/…`). Handlers name them with `(status = 400, response = BadRequest)`;
//! the sign-in answers (401, 403, 503) are added by [`super::finish`] from each route's
//! `security`.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToResponse};

use super::PROBLEM_JSON;

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        Content::new(Some(Ref::from_schema_name("Problem"))),
    )
}

macro_rules! problem_response {
    ($(#[$doc:meta])* $name:ident, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), problem($description).build().into())
            }
        }
    };
}

problem_response!(
    /// 400 `/problems/invalid-parameter` or `/problems/invalid-body`.
    BadRequest,
    "The request is not valid: a query or path parameter that is unknown, repeated or does not \
     parse (`invalid_params` names it and says why), or a body that is not the JSON the route \
     reads."
);

/// 401 `/problems/unauthorized`, with `WWW-Authenticate: Bearer`.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        let header = utoipa::openapi::header::HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("`Bearer`"))
            .build();
        let response = problem(
            "No valid Entra ID access token for AOC: none was sent, or it is expired, for \
             another audience or tenant, or badly signed. Every refused token gets this same \
             answer.",
        )
        .header("WWW-Authenticate", header)
        .build();
        ("Unauthorized", response.into())
    }
}

problem_response!(
    /// 403 `/problems/forbidden`.
    Forbidden,
    "Signed in, but without the role this route needs (`detail` names it)."
);

/// 413: `/problems/body-too-large` when the body is read, or plain text when its declared
/// `Content-Length` is already too large (the body limit layer answers before the route).
pub struct PayloadTooLarge;

impl<'r> ToResponse<'r> for PayloadTooLarge {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = problem(
            "The request body is larger than the server accepts (1 MiB by default). A body \
             whose `Content-Length` is already too large is refused before it is read, with a \
             plain-text answer.",
        )
        .content(
            "text/plain",
            Content::new(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .build();
        ("PayloadTooLarge", response.into())
    }
}

problem_response!(
    /// 500 `/problems/internal`.
    InternalError,
    "The server failed to answer. The detail is in the server's log, under the answer's \
     `X-Request-ID`."
);

problem_response!(
    /// 503 `/problems/unavailable`.
    Unavailable,
    "The database cannot be reached, or (with sign-in on) Entra ID's signing keys cannot be \
     fetched. Try again shortly."
);

/// 429 `/problems/rate-limited`, with `Retry-After`.
pub struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<Response>) {
        let header = utoipa::openapi::header::HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some("Seconds to wait before trying again"))
            .build();
        let response = problem(
            "The caller has used this route's budget (`RATE_LIMIT_PER_MINUTE` requests a \
             minute, refilled steadily). Try again after `Retry-After` seconds.",
        )
        .header("Retry-After", header)
        .build();
        ("TooManyRequests", response.into())
    }
}

/// 400, 500 and 503: what every route that reads its parameters and the database may answer.
/// Listed in a handler's `responses(...)` as `Failures`; the three are components of the
/// document (see `Root` in [`super`]).
pub struct Failures;

const FAILURES: [(&str, &str); 3] = [
    ("400", "BadRequest"),
    ("500", "InternalError"),
    ("503", "Unavailable"),
];

fn references(
    responses: impl IntoIterator<Item = (&'static str, &'static str)>,
) -> BTreeMap<String, RefOr<Response>> {
    responses
        .into_iter()
        .map(|(status, name)| (status.to_owned(), Ref::from_response_name(name).into()))
        .collect()
}

impl IntoResponses for Failures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        references(FAILURES)
    }
}

/// [`Failures`] and 429 `TooManyRequests`: the answers of a rate-limited route.
pub struct LimitedFailures;

impl IntoResponses for LimitedFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        references(FAILURES.into_iter().chain([("429", "TooManyRequests")]))
    }
}
