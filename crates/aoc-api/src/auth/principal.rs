//! Who is calling: the services' [`Caller`] and [`Role`], and the extractor handlers take the
//! signed-in caller with.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use aoc_services::Services;
pub use aoc_services::{Caller, Role};

use crate::Api;
use crate::auth::AuthError;

/// The signed-in caller of a request. Handlers take it as an extractor
/// (`SignedIn(caller): SignedIn`); the authentication middleware puts the [`Caller`] in the
/// request.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AuthError;

    /// The caller the authentication middleware found. Absent means the route is outside that
    /// middleware, which must not turn into access: it is refused as unauthenticated.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Self)
            .ok_or(AuthError::Missing)
    }
}

/// What an `/api` handler works with: the use cases, and the signed-in caller who calls them
/// (`UseCases { services, caller }: UseCases`).
pub struct UseCases {
    pub services: Arc<Services>,
    pub caller: Caller,
}

impl FromRequestParts<Api> for UseCases {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Self::Rejection> {
        let SignedIn(caller) = SignedIn::from_request_parts(parts, api).await?;
        Ok(Self {
            services: Arc::clone(&api.services),
            caller,
        })
    }
}
