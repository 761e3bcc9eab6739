//! Configuration: defaults, then environment variables, then command-line flags (clap reads
//! both; a flag wins over its variable).

use std::fmt;
use std::net::SocketAddr;

use clap::Args;

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

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: sqlite://path (created when missing) or postgres://user@host/db.
    /// It may hold a password, so it is never logged.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://unibox.db",
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// Address to serve on.
    #[arg(long, env = "UNIBOX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "UNIBOX_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most events accepted in one ingest request (more get 413).
    #[arg(long, env = "UNIBOX_MAX_BATCH_EVENTS", default_value_t = 5000)]
    pub max_batch_events: usize,

    /// Most database connections this instance opens.
    #[arg(long, env = "UNIBOX_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "UNIBOX_SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,
}

impl Config {
    /// Defaults for a database URL, as tests and embedders use it.
    pub fn for_database(url: &str) -> Self {
        Config {
            database_url: Secret::new(url),
            listen: "127.0.0.1:0".parse().expect("valid address"),
            max_body_bytes: 16 * 1024 * 1024,
            max_batch_events: 5000,
            db_max_connections: 10,
            shutdown_grace_seconds: 30,
        }
    }
}
