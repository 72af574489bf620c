//! Tags and comments on events. No foreign key can point at the partitioned events table, so an
//! annotation is only added while its event row is locked (`FOR KEY SHARE`), and deleting events
//! deletes their annotations in the same transaction (see `delete_events`, retention and
//! `partitions::drop_before`). Text is ordered by code point (`COLLATE "C"`), as SQLite orders it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use aoc_model::{Author, CommentBody, CommentId, EventId, Tag};
use aoc_store::{
    AnnotationStore, Comment, EventRef, StoreError, StoreResult, TagCount, TagRecord, clean_text,
};

use crate::{PostgresStore, map_err};

/// The tables that hold annotations, each keyed by `event_id` and `event_time`.
const ANNOTATION_TABLES: [&str; 2] = ["event_tags", "event_comments"];

const COMMENT_COLUMNS: &str = "id, event_id, author_id, author_name, body, created_at, updated_at";

/// The event row an annotation is for, locked against deletion until the annotation commits: a
/// concurrent delete of the event either waits for it (and then deletes the annotation too) or
/// goes first (and this finds no row).
const TARGET_EVENT: &str = "SELECT id, timestamp FROM events WHERE id = $1 AND timestamp = $2 \
     LIMIT 1 FOR KEY SHARE";

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn decode_tag(text: &str) -> StoreResult<Tag> {
    Tag::parse(text).map_err(|e| StoreError::Corrupt(format!("tag {text:?}: {e}")))
}

fn decode_comment(row: &PgRow) -> StoreResult<Comment> {
    Ok(Comment {
        id: CommentId::from_uuid(row.try_get("id").map_err(corrupt)?),
        event_id: EventId::from_uuid(row.try_get("event_id").map_err(corrupt)?),
        author: Author {
            id: row.try_get("author_id").map_err(corrupt)?,
            name: row.try_get("author_name").map_err(corrupt)?,
        },
        body: row.try_get("body").map_err(corrupt)?,
        created_at: row.try_get("created_at").map_err(corrupt)?,
        updated_at: row.try_get("updated_at").map_err(corrupt)?,
    })
}

/// Deletes the tags and comments of the events `ids`, inside `tx`. Call after deleting the
/// events in the same transaction, so an annotation added meanwhile is seen here.
pub(crate) async fn delete_annotations_of(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_id = ANY($1)"
        )))
        .bind(ids)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

/// Retention: deletes the tags and comments of events in `[from, to)` (all before `to` when
/// `from` is `None`), inside `tx`, after the events themselves.
pub(crate) async fn delete_annotations_between(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_time < $2 AND ($1::timestamptz IS NULL OR event_time >= $1)"
        )))
        .bind(from)
        .bind(to)
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AnnotationStore for PostgresStore {
    async fn add_tag(
        &self,
        event: EventRef,
        tag: &Tag,
        by: &Author,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (found, added): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH target AS ({TARGET_EVENT}), \
             added AS (INSERT INTO event_tags (event_id, event_time, tag, tagged_by_id, \
                 tagged_by_name, tagged_at) \
                 SELECT id, timestamp, $3, $4, $5, $6 FROM target \
                 ON CONFLICT (event_id, tag) DO NOTHING RETURNING 1) \
             SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM added)"
        )))
        .bind(event.id.as_uuid())
        .bind(event.timestamp)
        .bind(tag.as_str())
        .bind(clean_text(&by.id).as_ref())
        .bind(by.name.as_deref().map(|n| clean_text(n).into_owned()))
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        if found == 0 {
            return Err(StoreError::not_found("event", event.id));
        }
        Ok(added > 0)
    }

    async fn remove_tag(&self, event: EventId, tag: &Tag) -> StoreResult<bool> {
        let removed = sqlx::query("DELETE FROM event_tags WHERE event_id = $1 AND tag = $2")
            .bind(event.as_uuid())
            .bind(tag.as_str())
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(removed > 0)
    }

    async fn event_tags(&self, event: EventId) -> StoreResult<Vec<TagRecord>> {
        let rows = sqlx::query(
            "SELECT tag, tagged_by_id, tagged_by_name, tagged_at FROM event_tags \
             WHERE event_id = $1 ORDER BY tagged_at, tag COLLATE \"C\"",
        )
        .bind(event.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(TagRecord {
                    tag: decode_tag(row.try_get("tag").map_err(corrupt)?)?,
                    by: Author {
                        id: row.try_get("tagged_by_id").map_err(corrupt)?,
                        name: row.try_get("tagged_by_name").map_err(corrupt)?,
                    },
                    at: row.try_get("tagged_at").map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn tag_counts(&self) -> StoreResult<Vec<TagCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT tag, count(*) AS events FROM event_tags GROUP BY tag \
             ORDER BY events DESC, tag COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.into_iter()
            .map(|(tag, events)| {
                Ok(TagCount {
                    tag: decode_tag(&tag)?,
                    events: events.max(0) as u64,
                })
            })
            .collect()
    }

    async fn add_comment(
        &self,
        event: EventRef,
        author: &Author,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Comment> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH target AS ({TARGET_EVENT}) \
             INSERT INTO event_comments (id, event_id, event_time, author_id, author_name, body, \
                 created_at) \
             SELECT $3, id, timestamp, $4, $5, $6, $7 FROM target \
             RETURNING {COMMENT_COLUMNS}"
        )))
        .bind(event.id.as_uuid())
        .bind(event.timestamp)
        .bind(CommentId::generate().as_uuid())
        .bind(clean_text(&author.id).as_ref())
        .bind(author.name.as_deref().map(|n| clean_text(n).into_owned()))
        .bind(clean_text(body.as_str()).as_ref())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => decode_comment(&row),
            None => Err(StoreError::not_found("event", event.id)),
        }
    }

    async fn get_comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMMENT_COLUMNS} FROM event_comments WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode_comment).transpose()
    }

    async fn update_comment(
        &self,
        id: CommentId,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Comment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE event_comments SET body = $2, updated_at = $3 WHERE id = $1 \
             RETURNING {COMMENT_COLUMNS}"
        )))
        .bind(id.as_uuid())
        .bind(clean_text(body.as_str()).as_ref())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode_comment).transpose()
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM event_comments WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn event_comments(&self, event: EventId) -> StoreResult<Vec<Comment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMMENT_COLUMNS} FROM event_comments WHERE event_id = $1 \
             ORDER BY created_at, id"
        )))
        .bind(event.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_comment).collect()
    }
}
