//! Every outbound message that is to reach a platform (not a custom channel's: those are read
//! through the API) gets its row in the outbox in the transaction that queues it, so a reply can neither be stored without being sent nor sent
//! without being stored. Moderation (like, hide, delete) is queued the same way, on the
//! message it acts on.
//!
//! A reply that can go at once may be leased right there to this instance's dispatcher
//! ([`SendNow`]): its row is written `sending`, as a claim would leave it, and handed over
//! once the transaction commits ([`Leased`]), so it waits for no claim. Should the instance
//! die first, the lease runs out and the row is looked up on the platform like any other.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::OwnedSemaphorePermit;

use crate::domain::{Deed, Kind, Platform};
use crate::ids::{MessageId, OutboxId, WorkspaceId};
use crate::storage::{Sql, Tx, sized_chunks};

/// Whether a channel's replies can be sent (joined as `c` with its health as `h`): not a
/// custom channel (read through the API), connected with an access token, and no token the
/// platform refused.
pub const CAN_SEND: &str = "h.token_problem IS NULL AND c.platform <> 'custom' \
     AND c.credentials LIKE '%\"access_token\"%'";

/// A channel as its replies are sent: whether they can be, and what a call needs. (No
/// `Debug`: it holds the channel's credentials.)
#[derive(Clone, sqlx::FromRow)]
pub struct Sender {
    pub id: i64,
    pub platform: Platform,
    pub account: String,
    pub own_author_id: Option<String>,
    pub credentials: String,
    pub sendable: bool,
}

/// Reads channels as [`Sender`]s; the caller adds the list of ids (and, on PostgreSQL, may
/// lock them).
pub fn senders() -> Sql {
    senders_with("", "")
}

/// [`senders`], with more `columns` (each after a comma) from the tables `joined`.
pub fn senders_with(columns: &str, joined: &str) -> Sql {
    let mut sql = Sql::new(
        "SELECT c.id, c.platform, c.platform_id AS account, c.own_author_id, c.credentials, (",
    );
    sql.push(CAN_SEND).push(") AS sendable").push(columns);
    sql.push(" FROM channels c")
        .push(joined)
        .push(" LEFT JOIN channel_health h ON h.channel_id = c.id WHERE c.id IN ");
    sql
}

/// Replies to lease to this instance's dispatcher as they are queued: the channels they go
/// to, the lease's end, and a slot of the dispatcher's for each (none: the reply is queued
/// for a claim, as any other).
pub struct SendNow<'a> {
    pub senders: &'a HashMap<i64, Sender>,
    pub until: DateTime<Utc>,
    pub reserve: &'a (dyn Fn(&Sender, Deed) -> Option<OwnedSemaphorePermit> + Sync),
}

impl SendNow<'_> {
    /// A slot for a reply of kind `deed` on `channel`, when its channel can send now.
    pub fn slot(&self, channel: i64, deed: Deed) -> Option<(Sender, OwnedSemaphorePermit)> {
        let sender = self.senders.get(&channel).filter(|s| s.sendable)?;
        Some((sender.clone(), (self.reserve)(sender, deed)?))
    }
}

/// What takes replies leased as they are queued (the outbox's courier): a call slot for each
/// while the transaction runs, and the rows once it committed. Deciding and ingest know only
/// this, so they never import the outbox.
pub trait Handover: Send + Sync {
    /// How long a leased row is this instance's.
    fn lease(&self) -> std::time::Duration;
    /// A call slot for a reply of kind `deed` through `sender`, unless its calls are held
    /// back or every slot is taken.
    fn reserve(&self, sender: &Sender, deed: Deed) -> Option<OwnedSemaphorePermit>;
    /// Takes rows leased in a transaction that has committed.
    fn hand(&self, leased: Vec<Leased>);
}

