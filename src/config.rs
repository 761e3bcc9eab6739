//! Configuration: defaults, then environment variables, then command-line flags (clap reads
//! both; a flag wins over its variable).

use std::fmt;
use std::net::SocketAddr;

use clap::Args;

use crate::storage::Flush;

/// A value that must never reach a log line: `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Every setting, by the part of unibox it concerns. Each is one flag and one environment
/// variable; the sections only group them in code.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub server: ServerConfig,
    #[command(flatten)]
    pub storage: StorageConfig,
    #[command(flatten)]
    pub auth: AuthConfig,
    #[command(flatten)]
    pub ingest: IngestConfig,
    #[command(flatten)]
    pub platforms: PlatformConfig,
    #[command(flatten)]
    pub outbox: OutboxConfig,
    #[command(flatten)]
    pub polling: PollingConfig,
}

/// The platforms' app credentials: one app serves every connected account.
#[derive(Debug, Clone, Args)]
pub struct PlatformConfig {
    /// The Meta app's secret: webhooks from Instagram and Facebook are signed with it
    /// (`X-Hub-Signature-256`). Without it, Meta webhooks are refused.
    #[arg(long, env = "UNIBOX_META_APP_SECRET", hide_env_values = true)]
    pub meta_app_secret: Option<Secret>,
    /// The token typed into Meta's webhook settings, checked in its verification handshake.
    #[arg(long, env = "UNIBOX_META_VERIFY_TOKEN", hide_env_values = true)]
    pub meta_verify_token: Option<Secret>,
    /// The TikTok app's client secret: `comment.update` webhooks are signed with it
    /// (`TikTok-Signature`). Without it, TikTok webhooks are refused.
    #[arg(long, env = "UNIBOX_TIKTOK_CLIENT_SECRET", hide_env_values = true)]
    pub tiktok_client_secret: Option<Secret>,
    /// Meta's Graph API (Instagram and Facebook), with its version.
    #[arg(
        long,
        env = "UNIBOX_META_GRAPH_URL",
        default_value = "https://graph.facebook.com/v21.0"
    )]
    pub meta_graph_url: String,
    /// TikTok's API for Business.
    #[arg(
        long,
        env = "UNIBOX_TIKTOK_API_URL",
        default_value = "https://business-api.tiktok.com/open_api/v1.3"
    )]
    pub tiktok_api_url: String,
    /// YouTube's Data API.
    #[arg(
        long,
        env = "UNIBOX_YOUTUBE_API_URL",
        default_value = "https://www.googleapis.com/youtube/v3"
    )]
    pub youtube_api_url: String,
}

/// Polling the platforms for what webhooks do not bring.
#[derive(Debug, Clone, Args)]
pub struct PollingConfig {
    /// Seconds between comment polls (YouTube's comment threads, TikTok's recent videos);
    /// 0 turns comment polling off.
    #[arg(long, env = "UNIBOX_POLL_COMMENTS_SECONDS", default_value_t = 300)]
    pub poll_comments_seconds: u64,
    /// Seconds between statistics polls (video figures, follower counts); 0 turns them off.
    #[arg(long, env = "UNIBOX_POLL_STATS_SECONDS", default_value_t = 3600)]
    pub poll_stats_seconds: u64,
    /// Seconds between asks of the platforms about channels whose token is not verified yet
    /// (saved while the platform could not be reached, or from before verification); 0: never.
    #[arg(long, env = "UNIBOX_VERIFY_CHANNELS_SECONDS", default_value_t = 60)]
    pub verify_channels_seconds: u64,
    /// Seconds between asks of Instagram's and Messenger's profile APIs for the names of DM
    /// senders known only by id; 0: never (they show as "Instagram user …1234").
    #[arg(long, env = "UNIBOX_CONTACT_NAMES_SECONDS", default_value_t = 15)]
    pub contact_names_seconds: u64,
}

/// Sending to the platforms: the outbox and its dispatcher.
#[derive(Debug, Clone, Args)]
pub struct OutboxConfig {
    /// Milliseconds a platform call may take before its outcome counts as unknown (the row is
    /// then reconciled against the platform before any retry).
    #[arg(long, env = "UNIBOX_PLATFORM_TIMEOUT_MS", default_value_t = 10_000)]
    pub platform_timeout_ms: u64,
    /// Seconds a dispatcher holds a row it is sending; a row still `sending` after that (its
    /// instance died) is taken over and reconciled.
    #[arg(long, env = "UNIBOX_OUTBOX_LEASE_SECONDS", default_value_t = 60)]
    pub outbox_lease_seconds: u64,
    /// The first retry's wait in milliseconds; each further retry waits twice as long (with
    /// jitter, at most an hour), or longer when the platform's `Retry-After` says so.
    #[arg(long, env = "UNIBOX_OUTBOX_RETRY_BASE_MS", default_value_t = 2_000)]
    pub outbox_retry_base_ms: u64,
    /// Attempts before a row is given up (`dead`) and shown for a person.
    #[arg(long, env = "UNIBOX_OUTBOX_MAX_ATTEMPTS", default_value_t = 8)]
    pub outbox_max_attempts: u32,
    /// Platform calls this instance makes at once.
    #[arg(long, env = "UNIBOX_OUTBOX_CONCURRENCY", default_value_t = 32)]
    pub outbox_concurrency: usize,
}

