//! `unibox demo`: the whole product alive on a laptop. The real server on its own SQLite file
//! (`unibox-demo.db`), the platform simulator in-process on loopback with the connectors
//! pointed at it, three connected channels with a month of history, example rules, and a
//! simulated audience that keeps commenting, messaging and watching. Nothing leaves the
//! machine.

mod corpus;
mod history;
mod live;
mod seed;

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, Secret};
use crate::engagement::compare::Rng;
use crate::simulate::World;
use crate::state::AppState;
use crate::storage::{self, Sql};
use chrono::{DateTime, Duration, Utc};

/// The demo's database, in the working directory.
pub const DATABASE: &str = "unibox-demo.db";
const META_SECRET: &str = "demo-meta-app-secret";
const TIKTOK_SECRET: &str = "demo-tiktok-client-secret";

#[derive(Debug, clap::Args)]
pub struct DemoOptions {
    /// Start from an empty demo database (`unibox-demo.db`).
    #[arg(long)]
    pub reset: bool,
    /// Simulated minutes per real second for the live audience (60: an hour a minute).
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// The true effect of answering: a video whose comments get replies engages this much more
    /// (0.3 = 30 % more; 0 = replies change nothing). The engagement page estimates it.
    #[arg(long, default_value_t = 0.3)]
    pub reply_effect: f64,
    /// Seed of the simulated audience: the same seed gives the same history.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[command(flatten)]
    pub config: Config,
}

pub async fn run(options: DemoOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        options.speed > 0.0 && options.speed <= 100_000.0,
        "--speed must be above 0 and at most 100000"
    );
    anyhow::ensure!(
        (0.0..=10.0).contains(&options.reply_effect),
        "--reply-effect must be between 0 and 10"
    );
    if options.reset {
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{DATABASE}{suffix}");
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {path}"));
                }
                _ => {}
            }
        }
    }
    let world = Arc::new(World::default());
    let root = crate::simulate::spawn(world.clone()).await?;
    let mut config = options.config;
    config.storage.database_url = Secret::new(format!("sqlite://{DATABASE}"));
    config.platforms.meta_app_secret = Some(Secret::new(META_SECRET));
    config.platforms.tiktok_client_secret = Some(Secret::new(TIKTOK_SECRET));
    config.platforms.meta_graph_url = format!("{root}/meta/v21.0");
    config.platforms.tiktok_api_url = format!("{root}/tiktok/open_api/v1.3");
    config.platforms.youtube_api_url = format!("{root}/youtube/v3");
    config.polling.poll_comments_seconds = 5;
    config.polling.poll_stats_seconds = 15;
    config.polling.contact_names_seconds = 5;

    let db = storage::open(
        config.storage.database_url.expose(),
        config.storage.db_max_connections,
        config.storage.db_flush,
    )
    .await?;
    // The history is written once; a later start rebuilds the same history (same seed, same
    // dates) for the simulator without storing it again.
    let (first_published,): (Option<DateTime<Utc>>,) = db
        .fetch_optional(Sql::new("SELECT MIN(published_at) FROM videos"))
        .await?
        .unwrap_or((None,));
    let password = seed::account(&db).await?;
    let token = seed::token(&db).await?;

    let listener = crate::ops::server::bind(config.server.listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(db.clone(), config);
    let server = tokio::spawn(crate::serve(
        listener,
        state,
        crate::ops::shutdown::signal(),
    ));

    let api = seed::Api {
        base: base.clone(),
        token,
        http: reqwest::Client::new(),
    };
    seed::channels(&api, &world).await?;
    // Commenters (0..400) and those who write DMs (500..550), as their profiles name them.
    for n in (0..400).chain(500..550) {
        world.set_person(corpus::person(n));
    }
    seed::rules(&api).await?;
    let now = crate::clock::now();
    let began = first_published.map_or(now, |t| t + Duration::days(history::DAYS));
    let mut rng = Rng::new(options.seed);
    let videos = history::videos(&mut rng, began);
    let events = history::events(&mut rng, &videos, options.reply_effect, began, &world);
    // Live comments get ids no earlier run used.
    world.skip_ids_to(now.timestamp_millis().unsigned_abs());
    if first_published.is_none() {
        for batch in events.chunks(1000) {
            api.call(
                reqwest::Method::POST,
                "/api/v1/events",
                Some(serde_json::Value::from(batch.to_vec())),
            )
            .await
            .context("writing the demo's history")?;
        }
    }
    for v in &videos {
        world.set_video(v.as_world(now, options.reply_effect));
    }
    for c in &seed::CHANNELS {
        world.set_followers(c.id, c.followers);
    }
    println!("unibox demo is serving: open {base}");
    println!("  sign in as {} with the password {password}", seed::EMAIL);
    println!("  platform simulator: {root} (its writes: {root}/_sim/writes)");
    println!(
        "  audience: {} simulated minutes a second, reply effect {} (Ctrl-C stops)",
        options.speed, options.reply_effect
    );
    let audience = live::Audience {
        world,
        base,
        meta_secret: META_SECRET.into(),
        tiktok_secret: TIKTOK_SECRET.into(),
        videos,
        speed: options.speed,
        effect: options.reply_effect,
        rng,
    };
    let crowd = tokio::spawn(audience.run());
    let served = server.await;
    crowd.abort();
    db.close().await;
    served.context("the server task")??;
    Ok(())
}
