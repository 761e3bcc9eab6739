//! Leasing due rows: a short transaction marks them `sending` with a lease and commits, so
//! no database lock is held while the platform is called. On PostgreSQL `SKIP LOCKED` lets
//! several instances share the rows; SQLite has one writer, which serialises the claims.
//! A row still `sending` when its lease ran out belonged to an instance that died mid-call.

use chrono::{DateTime, Utc};

use crate::conversations::delivery::CAN_SEND;
use crate::domain::{Deed, Platform};
use crate::ids::{OutboxId, WorkspaceId};
use crate::storage::{Backend, Db, Sql};

/// A row this instance is sending, with what the call needs. (No `Debug`: it holds the
/// channel's credentials.)
#[derive(Clone, sqlx::FromRow)]
pub struct Lease {
    pub id: OutboxId,
    pub workspace_id: WorkspaceId,
    pub channel_id: i64,
    pub message_id: i64,
    pub action: Deed,
    pub target: String,
    pub video: Option<String>,
    pub text: Option<String>,
    /// Attempts with this one.
    pub attempts: i64,
    /// Whether an earlier attempt may have taken effect: reconcile before sending again.
    pub in_doubt: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the row was queued: nothing made on the platform before it is this row's doing.
    pub queued_at: DateTime<Utc>,
    pub platform: Platform,
    pub account: String,
    pub own_author_id: Option<String>,
    pub credentials: String,
    /// Until when this instance holds the row: its outcome is recorded only while it does.
    pub lease_until: Option<DateTime<Utc>>,
}

/// A pair the caller must not claim for now: a channel (`deed` None: all of it) whose
/// breaker is open, or whose budget for one kind of call is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Held {
    pub channel: i64,
    pub deed: Option<Deed>,
}

const COLUMNS: &str = "SELECT o.id, o.workspace_id, o.channel_id, o.message_id, o.action, o.target, \
     o.video, o.text, o.attempts, o.in_doubt, o.expires_at, o.created_at AS queued_at, c.platform, \
     c.platform_id AS account, c.own_author_id, c.credentials, o.lease_until ";

/// The rows a dispatcher may send, whatever their state: not those of channels not connected
/// yet (no access token), nor of channels whose token the platform refused (they wait for
/// credentials), nor of custom channels (no platform to send to). Every query that looks for
/// work uses it, so a row that cannot be sent never looks due.
fn sendable(sql: &mut Sql) -> &mut Sql {
    sql.push(
        "FROM outbox o JOIN channels c ON c.id = o.channel_id \
         LEFT JOIN channel_health h ON h.channel_id = o.channel_id WHERE ",
    )
    .push(CAN_SEND)
    .push(" AND ")
}

/// Leases up to `limit` sendable rows due by `now` until `until`, leaving out `held`.
pub async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
    held: &[Held],
) -> Result<Vec<Lease>, sqlx::Error> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    if db.backend() == Backend::Postgres {
        return claim_in_one(db, now, until, limit, held).await;
    }
    if !anything_due(db, now).await? {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let mut rows = Vec::new();
    // Abandoned leases first (rare, by their own index), then due rows by their time.
    for abandoned in [true, false] {
        let mut sql = Sql::new(COLUMNS);
        sendable(&mut sql);
        pick(&mut sql, abandoned, now, held, limit - rows.len());
        let found: Vec<Lease> = tx.fetch_all(sql).await?;
        rows.extend(found);
        if rows.len() >= limit {
            break;
        }
    }
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(rows);
    }
    let mut mark = Sql::new(
        "UPDATE outbox SET state = 'sending', in_doubt = TRUE, attempts = attempts + 1, lease_until = ",
    );
    mark.bind(until)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id IN ");
    mark.bind_list(rows.iter().map(|r| r.id));
    tx.execute(mark).await?;
    let made: Vec<i64> = rows
        .iter()
        .filter(|r| r.action.makes_message())
        .map(|r| r.message_id)
        .collect();
    if !made.is_empty() {
        let mut messages = Sql::new(
            "UPDATE messages SET state = 'sending' WHERE state IN ('queued', 'failed') AND id IN ",
        );
        messages.bind_list(made);
        tx.execute(messages).await?;
    }
    tx.commit().await?;
    for row in &mut rows {
        row.attempts += 1;
        row.lease_until = Some(until);
    }
    Ok(rows)
}

