//! The command line: `unibox [serve]`, `unibox migrate`, and managing users, workspaces and
//! API tokens (`unibox user|workspace|token …`).

mod common;
mod tokens;
mod users;
mod workspaces;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::state::AppState;
use crate::storage;

#[derive(Debug, Parser)]
#[command(
    name = "unibox",
    version,
    about = "One inbox for every comment and DM",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Settings for `serve`, the default command.
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then serve the web UI and the JSON API (the default).
    Serve(Config),
    /// Apply database migrations and exit.
    Migrate(Config),
    /// Add users and reset passwords.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Add and list workspaces.
    #[command(subcommand)]
    Workspace(workspaces::WorkspaceCommand),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(tokens::TokenCommand),
    /// The whole product alive: the server on its own `unibox-demo.db`, the platform
    /// simulator in-process, demo channels with a month of history, example rules and a
    /// simulated audience.
    Demo(Box<crate::demo::DemoOptions>),
    /// Run a local stand-in for the platforms' APIs (Meta, TikTok, YouTube) for staging,
    /// tests and the demo; point the `UNIBOX_*_URL` settings at the addresses it prints.
    Simulate {
        /// Address to serve on.
        #[arg(
            long,
            env = "UNIBOX_SIMULATOR_LISTEN",
            default_value = "127.0.0.1:9090"
        )]
        listen: std::net::SocketAddr,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(cli.config).await,
        Some(Command::Serve(config)) => serve(config).await,
        Some(Command::Migrate(config)) => {
            let db = open(&config).await?;
            db.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::User(command)) => users::user(command).await,
        Some(Command::Workspace(command)) => workspaces::workspace(command).await,
        Some(Command::Token(command)) => tokens::token(command).await,
        Some(Command::Simulate { listen }) => crate::simulate::serve(listen).await,
        Some(Command::Demo(options)) => crate::demo::run(*options).await,
    }
}

async fn open(config: &Config) -> anyhow::Result<storage::Db> {
    let db = storage::open(
        config.storage.database_url.expose(),
        config.storage.db_max_connections,
        config.storage.db_flush,
    )
    .await?;
    let flush = storage::Flush::for_backend(config.storage.db_flush, db.backend());
    tracing::info!(backend = db.backend().name(), %flush, "database ready");
    Ok(db)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let listener = crate::ops::server::bind(config.server.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "unibox is serving: open http://{}", listener.local_addr()?);
    if config.auth.cookie_security == crate::config::CookieSecurity::Auto
        && !config.server.trust_proxy
        && !config.server.listen.ip().is_loopback()
    {
        tracing::warn!(
            "serving on a non-local address, but session cookies will not be marked Secure: \
             put unibox behind an HTTPS proxy and set UNIBOX_TRUST_PROXY=true (or UNIBOX_SECURE_COOKIES=always)"
        );
    }
    let state = AppState::new(db.clone(), config);
    if crate::accounts::users::count(&db).await? == 0 {
        let token = state.setup.open();
        let address = listener.local_addr()?;
        tracing::warn!(
            "no account exists yet: open http://{address}/setup?token={token} to create the first one \
             (the link works once, on this instance, until an account exists; \
             `unibox user add --email you@example.com --admin` works too)"
        );
    }
    crate::serve(listener, state, crate::ops::shutdown::signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
