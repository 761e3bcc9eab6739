//! `GET /live`: server-sent events for the open inbox and thread pages of one workspace:
//! `messages` when new comments or DMs (and suggestions) were stored, `delivery` when replies
//! moved on their way. The browser reconnects by itself (`retry`), and the pages also refresh
//! on a timer, so a missed event only delays an update. Streams are counted per session and
//! per server (`streams`), and end when their session does.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Caller, Visitor};
use crate::error::AppError;
use crate::state::AppState;

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let workspace = caller.workspace;
    let ticket = state
        .streams
        .open(&state.db, &visitor.session.key, workspace)
        .map_err(|refused| AppError::TooManyRequests(refused.to_string()))?;
    let (changes, closing) = state.live.subscribe();
    let hello = Event::default()
        .event("hello")
        .retry(Duration::from_secs(2))
        .data("listening");
    // The ticket lives as long as the stream: dropping it leaves the count.
    let events = futures_util::stream::unfold(
        (changes, closing, ticket, Some(hello)),
        move |(mut changes, mut closing, mut ticket, hello)| async move {
            if let Some(hello) = hello {
                return Some((Ok(hello), (changes, closing, ticket, None)));
            }
            loop {
                let change = tokio::select! {
                    change = changes.recv() => change,
                    _ = closing.wait_for(|c| *c) => return None,
                    _ = ticket.ended.wait_for(|e| *e) => return None,
                };
                let said = match change {
                    Ok((w, change)) if w == workspace => change.as_str(),
                    Ok(_) => continue,
                    // Fell behind: whatever was missed, the page refreshes once.
                    Err(RecvError::Lagged(_)) => "messages",
                    Err(RecvError::Closed) => return None,
                };
                let event = Event::default().event(said).data(said);
                return Some((Ok(event), (changes, closing, ticket, None)));
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
