//! Saved searches: a person's own, and shared ones every reader sees.

use chrono::Utc;
use uuid::Uuid;

use aoc_store::{NewSavedSearch, SavedSearch};

use crate::Services;
use crate::caller::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::filters::{event_filters, with_filters};
use crate::params::Params;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest query string, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// What the dashboard's URL carries besides the events filters.
const DASHBOARD_PARAMS: [&str; 3] = ["range", "page_size", "event"];
/// The dashboard's own named ranges.
const NAMED_RANGES: [&str; 3] = ["15m", "today", "yesterday"];

/// A saved search's id from its text.
///
/// # Errors
/// Not a UUID, named `id`.
pub fn saved_search_id(value: &str) -> ServiceResult<Uuid> {
    value
        .parse()
        .map_err(|_| ServiceError::invalid("id", "expected a saved search's id (a UUID)"))
}

/// The name, trimmed, or why it cannot be one.
fn valid_name(raw: &str) -> ServiceResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(
            "name",
            format!("expected 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid("name", "contains control characters"));
    }
    Ok(name.to_owned())
}

/// The query, checked like the search it will run: the events filters as the API reads them,
/// plus the dashboard's own `range`, `page_size` and `event`.
fn valid_query(raw: &str) -> ServiceResult<String> {
    let query = raw.trim().trim_start_matches('?');
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ServiceError::invalid(
            "query",
            format!("expected at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let params = Params::parse(Some(query), &with_filters(&DASHBOARD_PARAMS))
        .map_err(|e| ServiceError::invalid("query", e.to_string()))?;
    if let Some(range) = params.text("range")?
        && !NAMED_RANGES.contains(&range.as_str())
    {
        return Err(ServiceError::invalid(
            "query",
            format!("range {range:?}: expected 15m, today or yesterday"),
        ));
    }
    let filters: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !DASHBOARD_PARAMS.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let filters = Params::from_pairs(filters, &crate::filters::FILTER_PARAMS)
        .map_err(|e| ServiceError::invalid("query", e.to_string()))?;
    event_filters(&filters).map_err(|e| ServiceError::invalid("query", e.to_string()))?;
    Ok(query.to_owned())
}

impl Services {
    /// The caller's saved searches and the shared ones, newest first.
    ///
    /// # Errors
    /// A caller without the Reader role; the store's errors.
    pub async fn saved_searches(&self, caller: &Caller) -> ServiceResult<Vec<SavedSearch>> {
        caller.require(Role::Reader)?;
        Ok(self.store.saved_searches(&caller.author().id).await?)
    }

    /// Saves a search on the caller's name; sharing it with everyone needs the Analyst role.
    ///
    /// # Errors
    /// A caller without the role; a name or query that is not one, named; the store's errors.
    pub async fn save_search(
        &self,
        caller: &Caller,
        name: &str,
        query: &str,
        shared: bool,
    ) -> ServiceResult<SavedSearch> {
        caller.require(if shared { Role::Analyst } else { Role::Reader })?;
        let search = NewSavedSearch {
            name: valid_name(name)?,
            query: valid_query(query)?,
            shared,
            owner: caller.author(),
            at: Utc::now(),
        };
        Ok(self.store.save_search(&search).await?)
    }

    /// Deletes a saved search: its owner may, and so may an Admin.
    ///
    /// # Errors
    /// None with that id (or another's that is not shared); not the owner; the store's errors.
    pub async fn delete_saved_search(&self, caller: &Caller, id: Uuid) -> ServiceResult<()> {
        caller.require(Role::Reader)?;
        let me = caller.author().id;
        let search = self
            .store
            .get_saved_search(id)
            .await?
            .filter(|s| s.shared || s.owner.id == me || caller.has(Role::Admin))
            .ok_or_else(|| ServiceError::NotFound(format!("no saved search {id}")))?;
        caller
            .require_owner_or_admin(search.owner.id == me, "this saved search is someone else's")?;
        self.store.delete_saved_search(id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked_like_the_search() {
        assert!(valid_query("range=today&actor=ravi&page_size=100").is_ok());
        assert!(valid_query("?from=2025-03-01&to=2025-04-01&not_result=failure").is_ok());
        for bad in ["colour=blue", "range=tomorrow", "hours=0", "ip=999.1.1.1"] {
            let err = valid_query(bad).expect_err(bad).to_string();
            assert!(err.contains("query"), "{bad}: {err}");
        }
        assert!(valid_name("  ").is_err());
        assert!(valid_name(&"x".repeat(101)).is_err());
        assert_eq!(
            valid_name(" Ravi today ").ok().as_deref(),
            Some("Ravi today")
        );
    }
}
