//! AOC's OpenAPI 3.1 document, generated from the code, and the two routes that serve it:
//! `GET /openapi.json` and Swagger UI at `/docs` (its files are compiled in: no CDN, works
//! offline).
//!
//! Every route is added to the router with `utoipa_axum::routes!`, which reads the handler's
//! `#[utoipa::path]`: a route cannot exist without its entry in the document. The handlers'
//! attributes say what is particular to them (parameters, bodies, answers, the role they need
//! as a `security` requirement); this module holds what they share: the document's root
//! ([`base`]: info, tags, the `entra` scheme, the reusable error answers), the query parameters
//! several routes take ([`params`]), and [`finish`], which turns each operation's stated
//! requirement into what it implies (the roles that pass, 401/403/503, a line of description)
//! and gives every answer its `X-Request-ID` header.

pub mod params;
pub mod responses;
pub mod schemas;

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::Api;
use crate::auth::{Role, RoleNames};
use crate::error::Problem;
use crate::telemetry::REQUEST_ID;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The security scheme's name in the document: an Entra ID bearer token.
pub const SCHEME: &str = "entra";
/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";
/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

const DESCRIPTION: &str = "\
AOC collects the audit logs of a Microsoft 365 tenant (Entra ID directory audits and sign-ins, Intune, \
the Office 365 unified audit log) into one store and answers *who did what, when, and from where*.

This document is generated from AOC's code: every route the server has is in it, with the role it \
needs. Sign in with an Entra ID access token issued for AOC's app registration \
(`Authorization: Bearer …`); AOC reads your roles from the token's app roles. A server running with \
sign-in off (on a loopback address) treats every caller as a local user holding every role.

Errors are `application/problem+json` (RFC 9457): `type` says what kind of problem it is, `detail` \
what went wrong, and a bad parameter is named in `invalid_params`. Every answer carries an \
`X-Request-ID` header; quote it when reporting a problem, it finds the request in the server's log.";

/// The document's root; the routes add their paths and the schemas they use.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "AOC — Admin Operations Center",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    components(
        schemas(Problem),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::PayloadTooLarge,
            responses::TooManyRequests,
            responses::InternalError,
            responses::Unavailable,
        )
    ),
    tags(
        (name = "Events", description = "Search, read, count and export the audit events."),
        (name = "Annotations", description = "Analysts' tags and comments on events."),
        (name = "Collection", description = "Where each Microsoft 365 source stands, how complete \
            collection was, and collecting now."),
        (name = "Ask", description = "Questions in plain words, answered from the store's \
            figures (when the AI features are on)."),
        (name = "Audit trail", description = "AOC's own record of who searched, viewed, exported \
            and changed what."),
        (name = "Service", description = "Who you are signed in as, health, and metrics."),
    )
)]
struct Root;

/// The root of the document, before the routes add themselves.
pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    let names = RoleNames::default();
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some(format!(
            "An Entra ID access token issued for AOC's app registration. AOC's roles are the \
             token's app roles: `{reader}` (Reader: reads events, sources and coverage), \
             `{analyst}` (Analyst: a Reader who also tags, comments and exports) and `{admin}` \
             (Admin: an Analyst who also starts collection and reads AOC's audit trail). A \
             higher role includes the lower ones. These are the default app-role values; a \
             server may be configured with others.",
            reader = names.name(Role::Reader),
            analyst = names.name(Role::Analyst),
            admin = names.name(Role::Admin),
        )))
        .build();
    doc.components
        .get_or_insert_default()
        .add_security_scheme(SCHEME, SecurityScheme::Http(scheme));
    doc
}

/// The document as served: each operation's sign-in requirement spelled out, `X-Request-ID` on
/// every answer, and what AOC writes as `null` marked as always present.
pub fn finish(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = match serde_json::to_value(doc) {
        Ok(doc) => doc,
        Err(e) => {
            // Not expected: the document is plain data. The tests read the served document.
            tracing::error!(error = %e, "the OpenAPI document cannot be serialized");
            return Value::Null;
        }
    };
    let names = RoleNames::default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                spell_out_sign_in(operation, &names);
                for response in responses_of(operation) {
                    add_request_id(response);
                }
            }
        }
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(headers) = components
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            headers.insert(
                REQUEST_ID_HEADER.to_owned(),
                json!({
                    "description": "The request's id: the caller's own X-Request-ID when it is up \
                        to 128 letters, digits and `-_.:`, otherwise a new UUID. The server's log \
                        line for the request carries it.",
                    "schema": {"type": "string"}
                }),
            );
        }
        if let Some(responses) = components
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            responses.values_mut().for_each(add_request_id);
        }
    }
    mark_nulls_present(&mut doc);
    speak_json(&mut doc);
    doc
}

/// Schema descriptions come from Rust doc comments: their intra-doc links (``[`Type`]``) become
/// plain code, and `None` is called what the JSON holds, `null`.
fn speak_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .replace("[`", "`")
                            .replace("`]", "`")
                            .replace("`None`", "`null`");
                    }
                    _ => speak_json(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(speak_json),
        _ => {}
    }
}

/// `X-Request-ID`, as the header's name is written in the document.
const REQUEST_ID_HEADER: &str = "X-Request-ID";

fn responses_of(operation: &mut Map<String, Value>) -> impl Iterator<Item = &mut Value> {
    operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|r| r.values_mut())
}

