//! Recording calls that went through, many rows per statement: under load most outcomes are
//! "sent", and four statements per row (the lease check, the row, its message, the channel's
//! health) were most of what the dispatcher asked of the database.

use crate::ids::OutboxId;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::claim::Lease;
use crate::connectors::health;
use crate::storage::{Backend, Sql, Tx, sized_chunks, table_chunks};

/// A row whose call went through, with the id the platform gave what it made.
pub struct Sent<'a> {
    pub lease: &'a Lease,
    pub platform_id: Option<&'a str>,
}

/// Marks `sent`'s rows sent (and their messages, with the platform's id) where this instance
/// still holds them; says, per row, whether it did. A row whose lease ran out first belongs to
/// whoever took it over, and is left alone.
pub async fn record_sent(
    tx: &mut Tx,
    sent: &[Sent<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<bool>, sqlx::Error> {
    if tx.backend() == Backend::Postgres {
        let mut ours = BTreeSet::new();
        for chunk in table_chunks(Backend::Postgres, sent) {
            ours.extend(record_in_one(tx, chunk, now).await?);
        }
        return Ok(sent.iter().map(|s| ours.contains(&s.lease.id)).collect());
    }
    let leases: Vec<&Lease> = sent.iter().map(|s| s.lease).collect();
    let mut ours = BTreeSet::new();
    for chunk in sized_chunks(&leases) {
        ours.extend(still_ours(tx, chunk).await?);
    }
    let held: Vec<&Sent<'_>> = sent.iter().filter(|s| ours.contains(&s.lease.id)).collect();
    for chunk in sized_chunks(&held) {
        mark_rows(tx, chunk, now).await?;
        let made: Vec<&&Sent<'_>> = chunk
            .iter()
            .filter(|s| s.lease.action.makes_message())
            .collect();
        if !made.is_empty() {
            mark_messages(tx, &made, now).await?;
        }
    }
    let channels: BTreeSet<i64> = held.iter().map(|s| s.lease.channel_id).collect();
    for channel in channels {
        health::sent(tx, channel, now).await?;
    }
    Ok(sent.iter().map(|s| ours.contains(&s.lease.id)).collect())
}

/// [`record_sent`] on PostgreSQL, in one statement: the lease check (locking the rows still
/// ours), the rows, their messages and the channels' health. Under load the calls end one or
/// two at a time, and six round trips per handful of replies were a third of what the
/// database was asked; run outside a transaction, this one commits on its own.
async fn record_in_one(
    tx: &mut Tx,
    chunk: &[Sent<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<OutboxId>, sqlx::Error> {
    let mut sql =
        Sql::new("WITH k(id, lease_until, message_id, channel_id, reply_id, makes_message) AS (");
    sql.bind_table(Backend::Postgres, chunk, |r, s| {
        r.bind(s.lease.id)
            .bind(s.lease.lease_until)
            .bind(s.lease.message_id)
            .bind(s.lease.channel_id)
            .bind(s.platform_id)
            .bind(s.lease.action.makes_message());
    });
    sql.push(
        "), ours AS (SELECT o.id FROM outbox o JOIN k ON k.id = o.id \
         AND o.lease_until = k.lease_until WHERE o.state = 'sending' ORDER BY o.id FOR UPDATE OF o), \
         mine AS (SELECT k.* FROM k JOIN ours USING (id)), \
         rows AS (UPDATE outbox SET state = 'sent', in_doubt = FALSE, lease_until = NULL, \
         last_error = NULL, platform_reply_id = mine.reply_id, sent_at = ",
    )
    .bind(now)
    .push(", updated_at = ")
    .bind(now)
    .push(
        " FROM mine WHERE outbox.id = mine.id), \
         made AS (UPDATE messages SET state = 'sent', error = NULL, sent_at = ",
    )
    .bind(now)
    .push(
        ", external_id = CASE WHEN messages.external_id IS NULL AND mine.reply_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.channel_id = mine.channel_id \
         AND e.external_id = mine.reply_id) THEN mine.reply_id ELSE messages.external_id END \
         FROM mine WHERE mine.makes_message AND messages.id = mine.message_id), \
         health AS (INSERT INTO channel_health (channel_id, last_sent_at) \
         SELECT DISTINCT channel_id, ",
    )
    .bind(now)
    .push(
        " FROM mine ON CONFLICT (channel_id) DO UPDATE SET last_sent_at = excluded.last_sent_at) \
         SELECT id FROM ours",
    );
    ids(tx, sql).await
}

/// The ids among `leases` whose rows are still `sending` under the lease this instance took
/// (locked until the commit on PostgreSQL): a call outliving its lease is not recorded over
/// whoever took the row over.
pub(super) async fn still_ours(
    tx: &mut Tx,
    leases: &[&Lease],
) -> Result<Vec<OutboxId>, sqlx::Error> {
    let mut sql = Sql::new("SELECT id FROM outbox WHERE state = 'sending' AND (");
    for (i, lease) in leases.iter().enumerate() {
        sql.push(if i == 0 { "(id = " } else { " OR (id = " })
            .bind(lease.id)
            .push(" AND lease_until = ")
            .bind(lease.lease_until)
            .push(")");
    }
    sql.push(")");
    if tx.backend() == Backend::Postgres {
        sql.push(" ORDER BY id FOR UPDATE");
    }
    ids(tx, sql).await
}

async fn mark_rows(
    tx: &mut Tx,
    chunk: &[&Sent<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("WITH k(id, reply_id) AS (VALUES ");
    sql.bind_rows(chunk, |r, s| {
        r.bind(s.lease.id).bind(s.platform_id);
    });
    sql.push(
        ") UPDATE outbox SET state = 'sent', in_doubt = FALSE, lease_until = NULL, \
         last_error = NULL, platform_reply_id = k.reply_id, sent_at = ",
    )
    .bind(now)
    .push(", updated_at = ")
    .bind(now)
    .push(" FROM k WHERE outbox.id = k.id");
    tx.execute(sql).await.map(|_| ())
}

/// The messages the rows delivered: sent, under the platform's id unless an echo of the very
/// reply was stored under it already (the echo keeps it).
async fn mark_messages(
    tx: &mut Tx,
    made: &[&&Sent<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("WITH k(id, channel_id, reply_id) AS (VALUES ");
    sql.bind_rows(made, |r, s| {
        r.bind(s.lease.message_id)
            .bind(s.lease.channel_id)
            .bind(s.platform_id);
    });
    sql.push(") UPDATE messages SET state = 'sent', error = NULL, sent_at = ")
        .bind(now)
        .push(
            ", external_id = CASE WHEN messages.external_id IS NULL AND k.reply_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.channel_id = k.channel_id \
             AND e.external_id = k.reply_id) THEN k.reply_id ELSE messages.external_id END \
             FROM k WHERE messages.id = k.id",
        );
    tx.execute(sql).await.map(|_| ())
}

async fn ids(tx: &mut Tx, sql: Sql) -> Result<Vec<OutboxId>, sqlx::Error> {
    Ok(tx
        .fetch_all::<(OutboxId,)>(sql)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect())
}
