//! Tags and comments on events. Times are microseconds since the Unix epoch, like the events
//! table's; ids are the 16 bytes of their UUIDs, like `events.id`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use aoc_model::{Author, CommentBody, CommentId, EventId, Tag};
use aoc_store::{
    AnnotationStore, Comment, EventRef, StoreError, StoreResult, TagCount, TagRecord, clean_text,
};

use crate::rows::{from_micros, micros};
use crate::{SqliteStore, map_err};

/// Event ids per `DELETE … IN (…)` statement.
const IDS_PER_DELETE: usize = 1_000;

/// The tables that hold annotations, each keyed by `event_id` and `event_time`.
const ANNOTATION_TABLES: [&str; 2] = ["event_tags", "event_comments"];

const COMMENT_COLUMNS: &str = "id, event_id, author_id, author_name, body, created_at, updated_at";

#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape of a map_err callback"
)]
fn corrupt(error: sqlx::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn sixteen_bytes(bytes: Vec<u8>, column: &str) -> StoreResult<[u8; 16]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 16 bytes")))
}

fn decode_tag(text: &str) -> StoreResult<Tag> {
    Tag::parse(text).map_err(|e| StoreError::Corrupt(format!("tag {text:?}: {e}")))
}

fn decode_comment(row: &SqliteRow) -> StoreResult<Comment> {
    let updated_at: Option<i64> = row.try_get("updated_at").map_err(corrupt)?;
    Ok(Comment {
        id: CommentId::from_bytes(sixteen_bytes(
            row.try_get("id").map_err(corrupt)?,
            "comment id",
        )?),
        event_id: EventId::from_bytes(sixteen_bytes(
            row.try_get("event_id").map_err(corrupt)?,
            "event id",
        )?),
        author: Author {
            id: row.try_get("author_id").map_err(corrupt)?,
            name: row.try_get("author_name").map_err(corrupt)?,
        },
        body: row.try_get("body").map_err(corrupt)?,
        created_at: from_micros(row.try_get("created_at").map_err(corrupt)?, "created_at")?,
        updated_at: updated_at
            .map(|at| from_micros(at, "updated_at"))
            .transpose()?,
    })
}

/// Deletes the tags and comments of the events `ids` (16-byte ids), inside `tx`.
pub(crate) async fn delete_annotations_of(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    ids: &[Vec<u8>],
) -> StoreResult<()> {
    for chunk in ids.chunks(IDS_PER_DELETE) {
        for table in ANNOTATION_TABLES {
            let mut q =
                QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE event_id IN ("));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id.as_slice());
            }
            q.push(")");
            q.build().execute(&mut **tx).await.map_err(map_err)?;
        }
    }
    Ok(())
}

/// Retention: deletes the tags and comments of events before `cutoff`, inside `tx`.
pub(crate) async fn delete_annotations_before(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    cutoff: DateTime<Utc>,
) -> StoreResult<()> {
    for table in ANNOTATION_TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE event_time < ?"
        )))
        .bind(micros(cutoff))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AnnotationStore for SqliteStore {
    async fn add_tag(
        &self,
        event: EventRef,
        tag: &Tag,
        by: &Author,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // The event's own row supplies its id and time, so a tag never outlives its event. (The
        // WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.)
        let added = sqlx::query(
            "INSERT INTO event_tags (event_id, event_time, tag, tagged_by_id, tagged_by_name, \
             tagged_at) \
             SELECT id, timestamp, ?, ?, ?, ? FROM events WHERE id = ? AND timestamp = ? \
             ON CONFLICT (event_id, tag) DO NOTHING",
        )
        .bind(tag.as_str())
        .bind(clean_text(&by.id).as_ref())
        .bind(by.name.as_deref().map(|n| clean_text(n).into_owned()))
        .bind(micros(at))
        .bind(event.id.as_bytes().as_slice())
        .bind(micros(event.timestamp))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if added == 0 {
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM events WHERE id = ? AND timestamp = ?")
                    .bind(event.id.as_bytes().as_slice())
                    .bind(micros(event.timestamp))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
            if exists.is_none() {
                return Err(StoreError::not_found("event", event.id));
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(added > 0)
    }

    async fn remove_tag(&self, event: EventId, tag: &Tag) -> StoreResult<bool> {
        let removed = sqlx::query("DELETE FROM event_tags WHERE event_id = ? AND tag = ?")
            .bind(event.as_bytes().as_slice())
            .bind(tag.as_str())
            .execute(&self.writer)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(removed > 0)
    }

    async fn event_tags(&self, event: EventId) -> StoreResult<Vec<TagRecord>> {
        let rows = sqlx::query(
            "SELECT tag, tagged_by_id, tagged_by_name, tagged_at FROM event_tags \
             WHERE event_id = ? ORDER BY tagged_at, tag",
        )
        .bind(event.as_bytes().as_slice())
        .fetch_all(&self.reader)
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
                    at: from_micros(row.try_get("tagged_at").map_err(corrupt)?, "tagged_at")?,
                })
            })
            .collect()
    }

    async fn tag_counts(&self) -> StoreResult<Vec<TagCount>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT tag, count(*) AS events FROM event_tags GROUP BY tag \
             ORDER BY events DESC, tag",
        )
        .fetch_all(&self.reader)
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
        let id = CommentId::generate();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO event_comments (id, event_id, event_time, author_id, author_name, body, \
             created_at) \
             SELECT ?, id, timestamp, ?, ?, ?, ? FROM events WHERE id = ? AND timestamp = ? \
             RETURNING {COMMENT_COLUMNS}"
        )))
        .bind(id.as_bytes().as_slice())
        .bind(clean_text(&author.id).as_ref())
        .bind(author.name.as_deref().map(|n| clean_text(n).into_owned()))
        .bind(clean_text(body.as_str()).as_ref())
        .bind(micros(at))
        .bind(event.id.as_bytes().as_slice())
        .bind(micros(event.timestamp))
        .fetch_optional(&self.writer)
        .await
        .map_err(map_err)?;
        match row {
            Some(row) => decode_comment(&row),
            None => Err(StoreError::not_found("event", event.id)),
        }
    }

    async fn get_comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMMENT_COLUMNS} FROM event_comments WHERE id = ?"
        )))
        .bind(id.as_bytes().as_slice())
        .fetch_optional(&self.reader)
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
            "UPDATE event_comments SET body = ?, updated_at = ? WHERE id = ? \
             RETURNING {COMMENT_COLUMNS}"
        )))
        .bind(clean_text(body.as_str()).as_ref())
        .bind(micros(at))
        .bind(id.as_bytes().as_slice())
        .fetch_optional(&self.writer)
        .await
        .map_err(map_err)?;
        row.as_ref().map(decode_comment).transpose()
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM event_comments WHERE id = ?")
            .bind(id.as_bytes().as_slice())
            .execute(&self.writer)
            .await
            .map_err(map_err)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn event_comments(&self, event: EventId) -> StoreResult<Vec<Comment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COMMENT_COLUMNS} FROM event_comments WHERE event_id = ? \
             ORDER BY created_at, id"
        )))
        .bind(event.as_bytes().as_slice())
        .fetch_all(&self.reader)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_comment).collect()
    }
}
