//! `unibox token add|list|revoke`: API tokens from the server's shell.

use anyhow::bail;
use clap::Subcommand;

use super::common::{DbArgs, open, workspace_id};
use crate::accounts::audit::Who;
use crate::auth::tokens;
use crate::domain::Scope;
use crate::ids::TokenId;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once, on stdout.
    Add {
        /// The workspace's short name.
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        name: String,
        /// read (read only), write (also ingest, reply and change threads) or admin (also
        /// manage reply rules and channels).
        #[arg(long, default_value = "write")]
        scope: Scope,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List a workspace's tokens (never their secrets).
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a token by its id (see `token list`).
    Revoke {
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        id: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            workspace,
            name,
            scope,
            db,
        } => {
            if let Some(why) = tokens::name_problem(&name) {
                bail!("--name {why}");
            }
            let db = open(&db).await?;
            let id = workspace_id(&db, &workspace).await?;
            let (token_id, secret) = tokens::create(
                &db,
                id,
                &name,
                scope,
                &Who::command_line(),
                crate::clock::now(),
            )
            .await?;
            eprintln!(
                "Token #{token_id} “{name}” ({scope}) for workspace “{workspace}”. It is shown only now:"
            );
            println!("{secret}");
            db.close().await;
            Ok(())
        }
        TokenCommand::List { workspace, db } => {
            let db = open(&db).await?;
            let id = workspace_id(&db, &workspace).await?;
            for t in tokens::list(&db, id).await? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.to_rfc3339()),
                    None => "live".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}…\t{}",
                    t.id, t.name, t.scope, t.prefix, state
                );
            }
            db.close().await;
            Ok(())
        }
        TokenCommand::Revoke { workspace, id, db } => {
            let db = open(&db).await?;
            let ws = workspace_id(&db, &workspace).await?;
            match tokens::revoke(
                &db,
                ws,
                TokenId(id),
                &Who::command_line(),
                crate::clock::now(),
            )
            .await?
            {
                Some(name) => eprintln!("Revoked token #{id} “{name}”."),
                None => bail!("workspace “{workspace}” has no live token #{id}"),
            }
            db.close().await;
            Ok(())
        }
    }
}
