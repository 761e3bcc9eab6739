//! Every outbound message that is to reach a platform (not a custom channel's: those are read
//! through the API) gets its row in the outbox in the transaction that queues it, so a reply can neither be stored without being sent nor sent
//! without being stored. Moderation (like, hide, delete) is queued the same way, on the
//! message it acts on.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Deed, Kind};
use crate::ids::MessageId;
use crate::storage::{Sql, Tx, sized_chunks};

/// How long after a person's last message a DM may still be sent (Meta's messaging window).
pub const DM_WINDOW: Duration = Duration::hours(24);
/// How long after a comment it may get a private reply.
pub const PRIVATE_REPLY_WINDOW: Duration = Duration::days(7);

#[derive(sqlx::FromRow)]
struct Queued {
    id: i64,
    workspace_id: i64,
    channel_id: i64,
    thread_id: i64,
    kind: Kind,
    thread_kind: Kind,
    parent_external_id: Option<String>,
    contact: Option<String>,
    thread_key: String,
    video: Option<String>,
    text: String,
    last_inbound_at: Option<DateTime<Utc>>,
    parent_created_at: Option<DateTime<Utc>>,
}

impl Queued {
    /// What the platform is asked to do, on what, and until when it may.
    fn deed(&self) -> (Deed, String, Option<DateTime<Utc>>) {
        let parent = self.parent_external_id.clone().unwrap_or_default();
        match (self.kind, self.thread_kind) {
            (Kind::Comment, _) => (Deed::Reply, parent, None),
            (Kind::Dm, Kind::Comment) => (
                Deed::PrivateReply,
                parent,
                self.parent_created_at.map(|t| t + PRIVATE_REPLY_WINDOW),
            ),
            (Kind::Dm, Kind::Dm) => (
                Deed::Dm,
                self.contact
                    .clone()
                    .unwrap_or_else(|| self.thread_key.clone()),
                self.last_inbound_at.map(|t| t + DM_WINDOW),
            ),
        }
    }
}

/// Queues the delivery of the outbound messages `ids` (replies, private replies and DMs).
pub async fn enqueue_replies(
    tx: &mut Tx,
    ids: &[MessageId],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in sized_chunks(ids) {
        let mut sql = Sql::new(
            "SELECT m.id, m.workspace_id, m.channel_id, m.thread_id, m.kind, t.kind AS thread_kind, \
             m.parent_external_id, c.external_id AS contact, t.thread_key, v.external_id AS video, \
             m.text, t.last_inbound_at, p.created_at AS parent_created_at \
             FROM messages m JOIN threads t ON t.id = m.thread_id \
             LEFT JOIN contacts c ON c.id = t.contact_id LEFT JOIN videos v ON v.id = t.video_id \
             LEFT JOIN messages p ON p.channel_id = m.channel_id AND p.external_id = m.parent_external_id \
             JOIN channels ch ON ch.id = m.channel_id \
             WHERE ch.platform <> 'custom' AND m.id IN ",
        );
        sql.bind_list(chunk.iter().copied());
        let rows: Vec<Queued> = tx.fetch_all(sql).await?;
        if rows.is_empty() {
            continue;
        }
        let mut insert = Sql::new(
            "INSERT INTO outbox (workspace_id, channel_id, message_id, thread_id, action, target, \
             video, text, state, next_attempt_at, expires_at, created_at, updated_at) VALUES ",
        );
        insert.bind_rows(&rows, |r, q| {
            let (deed, target, expires) = q.deed();
            r.bind(q.workspace_id)
                .bind(q.channel_id)
                .bind(q.id)
                .bind(q.thread_id)
                .bind(deed)
                .bind(target)
                .bind(q.video.clone())
                .bind(q.text.clone())
                .raw("'queued'")
                .bind(now)
                .bind(expires)
                .bind(now)
                .bind(now);
        });
        insert.push(" ON CONFLICT (message_id, action) DO NOTHING");
        tx.execute(insert).await?;
    }
    Ok(())
}

/// Queues `deed` (like, hide, unhide or delete) on the platform's copy of message `message`.
/// Returns false when the message has no platform id to act on.
pub async fn enqueue_moderation(
    tx: &mut Tx,
    workspace: i64,
    message: MessageId,
    deed: Deed,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO outbox (workspace_id, channel_id, message_id, thread_id, action, target, \
         video, state, next_attempt_at, created_at, updated_at) \
         SELECT m.workspace_id, m.channel_id, m.id, m.thread_id, ",
    );
    sql.bind(deed)
        .push(", m.external_id, v.external_id, 'queued', ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(
            " FROM messages m LEFT JOIN videos v ON v.id = m.video_id \
             JOIN channels ch ON ch.id = m.channel_id \
             WHERE ch.platform <> 'custom' AND m.external_id IS NOT NULL AND m.workspace_id = ",
        )
        .bind(workspace)
        .push(" AND m.id = ")
        .bind(message)
        .push(" ON CONFLICT (message_id, action) DO NOTHING");
    Ok(tx.execute(sql).await? > 0)
}
