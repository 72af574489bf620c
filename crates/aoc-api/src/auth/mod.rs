//! Sign-in with Entra ID: bearer access tokens issued for AOC's app registration, checked
//! against the tenant's published signing keys, and AOC's roles from the token's app roles.
//!
//! - [`settings`]: which tenant, audiences and role names; checked once at start-up.
//! - [`keys`]: OpenID metadata and JWKS per token version, cached and refreshed.
//! - [`verify`]: the token checks, and the claims that become a [`Caller`].
//! - [`principal`]: [`Caller`] and [`Role`] (Admin ⊇ Analyst ⊇ Reader).
//! - [`middleware`]: [`authenticate`] for every `/api` route, and the role gate [`require`].
//!
//! With sign-in off (`AppState::auth` is `None`) every caller is [`Caller::local`].

mod error;
pub mod keys;
mod middleware;
mod principal;
pub mod settings;
mod verify;

use std::fmt;

use axum::http::HeaderMap;

pub use error::{AuthError, forbidden, unauthorized};
pub use keys::RefreshPolicy;
pub use middleware::{RequireRole, RoleGate, authenticate, require};
pub use principal::{Caller, Role, SignedIn, UseCases};
pub use settings::{AuthSettings, RoleNames, SettingsError};

use keys::{KeyStore, TokenVersion};

/// Checks bearer tokens. Cheap to share behind an `Arc`; it caches Entra ID's metadata and keys
/// for both token versions.
pub struct Authenticator {
    settings: AuthSettings,
    v1: KeyStore,
    v2: KeyStore,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An authenticator could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The HTTPS client for Entra ID cannot be built (TLS backend).
    #[error("cannot set up the HTTPS client for Entra ID: {0}")]
    Http(String),
}

impl Authenticator {
    /// An authenticator with the default refresh policy (keys refreshed daily, and on an
    /// unknown key id at most once a minute).
    ///
    /// # Errors
    /// Settings that do not validate, or no HTTPS client.
    pub fn new(settings: AuthSettings) -> Result<Self, SetupError> {
        Self::with_policy(settings, RefreshPolicy::default())
    }

    /// # Errors
    /// Settings that do not validate, or no HTTPS client.
    pub fn with_policy(settings: AuthSettings, policy: RefreshPolicy) -> Result<Self, SetupError> {
        let settings = settings.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.timeout)
            .user_agent(concat!("AOC/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError::Http(e.to_string()))?;
        let base = settings.tenant_base();
        Ok(Self {
            v1: KeyStore::new(TokenVersion::V1, &base, http.clone(), policy),
            v2: KeyStore::new(TokenVersion::V2, &base, http, policy),
            settings,
        })
    }

    /// The validated settings (tenant id in lower case).
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The principal of a request's `Authorization: Bearer …` header.
    ///
    /// # Errors
    /// [`AuthError::Missing`] without a bearer token, [`AuthError::Invalid`] for a token that
    /// fails a check, [`AuthError::KeysUnavailable`] when no signing keys can be had.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        self.verify(verify::bearer(headers)?).await
    }

    /// The principal of a compact JWT access token.
    ///
    /// # Errors
    /// As [`Authenticator::authenticate`].
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let unverified = verify::inspect(token)?;
        let keys = self
            .store(unverified.version)
            .keys_for(&unverified.kid)
            .await?;
        let key = keys
            .key(&unverified.kid)
            .ok_or_else(|| AuthError::invalid("signing key id is unknown"))?;
        let now = chrono::Utc::now().timestamp();
        verify::check(token, &unverified, key, &keys, &self.settings, now)
    }

    /// Fetches the metadata and keys of both token versions now, so a wrong tenant or an
    /// unreachable Entra ID is reported at start-up rather than to the first caller.
    ///
    /// # Errors
    /// [`AuthError::KeysUnavailable`] naming what could not be fetched.
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        self.v2.load().await?;
        self.v1.load().await?;
        Ok(())
    }

    fn store(&self, version: TokenVersion) -> &KeyStore {
        match version {
            TokenVersion::V1 => &self.v1,
            TokenVersion::V2 => &self.v2,
        }
    }
}
