//! A workspace receives only the accounts it proved it owns: saved credentials are shown to
//! the platform (the simulator, in its formats), which says whose the token is; a claim with
//! a token of another account, or a made-up one, is a 422 and saves nothing; webhooks and
//! polls go to verified channels only (answered 200 to the platform, stored nowhere, when
//! none is); two workspaces that both prove an account both receive it, and one that cannot
//! store a webhook's comment keeps no other from storing it.

use std::time::Duration;

use crate::common::*;
use crate::outbox::{Sim, connect};
use crate::polling::{comment, poller, video};
use crate::tiktok::{deliver, notice, seed, tiktok};
use crate::webhooks::{IG, comments, meta_at, post, signed};
use serde_json::{Value, json};
use unibox::polling::poll_comments;
use unibox::simulate::Faults;
use unibox::storage::Sql;

const IG_TOKEN: &str = "ig-token-of-workspace-a-0001";
const B_IG: &str = "17841400000000999";
const YT: &str = "UCownershipchannel000001";

/// Meta's and TikTok's webhook settings, with the platforms' APIs at `sim`.
fn platforms(sim: &Sim) -> impl FnOnce(&mut unibox::Config) + use<> {
    let meta = meta_at(sim);
    let tiktok = tiktok(sim);
    move |c| {
        meta(c);
        tiktok(c);
    }
}

