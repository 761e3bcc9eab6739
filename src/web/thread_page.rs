//! `/threads/{id}`: one conversation with its video, author, labels and a reply box.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::view::{ago, full_time, iso_time, kind_label, platform_label};
use super::{Chrome, Page, PageResult, see_other};
use crate::accounts::audit::Who;
use crate::accounts::members::{self, Member};
use crate::auth::{Caller, Visitor};
use crate::domain::{Kind, Role, Status};
use crate::error::AppError;
use crate::inbox::actions::{self, label_name, queue_reply, reply_target, reply_text};
use crate::inbox::model::{MessageView, ThreadView};
use crate::inbox::read::{get_thread, label_names, list_messages};
use crate::ingest::is_web_url;
use crate::state::AppState;

const MESSAGES_PER_PAGE: i64 = 200;

pub struct ThreadHead {
    id: i64,
    platform: String,
    platform_label: &'static str,
    channel: String,
    kind_label: &'static str,
    is_dm: bool,
    status: String,
    status_label: &'static str,
    done: bool,
    title: String,
    author: String,
    username: Option<String>,
    author_external_id: Option<String>,
    labels: Vec<String>,
    max_reply_chars: Option<usize>,
    assignee_id: Option<i64>,
    assignee: Option<String>,
}

impl ThreadHead {
    fn new(t: &ThreadView) -> Self {
        let author = t
            .contact
            .as_ref()
            .map(|c| c.name())
            .unwrap_or_else(|| t.channel.clone());
        let is_dm = t.kind == Kind::Dm.as_str();
        let platform: Option<crate::domain::Platform> = t.platform.parse().ok();
        ThreadHead {
            id: t.id,
            platform: t.platform.clone(),
            platform_label: platform_label(&t.platform),
            channel: t.channel.clone(),
            kind_label: kind_label(&t.kind),
            is_dm,
            status: t.status.clone(),
            status_label: if t.status == "done" { "Done" } else { "Open" },
            done: t.status == "done",
            title: if is_dm {
                format!("Direct messages with {author}")
            } else {
                t.subject.clone()
            },
            username: t.contact.as_ref().and_then(|c| c.username.clone()),
            author_external_id: t.contact.as_ref().map(|c| c.external_id.clone()),
            author,
            labels: t.labels.clone(),
            assignee_id: t.assignee.as_ref().map(|a| a.id),
            assignee: t.assignee.as_ref().map(|a| a.email.clone()),
            max_reply_chars: if is_dm {
                None
            } else {
                platform.and_then(|p| p.max_reply_chars())
            },
        }
    }
}

pub struct VideoItem {
    id: i64,
    external_id: String,
    title: String,
    /// Only http(s) addresses: anything else never becomes a link.
    url: Option<String>,
}

pub struct MessageItem {
    id: i64,
    direction: String,
    outbound: bool,
    is_reply: bool,
    author: String,
    text: String,
    when: String,
    when_iso: String,
    when_full: String,
    state: String,
    state_label: String,
    source: String,
    error: Option<String>,
}

impl MessageItem {
    fn new(m: MessageView, channel: &str, now: DateTime<Utc>) -> Self {
        let outbound = m.direction == "outbound";
        let author = match (&m.author, outbound) {
            (_, true) => format!("{channel} (you)"),
            (Some(a), false) => a.name(),
            (None, false) => "unknown author".to_owned(),
        };
        MessageItem {
            id: m.id,
            is_reply: m.kind == "comment" && m.parent_external_id.is_some(),
            outbound,
            author,
            when: ago(now, m.created_at),
            when_iso: iso_time(m.created_at),
            when_full: full_time(m.created_at),
            state_label: match m.state.as_str() {
                "queued" => "Queued — waiting to be sent".to_owned(),
                other => other.to_owned(),
            },
            state: m.state,
            source: m.source,
            direction: m.direction,
            text: m.text,
            error: m.error,
        }
    }
}

#[derive(Template)]
#[template(path = "thread.html")]
pub struct ThreadTemplate {
    chrome: Chrome,
    members: Vec<Member>,
    t: ThreadHead,
    video: Option<VideoItem>,
    messages: Vec<MessageItem>,
    more_href: Option<String>,
    known_labels: Vec<String>,
    draft: String,
    reply_error: Option<String>,
}

