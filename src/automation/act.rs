//! Doing what a run says for the message it answers: its replies as outbound messages, and
//! its labels, assignment, closing and moderation. Deciding does it for a rule without delay,
//! the due worker for the others, an approval for a suggestion.

use chrono::{DateTime, Utc};

use super::runs::Planned;
use crate::conversations::{Automated, Outbound, enqueue_moderation};
use crate::domain::{Kind, Platform, Source, State, Status};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
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
    workspace: WorkspaceId,
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
    workspace: WorkspaceId,
    rule: i64,
    run: i64,
    to: &Answering<'a>,
    planned: &'a [Planned],
    mut replies: Option<&mut Vec<Outbound<'a>>>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut notes = Vec::new();
    for action in planned {
        match action {
            // Written when decided (`None`: they exist already); one without a text was left
            // out (see the run's reason).
            Planned::Reply(reply) | Planned::PrivateReply(reply) => {
                let (Some(text), Some(out)) = (&reply.text, replies.as_deref_mut()) else {
                    continue;
                };
                let automated = Automated {
                    rule,
                    run,
                    variant: reply.variant.unwrap_or(0),
                };
                let private = matches!(action, Planned::PrivateReply(_));
                out.push(reply_message(
                    workspace,
                    to,
                    private,
                    text,
                    State::Queued,
                    automated,
                ));
            }
            Planned::Label { label } => {
                actions::add_label(tx, workspace, to.thread, label, now).await?;
            }
            Planned::RemoveLabel { label } => {
                actions::remove_label(tx, workspace, to.thread, label).await?;
            }
            Planned::Assign { user_id } => {
                let user = Some(*user_id);
                if let Err(e) = actions::assign(tx, workspace, to.thread, user, now).await {
                    match e {
                        crate::inbox::InboxError::Database(e) => return Err(e),
                        other => notes.push(format!("assign: {other}")),
                    }
                }
            }
            Planned::Close => {
                actions::set_status(tx, workspace, &[to.thread], Status::Done, now).await?;
            }
            Planned::Like | Planned::Hide | Planned::Delete => {
                let Some(deed) = action.moderation() else {
                    continue;
                };
                // What the platform cannot do was said when decided.
                if platform_can(deed, to.platform)
                    && !enqueue_moderation(tx, workspace, to.message, deed, now).await?
                {
                    notes.push(format!("{deed}: the message has no platform id"));
                }
            }
        }
    }
    Ok(notes)
}