/// An admin of `workspace` posts `body` to `/api/v1/channels` (or `PATCH`es channel `id`).
async fn claim(s: &TestServer, workspace: i64, id: Option<i64>, body: Value) -> (u16, Value) {
    let admin = s.api_client(&s.token_for(workspace, Scope::Admin).await);
    let r = match id {
        None => admin.post(s.url("/api/v1/channels")),
        Some(id) => admin.patch(s.url(&format!("/api/v1/channels/{id}"))),
    };
    let r = r.json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn channel(platform: &str, id: &str, token: &str) -> Value {
    json!({"platform": platform, "handle": format!("claimed.{platform}"), "platform_id": id,
           "credentials": {"access_token": token}})
}

/// `GET {path}` as an admin of `workspace` (channels carry credentials: admins only).
async fn admin_get(s: &TestServer, workspace: i64, path: &str) -> Value {
    let admin = s.api_client(&s.token_for(workspace, Scope::Admin).await);
    let r = admin.get(s.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn messages_of(s: &TestServer, workspace: i64) -> i64 {
    s.count(&format!("messages WHERE workspace_id = {workspace}"))
        .await
}

/// A minute passes for the pending channels: the verification worker asks about them again.
async fn verify_pending_now(s: &TestServer, sim: &Sim) -> usize {
    let mut back = Sql::new("UPDATE channels SET verification_checked_at = ");
    back.bind(chrono::Utc::now() - chrono::Duration::minutes(2));
    let mut tx = s.db.begin().await.unwrap();
    tx.execute(back).await.unwrap();
    tx.commit().await.unwrap();
    let mut config = unibox::Config::for_database(&s.database_url);
    sim.config()(&mut config);
    let platforms =
        unibox::connectors::calls::Platforms::new(&config.platforms, Duration::from_secs(2));
    unibox::connectors::verification::verify_pending(&s.db, &platforms)
        .await
        .unwrap()
}

async fn claiming_an_account_takes_its_token(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    connect(
        s,
        sim,
        "tiktok",
        crate::tiktok::ACCOUNT,
        crate::tiktok::TOKEN,
    )
    .await;
    let b = s.add_workspace("b").await;

    // A made-up token: Meta does not know it. Nothing is saved.
    let (status, answer) = claim(s, b, None, channel("instagram", IG, "made-up-token-0000")).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["problems"][0]["field"], "credentials.access_token");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("refused by Instagram for account {IG}"))
            && error.contains("code 190"),
        "{error}"
    );
    assert!(
        !answer.to_string().contains("made-up-token"),
        "the token is never repeated: {answer}"
    );

    // B's own token, for B's own account, claimed for A's: Meta says whose it is.
    sim.world.register("ig-token-of-workspace-b-0001", B_IG);
    let (status, answer) = claim(
        s,
        b,
        None,
        channel("instagram", IG, "ig-token-of-workspace-b-0001"),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "belongs to Instagram account {B_IG}, not to the account claimed ({IG})"
        )),
        "{error}"
    );

    // TikTok answers `business/get` only to the account's own token.
    let (status, answer) = claim(
        s,
        b,
        None,
        channel("tiktok", crate::tiktok::ACCOUNT, "made-up-tiktok-token"),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("code 40001"),
        "{answer}"
    );
    assert_eq!(
        s.count(&format!("channels WHERE workspace_id = {b}")).await,
        0,
        "nothing was saved"
    );

    // B's own integration brings events of those accounts through its ingest API: channels
    // of B's own, which no platform proved, and so receive nothing from the platforms.
    let b_writer = s.api_client(&s.token_for(b, Scope::Write).await);
    let events = json!([
        FakeMessage::comment("b-own-1").on("instagram", IG).build(),
        FakeMessage::comment("b-own-2")
            .on("tiktok", crate::tiktok::ACCOUNT)
            .build()
    ]);
    let r = b_writer
        .post(s.url("/api/v1/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "the generic ingest API works as before");
    let before = (messages_of(s, 1).await, messages_of(s, b).await);

    // A's Instagram comment and TikTok comment go to A only.
    let body = comments(&["18000000000000301"]);
    let (status, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(
        (status, answer["created"].as_i64()),
        (200, Some(1)),
        "{answer}"
    );
    let big = "7385350567722409901";
    seed(sim, big, "6900000000000000001", "Nice", None);
    let body = notice(big, "insert");
    let (status, answer) = deliver(s, &body, crate::tiktok::signed(&body)).await;
    assert_eq!(
        (status, answer["created"].as_i64()),
        (200, Some(1)),
        "{answer}"
    );
    assert_eq!(
        (messages_of(s, 1).await, messages_of(s, b).await),
        (before.0 + 2, before.1)
    );
}

async fn an_unverified_channel_receives_nothing(s: &TestServer, sim: &Sim) {
    // The account's only channel: first seen through the ingest API, without a token.
    s.ingest(json!([FakeMessage::comment("setup-1")
        .on("instagram", IG)
        .build()]))
        .await;
    let list = admin_get(s, 1, "/api/v1/channels").await;
    assert_eq!(list["channels"][0]["verified"], false, "{list}");
    assert_eq!(
        list["channels"][0]["verification"]["state"], "unverified",
        "{list}"
    );

    // Its token saved while Meta could not be reached: kept, pending, receiving nothing.
    sim.world.register(IG_TOKEN, IG);
    sim.world.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let id = list["channels"][0]["id"].as_i64().unwrap();
    let (status, saved) = claim(
        s,
        1,
        Some(id),
        json!({"credentials": {"access_token": IG_TOKEN}}),
    )
    .await;
    sim.world.set_faults(Faults::default());
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        (
            saved["verified"].as_bool(),
            saved["verification"]["state"].as_str()
        ),
        (Some(false), Some("pending")),
        "{saved}"
    );
    assert!(
        saved["verification"]["problem"]
            .as_str()
            .unwrap()
            .contains("could not be asked yet"),
        "{saved}"
    );

    let before = s.count("messages").await;
    let body = comments(&["18000000000000401"]);
    let (status, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(
        status, 200,
        "acknowledged, so Meta does not deliver it again and again: {answer}"
    );
    assert_eq!(
        (answer["created"].as_i64(), answer["not_connected"].as_i64()),
        (Some(0), Some(1)),
        "{answer}"
    );
    assert_eq!(s.count("messages").await, before, "stored nowhere");
    assert_eq!(
        s.count("channel_health WHERE last_event_at IS NOT NULL")
            .await,
        0
    );
    let (_, page) = s.page("/channels").await;
    let cell = text_of(&select(&page, "tr.channel td.verification.pending")[0]);
    assert!(
        cell.contains("Not verified yet: receives nothing"),
        "{cell}"
    );

    // The worker asks again: Meta says the token is the account's; what comes next is stored.
    assert_eq!(verify_pending_now(s, sim).await, 1);
    let one = admin_get(s, 1, &format!("/api/v1/channels/{id}")).await;
    assert_eq!(one["verified"], true, "{one}");
    assert_eq!(one["verification"]["state"], "verified");
    assert_eq!(one["verification"]["account"], IG);
    assert_eq!(one["verification"]["via"], "meta /me");
    assert!(one["verification"]["verified_at"].is_string(), "{one}");
    let body = comments(&["18000000000000402"]);
    let (_, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(answer["created"], 1, "{answer}");
    let (_, page) = s.page("/channels").await;
    let cell = text_of(&select(&page, "tr.channel td.verification.verified")[0]);
    assert!(
        cell.contains(&format!("Verified: the token answers for {IG}"))
            && cell.contains("meta /me"),
        "{cell}"
    );

    // The channels page refuses a made-up token with the platform's words, saving nothing.
    let r = s
        .post_form(
            "/channels",
            &[
                ("platform", "instagram"),
                ("handle", "other.ig"),
                ("platform_id", B_IG),
                ("access_token", "made-up-token-0000"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = scraper::Html::parse_document(&r.text().await.unwrap());
    let problem = text_of(&select(&page, "ul.problems li")[0]);
    assert!(
        problem.contains("credentials.access_token") && problem.contains("code 190"),
        "{problem}"
    );
    assert_eq!(s.count("channels").await, 1);
}

async fn both_proved_both_receive(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    connect(
        s,
        sim,
        "tiktok",
        crate::tiktok::ACCOUNT,
        crate::tiktok::TOKEN,
    )
    .await;
    let b = s.add_workspace("b").await;
    // Another token of the same accounts (a second person the accounts let in).
    sim.world.register("ig-token-of-workspace-b-0001", IG);
    sim.world
        .register("tt-token-of-workspace-b-0001", crate::tiktok::ACCOUNT);
    for (platform, id, token) in [
        ("instagram", IG, "ig-token-of-workspace-b-0001"),
        (
            "tiktok",
            crate::tiktok::ACCOUNT,
            "tt-token-of-workspace-b-0001",
        ),
    ] {
        let (status, answer) = claim(s, b, None, channel(platform, id, token)).await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["verified"], true, "{answer}");
        assert_eq!(answer["verification"]["account"], id, "{answer}");
    }
    let body = comments(&["18000000000000501"]);
    let (_, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(answer["created"], 2, "{answer}");
    let big = "7385350567722409902";
    seed(sim, big, "6900000000000000001", "Nice", None);
    let body = notice(big, "insert");
    let (_, answer) = deliver(s, &body, crate::tiktok::signed(&body)).await;
    assert_eq!(answer["created"], 2, "{answer}");
    assert_eq!((messages_of(s, 1).await, messages_of(s, b).await), (2, 2));
}

/// Makes the database refuse every message of `workspace` (`on`), or take them again.
async fn refuse_messages_of(s: &TestServer, workspace: i64, on: bool) {
    let statements: Vec<String> = match (s.backend, on) {
        (Backend::Sqlite, true) => vec![format!(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON messages WHEN NEW.workspace_id = {workspace} \
             BEGIN SELECT RAISE(ABORT, 'this workspace refuses messages'); END"
        )],
        (Backend::Postgres, true) => vec![
            format!(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN \
                 IF NEW.workspace_id = {workspace} THEN RAISE EXCEPTION ''this workspace refuses messages''; \
                 END IF; RETURN NEW; END'"
            ),
            "CREATE TRIGGER refuse_one BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_one()".into(),
        ],
        (Backend::Sqlite, false) => vec!["DROP TRIGGER refuse_one".into()],
        (Backend::Postgres, false) => vec!["DROP TRIGGER refuse_one ON messages".into()],
    };
    for statement in statements {
        s.db.execute(Sql::new(&statement)).await.unwrap();
    }
}

/// Two workspaces proved a TikTok account and the first cannot store its messages: the second
/// still stores the webhook's comment, the platform is answered with an error so it delivers
/// again, and the redelivery stores it in the first, a duplicate in the second.
async fn one_refused_keeps_no_other_from_a_comment(s: &TestServer, sim: &Sim) {
    let (account, token) = (crate::tiktok::ACCOUNT, crate::tiktok::TOKEN);
    connect(s, sim, "tiktok", account, token).await;
    let b = s.add_workspace("b").await;
    sim.world.register("tt-token-of-workspace-b-0001", account);
    let (status, answer) = claim(
        s,
        b,
        None,
        channel("tiktok", account, "tt-token-of-workspace-b-0001"),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    refuse_messages_of(s, 1, true).await;
    let big = "7385350567722409903";
    seed(sim, big, "6900000000000000001", "Nice", None);
    let body = notice(big, "insert");
    let (status, answer) = deliver(s, &body, crate::tiktok::signed(&body)).await;
    assert!(
        status >= 500,
        "delivered again by TikTok: {status} {answer}"
    );
    assert_eq!((messages_of(s, 1).await, messages_of(s, b).await), (0, 1));
    refuse_messages_of(s, 1, false).await;
    let (status, answer) = deliver(s, &body, crate::tiktok::signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["created"].clone(), answer["duplicates"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!((messages_of(s, 1).await, messages_of(s, b).await), (1, 1));
}

async fn polls_skip_unverified_channels(s: &TestServer, sim: &Sim) {
    connect(s, sim, "youtube", YT, "yt-token-of-workspace-a-0001").await;
    video(sim, "youtube", "ytOwnVideo01", YT, 1_000);
    for i in 0..3 {
        comment(
            sim,
            "youtube",
            &format!("UgzOwn{i}"),
            "ytOwnVideo01",
            &format!("UCfan{i}"),
            None,
            100 - i,
        );
    }
    // B saves a made-up token for A's channel while YouTube cannot be reached: pending.
    let b = s.add_workspace("b").await;
    sim.world.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (status, saved) = claim(s, b, None, channel("youtube", YT, "made-up-youtube-token")).await;
    sim.world.set_faults(Faults::default());
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["verification"]["state"], "pending", "{saved}");

    let (p, stop) = poller(s, sim);
    poll_comments(&p).await;
    assert_eq!(
        (messages_of(s, 1).await, messages_of(s, b).await),
        (3, 0),
        "polled for A only"
    );

    // Asked again, YouTube refuses the token: refused, still polled for nobody but A.
    assert_eq!(verify_pending_now(s, sim).await, 0);
    let one = admin_get(s, b, "/api/v1/channels").await;
    let one = &one["channels"][0];
    assert_eq!(
        (
            one["verified"].as_bool(),
            one["verification"]["state"].as_str()
        ),
        (Some(false), Some("refused")),
        "{one}"
    );
    assert!(
        one["verification"]["problem"]
            .as_str()
            .unwrap()
            .contains("Invalid Credentials"),
        "{one}"
    );
    comment(
        sim,
        "youtube",
        "UgzOwnLate",
        "ytOwnVideo01",
        "UCfanlate",
        None,
        0,
    );
    poll_comments(&p).await;
    assert_eq!((messages_of(s, 1).await, messages_of(s, b).await), (4, 0));
    let _ = stop.send(true);
}

simulated_on_both_backends! {
    claiming_another_workspaces_account_needs_its_token(s, sim) with platforms(&sim) => claiming_an_account_takes_its_token(&s, &sim);
    a_webhook_for_an_unverified_channel_is_stored_nowhere(s, sim) with platforms(&sim) => an_unverified_channel_receives_nothing(&s, &sim);
    two_workspaces_that_prove_access_both_receive(s, sim) with platforms(&sim) => both_proved_both_receive(&s, &sim);
    a_workspace_refusing_a_tiktok_comment_keeps_no_other_from_it(s, sim) with platforms(&sim) => one_refused_keeps_no_other_from_a_comment(&s, &sim);
    polling_skips_unverified_channels(s, sim) with sim.config() => polls_skip_unverified_channels(&s, &sim);
}

/// Applies `backend`'s migrations before verification to `url`, stores two channels as they
/// were (one with a token, one first seen through ingest), then opens the database as unibox
/// does (the rest of the migrations); their verification states.
async fn upgraded(url: &str, backend: &str) -> Vec<(String, String)> {
    let mut before =
        sqlx::migrate::Migrator::new(std::path::Path::new(&format!("migrations/{backend}")))
            .await
            .unwrap();
    let older: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 15)
        .cloned()
        .collect();
    before.migrations = older.into();
    let rows = "INSERT INTO channels (workspace_id, platform, platform_id, handle, credentials, created_at) VALUES \
        (1, 'instagram', '17841400000000001', 'with.token', '{\"access_token\":\"old-token\"}', '2026-01-01T00:00:00Z'), \
        (1, 'instagram', '17841400000000002', 'seen.only', '{}', '2026-01-01T00:00:00Z')";
    if backend == "sqlite" {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
            .await
            .unwrap();
        before.run(&pool).await.unwrap();
        sqlx::query(rows).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        before.run(&pool).await.unwrap();
        sqlx::query(rows).execute(&pool).await.unwrap();
        pool.close().await;
    }
    let flush = unibox::Config::for_database(url).storage.db_flush;
    let db = unibox::storage::open(url, 2, flush).await.unwrap();
    let states = db
        .fetch_all(Sql::new(
            "SELECT handle, verification FROM channels ORDER BY handle",
        ))
        .await
        .unwrap();
    db.close().await;
    states
}

fn expected_after_upgrade() -> Vec<(String, String)> {
    vec![
        ("seen.only".into(), "unverified".into()),
        ("with.token".into(), "pending".into()),
    ]
}

#[tokio::test]
async fn upgraded_channels_with_a_token_start_pending_sqlite() {
    let dir = std::env::temp_dir().join(unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("unibox.db").display());
    assert_eq!(upgraded(&url, "sqlite").await, expected_after_upgrade());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn upgraded_channels_with_a_token_start_pending_postgres() {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        assert!(!postgres_required(), "PostgreSQL is required here");
        return;
    };
    let name = unique_name();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    assert_eq!(upgraded(&url, "postgres").await, expected_after_upgrade());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
