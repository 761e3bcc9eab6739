//! `/outbox`: what was sent and what waits, by state, with retry and cancel for agents.

use crate::ids::OutboxId;
use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::domain::Delivery;
use crate::outbox::manage;
use crate::outbox::read::{self, Item};
use crate::state::AppState;
use crate::web::api::outbox::state_filter;
use crate::web::view::{ago, full_time};
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "outbox.html")]
pub struct OutboxTemplate {
    chrome: Chrome,
    items: Vec<Item>,
    counts: HashMap<Delivery, i64>,
    shown: Option<Delivery>,
    next: Option<i64>,
    now: DateTime<Utc>,
}

impl OutboxTemplate {
    fn tabs(&self) -> Vec<(&'static str, i64, bool)> {
        Delivery::ALL
            .iter()
            .map(|d| {
                (
                    d.as_str(),
                    self.counts.get(d).copied().unwrap_or(0),
                    self.shown == Some(*d),
                )
            })
            .collect()
    }

    fn all_shown(&self) -> bool {
        self.shown.is_none()
    }

    fn total(&self) -> i64 {
        self.counts.values().sum()
    }

    fn when(&self, t: &DateTime<Utc>) -> String {
        ago(self.now, *t)
    }

    fn exact(&self, t: &DateTime<Utc>) -> String {
        full_time(*t)
    }

    fn may_retry(&self, item: &Item) -> bool {
        item.state.may_retry()
    }

    fn may_cancel(&self, item: &Item) -> bool {
        item.state.may_cancel()
    }

    fn state_filter_query(&self) -> String {
        self.shown
            .map(|s| format!("state={s}&"))
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub struct Listing {
    state: Option<String>,
    cursor: Option<i64>,
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Query(q): Query<Listing>,
) -> PageResult<Page<OutboxTemplate>> {
    let shown = state_filter(q.state.as_deref())?;
    let (items, next) = read::list(&state.db, caller.workspace, shown, q.cursor).await?;
    Ok(Page(OutboxTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        counts: read::counts(&state.db, caller.workspace).await?,
        items,
        shown,
        next,
        now: crate::clock::now(),
    }))
}

#[derive(Deserialize)]
pub struct Back {
    #[serde(default)]
    state: Option<String>,
}

fn back(form: &Back) -> String {
    match state_filter(form.state.as_deref()) {
        Ok(Some(s)) => format!("/outbox?state={s}"),
        _ => "/outbox".into(),
    }
}

pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
    Form(form): Form<Back>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    manage::retry(
        &mut tx,
        caller.workspace,
        id,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    state.workers.wake_outbox();
    Ok(see_other(&back(&form)))
}

pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
    Form(form): Form<Back>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    manage::cancel(
        &mut tx,
        caller.workspace,
        id,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&back(&form)))
}
