//! The schema stays ready to be sharded by tenant (Citus, docs/scale-out.md): read from the
//! catalog of a freshly migrated schema, so a migration that breaks the rule fails here.
//!
//! The rule: a table either holds a tenant's rows (it has `tenant_id`, and every primary key and
//! unique index includes it, as a distributed table's must) or is one of AOC's own, named in
//! [`AOC_TABLES`] with how it is kept; and no foreign key joins rows of two tenants.

use sqlx::PgPool;

use crate::testing;

/// AOC's own tables, not a tenant's: where each lives in a distributed cluster.
const AOC_TABLES: [(&str, &str); 8] = [
    ("_sqlx_migrations", "coordinator: the schema's version"),
    (
        "actor_names",
        "reference: display names of UPNs, small, read by every shard's filter",
    ),
    ("audit_trail", "coordinator: who did what in AOC"),
    (
        "event_totals",
        "reference: one row, the data version and stored-events figure",
    ),
    ("jobs", "coordinator: the job queue"),
    ("leases", "coordinator: which process runs a source"),
    ("saved_searches", "coordinator: analysts' saved searches"),
    (
        "known_users",
        "coordinator: AOC's users, by the tenant of their token",
    ),
];

/// `(table, has tenant_id)` of every table (partitions aside) in `schema`.
async fn tables(pool: &PgPool, schema: &str) -> Vec<(String, bool)> {
    sqlx::query_as(
        "SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("tables")
}

/// `(table, index definition, includes tenant_id)` of every unique index (primary keys too).
async fn unique_indexes(pool: &PgPool, schema: &str) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), \
                EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                        AND a.attname = 'tenant_id' AND a.attnum = ANY (i.indkey)) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND i.indisunique AND NOT c.relispartition ORDER BY 1, 2",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("indexes")
}

/// `(constraint, definition)` of every foreign key that does not join on `tenant_id`.
async fn foreign_keys_across_tenants(pool: &PgPool, schema: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT con.conname::text, pg_get_constraintdef(con.oid) \
         FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace \
         WHERE n.nspname = $1 AND con.contype = 'f' \
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid \
                           AND a.attname = 'tenant_id' AND a.attnum = ANY (con.conkey))",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("foreign keys")
}

#[tokio::test]
async fn every_key_of_a_tenants_rows_includes_the_tenant() {
    let schema = "aoc_t_citus_ready";
    let store = testing::fresh_store(schema).await;
    let pool = store.pool.clone();

    let mut tenant_tables = Vec::new();
    for (table, has_tenant) in tables(&pool, schema).await {
        let aoc_own = AOC_TABLES.iter().any(|(name, _)| *name == table);
        if has_tenant && !aoc_own {
            tenant_tables.push(table);
        } else {
            assert!(
                aoc_own,
                "table {table} has no tenant_id and is not one of AOC's own tables: give it \
                 tenant_id (in every key) or name it in AOC_TABLES with where it lives"
            );
        }
    }
    for owned in [
        "events",
        "event_sightings",
        "event_tags",
        "event_comments",
        "event_rollup",
        "source_state",
        "content_ledger",
        "coverage",
    ] {
        assert!(
            tenant_tables.iter().any(|t| t == owned),
            "{owned} holds a tenant's rows: {tenant_tables:?}"
        );
    }

    for (table, index, has_tenant) in unique_indexes(&pool, schema).await {
        if tenant_tables.contains(&table) {
            assert!(
                has_tenant,
                "{index}: a unique key of {table} lacks tenant_id"
            );
        }
    }
    let across = foreign_keys_across_tenants(&pool, schema).await;
    assert!(across.is_empty(), "foreign keys across tenants: {across:?}");
}

/// A database of the release before the tenant keys (migrations up to 0010), with tags and
/// comments on its events, migrates: every tag and comment is kept, now with its event's tenant,
/// and found as before.
#[tokio::test]
async fn tags_and_comments_of_the_previous_release_take_their_events_tenant() {
    use aoc_model::{EventQuery, Tag};
    use aoc_store::{AnnotationStore, EventStore, Store};

    let url = testing::fresh_schema("aoc_t_tenant_keys_upgrade").await;
    let store = crate::PostgresStore::connect(&url).expect("url");
    crate::MIGRATOR
        .run_to(10, &store.pool)
        .await
        .expect("the previous release's schema");
    let events = aoc_store::testsuite::data::varied_events(12);
    // This release's writer also keeps a table a later migration makes: lent for the insert,
    // then taken away, so the events stand as the previous release stored them.
    sqlx::raw_sql(
        "CREATE TABLE event_actors (tenant_id text, actor_keys text, events bigint, \
         PRIMARY KEY (tenant_id, actor_keys))",
    )
    .execute(&store.pool)
    .await
    .expect("lend");
    store.insert_events(&events).await.expect("insert");
    sqlx::raw_sql("DROP TABLE event_actors")
        .execute(&store.pool)
        .await
        .expect("take back");
    // As the previous release wrote them: no tenant column.
    for sql in [
        "INSERT INTO event_tags (event_id, event_time, tag, tagged_by_id, tagged_at) \
         SELECT id, timestamp, 'escalated', 'analyst', now() FROM events",
        "INSERT INTO event_comments (id, event_id, event_time, author_id, body, created_at) \
         SELECT gen_random_uuid(), id, timestamp, 'analyst', 'checked', now() FROM events",
    ] {
        sqlx::query(sql).execute(&store.pool).await.expect(sql);
    }

    store.migrate().await.expect("migrate to this release");

    let (untenanted,): (i64,) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM event_tags t JOIN events e ON e.id = t.event_id \
                 WHERE t.tenant_id <> e.tenant_id) \
              + (SELECT count(*) FROM event_comments c JOIN events e ON e.id = c.event_id \
                 WHERE c.tenant_id <> e.tenant_id)",
    )
    .fetch_one(&store.pool)
    .await
    .expect("count");
    assert_eq!(
        untenanted, 0,
        "every tag and comment has its event's tenant"
    );
    for event in &events {
        assert_eq!(store.event_tags(event.id).await.expect("tags").len(), 1);
        assert_eq!(
            store
                .event_comments(event.id)
                .await
                .expect("comments")
                .len(),
            1
        );
    }
    let tagged = EventQuery {
        tag: Some("escalated".into()),
        ..EventQuery::default()
    }
    .with_page_size(500)
    .expect("size");
    assert_eq!(
        store
            .query_events(&tagged)
            .await
            .expect("query")
            .items
            .len(),
        events.len()
    );
    // New tags and comments go on being written, with the tenant.
    let by = aoc_model::Author::local();
    let event = aoc_store::EventRef::from(&events[0]);
    assert!(
        store
            .add_tag(
                event,
                &Tag::parse("benign").expect("tag"),
                &by,
                chrono::Utc::now()
            )
            .await
            .expect("tag")
    );
}
