//! What the account commands share: the database to open, workspaces by short name, and
//! reading a new password from a prompt (or stdin when piped), never from a flag that would
//! land in the shell's history.

use crate::ids::WorkspaceId;
use std::io::{BufRead, IsTerminal};

use anyhow::bail;
use clap::Args;

use crate::accounts::workspaces;
use crate::auth::password;
use crate::config::Secret;
use crate::storage::{self, Db, Flush};

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: sqlite://path or postgres://user@host/db (as for `serve`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://unibox.db",
        hide_env_values = true
    )]
    pub database_url: Secret,

    /// When a commit reaches the disk: `commit` or `background` (as for `serve`).
    #[arg(long, env = "UNIBOX_DB_FLUSH")]
    pub db_flush: Option<Flush>,
}

/// The database, migrated, its commits flushed as the server's are told to.
pub async fn open(db: &DbArgs) -> anyhow::Result<Db> {
    storage::open(db.database_url.expose(), 2, db.db_flush).await
}

/// A new password from the terminal (asked twice) or one line of stdin.
pub fn read_new_password() -> anyhow::Result<Secret> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if let Some(why) = password::weakness(&password) {
        bail!("the password {why}");
    }
    Ok(Secret::new(password))
}

pub async fn workspace_id(db: &Db, slug: &str) -> anyhow::Result<WorkspaceId> {
    match workspaces::by_slug(db, slug).await? {
        Some((id, _)) => Ok(id),
        None => bail!("no workspace “{slug}”; `unibox workspace list` shows them"),
    }
}
