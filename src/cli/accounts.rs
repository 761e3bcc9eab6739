//! `unibox user|workspace|token …`: the first admin, password resets, workspaces and API
//! tokens from the server's shell. Passwords are read from a prompt (or stdin when piped),
//! never from a flag that would land in the shell's history.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::accounts::audit::Who;
use crate::accounts::{members, users, workspaces};
use crate::auth::{password, sessions, tokens};
use crate::config::Secret;
use crate::domain::{Role, Scope};
use crate::storage::{self, Db};

#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: sqlite://path or postgres://user@host/db (as for `serve`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://unibox.db",
        hide_env_values = true
    )]
    database_url: Secret,
}

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

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once, on stdout.
    Add {
        /// The workspace's short name.
        #[arg(long, default_value = "default")]
        workspace: String,
        #[arg(long)]
        name: String,
        /// read, or write (read and write).
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

async fn open(db: &DbArgs) -> anyhow::Result<Db> {
    let db = storage::connect(db.database_url.expose(), 2).await?;
    storage::migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

/// A new password from the terminal (asked twice) or one line of stdin.
fn read_new_password() -> anyhow::Result<Secret> {
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

async fn workspace_id(db: &Db, slug: &str) -> anyhow::Result<i64> {
    match workspaces::by_slug(db, slug).await? {
        Some((id, _)) => Ok(id),
        None => bail!("no workspace “{slug}”; `unibox workspace list` shows them"),
    }
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
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
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
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
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
            match tokens::revoke(&db, ws, id, &Who::command_line(), crate::clock::now()).await? {
                Some(name) => eprintln!("Revoked token #{id} “{name}”."),
                None => bail!("workspace “{workspace}” has no live token #{id}"),
            }
            db.close().await;
            Ok(())
        }
    }
}
