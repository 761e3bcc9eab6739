//! The `unibox user|workspace|token` commands, run as the real binary against a running
//! server's database: what they create works on that server at once.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::*;
use serde_json::json;

/// Runs `unibox args…` with `stdin` piped in.
fn unibox(s: &TestServer, args: &[&str], stdin: &str) -> Output {
    unibox_with(s, args, stdin, &[])
}

/// [`unibox`] with more settings in its environment.
fn unibox_with(s: &TestServer, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unibox"))
        .args(args)
        .env("DATABASE_URL", &s.database_url)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

on_both_backends! {
    async fn users_workspaces_and_tokens_from_the_command_line(s: &TestServer) {
        let out = unibox(s, &["user", "add", "--email", "CLI@example.test", "--admin"], &format!("{PASSWORD}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Created cli@example.test as owner of workspace “default”"), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty());
        let browser = s.sign_in("cli@example.test").await;
        assert_eq!(browser.get("/").await.status(), 200);
        assert_eq!(browser.get("/members").await.status(), 200, "an owner");
        let r = browser.post_form("/workspaces", &[("name", "Made by the admin"), ("slug", "by-admin")]).await;
        assert_eq!(r.status(), 303, "--admin may create workspaces");
        // Without --admin: a member of the workspace named, with the role named.
        let out = unibox(s, &["user", "add", "--email", "watcher@example.test", "--workspace", "default", "--role", "viewer"], &format!("{PASSWORD}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let watcher = s.sign_in("watcher@example.test").await;
        assert_eq!(watcher.get("/").await.status(), 200);
        assert_eq!(watcher.get("/tokens").await.status(), 403, "a viewer");
        let r = watcher.post_form("/workspaces", &[("name", "No"), ("slug", "no")]).await;
        assert_eq!(r.status(), 403, "not a server administrator");

        // Refusals: a short password, an existing email, an unknown workspace.
        let out = unibox(s, &["user", "add", "--email", "short@example.test"], "short\n");
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("at least 10 characters"), "{}", text(&out.stderr));
        let out = unibox(s, &["user", "add", "--email", "cli@example.test"], &format!("{PASSWORD}\n"));
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("already has an account"));
        let out = unibox(s, &["user", "add", "--email", "x@example.test", "--workspace", "nope"], &format!("{PASSWORD}\n"));
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("no workspace “nope”"));

        // A workspace with an owner, listed.
        let out = unibox(s, &["workspace", "add", "--slug", "client-a", "--name", "Client A", "--owner", "cli@example.test"], "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = unibox_with(s, &["workspace", "list"], "", &[("UNIBOX_DB_FLUSH", "commit")]);
        assert_eq!(text(&out.stdout), "1\tdefault\tDefault workspace\n2\tby-admin\tMade by the admin\n3\tclient-a\tClient A\n");
        // The flush setting is the server's: read, and a wrong one refused before anything runs.
        let out = unibox_with(s, &["workspace", "list"], "", &[("UNIBOX_DB_FLUSH", "always")]);
        assert!(!out.status.success() && out.stdout.is_empty());
        assert!(text(&out.stderr).contains("`always` is not a flush mode"), "{}", text(&out.stderr));
        let r = browser.post_form("/workspace", &[("workspace_id", "3")]).await;
        assert_eq!(r.status(), 303, "the owner named can switch to it");
        assert_eq!(browser.get("/members").await.status(), 200, "and owns it");

        // A token: printed once on stdout, works at once, lists without its secret, revokes.
        let out = unibox(s, &["token", "add", "--name", "ci import", "--scope", "read"], "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let token = text(&out.stdout).trim().to_owned();
        assert!(token.starts_with("ubx_"), "{token}");
        let api = s.api_client(&token);
        assert_eq!(api.get(s.url("/api/v1/threads")).send().await.unwrap().status(), 200);
        let r = api.post(s.url("/api/v1/events")).json(&json!([comment("c1", "x")])).send().await.unwrap();
        assert_eq!(r.status(), 403, "a read token");
        let out = unibox(s, &["token", "list"], "");
        let listing = text(&out.stdout);
        assert!(listing.contains("ci import\tread\tubx_") && !listing.contains(&token), "{listing}");
        let id = listing.lines().find(|l| l.contains("ci import")).unwrap().split('\t').next().unwrap().to_owned();
        let out = unibox(s, &["token", "revoke", "--id", &id], "");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(api.get(s.url("/api/v1/threads")).send().await.unwrap().status(), 401);
        let out = unibox(s, &["token", "revoke", "--id", &id], "");
        assert!(!out.status.success(), "already revoked");

        // A password reset signs the user out everywhere.
        let out = unibox(s, &["user", "password", "--email", "cli@example.test"], "another long password\n");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("1 session(s) signed out"), "{}", text(&out.stderr));
        assert_eq!(browser.get("/").await.status(), 303);
        let anonymous = s.anonymous();
        assert_eq!(try_sign_in(&anonymous, s, "cli@example.test", PASSWORD, None).await.status(), 401);
        assert_eq!(try_sign_in(&anonymous, s, "cli@example.test", "another long password", None).await.status(), 303);

        // The audit log names the command line.
        let (_, audit) = s.page("/audit").await;
        let rows: Vec<String> = select(&audit, ".audit-entry").iter().take(3).map(text_of).collect();
        assert!(rows[0].contains("command line") && rows[0].contains("API token revoked"), "{rows:?}");
        assert!(rows[1].contains("command line") && rows[1].contains("API token created"), "{rows:?}");
    }
}

/// `unibox token add --help` names every scope a token can have, admin included.
#[test]
fn token_add_help_names_every_scope() {
    let out = Command::new(env!("CARGO_BIN_EXE_unibox"))
        .args(["token", "add", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    // The option's paragraph: from `--scope` to the next option.
    let scope: String = help
        .split("--scope")
        .nth(1)
        .and_then(|rest| rest.split("\n  -").next())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for name in unibox::domain::Scope::ALL {
        assert!(
            scope.contains(&name.to_string()),
            "--scope does not name {name}: {help}"
        );
    }
}

/// `--help` never prints a secret taken from the environment.
#[test]
fn help_hides_the_secrets_it_reads_from_the_environment() {
    let secrets = [
        ("DATABASE_URL", "postgres://u:db-password-1@localhost/x"),
        ("UNIBOX_META_APP_SECRET", "meta-secret-2"),
        ("UNIBOX_META_VERIFY_TOKEN", "verify-token-3"),
        ("UNIBOX_TIKTOK_CLIENT_SECRET", "tiktok-secret-4"),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_unibox"))
        .args(["serve", "--help"])
        .envs(secrets)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    for (name, secret) in secrets {
        assert!(help.contains(name), "{name} is named: {help}");
        assert!(!help.contains(secret), "{name}'s value is shown: {help}");
    }
}
