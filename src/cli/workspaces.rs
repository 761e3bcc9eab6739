//! `unibox workspace add|list`.

use anyhow::bail;
use clap::Subcommand;

use super::common::{DbArgs, open};
use crate::accounts::audit::Who;
use crate::accounts::{members, users, workspaces};
use crate::domain::Role;
use crate::storage;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace, optionally with an owner.
    Add {
        /// Short name: lower-case letters, digits, dashes.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// Email of an existing user who becomes its owner.
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn workspace(command: WorkspaceCommand) -> anyhow::Result<()> {
    match command {
        WorkspaceCommand::Add {
            slug,
            name,
            owner,
            db,
        } => {
            if let Some(why) = workspaces::slug_problem(&slug) {
                bail!("--slug {why}");
            }
            if let Some(why) = workspaces::name_problem(&name) {
                bail!("--name {why}");
            }
            let db = open(&db).await?;
            let owner = match owner {
                Some(email) => {
                    let email = users::normalize_email(&email)
                        .map_err(|why| anyhow::anyhow!("--owner {why}"))?;
                    match users::by_email(&db, &email).await? {
                        Some(user) => Some(user),
                        None => bail!("no user {email}; create them first with `unibox user add`"),
                    }
                }
                None => None,
            };
            let now = crate::clock::now();
            let mut tx = db.begin().await?;
            let id = workspaces::create_in(&mut tx, &slug, &name, now)
                .await
                .map_err(|e| match storage::is_unique_violation(&e) {
                    true => anyhow::anyhow!("a workspace “{slug}” exists already"),
                    false => e.into(),
                })?;
            if let Some(user) = owner {
                members::add_in(
                    &mut tx,
                    id,
                    user.id,
                    &user.email,
                    Role::Owner,
                    &Who::command_line(),
                    now,
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{}", crate::error::AppError::from(e).public_message())
                })?;
            }
            tx.commit().await?;
            eprintln!("Created workspace “{slug}”.");
            db.close().await;
            Ok(())
        }
        WorkspaceCommand::List { db } => {
            let db = open(&db).await?;
            for (id, slug, name) in workspaces::all(&db).await? {
                println!("{id}\t{slug}\t{name}");
            }
            db.close().await;
            Ok(())
        }
    }
}