/// The conditions, order and limit that pick abandoned leases (`abandoned`) or due rows.
fn pick(sql: &mut Sql, abandoned: bool, now: DateTime<Utc>, held: &[Held], limit: usize) {
    if abandoned {
        sql.push("o.state = 'sending' AND o.lease_until <= ")
            .bind(now);
    } else {
        sql.push("o.state IN ('queued', 'failed') AND o.next_attempt_at <= ")
            .bind(now);
    }
    for h in held {
        sql.push(" AND NOT (o.channel_id = ").bind(h.channel);
        if let Some(deed) = h.deed {
            sql.push(" AND o.action = ").bind(deed);
        }
        sql.push(")");
    }
    sql.push(if abandoned {
        " ORDER BY o.lease_until LIMIT "
    } else {
        " ORDER BY o.next_attempt_at, o.id LIMIT "
    });
    sql.bind(limit as i64);
}

/// The claim on PostgreSQL: picking (`SKIP LOCKED`, so instances share the rows), leasing and
/// marking the messages `sending` in one statement, which commits on its own. A reply that
/// waits on the claim waits one round trip, not seven; an idle dispatcher's look costs one too.
async fn claim_in_one(
    db: &Db,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
    held: &[Held],
) -> Result<Vec<Lease>, sqlx::Error> {
    let mut sql = Sql::new("WITH ");
    for (name, abandoned) in [("abandoned", true), ("due", false)] {
        sql.push(name)
            .push(" AS (SELECT o.id, o.in_doubt AS was_in_doubt ");
        sendable(&mut sql);
        pick(&mut sql, abandoned, now, held, limit);
        sql.push(" FOR UPDATE OF o SKIP LOCKED), ");
    }
    sql.push(
        "picked AS ((SELECT * FROM abandoned) UNION ALL (SELECT * FROM due) LIMIT ",
    )
    .bind(limit as i64)
    .push(
        "), marked AS (UPDATE outbox o SET state = 'sending', in_doubt = TRUE, \
         attempts = o.attempts + 1, lease_until = ",
    )
    .bind(until)
    .push(", updated_at = ")
    .bind(now)
    .push(
        " FROM picked p WHERE o.id = p.id RETURNING o.*), \
         made AS (UPDATE messages SET state = 'sending' WHERE state IN ('queued', 'failed') \
         AND id IN (SELECT message_id FROM marked WHERE action IN ",
    )
    .bind_list(Deed::ALL.iter().copied().filter(|d| d.makes_message()))
    .push(
        ")) SELECT o.id, o.workspace_id, o.channel_id, o.message_id, o.action, o.target, o.video, \
         o.text, o.attempts, p.was_in_doubt AS in_doubt, o.expires_at, o.created_at AS queued_at, c.platform, \
         c.platform_id AS account, c.own_author_id, c.credentials, o.lease_until \
         FROM marked o JOIN picked p ON p.id = o.id JOIN channels c ON c.id = o.channel_id \
         ORDER BY o.id",
    );
    db.fetch_all(sql).await
}

/// Asked on the read side first: an idle server does not take the writer for nothing.
async fn anything_due(db: &Db, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT 1 ");
    sendable(&mut sql)
        .push("o.state IN ('queued', 'failed') AND o.next_attempt_at <= ")
        .bind(now)
        .push(" UNION ALL SELECT 1 ");
    sendable(&mut sql)
        .push("o.state = 'sending' AND o.lease_until <= ")
        .bind(now)
        .push(" LIMIT 1");
    Ok(db.fetch_optional::<(i32,)>(sql).await?.is_some())
}

/// When the next row falls due, if any waits (for the dispatcher's sleep).
pub async fn next_due(db: &Db) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let mut sql = Sql::new("SELECT MIN(o.next_attempt_at) ");
    sendable(&mut sql).push("o.state IN ('queued', 'failed')");
    Ok(db
        .fetch_optional::<(Option<DateTime<Utc>>,)>(sql)
        .await?
        .and_then(|(t,)| t))
}
