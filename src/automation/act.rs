//! Doing what a run says for the message it answers: its replies as outbound messages, and
//! its labels, assignment, closing and moderation. Deciding does it for a rule without delay,
//! the due worker for the others, an approval for a suggestion.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::conversations::{Automated, Outbound, enqueue_moderation};
use crate::domain::{Deed, Kind, Platform, Source, State, Status};
use crate::ids::{ChannelId, MessageId, ThreadId};
use crate::inbox::actions;
use crate::rules::action::platform_can;
use crate::storage::Tx;

/// The message a rule's reply answers.
pub struct Answering<'a> {
    /// The message answered (and liked, hidden or deleted).
    pub message: MessageId,
    pub platform: Platform,
    pub channel: ChannelId,
    pub thread: ThreadId,
    pub kind: Kind,
    pub external_id: &'a str,
    pub parent_external_id: Option<&'a str>,
}

/// The outbound message a rule's reply becomes: under the comment it answers (a reply to a
/// reply goes under the same top-level comment), or in the DM conversation; a private reply
/// is a DM about the comment, kept in the comment's thread.
pub fn reply_message<'a>(
    workspace: i64,
    to: &Answering<'a>,
    private: bool,
    text: &'a str,
    state: State,
    automated: Automated,
) -> Outbound<'a> {
    let kind = if private { Kind::Dm } else { to.kind };
    let parent = match to.kind {
        Kind::Comment if private => Some(to.external_id),
        Kind::Comment => Some(to.parent_external_id.unwrap_or(to.external_id)),
        Kind::Dm => None,
    };
    Outbound {
        workspace,
        channel: to.channel,
        thread: to.thread,
        kind,
        parent_external_id: parent,
        text,
        source: Source::Rule,
        state,
        automated: Some(automated),
    }
}

/// Does every action of `planned` for the message `to`; replies go to `replies` as queued
/// messages for the caller to write (`None`: they exist already, as an approved suggestion).
/// Returns notes on what could not be done here.
#[allow(clippy::too_many_arguments)]
pub async fn apply<'a>(
    tx: &mut Tx,
    workspace: i64,
    rule: i64,
    run: i64,
    to: &Answering<'a>,
    planned: &'a [Value],
    mut replies: Option<&mut Vec<Outbound<'a>>>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut notes = Vec::new();
    for action in planned {
        let kind = action["type"].as_str().unwrap_or_default();
        match kind {
            // Written when decided; one without a text was left out (see the run's reason).
            "reply" | "private_reply" if action["text"].is_null() => {}
            "reply" | "private_reply" if replies.is_some() => {
                let text = action["text"].as_str().unwrap_or_default();
                let automated = Automated {
                    rule,
                    run,
                    variant: action["variant"].as_i64().unwrap_or(0),
                };
                let private = kind == "private_reply";
                let message = reply_message(workspace, to, private, text, State::Queued, automated);
                if let Some(out) = replies.as_deref_mut() {
                    out.push(message);
                }
            }
            "reply" | "private_reply" => {}
            "label" | "remove_label" => {
                let label = action["label"].as_str().unwrap_or_default();
                if kind == "label" {
                    actions::add_label(tx, workspace, to.thread, label, now).await?;
                } else {
                    actions::remove_label(tx, workspace, to.thread, label).await?;
                }
            }
            "assign" => {
                let user = action["user_id"].as_i64();
                if let Err(e) = actions::assign(tx, workspace, to.thread, user, now).await {
                    match e {
                        crate::inbox::InboxError::Database(e) => return Err(e),
                        other => notes.push(format!("assign: {other}")),
                    }
                }
            }
            "close" => {
                actions::set_status(tx, workspace, &[to.thread], Status::Done, now).await?;
            }
            other if platform_can(other, to.platform) => match other.parse::<Deed>() {
                Ok(deed) => {
                    if !enqueue_moderation(tx, workspace, to.message, deed, now).await? {
                        notes.push(format!("{other}: the message has no platform id"));
                    }
                }
                Err(_) => notes.push(format!("{other}: not something a platform does")),
            },
            // Said when decided.
            _ => {}
        }
    }
    Ok(notes)
}
