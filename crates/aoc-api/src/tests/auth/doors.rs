//! The same role and ownership rules hold whichever door a use case is reached through: the
//! HTTP API (a signed-in caller over real HTTP) or a direct call of the services (the path
//! `aoc worker` and the MCP server take). Every use case is tried by a Reader, two Analysts and
//! an Admin through both doors; the outcomes must agree, and must be the expected ones.

use axum::response::IntoResponse;
use serde_json::json;

use aoc_services::{CallContext, Caller, Role, ServiceError, Services, TenantScope};

use super::jobs::parser_assistant;
use super::*;
use crate::error::ApiError;

/// How a call ended, as both doors can say it: let through, or the HTTP status of the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Refused(u16),
}

fn of_http(answer: &Answer) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Allowed,
        status => Outcome::Refused(status),
    }
}

fn of_service<T>(result: Result<T, ServiceError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Allowed,
        Err(e) => Outcome::Refused(ApiError::from(e).into_response().status().as_u16()),
    }
}

/// The caller a person's token makes.
fn caller(oid: &str, name: &str, role: Role) -> Caller {
    Caller {
        tenant_id: TENANT.to_owned(),
        object_id: oid.to_owned(),
        name: Some(name.to_owned()),
        username: Some("admin.kim@contoso.com".to_owned()),
        roles: [role].into_iter().collect(),
        app: false,
        scope: TenantScope::All,
    }
}

struct Person {
    token: String,
    caller: Caller,
}

fn people(key: &TestKey) -> [Person; 4] {
    let person = |oid: &str, name: &str, role: Role| Person {
        token: key.sign(&claims_of(oid, name, &[&format!("AOC.{role}")])),
        caller: caller(oid, name, role),
    };
    [
        person(
            "11111111-1111-4111-8111-111111111111",
            "Riley Reader",
            Role::Reader,
        ),
        person(
            "22222222-2222-4222-8222-222222222222",
            "Alice Analyst",
            Role::Analyst,
        ),
        person(
            "33333333-3333-4333-8333-333333333333",
            "Bob Analyst",
            Role::Analyst,
        ),
        person(
            "44444444-4444-4444-8444-444444444444",
            "Ada Admin",
            Role::Admin,
        ),
    ]
}

const ALLOWED: Outcome = Outcome::Allowed;
const FORBIDDEN: Outcome = Outcome::Refused(403);

