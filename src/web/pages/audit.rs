//! `/audit` (admins and owners): who changed members, tokens, channels and rules, and who
//! sent which manual reply.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::accounts::audit;
use crate::auth::{Caller, Visitor};
use crate::state::AppState;
use crate::web::view::{full_time, iso_time};
use crate::web::{Chrome, Page, PageResult};

const PER_PAGE: i64 = 100;

pub struct AuditItem {
    actor: String,
    action: String,
    target: String,
    detail: String,
    when: String,
    when_iso: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditTemplate {
    chrome: Chrome,
    entries: Vec<AuditItem>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Query(q): Query<AuditQuery>,
) -> PageResult<Page<AuditTemplate>> {
    let mut rows = audit::list(&state.db, caller.workspace, q.before, PER_PAGE + 1).await?;
    let next_href = if rows.len() as i64 > PER_PAGE {
        rows.truncate(PER_PAGE as usize);
        rows.last().map(|r| format!("/audit?before={}", r.id))
    } else {
        None
    };
    Ok(Page(AuditTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        entries: rows
            .into_iter()
            .map(|r| AuditItem {
                when: full_time(r.at),
                when_iso: iso_time(r.at),
                actor: r.actor,
                action: r.action,
                target: r.target,
                detail: r.detail,
            })
            .collect(),
        next_href,
    }))
}
