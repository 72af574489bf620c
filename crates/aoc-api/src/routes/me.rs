//! `GET /api/me`: who the server takes the caller to be. Open to every signed-in caller, role or
//! not, so a user refused elsewhere can see which roles their token carried.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::Api;
use crate::auth::{Role, SignedIn};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    name: Option<String>,
    username: Option<String>,
    tenant_id: String,
    object_id: String,
    /// Effective roles, lowest first: an Admin is also an Analyst and a Reader.
    roles: Vec<Role>,
    /// `entra` when callers sign in with Entra ID, `off` in local mode.
    #[schema(value_type = crate::openapi::schemas::AuthMode)]
    auth: &'static str,
}

#[utoipa::path(get, path = "/me", operation_id = "getMe", tag = "Service",
    summary = "Who the server takes you to be",
    description = "Your name, tenant, object id and effective roles as AOC read them from your \
        token. Open to every signed-in caller, so someone refused elsewhere can see which roles \
        their token carried.",
    responses(
        (status = 200, description = "The caller.", body = Me),
    ),
    security(("entra" = [])),
)]
pub async fn me(State(api): State<Api>, SignedIn(caller): SignedIn) -> Json<Me> {
    let roles = caller.effective_roles();
    Json(Me {
        name: caller.name,
        username: caller.username,
        tenant_id: caller.tenant_id,
        object_id: caller.object_id,
        roles,
        auth: if api.auth.is_some() { "entra" } else { "off" },
    })
}