/// Adds the `X-Request-ID` header to a response (a reference is left alone: its target gets it).
fn add_request_id(response: &mut Value) {
    debug_assert_eq!(REQUEST_ID.as_str(), REQUEST_ID_HEADER.to_ascii_lowercase());
    let Some(response) = response.as_object_mut() else {
        return;
    };
    if response.contains_key("$ref") {
        return;
    }
    if let Some(headers) = response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        headers.insert(
            REQUEST_ID_HEADER.to_owned(),
            json!({"$ref": format!("#/components/headers/{REQUEST_ID_HEADER}")}),
        );
    }
}

/// A handler states its sign-in requirement as one `security` entry: `()` for an open route,
/// `("entra" = [])` for any signed-in caller, `("entra" = ["AOC.Reader"])` for a role. This
/// writes out what that implies: the higher roles as alternatives (Admin ⊇ Analyst ⊇ Reader),
/// the 401/403/503 answers of the sign-in middleware and role gate, and a sentence in the
/// description.
fn spell_out_sign_in(operation: &mut Map<String, Value>, names: &RoleNames) {
    let Some(security) = operation.get("security").and_then(Value::as_array) else {
        return;
    };
    let stated: Option<Vec<String>> = security.iter().find_map(|requirement| {
        requirement
            .get(SCHEME)
            .and_then(Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
    });
    let (sentence, answers): (String, &[(&str, &str)]) = match stated.as_deref() {
        None => (
            "**Sign-in:** none; open to anyone who can reach the server.".into(),
            &[],
        ),
        Some([]) => (
            "**Sign-in:** any signed-in caller, with or without an AOC role.".into(),
            &[("401", "Unauthorized"), ("503", "Unavailable")],
        ),
        Some([name]) => {
            let Some(needed) = names.role(name) else {
                return;
            };
            let passing: Vec<Role> = Role::ALL
                .into_iter()
                .filter(|held| held.includes(needed))
                .collect();
            operation.insert(
                "security".into(),
                passing
                    .iter()
                    .map(|role| json!({ SCHEME: [names.name(*role)] }))
                    .collect(),
            );
            let app_roles: Vec<String> = passing
                .iter()
                .map(|role| format!("`{}`", names.name(*role)))
                .collect();
            (
                format!("**Role:** {needed} (app role {}).", app_roles.join(" or ")),
                &[
                    ("401", "Unauthorized"),
                    ("403", "Forbidden"),
                    ("503", "Unavailable"),
                ],
            )
        }
        Some(_) => return,
    };
    let description = operation
        .get("description")
        .and_then(Value::as_str)
        .map_or_else(|| sentence.clone(), |d| format!("{d}\n\n{sentence}"));
    operation.insert("description".into(), Value::String(description));
    if let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    {
        for (status, component) in answers {
            responses
                .entry(*status)
                .or_insert_with(|| json!({"$ref": format!("#/components/responses/{component}")}));
        }
        responses.sort_keys();
    }
}

/// AOC writes an absent value as `null`, never by leaving the field out (no response type skips
/// a `None`), so every nullable property of a schema that answers carry is marked required.
/// Request schemas are left as they are: there, absent is allowed.
fn mark_nulls_present(doc: &mut Value) {
    let answered = answered_schemas(doc);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        if answered.contains(name) {
            require_nullables(schema);
        }
    }
}

/// The names of the component schemas that responses use, directly or through other schemas.
fn answered_schemas(doc: &Value) -> BTreeSet<String> {
    let mut todo: Vec<String> = Vec::new();
    let mut from_responses = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values().filter_map(Value::as_object) {
            for operation in item.values() {
                if let Some(responses) = operation.get("responses") {
                    from_responses.push(responses);
                }
            }
        }
    }
    if let Some(responses) = doc.pointer("/components/responses") {
        from_responses.push(responses);
    }
    for value in from_responses {
        collect_refs(value, &mut todo);
    }
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone())
            && let Some(schema) = doc.pointer(&format!("/components/schemas/{name}"))
        {
            collect_refs(schema, &mut todo);
        }
    }
    seen
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                into.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

fn require_nullables(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = object.get_mut(key).and_then(Value::as_array_mut) {
            parts.iter_mut().for_each(require_nullables);
        }
    }
    let nullable: Vec<String> = object
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .filter(|(_, p)| admits_null(p))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if nullable.is_empty() {
        return;
    }
    if let Some(required) = object
        .entry("required")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        for name in nullable {
            if !required.iter().any(|r| r == name.as_str()) {
                required.push(Value::String(name));
            }
        }
    }
}

fn admits_null(schema: &Value) -> bool {
    let is_null = |t: &Value| t == "null";
    match schema.get("type") {
        Some(Value::Array(types)) if types.iter().any(is_null) => return true,
        Some(t) if is_null(t) => return true,
        _ => {}
    }
    ["oneOf", "anyOf"].iter().any(|key| {
        schema
            .get(*key)
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(admits_null))
    })
}

/// `GET /openapi.json` and Swagger UI at `/docs`, both open: the document holds no data. The
/// UI's validator badge (which would send the document's URL to swagger.io) is switched off.
pub fn routes(document: &Value) -> Router<Api> {
    let json = Bytes::from(serde_json::to_vec(document).unwrap_or_default());
    let ui = SwaggerUi::new(DOCS_PATH).config(Config::new([DOCUMENT_PATH]).validator_url("none"));
    Router::new()
        .route(
            DOCUMENT_PATH,
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json) }
            }),
        )
        .merge(ui)
}
