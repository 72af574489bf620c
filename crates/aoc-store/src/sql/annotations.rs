//! Tags and comments on events. An annotation is only added with its event's own row supplying
//! the event's id and time, so it never outlives its event. On PostgreSQL no foreign key can
//! point at the partitioned events table, so that row is also locked (`FOR KEY SHARE`) until the
//! annotation commits: a concurrent delete of the event either waits for it (and then deletes
//! the annotation too) or goes first (and this finds no row).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use aoc_model::{Author, CommentBody, CommentId, EventId, Tag};

use super::{Dialect, Row, SqlEngine, Statement};
use crate::{
    AnnotationStore, Comment, EventRef, StoreError, StoreResult, TagCount, TagRecord, clean_text,
};

const COMMENT_COLUMNS: &str = "id, event_id, author_id, author_name, body, created_at, updated_at";

/// The event row an annotation is for, on PostgreSQL: `$1` its id, `$2` its time.
const TARGET_EVENT: &str = "SELECT id, tenant_id, timestamp FROM events WHERE id = $1 AND timestamp = $2 \
     LIMIT 1 FOR KEY SHARE";

fn decode_tag(text: &str) -> StoreResult<Tag> {
    Tag::parse(text).map_err(|e| StoreError::Corrupt(format!("tag {text:?}: {e}")))
}

fn decode_comment(mut row: Row) -> StoreResult<Comment> {
    Ok(Comment {
        id: CommentId::from_uuid(row.uuid("id")?),
        event_id: EventId::from_uuid(row.uuid("event_id")?),
        author: Author {
            id: row.text("author_id")?,
            name: row.opt_text("author_name")?,
        },
        body: row.text("body")?,
        created_at: row.time("created_at")?,
        updated_at: row.opt_time("updated_at")?,
    })
}

fn author_name(author: &Author) -> Option<String> {
    author.name.as_deref().map(|n| clean_text(n).into_owned())
}

#[async_trait]
impl<E: SqlEngine> AnnotationStore for E {
    async fn add_tag(
        &self,
        event: EventRef,
        tag: &Tag,
        by: &Author,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let dialect = self.dialect();
        let values = |sql: &str| {
            Statement::new(dialect, sql)
                .bind(event.id)
                .bind(event.timestamp)
                .bind(tag.as_str())
                .bind(clean_text(&by.id).into_owned())
                .bind(author_name(by))
                .bind(at)
        };
        let (found, added) = match dialect {
            // The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.
            Dialect::Sqlite => {
                let mut tx = self.begin().await?;
                let added = tx
                    .execute(values(
                        "INSERT INTO event_tags (tenant_id, event_id, event_time, tag, \
                         tagged_by_id, tagged_by_name, tagged_at) \
                         SELECT tenant_id, id, timestamp, $3, $4, $5, $6 FROM events \
                         WHERE id = $1 AND timestamp = $2 \
                         ON CONFLICT (event_id, tag) DO NOTHING",
                    ))
                    .await?;
                let found = added > 0
                    || !tx
                        .fetch(
                            Statement::new(
                                dialect,
                                "SELECT 1 AS found FROM events WHERE id = $1 AND timestamp = $2",
                            )
                            .bind(event.id)
                            .bind(event.timestamp),
                        )
                        .await?
                        .is_empty();
                if added > 0 {
                    tx.execute(super::totals_change(dialect, 0)).await?;
                }
                tx.commit().await?;
                (found, added > 0)
            }
            Dialect::Postgres => {
                let mut rows = self
                    .write_returning(values(&format!(
                        "WITH target AS ({TARGET_EVENT}), \
                         added AS (INSERT INTO event_tags (tenant_id, event_id, event_time, \
                             tag, tagged_by_id, tagged_by_name, tagged_at) \
                             SELECT tenant_id, id, timestamp, $3, $4, $5, $6 FROM target \
                             ON CONFLICT (event_id, tag, tenant_id) DO NOTHING RETURNING 1), \
                         changed AS (UPDATE event_totals SET version = version + 1 \
                             WHERE id = 1 AND EXISTS (SELECT 1 FROM added)) \
                         SELECT (SELECT count(*) FROM target) AS found, \
                             (SELECT count(*) FROM added) AS added"
                    )))
                    .await?;
                let row = rows
                    .first_mut()
                    .ok_or_else(|| StoreError::Internal("add_tag returned no row".into()))?;
                (row.integer("found")? > 0, row.integer("added")? > 0)
            }
        };
        if !found {
            return Err(StoreError::not_found("event", event.id));
        }
        Ok(added)
    }

