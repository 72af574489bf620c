//! People by name: each (UPN, display name) pair the records name, so the actor filter can find
//! a person's events by their name even where a record gives only the UPN.

use std::collections::BTreeSet;

use aoc_model::{Actor, Event};

use super::{Dialect, SqlEngine, SqlTransaction, Statement};
use crate::StoreResult;
use crate::clean_text;

/// Pairs per statement.
const PAIRS_PER_INSERT: usize = 200;

/// The lowercased (UPN, display name) of an actor that has both, and whose name is more than
/// its UPN.
pub fn actor_name(actor: &Actor) -> Option<(String, String)> {
    let upn = actor.upn.as_deref()?.trim().to_lowercase();
    let name = actor.display_name.as_deref()?.trim().to_lowercase();
    (!upn.is_empty() && !name.is_empty() && name != upn).then(|| {
        (
            clean_text(&upn).into_owned(),
            clean_text(&name).into_owned(),
        )
    })
}

fn inserts(dialect: Dialect, pairs: BTreeSet<(String, String)>) -> Vec<Statement> {
    let pairs: Vec<(String, String)> = pairs.into_iter().collect();
    pairs
        .chunks(PAIRS_PER_INSERT)
        .map(|chunk| {
            let sql = format!(
                "INSERT INTO actor_names (upn, name) VALUES {} ON CONFLICT DO NOTHING",
                dialect.value_rows(chunk.len(), 2)
            );
            let binds = chunk
                .iter()
                .flat_map(|(upn, name)| [upn.clone().into(), name.clone().into()])
                .collect();
            Statement::raw(sql, binds)
        })
        .collect()
}

/// Records the people `events` name, inside the transaction that stores them.
pub async fn record_actor_names(
    tx: &mut dyn SqlTransaction,
    dialect: Dialect,
    events: &[Event],
) -> StoreResult<()> {
    let pairs: BTreeSet<(String, String)> =
        events.iter().filter_map(|e| actor_name(&e.actor)).collect();
    for statement in inserts(dialect, pairs) {
        tx.execute(statement).await?;
    }
    Ok(())
}

/// Records `pairs` on their own (the upgrade pass over stored rows).
pub async fn record_names<E: SqlEngine + ?Sized>(
    engine: &E,
    pairs: BTreeSet<(String, String)>,
) -> StoreResult<()> {
    for statement in inserts(engine.dialect(), pairs) {
        engine.write(statement).await?;
    }
    Ok(())
}
