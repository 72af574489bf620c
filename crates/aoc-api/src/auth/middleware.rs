//! The authentication middleware of `/api` and the per-route role gate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use crate::auth::error::forbidden;
use crate::auth::principal::{Caller, Role};
use crate::auth::{AuthError, Authenticator};

/// Authenticates the request and puts its [`Caller`] in the request's extensions; without
/// an authenticator (sign-in off) the caller is [`Caller::local`]. A request that cannot be
/// authenticated is answered here: 401, or 503 when Entra ID's keys cannot be had.
pub async fn authenticate(
    State(auth): State<Option<Arc<Authenticator>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match &auth {
        None => Caller::local(),
        Some(auth) => match auth.authenticate(request.headers()).await {
            Ok(principal) => principal,
            Err(e) => {
                e.log();
                return e.into_response();
            }
        },
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// A layer that lets a request through only when its principal holds `role` (or a role
/// above it), and answers 403 otherwise:
///
/// ```ignore
/// .route("/fetch-audit-logs", post(fetch::fetch_audit_logs).route_layer(require(Role::Admin)))
/// ```
///
/// It sits inside [`authenticate`]; a request that reaches it without a principal is refused
/// as unauthenticated.
pub fn require(role: Role) -> RequireRole {
    RequireRole { role }
}

/// See [`require`].
#[derive(Debug, Clone, Copy)]
pub struct RequireRole {
    role: Role,
}

impl<S> Layer<S> for RequireRole {
    type Service = RoleGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RoleGate {
            inner,
            role: self.role,
        }
    }
}

/// The service of [`RequireRole`].
#[derive(Debug, Clone)]
pub struct RoleGate<S> {
    inner: S,
    role: Role,
}

impl<S> Service<Request> for RoleGate<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let refusal = match request.extensions().get::<Caller>() {
            None => Some(AuthError::Missing.into_response()),
            Some(principal) if !principal.has(self.role) => {
                tracing::info!(
                    object_id = %principal.object_id,
                    needed = %self.role,
                    "request refused: role missing"
                );
                Some(forbidden(self.role))
            }
            Some(_) => None,
        };
        if let Some(response) = refusal {
            return Box::pin(async move { Ok(response) });
        }
        // The clone that was made ready is the one that serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(request))
    }
}
