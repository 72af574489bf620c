//! Reading a question into a checked query, and reading the events an answer is written from.

use chrono::Utc;

use aoc_ai::answer::is_after_hours;
use aoc_ai::intent::{intent_from_reply, intent_request};
use aoc_ai::{Assistant, Intent, parse_question_in};
use aoc_model::{Cursor, Event, EventQuery, PageSize};
use aoc_store::Store;

use super::AskerClock;
use crate::error::ServiceResult;
use crate::filters::{FILTER_PARAMS, event_filters};
use crate::model_calls::call_model;
use crate::params::Params;

/// The intent's parameters, checked exactly like a person's search.
fn checked(intent: &Intent) -> ServiceResult<EventQuery> {
    let params = Params::from_pairs(intent.filters.clone(), &FILTER_PARAMS)?;
    event_filters(&params)
}

/// Reads the question: the model's reading when there is a model and it gives a valid query,
/// else the parser's; `None` for a question that is not about audit events at all (the parser
/// sees nothing to search for and no word about events), which no model is asked about.
pub(super) async fn read_question(
    ai: &Assistant,
    caller: &str,
    question: &str,
    clock: AskerClock,
    notes: &mut Vec<String>,
) -> ServiceResult<Option<(Intent, &'static str, EventQuery)>> {
    let now = Utc::now();
    let parsed = parse_question_in(question, now, clock.utc_offset_minutes);
    if parsed.off_topic {
        return Ok(None);
    }
    if ai.llm.is_some() {
        let reading = match call_model(ai, caller, &intent_request(question, now)).await {
            Ok(reply) => intent_from_reply(&reply.text).map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        match reading.and_then(|intent| {
            checked(&intent)
                .map(|query| (intent, query))
                .map_err(|e| e.to_string())
        }) {
            Ok((intent, query)) => return Ok(Some((intent, "model", query))),
            Err(why) => {
                tracing::warn!(reason = %why, "the model's reading of a question was not usable; using the parser");
                notes.push(format!(
                    "The model's reading of the question was not usable ({why}); AOC's parser read it."
                ));
            }
        }
    }
    let query = checked(&parsed)?;
    Ok(Some((parsed, "parser", query)))
}

/// The newest `limit` matching events, without their raw records.
pub(super) async fn newest_events(
    store: &dyn Store,
    query: &EventQuery,
    limit: u32,
) -> ServiceResult<Vec<Event>> {
    let query = EventQuery {
        page_size: PageSize::bulk(limit),
        without_raw: true,
        cursor: None,
        ..query.clone()
    };
    Ok(store.query_events(&query).await?.items)
}

/// Matching events outside working hours, counted over at most `after_hours_scan` of them.
pub(super) async fn count_after_hours(
    store: &dyn Store,
    query: &EventQuery,
    ai: &Assistant,
    notes: &mut Vec<String>,
) -> ServiceResult<u64> {
    let mut page_query = EventQuery {
        page_size: PageSize::bulk(2_000),
        without_raw: true,
        cursor: None,
        ..query.clone()
    };
    let (mut seen, mut count) = (0_usize, 0_u64);
    loop {
        let page = store.query_events(&page_query).await?;
        seen += page.items.len();
        count += page.items.iter().filter(|e| is_after_hours(e)).count() as u64;
        match page.next_cursor.as_deref().map(Cursor::decode) {
            Some(Ok(cursor)) if seen < ai.after_hours_scan => page_query.cursor = Some(cursor),
            Some(_) => {
                notes.push(format!(
                    "Events outside working hours were counted over the newest {seen} matching events only."
                ));
                return Ok(count);
            }
            None => return Ok(count),
        }
    }
}
