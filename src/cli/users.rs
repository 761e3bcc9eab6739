//! `unibox user add|password`: the first admin, new accounts and password resets.

use anyhow::bail;
use clap::Subcommand;

use super::common::{DbArgs, open, read_new_password, workspace_id};
use crate::accounts::audit::Who;
use crate::accounts::{members, users};
use crate::auth::{password, sessions};
use crate::domain::Role;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; asks for the password (or reads one line from stdin).
    Add {
        #[arg(long)]
        email: String,
        /// Server administrator (may create workspaces), and owner of the default workspace
        /// unless --workspace says otherwise.
        #[arg(long)]
        admin: bool,
        /// Make the user a member of this workspace (its short name).
        #[arg(long)]
        workspace: Option<String>,
        /// Their role there: owner, admin, agent or viewer (default: owner with --admin,
        /// else agent).
        #[arg(long)]
        role: Option<Role>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a new password for a user (asks for it, or reads it from stdin).
    Password {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            admin,
            workspace,
            role,
            db,
        } => {
            let email =
                users::normalize_email(&email).map_err(|why| anyhow::anyhow!("--email {why}"))?;
            let db = open(&db).await?;
            if users::by_email(&db, &email).await?.is_some() {
                bail!(
                    "{email} already has an account; `unibox user password --email {email}` sets a new password"
                );
            }
            let slug = workspace.or_else(|| admin.then(|| "default".to_owned()));
            let target = match &slug {
                Some(slug) => Some(workspace_id(&db, slug).await?),
                None => None,
            };
            let password = read_new_password()?;
            let now = crate::clock::now();
            let hash = password::hash(&password).await?;
            // The account and its membership, together or not at all.
            let mut tx = db.begin().await?;
            let id = users::add_in(&mut tx, &email, &hash, admin, now).await?;
            if let (Some(workspace), Some(slug)) = (target, &slug) {
                let role = role.unwrap_or(if admin { Role::Owner } else { Role::Agent });
                members::add_in(
                    &mut tx,
                    workspace,
                    id,
                    &email,
                    role,
                    &Who::command_line(),
                    now,
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!("{}", crate::error::AppError::from(e).public_message())
                })?;
                tx.commit().await?;
                eprintln!(
                    "Created {email} as {role} of workspace “{slug}”{}.",
                    if admin { ", server administrator" } else { "" }
                );
            } else {
                tx.commit().await?;
                eprintln!(
                    "Created {email}. They belong to no workspace yet: an owner adds them on the Members page."
                );
            }
            db.close().await;
            Ok(())
        }
        UserCommand::Password { email, db } => {
            let email =
                users::normalize_email(&email).map_err(|why| anyhow::anyhow!("--email {why}"))?;
            let db = open(&db).await?;
            let Some(user) = users::by_email(&db, &email).await? else {
                bail!("no user {email}");
            };
            let password = read_new_password()?;
            let hash = password::hash(&password).await?;
            users::set_password(&db, user.id, &hash, crate::clock::now()).await?;
            let ended = sessions::end_all(&db, user.id).await?;
            eprintln!("New password set for {email}; {ended} session(s) signed out.");
            db.close().await;
            Ok(())
        }
    }
}