    async fn remove_tag(&self, event: EventId, tag: &Tag) -> StoreResult<bool> {
        let delete = Statement::new(
            self.dialect(),
            "DELETE FROM event_tags WHERE event_id = $1 AND tag = $2",
        )
        .bind(event)
        .bind(tag.as_str());
        let mut tx = self.begin().await?;
        let removed = tx.execute(delete).await? > 0;
        if removed {
            tx.execute(super::totals_change(self.dialect(), 0)).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn event_tags(&self, event: EventId) -> StoreResult<Vec<TagRecord>> {
        let dialect = self.dialect();
        let select = Statement::new(
            dialect,
            &format!(
                "SELECT tag, tagged_by_id, tagged_by_name, tagged_at FROM event_tags \
                 WHERE event_id = $1 ORDER BY tagged_at, {}",
                dialect.by_code_point("tag")
            ),
        )
        .bind(event);
        self.read(select)
            .await?
            .into_iter()
            .map(|mut row| {
                Ok(TagRecord {
                    tag: decode_tag(&row.text("tag")?)?,
                    by: Author {
                        id: row.text("tagged_by_id")?,
                        name: row.opt_text("tagged_by_name")?,
                    },
                    at: row.time("tagged_at")?,
                })
            })
            .collect()
    }

    async fn tag_counts(&self) -> StoreResult<Vec<TagCount>> {
        let dialect = self.dialect();
        let select = Statement::new(
            dialect,
            &format!(
                "SELECT tag, count(*) AS events FROM event_tags GROUP BY tag \
                 ORDER BY events DESC, {}",
                dialect.by_code_point("tag")
            ),
        );
        self.read(select)
            .await?
            .into_iter()
            .map(|mut row| {
                Ok(TagCount {
                    tag: decode_tag(&row.text("tag")?)?,
                    events: row.integer("events")?.max(0) as u64,
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
        let dialect = self.dialect();
        let source = match dialect {
            Dialect::Sqlite => "events WHERE id = $1 AND timestamp = $2".to_owned(),
            Dialect::Postgres => "target".to_owned(),
        };
        let with = match dialect {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!("WITH target AS ({TARGET_EVENT}) "),
        };
        let insert = Statement::new(
            dialect,
            &format!(
                "{with}INSERT INTO event_comments (id, tenant_id, event_id, event_time, \
                 author_id, author_name, body, created_at) \
                 SELECT $3, tenant_id, id, timestamp, $4, $5, $6, $7 FROM {source} \
                 RETURNING {COMMENT_COLUMNS}"
            ),
        )
        .bind(event.id)
        .bind(event.timestamp)
        .bind(CommentId::generate().as_uuid())
        .bind(clean_text(&author.id).into_owned())
        .bind(author_name(author))
        .bind(clean_text(body.as_str()).into_owned())
        .bind(at);
        match self.write_returning(insert).await?.into_iter().next() {
            Some(row) => decode_comment(row),
            None => Err(StoreError::not_found("event", event.id)),
        }
    }

    async fn get_comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        let select = Statement::new(
            self.dialect(),
            &format!("SELECT {COMMENT_COLUMNS} FROM event_comments WHERE id = $1"),
        )
        .bind(id.as_uuid());
        let row = self.read(select).await?.into_iter().next();
        row.map(decode_comment).transpose()
    }

    async fn update_comment(
        &self,
        id: CommentId,
        body: &CommentBody,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Comment>> {
        let update = Statement::new(
            self.dialect(),
            &format!(
                "UPDATE event_comments SET body = $2, updated_at = $3 WHERE id = $1 \
                 RETURNING {COMMENT_COLUMNS}"
            ),
        )
        .bind(id.as_uuid())
        .bind(clean_text(body.as_str()).into_owned())
        .bind(at);
        let row = self.write_returning(update).await?.into_iter().next();
        row.map(decode_comment).transpose()
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool> {
        let delete = Statement::new(self.dialect(), "DELETE FROM event_comments WHERE id = $1")
            .bind(id.as_uuid());
        Ok(self.write(delete).await? > 0)
    }

    async fn event_comments(&self, event: EventId) -> StoreResult<Vec<Comment>> {
        let select = Statement::new(
            self.dialect(),
            &format!(
                "SELECT {COMMENT_COLUMNS} FROM event_comments WHERE event_id = $1 \
                 ORDER BY created_at, id"
            ),
        )
        .bind(event);
        self.read(select)
            .await?
            .into_iter()
            .map(decode_comment)
            .collect()
    }
}
