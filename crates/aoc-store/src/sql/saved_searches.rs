//! Saved searches, the same SQL on both engines.

use async_trait::async_trait;
use uuid::Uuid;

use aoc_model::Author;

use super::{Row, SqlEngine, Statement};
use crate::{NewSavedSearch, SavedSearch, SavedSearchStore, StoreResult, clean_text};

const COLUMNS: &str = "id, owner_id, owner_name, name, query, shared, created_at";

fn decode(mut row: Row) -> StoreResult<SavedSearch> {
    Ok(SavedSearch {
        id: row.uuid("id")?,
        owner: Author {
            id: row.text("owner_id")?,
            name: row.opt_text("owner_name")?,
        },
        name: row.text("name")?,
        query: row.text("query")?,
        shared: row.integer("shared")? != 0,
        created_at: row.time("created_at")?,
    })
}

#[async_trait]
impl<E: SqlEngine> SavedSearchStore for E {
    async fn save_search(&self, search: &NewSavedSearch) -> StoreResult<SavedSearch> {
        let id = Uuid::now_v7();
        let insert = Statement::new(
            self.dialect(),
            &format!(
                "INSERT INTO saved_searches ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 RETURNING {COLUMNS}"
            ),
        )
        .bind(id)
        .bind(clean_text(&search.owner.id).into_owned())
        .bind(
            search
                .owner
                .name
                .as_deref()
                .map(|n| clean_text(n).into_owned()),
        )
        .bind(clean_text(&search.name).into_owned())
        .bind(clean_text(&search.query).into_owned())
        .bind(i64::from(search.shared))
        .bind(search.at);
        let row = self.write_returning(insert).await?.into_iter().next();
        row.map(decode)
            .transpose()?
            .ok_or_else(|| crate::StoreError::Internal("insert returned no row".into()))
    }

    async fn saved_searches(&self, owner_id: &str) -> StoreResult<Vec<SavedSearch>> {
        let select = Statement::new(
            self.dialect(),
            &format!(
                "SELECT {COLUMNS} FROM saved_searches WHERE owner_id = $1 OR shared = 1 \
                 ORDER BY created_at DESC, id DESC"
            ),
        )
        .bind(clean_text(owner_id).into_owned());
        self.read(select).await?.into_iter().map(decode).collect()
    }

    async fn get_saved_search(&self, id: Uuid) -> StoreResult<Option<SavedSearch>> {
        let select = Statement::new(
            self.dialect(),
            &format!("SELECT {COLUMNS} FROM saved_searches WHERE id = $1"),
        )
        .bind(id);
        self.read(select)
            .await?
            .into_iter()
            .next()
            .map(decode)
            .transpose()
    }

    async fn delete_saved_search(&self, id: Uuid) -> StoreResult<bool> {
        let delete =
            Statement::new(self.dialect(), "DELETE FROM saved_searches WHERE id = $1").bind(id);
        Ok(self.write(delete).await? > 0)
    }
}