/// The HTTP server: where it listens and how much it takes from clients.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to serve on.
    #[arg(long, env = "UNIBOX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "UNIBOX_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Trust `X-Forwarded-For` and `X-Forwarded-Proto` from a reverse proxy in front of unibox
    /// (for sign-in limits per address and for `Secure` cookies). Only set this behind a proxy
    /// that overwrites those headers.
    #[arg(long, env = "UNIBOX_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,

    /// Seconds a client may take to send a request's headers, stay idle between requests on
    /// a kept-alive connection, or pause inside a request body; then the connection is closed.
    #[arg(long, env = "UNIBOX_CLIENT_TIMEOUT_SECONDS", default_value_t = 30)]
    pub client_timeout_seconds: u64,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "UNIBOX_SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,

    /// Live streams (`/live`) one signed-in session may keep open; more are refused with 429.
    #[arg(long, env = "UNIBOX_LIVE_STREAMS_PER_SESSION", default_value_t = 8)]
    pub live_streams_per_session: usize,

    /// Live streams the server keeps open in all; keep it well under the process's file
    /// descriptor limit (`ulimit -n`).
    #[arg(long, env = "UNIBOX_LIVE_STREAMS_MAX", default_value_t = 400)]
    pub live_streams_max: usize,
}

/// The database.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Database: sqlite://path (created when missing) or postgres://user@host/db.
    /// It may hold a password, so it is never logged.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://unibox.db",
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// Most database connections this instance opens.
    #[arg(long, env = "UNIBOX_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// When a commit reaches the disk: `commit` (each commit waits for it; nothing
    /// acknowledged is lost to a power cut) or `background` (flushed within milliseconds on
    /// SQLite, within about 0.6 s on PostgreSQL). Default: `background` on SQLite, `commit` on
    /// PostgreSQL.
    #[arg(long, env = "UNIBOX_DB_FLUSH")]
    pub db_flush: Option<Flush>,
}

/// Signing in.
#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// When session cookies get the `Secure` flag: `always` (unibox is reached over HTTPS),
    /// `never`, or `auto` (when a trusted proxy says `X-Forwarded-Proto: https`).
    #[arg(long, env = "UNIBOX_SECURE_COOKIES", value_enum, default_value_t = CookieSecurity::Auto)]
    pub cookie_security: CookieSecurity,
}

/// The ingest API.
#[derive(Debug, Clone, Args)]
pub struct IngestConfig {
    /// Most events accepted in one ingest request (more get 413).
    #[arg(long, env = "UNIBOX_MAX_BATCH_EVENTS", default_value_t = 5000)]
    pub max_batch_events: usize,

    /// The most writers storing batches at once on PostgreSQL (SQLite has one); beyond the
    /// first, each joins only while 16 events or more wait. Default: one per core, two to
    /// four. Each writer opens up to six connections of its own, two of them as the server
    /// starts.
    #[arg(long, env = "UNIBOX_INGEST_WRITERS", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub ingest_writers: Option<u16>,
}

impl Config {
    /// Defaults for a database URL, as tests and embedders use it.
    pub fn for_database(url: &str) -> Self {
        Config {
            server: ServerConfig {
                listen: "127.0.0.1:0".parse().expect("valid address"),
                max_body_bytes: 16 * 1024 * 1024,
                trust_proxy: false,
                client_timeout_seconds: 30,
                shutdown_grace_seconds: 30,
                live_streams_per_session: 8,
                live_streams_max: 400,
            },
            storage: StorageConfig {
                database_url: Secret::new(url),
                db_max_connections: 10,
                db_flush: None,
            },
            auth: AuthConfig {
                cookie_security: CookieSecurity::Auto,
            },
            ingest: IngestConfig {
                max_batch_events: 5000,
                ingest_writers: None,
            },
            platforms: PlatformConfig {
                meta_app_secret: None,
                meta_verify_token: None,
                tiktok_client_secret: None,
                meta_graph_url: "https://graph.facebook.com/v21.0".into(),
                tiktok_api_url: "https://business-api.tiktok.com/open_api/v1.3".into(),
                youtube_api_url: "https://www.googleapis.com/youtube/v3".into(),
            },
            outbox: OutboxConfig {
                platform_timeout_ms: 10_000,
                outbox_lease_seconds: 60,
                outbox_retry_base_ms: 2_000,
                outbox_max_attempts: 8,
                outbox_concurrency: 32,
            },
            polling: PollingConfig {
                poll_comments_seconds: 300,
                poll_stats_seconds: 3600,
                verify_channels_seconds: 60,
                contact_names_seconds: 15,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CookieSecurity {
    Auto,
    Always,
    Never,
}