/// A row leased as it was queued, for the dispatcher once the transaction committed. Its
/// slot is freed when it is dropped (with the transaction, if that fails).
pub struct Leased {
    pub id: OutboxId,
    pub workspace_id: WorkspaceId,
    pub message_id: i64,
    pub action: Deed,
    pub target: String,
    pub video: Option<String>,
    pub text: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub lease_until: DateTime<Utc>,
    pub sender: Sender,
    pub slot: OwnedSemaphorePermit,
}

/// How long after a person's last message a DM may still be sent (Meta's messaging window).
pub const DM_WINDOW: Duration = Duration::hours(24);
/// How long after a comment it may get a private reply.
pub const PRIVATE_REPLY_WINDOW: Duration = Duration::days(7);

#[derive(sqlx::FromRow)]
struct Queued {
    id: i64,
    workspace_id: WorkspaceId,
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

/// The outbox row of a reply, private reply or DM, up to its values.
pub(super) const INSERT_REPLY: &str = "INSERT INTO outbox (workspace_id, channel_id, message_id, \
     thread_id, action, target, video, text, state, in_doubt, attempts, lease_until, \
     next_attempt_at, expires_at, created_at, updated_at)";

impl Queued {
    /// What the platform is asked to do, on what, and until when it may (on PostgreSQL, a
    /// reply recorded in one statement has it said in SQL: `outbound_in_one.rs`).
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
    enqueue_leasing(tx, ids, HashMap::new(), None, now)
        .await
        .map(|_| ())
}

/// [`enqueue_replies`], with the messages in `leases` (stored `sending`) leased until
/// `until` with the slot and channel given: their rows are returned, to hand over.
pub async fn enqueue_leasing(
    tx: &mut Tx,
    ids: &[MessageId],
    mut leases: HashMap<MessageId, (Sender, OwnedSemaphorePermit)>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<Leased>, sqlx::Error> {
    let mut leased = Vec::new();
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
        let leasing: std::collections::HashSet<i64> = rows
            .iter()
            .filter(|q| leases.contains_key(&MessageId(q.id)))
            .map(|q| q.id)
            .collect();
        let lease = |q: &Queued| until.filter(|_| leasing.contains(&q.id));
        let mut insert = Sql::new(INSERT_REPLY);
        insert.push(" VALUES ");
        insert.bind_rows(&rows, |r, q| {
            let (deed, target, expires) = q.deed();
            r.bind(q.workspace_id)
                .bind(q.channel_id)
                .bind(q.id)
                .bind(q.thread_id)
                .bind(deed)
                .bind(target)
                .bind(q.video.clone())
                .bind(q.text.clone());
            // Leased as a claim leaves a row: in doubt from here until the platform answers.
            let until = lease(q);
            r.bind(if until.is_some() { "sending" } else { "queued" })
                .bind(until.is_some())
                .bind(i64::from(until.is_some()))
                .bind(until);
            r.bind(now).bind(expires).bind(now).bind(now);
        });
        insert.push(" ON CONFLICT (message_id, action) DO NOTHING RETURNING id, message_id");
        let made: HashMap<i64, OutboxId> = tx
            .fetch_all::<(OutboxId, i64)>(insert)
            .await?
            .into_iter()
            .map(|(id, message)| (message, id))
            .collect();
        for q in &rows {
            let (Some(until), Some(&id)) = (lease(q), made.get(&q.id)) else {
                continue;
            };
            let Some((sender, slot)) = leases.remove(&MessageId(q.id)) else {
                continue;
            };
            let (action, target, expires_at) = q.deed();
            leased.push(Leased {
                id,
                workspace_id: q.workspace_id,
                message_id: q.id,
                action,
                target,
                video: q.video.clone(),
                text: Some(q.text.clone()),
                expires_at,
                lease_until: until,
                sender,
                slot,
            });
        }
    }
    Ok(leased)
}

/// Queues `deed` (like, hide, unhide or delete) on the platform's copy of message `message`.
/// Returns false when the message has no platform id to act on.
pub async fn enqueue_moderation(
    tx: &mut Tx,
    workspace: WorkspaceId,
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
