//! `/threads/{id}`: one conversation with its video, author, labels and a reply box.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::accounts::members::{self, Member};
use crate::auth::{Caller, Visitor};
use crate::domain::{Direction, Kind, Platform, Role, Source, State as Delivery, Status};
use crate::error::AppError;
use crate::ids::{ThreadId, UserId};
use crate::inbox::actions::{self, label_name, queue_reply, reply_target, reply_text};
use crate::inbox::model::{MessageView, ThreadView};
use crate::inbox::read::{get_thread, label_names, list_messages};
use crate::ingest::is_web_url;
use crate::state::AppState;
use crate::web::view::{ago, full_time, iso_time, kind_label};
use crate::web::{Chrome, Page, PageResult, see_other};

const MESSAGES_PER_PAGE: i64 = 200;

pub struct ThreadHead {
    id: i64,
    platform: Platform,
    platform_label: &'static str,
    channel: String,
    kind_label: &'static str,
    is_dm: bool,
    status: Status,
    status_label: &'static str,
    done: bool,
    title: String,
    author: String,
    username: Option<String>,
    author_external_id: Option<String>,
    labels: Vec<String>,
    max_reply_chars: Option<usize>,
    assignee_id: Option<UserId>,
    assignee: Option<String>,
}

impl ThreadHead {
    fn new(t: &ThreadView) -> Self {
        let author = t
            .contact
            .as_ref()
            .map(|c| c.name_on(t.platform))
            .unwrap_or_else(|| t.channel.clone());
        let is_dm = t.kind == Kind::Dm;
        ThreadHead {
            id: t.id,
            platform: t.platform,
            platform_label: t.platform.label(),
            channel: t.channel.clone(),
            kind_label: kind_label(t.kind),
            is_dm,
            status: t.status,
            status_label: if t.status == Status::Done {
                "Done"
            } else {
                "Open"
            },
            done: t.status == Status::Done,
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
                t.platform.max_reply_chars()
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
    direction: Direction,
    outbound: bool,
    is_reply: bool,
    author: String,
    text: String,
    when: String,
    when_iso: String,
    when_full: String,
    state: Delivery,
    state_label: String,
    source: Source,
    error: Option<String>,
    /// A rule's reply waiting for a person: shown with approve and reject.
    suggested: bool,
    /// A rule's answer to a comment sent as a DM.
    private: bool,
}

impl MessageItem {
    fn new(m: MessageView, channel: &str, platform: Platform, now: DateTime<Utc>) -> Self {
        let outbound = m.direction == Direction::Outbound;
        let author = match (&m.author, outbound) {
            (_, true) => format!("{channel} (you)"),
            (Some(a), false) => a.name_on(platform),
            (None, false) => "unknown author".to_owned(),
        };
        MessageItem {
            id: m.id,
            is_reply: m.kind == Kind::Comment && m.parent_external_id.is_some(),
            outbound,
            author,
            when: ago(now, m.created_at),
            when_iso: iso_time(m.created_at),
            when_full: full_time(m.created_at),
            state_label: match m.state {
                Delivery::Queued => "Queued — waiting to be sent".to_owned(),
                Delivery::Suggested => "Suggested — waiting for approval".to_owned(),
                Delivery::DryRun => "Dry run — never sent".to_owned(),
                Delivery::Dead => "dead — gave up; see the outbox".to_owned(),
                Delivery::Expired => "expired — the platform's window closed".to_owned(),
                other => other.to_string(),
            },
            suggested: m.state == Delivery::Suggested,
            private: m.kind == Kind::Dm && m.parent_external_id.is_some() && outbound,
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

impl ThreadTemplate {
    /// Whether a reply is still on its way (queued, being sent, or failed and retrying): the
    /// conversation then refreshes itself until each has its outcome. Not while a suggestion
    /// waits, whose text a person may be editing.
    fn delivering(&self) -> bool {
        let retrying = |m: &MessageItem| {
            m.state == Delivery::Failed
                && m.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(crate::outbox::settle::RETRYING))
        };
        !self.messages.iter().any(|m| m.suggested)
            && self.messages.iter().any(|m| {
                m.outbound
                    && (matches!(m.state, Delivery::Queued | Delivery::Sending) || retrying(m))
            })
    }
}

#[derive(Deserialize)]
pub struct ThreadQuery {
    after: Option<i64>,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    id: ThreadId,
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
        .map(|m| MessageItem::new(m, &thread.channel, thread.platform, now))
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
    Path(id): Path<ThreadId>,
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
        let mut tx = state.db.begin().await?;
        actions::set_unread(&mut tx, caller.workspace, id, false, crate::clock::now()).await?;
        tx.commit().await?;
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
    Path(id): Path<ThreadId>,
    Form(form): Form<StatusForm>,
) -> PageResult<Response> {
    let status: Status = form
        .status
        .parse()
        .map_err(|e| AppError::field("status", e))?;
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    if actions::set_status(&mut tx, caller.workspace, &[id], status, now).await? == 0 {
        return Err(AppError::NotFound("thread").into());
    }
    tx.commit().await?;
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
    Path(id): Path<ThreadId>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    if actions::set_unread(&mut tx, caller.workspace, id, true, crate::clock::now()).await? == 0 {
        return Err(AppError::NotFound("thread").into());
    }
    tx.commit().await?;
    Ok(see_other("/"))
}

#[derive(Deserialize)]
pub struct LabelForm {
    label: String,
}

pub async fn add_label(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    Form(form): Form<LabelForm>,
) -> PageResult<Response> {
    let name = label_name(&form.label)?;
    let mut tx = state.db.begin().await?;
    actions::require_thread(&mut tx, caller.workspace, id).await?;
    actions::add_label(&mut tx, caller.workspace, id, &name, crate::clock::now()).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/threads/{id}")))
}

pub async fn remove_label(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    Form(form): Form<LabelForm>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    actions::require_thread(&mut tx, caller.workspace, id).await?;
    actions::remove_label(&mut tx, caller.workspace, id, form.label.trim()).await?;
    tx.commit().await?;
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
    Path(id): Path<ThreadId>,
    Form(form): Form<ReplyForm>,
) -> PageResult<Response> {
    let target = reply_target(&state.db, caller.workspace, id, None).await?;
    match reply_text(&form.text, target.platform, target.kind) {
        Ok(text) => {
            let mut tx = state.db.begin().await?;
            let who = Who::from(&caller);
            let now = crate::clock::now();
            let message = queue_reply(&mut tx, caller.workspace, &target, &text, &who, now).await?;
            tx.commit().await?;
            state.workers.wake_outbox();
            Ok(see_other(&format!("/threads/{id}#m{message}")))
        }
        Err(err) => {
            let err = AppError::from(err);
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
    Path(id): Path<ThreadId>,
    Form(form): Form<AssignForm>,
) -> PageResult<Response> {
    let assignee = match form.assignee.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map(UserId)
                .map_err(|_| AppError::field("assignee", "must be a member's user id"))?,
        ),
    };
    let mut tx = state.db.begin().await?;
    actions::assign(&mut tx, caller.workspace, id, assignee, crate::clock::now()).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/threads/{id}")))
}