#[derive(Deserialize)]
pub struct ThreadQuery {
    after: Option<i64>,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    id: i64,
    after: Option<i64>,
    draft: String,
    reply_error: Option<String>,
) -> PageResult<ThreadTemplate> {
    let thread = get_thread(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("thread"))?;
    let page = list_messages(&state.db, id, after, MESSAGES_PER_PAGE).await?;
    let now = crate::clock::now();
    let messages = page
        .messages
        .into_iter()
        .map(|m| MessageItem::new(m, &thread.channel, now))
        .collect();
    let video = thread.video.clone().map(|v| VideoItem {
        id: v.id,
        title: v.title.unwrap_or_else(|| v.external_id.clone()),
        external_id: v.external_id,
        url: v.url.filter(|u| is_web_url(u)),
    });
    Ok(ThreadTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        members: members::list(&state.db, caller.workspace).await?,
        t: ThreadHead::new(&thread),
        video,
        messages,
        more_href: page.next.map(|last| format!("/threads/{id}?after={last}")),
        known_labels: label_names(&state.db, caller.workspace).await?,
        draft,
        reply_error,
    })
}

pub async fn thread(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ThreadQuery>,
) -> PageResult<Page<ThreadTemplate>> {
    let page = render(&state, &caller, &visitor, id, q.after, String::new(), None).await?;
    // Opening a conversation reads it, for those who answer (a viewer only looks), and only
    // when the browser opened it from unibox itself: a link on another site must not change
    // anything (session cookies are `SameSite=Lax`, so they come along on such a link).
    let from_here = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|site| site == "same-origin" || site == "none");
    if caller.may(Role::Agent) && from_here {
        actions::set_unread(&state.db, caller.workspace, id, false, crate::clock::now()).await?;
    }
    Ok(Page(page))
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> PageResult<Response> {
    let status: Status = form
        .status
        .parse()
        .map_err(|e| AppError::field("status", e))?;
    if actions::set_status(
        &state.db,
        caller.workspace,
        &[id],
        status,
        crate::clock::now(),
    )
    .await?
        == 0
    {
        return Err(AppError::NotFound("thread").into());
    }
    // Done with this one: back to the list to pick the next.
    let back = if status == Status::Done {
        "/".to_owned()
    } else {
        format!("/threads/{id}")
    };
    Ok(see_other(&back))
}

pub async fn mark_unread(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    if actions::set_unread(&state.db, caller.workspace, id, true, crate::clock::now()).await? == 0 {
        return Err(AppError::NotFound("thread").into());
    }
    Ok(see_other("/"))
}

#[derive(Deserialize)]
pub struct LabelForm {
    label: String,
}

pub async fn add_label(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<LabelForm>,
) -> PageResult<Response> {
    let name = label_name(&form.label)?;
    actions::require_thread(&state.db, caller.workspace, id).await?;
    actions::add_label(&state.db, caller.workspace, id, &name, crate::clock::now()).await?;
    Ok(see_other(&format!("/threads/{id}")))
}

pub async fn remove_label(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<LabelForm>,
) -> PageResult<Response> {
    actions::require_thread(&state.db, caller.workspace, id).await?;
    actions::remove_label(&state.db, caller.workspace, id, form.label.trim()).await?;
    Ok(see_other(&format!("/threads/{id}")))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    text: String,
}

/// A reply that fails validation comes back with the draft kept and the reason shown.
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<ReplyForm>,
) -> PageResult<Response> {
    let target = reply_target(&state.db, caller.workspace, id, None).await?;
    match reply_text(&form.text, target.platform, target.kind) {
        Ok(text) => {
            let message = queue_reply(
                &state.db,
                caller.workspace,
                &target,
                &text,
                &Who::from(&caller),
            )
            .await?;
            Ok(see_other(&format!("/threads/{id}#m{message}")))
        }
        Err(err) => {
            let status = err.status();
            let reason = err
                .problems()
                .first()
                .map(|p| format!("{} {}", p.field, p.message))
                .unwrap_or_else(|| err.public_message());
            let page = render(&state, &caller, &visitor, id, None, form.text, Some(reason)).await?;
            Ok((status, Page(page)).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    /// A member's user id, or empty for nobody.
    assignee: String,
}

pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<AssignForm>,
) -> PageResult<Response> {
    let assignee = match form.assignee.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| AppError::field("assignee", "must be a member's user id"))?,
        ),
    };
    actions::assign(
        &state.db,
        caller.workspace,
        id,
        assignee,
        crate::clock::now(),
    )
    .await?;
    Ok(see_other(&format!("/threads/{id}")))
}
