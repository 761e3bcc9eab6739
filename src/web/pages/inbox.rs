//! `/`: the inbox — filters, search, the newest-first thread list and bulk status changes.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::auth::{Caller, Visitor};
use crate::domain::{Platform, Status};
use crate::error::AppError;
use crate::ids::{ThreadId, UserId};
use crate::inbox::actions::set_status;
use crate::inbox::filter::{FilterParams, StatusFilter, ThreadFilter};
use crate::inbox::model::ThreadView;
use crate::inbox::read::{ChannelRow, channels, label_names, list_threads};
use crate::state::AppState;
use crate::web::view::{ago, full_time, iso_time, kind_label, query_string};
use crate::web::{Chrome, Page, PageResult, safe_return_path, see_other};

/// The filters as the form shows them (empty string: not set).
pub struct FilterValues {
    pub q: String,
    pub status: String,
    pub platform: String,
    pub channel: String,
    pub channel_id: String,
    pub kind: String,
    pub label: String,
    pub video: String,
    /// `me`, `none`, a user id, or empty (anyone).
    pub assignee: String,
    pub is_filtered: bool,
}

impl FilterValues {
    fn new(f: &ThreadFilter, me: Option<UserId>) -> Self {
        let opt = |v: Option<&str>| v.unwrap_or_default().to_owned();
        FilterValues {
            q: opt(f.q.as_deref()),
            status: f.status.as_str().to_owned(),
            platform: opt(f.platform.map(Platform::as_str)),
            channel: opt(f.channel.as_deref()),
            channel_id: f.channel_id.map(|c| c.to_string()).unwrap_or_default(),
            kind: opt(f.kind.map(|k| k.as_str())),
            label: opt(f.label.as_deref()),
            video: f.video.map(|v| v.to_string()).unwrap_or_default(),
            assignee: f.assignee.map(|a| a.word(me)).unwrap_or_default(),
            is_filtered: f.q.is_some()
                || f.assignee.is_some()
                || f.platform.is_some()
                || f.channel.is_some()
                || f.channel_id.is_some()
                || f.kind.is_some()
                || f.label.is_some()
                || f.video.is_some(),
        }
    }

    fn href(&self, cursor: &str) -> String {
        format!(
            "/{}",
            query_string(&[
                ("q", &self.q),
                ("status", &self.status),
                ("platform", &self.platform),
                ("channel", &self.channel),
                ("channel_id", &self.channel_id),
                ("kind", &self.kind),
                ("label", &self.label),
                ("video", &self.video),
                ("assignee", &self.assignee),
                ("cursor", cursor),
            ])
        )
    }
}

/// One row of the list, ready to show.
pub struct ThreadItem {
    pub id: i64,
    pub platform: Platform,
    pub platform_label: &'static str,
    pub channel: String,
    pub kind_label: &'static str,
    pub author: String,
    pub subject: String,
    pub preview: String,
    pub show_preview: bool,
    pub unread: bool,
    pub done: bool,
    pub when: String,
    pub when_iso: String,
    pub when_full: String,
    pub message_count: i64,
    pub video_title: Option<String>,
    pub labels: Vec<String>,
    pub assignee: Option<String>,
}

impl ThreadItem {
    fn new(t: ThreadView, now: DateTime<Utc>) -> Self {
        let author = t
            .contact
            .as_ref()
            .map(|c| c.name_on(t.platform))
            .unwrap_or_else(|| t.channel.clone());
        ThreadItem {
            id: t.id,
            platform_label: t.platform.label(),
            kind_label: kind_label(t.kind),
            show_preview: t.message_count > 1 && t.preview != t.subject,
            unread: t.unread && t.status == Status::Open,
            done: t.status == Status::Done,
            when: ago(now, t.last_message_at),
            when_iso: iso_time(t.last_message_at),
            when_full: full_time(t.last_message_at),
            video_title: t.video.and_then(|v| v.title.or(Some(v.external_id))),
            platform: t.platform,
            channel: t.channel,
            author,
            subject: t.subject,
            preview: t.preview,
            message_count: t.message_count,
            labels: t.labels,
            assignee: t.assignee.map(|a| a.email),
        }
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
pub struct InboxTemplate {
    chrome: Chrome,
    filters: FilterValues,
    status_options: Vec<(&'static str, &'static str)>,
    platform_options: Vec<(&'static str, &'static str)>,
    channels: Vec<ChannelRow>,
    labels: Vec<String>,
    threads: Vec<ThreadItem>,
    live: bool,
    search_capped: bool,
    self_href: String,
    refresh_href: String,
    first_href: Option<String>,
    next_href: Option<String>,
    without_video_href: String,
}

pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Query(params): Query<FilterParams>,
) -> PageResult<Page<InboxTemplate>> {
    let me = caller.user_id();
    let filter = ThreadFilter::parse(&params, StatusFilter::Open, me)?;
    let page = list_threads(&state.db, caller.workspace, &filter).await?;
    let now = crate::clock::now();
    let filters = FilterValues::new(&filter, me);
    let cursor = filter.cursor.map(|c| c.encode()).unwrap_or_default();
    let without_video_href = FilterValues {
        video: String::new(),
        ..FilterValues::new(&filter, me)
    }
    .href("");
    Ok(Page(InboxTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        status_options: vec![
            ("open", "Open"),
            ("unread", "Unread"),
            ("done", "Done"),
            ("all", "All"),
        ],
        platform_options: Platform::ALL
            .iter()
            .map(|p| (p.as_str(), p.label()))
            .collect(),
        channels: channels(&state.db, caller.workspace).await?,
        labels: label_names(&state.db, caller.workspace).await?,
        threads: page
            .threads
            .into_iter()
            .map(|t| ThreadItem::new(t, now))
            .collect(),
        live: filter.cursor.is_none(),
        search_capped: page.search_capped,
        self_href: filters.href(&cursor),
        refresh_href: filters.href(""),
        first_href: filter.cursor.map(|_| filters.href("")),
        next_href: page.next.map(|c| filters.href(&c.encode())),
        without_video_href,
        filters,
    }))
}

/// The bulk form: `ids` (repeated), `status`, `return_to`.
pub async fn bulk_status(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let mut ids = Vec::new();
    let mut status = None;
    let mut return_to = None;
    for (name, value) in &fields {
        match name.as_str() {
            "ids" => ids.push(ThreadId(
                value
                    .parse::<i64>()
                    .map_err(|_| AppError::field("ids", "must be thread ids"))?,
            )),
            "status" => {
                status = Some(
                    value
                        .parse::<Status>()
                        .map_err(|e| AppError::field("status", e))?,
                )
            }
            "return_to" => return_to = Some(value.as_str()),
            _ => {}
        }
    }
    let status = status.ok_or_else(|| AppError::field("status", "is required"))?;
    let mut tx = state.db.begin().await?;
    set_status(&mut tx, caller.workspace, &ids, status, crate::clock::now()).await?;
    tx.commit().await?;
    Ok(see_other(safe_return_path(return_to)))
}