#[tokio::test]
async fn roles_and_ownership_are_the_same_through_http_and_a_direct_service_call() {
    let key = TestKey::one();
    let entra = FakeEntra::start(&[&key]).await;
    let store = empty_store().await;
    let events = fixture_events();
    store.insert_events(&events).await.expect("insert");
    let state = AppState {
        query_cache: Default::default(),
        auth: Some(Arc::new(authenticator(
            &entra.authority,
            RefreshPolicy::default(),
        ))),
        ai: Some(Arc::new(parser_assistant())),
        ..state_with(store, ApiSettings::default())
    };
    let services: Services = state.services();
    let aoc = Aoc::start(state).await;
    let event = events[0].id;
    let [reader, alice, bob, admin] = people(&key);
    let context = CallContext::default();

    // Alice's comment and Alice's job, for the ownership rules.
    let comment = aoc
        .send_as(
            Method::POST,
            &format!("/api/events/{event}/comments"),
            &alice.token,
            Some(json!({"body": "Alice's note"})),
        )
        .await;
    assert_status(&comment, 201, "alice comments");
    let comment_id: aoc_model::CommentId = comment.json()["id"]
        .as_str()
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map(aoc_model::CommentId::from_uuid)
        .expect("comment id");
    let job = aoc
        .send_as(
            Method::POST,
            "/api/ask",
            &alice.token,
            Some(json!({"question": "failed sign-ins in the last 24 hours", "async": true})),
        )
        .await;
    assert_status(&job, 202, "alice asks in the background");
    let job_id: aoc_store::JobId = job.json()["job_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("job id");

    // (use case, expected for Riley Reader, Alice, Bob, Ada Admin)
    let expected: [(&str, [Outcome; 4]); 13] = [
        ("search events", [ALLOWED; 4]),
        ("get an event", [ALLOWED; 4]),
        ("aggregate events", [ALLOWED; 4]),
        ("list tags", [ALLOWED; 4]),
        ("export events", [FORBIDDEN, ALLOWED, ALLOWED, ALLOWED]),
        ("tag an event", [FORBIDDEN, ALLOWED, ALLOWED, ALLOWED]),
        (
            "comment on an event",
            [FORBIDDEN, ALLOWED, ALLOWED, ALLOWED],
        ),
        (
            "edit Alice's comment",
            [FORBIDDEN, ALLOWED, FORBIDDEN, ALLOWED],
        ),
        ("ask", [FORBIDDEN, ALLOWED, ALLOWED, ALLOWED]),
        ("explain an event", [FORBIDDEN, ALLOWED, ALLOWED, ALLOWED]),
        ("read Alice's job", [FORBIDDEN, ALLOWED, FORBIDDEN, ALLOWED]),
        (
            "read the audit trail",
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED],
        ),
        // No tenant is configured: an Admin gets past the role to 409.
        (
            "fetch now",
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, Outcome::Refused(409)],
        ),
    ];
    for (person_index, person) in [&reader, &alice, &bob, &admin].into_iter().enumerate() {
        let who = &person.caller;
        let name = who.name.clone().unwrap_or_default();
        for (use_case, outcomes) in &expected {
            let (http, direct) = match *use_case {
                "search events" => (
                    of_http(&aoc.get_as("/api/events", &person.token).await),
                    of_service(
                        services
                            .search_events(who, &aoc_model::EventQuery::default())
                            .await,
                    ),
                ),
                "get an event" => (
                    of_http(
                        &aoc.get_as(&format!("/api/events/{event}"), &person.token)
                            .await,
                    ),
                    of_service(services.get_event(who, event).await),
                ),
                "aggregate events" => (
                    of_http(&aoc.get_as("/api/events/aggregations", &person.token).await),
                    of_service(
                        services
                            .aggregate_events(
                                who,
                                &aoc_model::EventQuery::default(),
                                &aoc_model::AggregateSpec {
                                    interval_seconds: None,
                                    top: 10,
                                },
                            )
                            .await,
                    ),
                ),
                "list tags" => (
                    of_http(&aoc.get_as("/api/tags", &person.token).await),
                    of_service(services.list_tags(who).await),
                ),
                "export events" => (
                    of_http(&aoc.get_as("/api/events/export", &person.token).await),
                    of_service(
                        services
                            .export_events(
                                who,
                                &context,
                                aoc_model::EventQuery::default(),
                                aoc_services::export::ExportFormat::Csv,
                            )
                            .await,
                    ),
                ),
                "tag an event" => (
                    of_http(
                        &aoc.send_as(
                            Method::POST,
                            &format!("/api/events/{event}/tags"),
                            &person.token,
                            Some(json!({"tag": "escalated"})),
                        )
                        .await,
                    ),
                    of_service(services.add_tag(who, event, "investigating").await),
                ),
                "comment on an event" => (
                    of_http(
                        &aoc.send_as(
                            Method::POST,
                            &format!("/api/events/{event}/comments"),
                            &person.token,
                            Some(json!({"body": "seen"})),
                        )
                        .await,
                    ),
                    of_service(services.add_comment(who, event, "seen too").await),
                ),
                "edit Alice's comment" => (
                    of_http(
                        &aoc.send_as(
                            Method::PATCH,
                            &format!("/api/comments/{comment_id}"),
                            &person.token,
                            Some(json!({"body": format!("edited by {name}")})),
                        )
                        .await,
                    ),
                    of_service(
                        services
                            .edit_comment(who, comment_id, &format!("{name} again"))
                            .await,
                    ),
                ),
                "ask" => (
                    of_http(
                        &aoc.send_as(
                            Method::POST,
                            "/api/ask",
                            &person.token,
                            Some(json!({"question": "what happened today?"})),
                        )
                        .await,
                    ),
                    of_service(
                        services
                            .ask(who, "what happened today?", Default::default())
                            .await,
                    ),
                ),
                "explain an event" => (
                    of_http(
                        &aoc.send_as(
                            Method::POST,
                            &format!("/api/events/{event}/explain"),
                            &person.token,
                            None,
                        )
                        .await,
                    ),
                    of_service(services.explain_event(who, event).await),
                ),
                "read Alice's job" => (
                    of_http(
                        &aoc.get_as(&format!("/api/jobs/{job_id}"), &person.token)
                            .await,
                    ),
                    of_service(services.get_job(who, job_id).await),
                ),
                "read the audit trail" => (
                    of_http(&aoc.get_as("/api/audit-trail", &person.token).await),
                    of_service(
                        services
                            .read_audit_trail(who, &aoc_store::AuditQuery::default())
                            .await,
                    ),
                ),
                "fetch now" => (
                    of_http(&aoc.post_as("/api/fetch-audit-logs", &person.token).await),
                    of_service(services.fetch_now(who, None).await),
                ),
                other => unreachable!("{other}"),
            };
            let want = outcomes[person_index];
            assert_eq!(http, want, "{use_case} by {name} over HTTP");
            assert_eq!(direct, want, "{use_case} by {name} through the services");
        }
    }
}
