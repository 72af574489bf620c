//! `GET /api/client-config`: what the web dashboard needs before anyone has signed in — whether
//! sign-in is on and, if so, where and as which application to sign in. Public: it holds no
//! secret (a SPA's client id and tenant are visible to every browser that signs in anyway).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::Api;

/// How the dashboard signs in with Entra ID (authorization code with PKCE).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebSignIn {
    /// `{authority}/{tenant id}`, the MSAL authority.
    #[schema(example = "https://login.microsoftonline.com/8f3c2a1e-5b7d-4e9a-9c21-6d4f0b7a3e58")]
    authority: String,
    /// The dashboard's application (client) id; absent when none is configured
    /// (`AUTH_WEB_CLIENT_ID`) and no audience is a GUID: the dashboard then explains that.
    #[schema(example = "5a1b9c7e-3d2f-4e6a-8b0c-7f9e1d2a4c36")]
    client_id: Option<String>,
    /// The scopes to ask a token for.
    #[schema(example = json!(["api://aoc/.default"]))]
    scopes: Vec<String>,
}

/// The dashboard's start-up settings.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientConfig {
    /// `entra` when callers sign in with Entra ID, `off` in local mode.
    #[schema(value_type = crate::openapi::schemas::AuthMode)]
    auth: &'static str,
    /// How to sign in; `null` when `auth` is `off`.
    sign_in: Option<WebSignIn>,
    /// Whether the AI features (ask) are on: the dashboard shows their page.
    ai_features: bool,
    /// AOC's version.
    #[schema(example = "0.1.0")]
    version: &'static str,
}

#[utoipa::path(get, path = "/client-config", operation_id = "getClientConfig", tag = "Service",
    summary = "The web dashboard's start-up settings",
    description = "Whether sign-in is on and, if so, the authority, client id and scopes the web \
        dashboard signs in with. Needs no sign-in: it is read before anyone has signed in, and \
        holds nothing secret.",
    responses(
        (status = 200, description = "The settings.", body = ClientConfig),
    ),
    security(()),
)]
pub async fn client_config(State(api): State<Api>) -> Json<ClientConfig> {
    let sign_in = api.auth.as_ref().map(|auth| {
        let settings = auth.settings();
        WebSignIn {
            authority: settings.tenant_base(),
            client_id: settings.web_client_id().map(str::to_owned),
            scopes: settings.web_scopes(),
        }
    });
    Json(ClientConfig {
        auth: if sign_in.is_some() { "entra" } else { "off" },
        sign_in,
        ai_features: api.services.ai_enabled(),
        version: env!("CARGO_PKG_VERSION"),
    })
}
