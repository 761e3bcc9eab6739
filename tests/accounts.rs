//! Signing in and out, sessions and their cookies, sign-in limits, passwords, members,
//! API tokens, assignment and the audit log, through the real pages and API.

mod common;

use common::*;
use serde_json::{Value, json};

/// The `Set-Cookie` header a response sets for `name`, whole.
fn cookie_header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Fetches the sign-in form: the sign-in cookie and the form's CSRF token.
async fn login_form(client: &reqwest::Client, s: &TestServer) -> (String, String) {
    let r = client.get(s.url("/login")).send().await.unwrap();
    let cookie = set_cookie(&r, "unibox_signin").unwrap();
    let html = scraper::Html::parse_document(&r.text().await.unwrap());
    let csrf = select(&html, "input[name=csrf_token]")[0]
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn try_sign_in(
    client: &reqwest::Client,
    s: &TestServer,
    email: &str,
    password: &str,
    extra_cookie: Option<&str>,
) -> reqwest::Response {
    let (cookie, csrf) = login_form(client, s).await;
    let cookies = match extra_cookie {
        Some(extra) => format!("unibox_signin={cookie}; {extra}"),
        None => format!("unibox_signin={cookie}"),
    };
    client
        .post(s.url("/login"))
        .header("cookie", cookies)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap()
}

fn form_error(html: &str) -> String {
    let html = scraper::Html::parse_document(html);
    select(&html, ".form-error")
        .first()
        .map(text_of)
        .unwrap_or_default()
}

on_both_backends! {
    /// The happy path, the cookie's flags, a new session id at every sign-in, and signing out.
    async fn sign_in_and_out(s: &TestServer) {
        let anonymous = s.anonymous();
        let form = anonymous.get(s.url("/login")).send().await.unwrap();
        let signin = cookie_header(&form, "unibox_signin");
        assert!(signin.contains("HttpOnly") && signin.contains("SameSite=Lax") && signin.contains("Path=/login"), "{signin}");

        let wrong = try_sign_in(&anonymous, s, OWNER, "not the password", None).await;
        assert_eq!(wrong.status(), 401);
        assert!(set_cookie(&wrong, "unibox_session").is_none());
        let body = wrong.text().await.unwrap();
        assert_eq!(form_error(&body), "The email or the password is wrong.");
        assert!(!body.contains("not the password"), "the typed password is never echoed");
        let unknown = try_sign_in(&anonymous, s, "nobody@example.test", PASSWORD, None).await;
        assert_eq!(unknown.status(), 401, "same answer for unknown emails");

        // A session id planted in the browser beforehand is replaced, and ended if it was real.
        let earlier = s.sign_in(OWNER).await;
        let ok = try_sign_in(&anonymous, s, " Owner@Example.TEST ", PASSWORD, Some(&earlier.cookie)).await;
        assert_eq!(ok.status(), 303);
        assert_eq!(ok.headers()["location"], "/account");
        let session = cookie_header(&ok, "unibox_session");
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"), "{session}");
        assert!(!session.contains("Secure"), "plain HTTP without a proxy: {session}");
        let id = set_cookie(&ok, "unibox_session").unwrap();
        assert_ne!(id, earlier.session);
        assert_eq!(earlier.get("/").await.status(), 303, "the earlier session ended");
        let browser = client_with(None, Some(&format!("unibox_session={id}")));
        assert_eq!(browser.get(s.url("/")).send().await.unwrap().status(), 200);
        // The session's id is stored only as a digest.
        let stored: Vec<(String,)> = s.db.fetch_all(unibox::storage::Sql::new("SELECT id_hash FROM sessions")).await.unwrap();
        assert!(stored.iter().all(|(h,)| h != &id));
        // Signed in, /login moves on.
        let r = browser.get(s.url("/login?next=/account")).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/account");

        let csrf = unibox::auth::csrf::token_for(&id);
        let out = browser.post(s.url("/logout")).form(&[("csrf_token", csrf.as_str())]).send().await.unwrap();
        assert_eq!(out.status(), 303);
        assert!(cookie_header(&out, "unibox_session").contains("Max-Age=0"));
        let r = browser.get(s.url("/")).send().await.unwrap();
        assert_eq!(r.status(), 303, "the old cookie opens nothing after sign-out");
        assert!(cookie_header(&r, "unibox_session").contains("Max-Age=0"), "a stale cookie is cleared");

        // The sign-in form itself is CSRF-protected.
        let (cookie, _) = login_form(&anonymous, s).await;
        let forged = anonymous.post(s.url("/login"))
            .header("cookie", format!("unibox_signin={cookie}"))
            .form(&[("email", OWNER), ("password", PASSWORD), ("csrf_token", "forged")])
            .send().await.unwrap();
        assert_eq!(forged.status(), 403);
        assert!(set_cookie(&forged, "unibox_session").is_none());
        // Only our own paths are followed after sign-in.
        let (cookie, csrf) = login_form(&anonymous, s).await;
        let r = anonymous.post(s.url("/login"))
            .header("cookie", format!("unibox_signin={cookie}"))
            .form(&[("email", OWNER), ("password", PASSWORD), ("csrf_token", &csrf), ("next", "//evil.example/")])
            .send().await.unwrap();
        assert_eq!(r.headers()["location"], "/");
        // Browsers drop tabs from addresses: `/\t/evil.example` would leave the site.
        let (cookie, csrf) = login_form(&anonymous, s).await;
        let r = anonymous.post(s.url("/login"))
            .header("cookie", format!("unibox_signin={cookie}"))
            .form(&[("email", OWNER), ("password", PASSWORD), ("csrf_token", &csrf), ("next", "/\t/evil.example")])
            .send().await.unwrap();
        assert_eq!(r.headers()["location"], "/");
    }

    /// Repeated failures pause the account (even for the right password), then the address.
    async fn failed_sign_ins_are_limited(s: &TestServer) {
        s.add_user("second@example.test", 1, Role::Agent).await;
        let anonymous = s.anonymous();
        for _ in 0..5 {
            let r = try_sign_in(&anonymous, s, OWNER, "wrong password", None).await;
            assert_eq!(r.status(), 401);
        }
        let paused = try_sign_in(&anonymous, s, OWNER, PASSWORD, None).await;
        assert_eq!(paused.status(), 429);
        assert!(set_cookie(&paused, "unibox_session").is_none());
        let message = form_error(&paused.text().await.unwrap());
        assert!(message.starts_with("Too many failed sign-ins for this account. Try again in 15 minutes"), "{message}");
        // Another account from the same address is not paused by it.
        assert_eq!(try_sign_in(&anonymous, s, "second@example.test", PASSWORD, None).await.status(), 303);
        // Many accounts tried from one address pause the address (30 failures, counting the
        // five above).
        for n in 0..25 {
            let r = try_sign_in(&anonymous, s, &format!("guess{n}@example.test"), "wrong password", None).await;
            assert_eq!(r.status(), 401, "attempt {n}");
        }
        let r = try_sign_in(&anonymous, s, "second@example.test", PASSWORD, None).await;
        assert_eq!(r.status(), 429);
        assert!(form_error(&r.text().await.unwrap()).contains("your network address"));
    }

    /// Parallel guesses cannot outrun the limit: at most five passwords are ever checked.
    async fn parallel_guesses_are_limited_too(s: &TestServer) {
        let anonymous = s.anonymous();
        let mut forms = Vec::new();
        for _ in 0..20 {
            forms.push(login_form(&anonymous, s).await);
        }
        let mut tasks = Vec::new();
        for (cookie, csrf) in forms {
            let (client, url) = (anonymous.clone(), s.url("/login"));
            tasks.push(tokio::spawn(async move {
                client.post(url)
                    .header("cookie", format!("unibox_signin={cookie}"))
                    .form(&[("email", OWNER), ("password", "a wrong guess"), ("csrf_token", &csrf)])
                    .send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        let checked = statuses.iter().filter(|&&st| st == 401).count();
        assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
        assert!(statuses.iter().all(|&st| st == 401 || st == 429), "{statuses:?}");
        // Refused attempts are not counted; checked ones are, up to the pause.
        let expected = if checked == 5 { 429 } else { 303 };
        assert_eq!(try_sign_in(&anonymous, s, OWNER, PASSWORD, None).await.status(), expected, "{statuses:?}");
    }

    /// Changing the password needs the current one, a long enough new one typed twice, and
    /// signs the user out everywhere else.
    async fn password_change(s: &TestServer) {
        let here = s.sign_in(OWNER).await;
        let elsewhere = s.sign_in(OWNER).await;
        let new = "a much better passphrase";
        for (current, new_pw, confirm, error) in [
            ("wrong one entirely", new, new, "The current password is wrong."),
            (PASSWORD, "short", "short", "The new password must be at least 10 characters long."),
            (PASSWORD, new, "something else again", "The new password and its confirmation differ."),
        ] {
            let r = here.post_form("/account/password", &[("current", current), ("new", new_pw), ("confirm", confirm)]).await;
            assert_eq!(r.status(), 422);
            assert_eq!(form_error(&r.text().await.unwrap()), error);
        }
        let r = here.post_form("/account/password", &[("current", PASSWORD), ("new", new), ("confirm", new)]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(here.get("/").await.status(), 200, "this session stays");
        assert_eq!(elsewhere.get("/").await.status(), 303, "other sessions end");
        let anonymous = s.anonymous();
        assert_eq!(try_sign_in(&anonymous, s, OWNER, PASSWORD, None).await.status(), 401);
        assert_eq!(try_sign_in(&anonymous, s, OWNER, new, None).await.status(), 303);
    }

    /// `Secure` cookies behind an HTTPS proxy (trusted), or always when configured.
    async fn secure_cookies_behind_https(s: &TestServer) {
        // This server trusts no proxy: a client's claim of HTTPS changes nothing.
        let r = s.anonymous().get(s.url("/login")).header("x-forwarded-proto", "https").send().await.unwrap();
        assert!(!cookie_header(&r, "unibox_signin").contains("Secure"));
        let proxied = TestServer::sqlite_with(|c| c.trust_proxy = true).await;
        let r = proxied.anonymous().get(proxied.url("/login")).header("x-forwarded-proto", "https").send().await.unwrap();
        assert!(cookie_header(&r, "unibox_signin").ends_with("; Secure"));
        proxied.finish().await;
        let always = TestServer::sqlite_with(|c| c.cookie_security = unibox::config::CookieSecurity::Always).await;
        let r = always.anonymous().get(always.url("/login")).send().await.unwrap();
        assert!(cookie_header(&r, "unibox_signin").ends_with("; Secure"));
        always.finish().await;
    }

    /// Owners add members (a new account gets a one-time password), change roles and remove
    /// them; a workspace keeps at least one owner; every change is in the audit log.
    async fn owners_manage_members(s: &TestServer) {
        let r = s.post_form("/members", &[("email", "New.Person@Example.test"), ("role", "agent")]).await;
        assert_eq!(r.status(), 200);
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        let first_password = text_of(&select(&html, ".secret-once code.new-password")[0]);
        assert_eq!(first_password.len(), 20);
        let rows: Vec<String> = select(&html, "tr.member td:first-child").iter().map(text_of).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("new.person@example.test"));
        let (_, again) = s.page("/members").await;
        assert!(select(&again, ".secret-once").is_empty(), "shown once");

        // The new member signs in with it and works as an agent.
        let anonymous = s.anonymous();
        let r = try_sign_in(&anonymous, s, "new.person@example.test", &first_password, None).await;
        assert_eq!(r.status(), 303);
        let id: i64 = select(&again, "tr.member").iter()
            .find(|r| text_of(r).contains("new.person"))
            .and_then(|r| r.value().attr("data-user")).unwrap().parse().unwrap();
        let me: i64 = select(&again, "tr.member").iter()
            .find(|r| text_of(r).contains(OWNER))
            .and_then(|r| r.value().attr("data-user")).unwrap().parse().unwrap();

        // Adding twice, bad emails and bad roles are refused.
        assert_eq!(s.post_form("/members", &[("email", "new.person@example.test"), ("role", "agent")]).await.status(), 422);
        assert_eq!(s.post_form("/members", &[("email", "not-an-email"), ("role", "agent")]).await.status(), 422);
        assert_eq!(s.post_form("/members", &[("email", "x@example.test"), ("role", "king")]).await.status(), 422);
        // The only owner cannot step down or leave.
        let r = s.post_form(&format!("/members/{me}/role"), &[("role", "admin")]).await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("no owner left"));
        assert_eq!(s.post_form(&format!("/members/{me}/remove"), &[]).await.status(), 422);
        // Promote, then the first owner may step down.
        assert_eq!(s.post_form(&format!("/members/{id}/role"), &[("role", "owner")]).await.status(), 303);
        assert_eq!(s.post_form(&format!("/members/{id}/role"), &[("role", "viewer")]).await.status(), 303);
        assert_eq!(s.post_form(&format!("/members/{id}/remove"), &[]).await.status(), 303);
        assert_eq!(s.post_form(&format!("/members/{id}/remove"), &[]).await.status(), 404);

        let (_, audit) = s.page("/audit").await;
        let actions: Vec<String> = select(&audit, ".audit-entry .action").iter().map(text_of).collect();
        assert_eq!(&actions[..4], ["member removed", "member role changed", "member role changed", "member added"]);
        let details: Vec<String> = select(&audit, ".audit-entry .detail").iter().map(text_of).collect();
        assert_eq!(&details[..4], ["was viewer", "from owner to viewer", "from agent to owner", "as agent"]);
        assert!(select(&audit, ".audit-entry .actor").iter().take(4).all(|a| text_of(a) == OWNER));
    }

    /// Tokens: created on the page and shown once, stored as a digest, scoped to their
    /// workspace, revoked on the page; each step audited.
    async fn api_tokens_are_shown_once_and_revocable(s: &TestServer) {
        let r = s.post_form("/tokens", &[("name", "Zapier <import>"), ("scope", "read")]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        let secret = text_of(&select(&html, ".secret-once code.new-token")[0]);
        assert!(secret.starts_with("ubx_") && secret.len() == 68, "{secret}");
        let (_, listed) = s.page("/tokens").await;
        assert!(!listed.html().contains(&secret), "never shown again");
        let names: Vec<String> = select(&listed, "tr.token td:first-child").iter().map(text_of).collect();
        assert_eq!(names[0], "Zapier <import>");
        let stored: Vec<(String,)> = s.db.fetch_all(unibox::storage::Sql::new("SELECT token_hash FROM api_tokens")).await.unwrap();
        assert!(stored.iter().all(|(h,)| h != &secret));

        let api = s.api_client(&secret);
        assert_eq!(api.get(s.url("/api/v1/threads")).send().await.unwrap().status(), 200);
        let r = api.post(s.url("/api/v1/events")).json(&json!([comment("c1", "x")])).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(s.count("messages").await, 0);
        // Bad names and scopes are refused.
        assert_eq!(s.post_form("/tokens", &[("name", " "), ("scope", "read")]).await.status(), 422);
        assert_eq!(s.post_form("/tokens", &[("name", "x"), ("scope", "admin")]).await.status(), 422);

        let id = select(&listed, "tr.token")[0].value().attr("data-token").unwrap().to_owned();
        assert_eq!(s.post_form(&format!("/tokens/{id}/revoke"), &[]).await.status(), 303);
        let r = api.get(s.url("/api/v1/threads")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(s.post_form(&format!("/tokens/{id}/revoke"), &[]).await.status(), 404);
        let (_, listed) = s.page("/tokens").await;
        assert!(text_of(&select(&listed, "tr.token")[0]).contains("revoked"));

        let (_, audit) = s.page("/audit").await;
        let actions: Vec<String> = select(&audit, ".audit-entry .action").iter().map(text_of).collect();
        assert_eq!(&actions[..2], ["API token revoked", "API token created"]);
        let targets: Vec<String> = select(&audit, ".audit-entry .target").iter().map(text_of).collect();
        assert!(targets[0].contains("Zapier <import>"), "shown as text: {targets:?}");
    }

    /// Threads are assigned to members; the inbox and the API filter by assignee; replies
    /// name who queued them in the audit log.
    async fn assignment_and_reply_audit(s: &TestServer) {
        s.ingest(json!([comment("c1", "first"), comment("c2", "second"), dm("d1", "lisa", "third")])).await;
        let agent = s.add_user("agent@example.test", 1, Role::Agent).await;
        let agent_browser = s.sign_in("agent@example.test").await;
        let ids: Vec<i64> = s.threads("").await.iter().map(|t| t["id"].as_i64().unwrap()).collect();
        // The agent takes one on the page; the API gives another to the owner.
        let r = agent_browser.post_form(&format!("/threads/{}/assign", ids[0]), &[("assignee", &agent.to_string())]).await;
        assert_eq!(r.status(), 303);
        let (_, members) = s.get_json("/api/v1/members").await;
        let owner_id = members["members"].as_array().unwrap().iter().find(|m| m["email"] == OWNER).unwrap()["user_id"].clone();
        let (status, body) = s.patch_json(&format!("/api/v1/threads/{}", ids[1]), &json!({"assignee": owner_id})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["thread"]["assignee"]["email"], OWNER);

        let mine = |b: &Browser| {
            let b = b.client.clone();
            let url = s.url("/?assignee=me");
            async move { scraper::Html::parse_document(&b.get(url).send().await.unwrap().text().await.unwrap()) }
        };
        let agent_view = mine(&agent_browser).await;
        let rows: Vec<&str> = select(&agent_view, "li.thread").iter().map(|r| r.value().attr("data-thread").unwrap()).collect();
        assert_eq!(rows, [ids[0].to_string()]);
        assert_eq!(select(&agent_view, "#assignee option[selected]")[0].value().attr("value"), Some("me"));
        let (_, unassigned) = s.page("/?assignee=none").await;
        assert_eq!(select(&unassigned, "li.thread").len(), 1);
        assert_eq!(s.threads(&format!("?assignee={agent}")).await.len(), 1);
        assert_eq!(s.threads("?assignee=none").await[0]["id"], ids[2]);
        let (status, body) = s.get_json("/api/v1/threads?assignee=me").await;
        assert_eq!(status, 422, "a token is nobody: {body}");
        assert_eq!(s.get_json("/api/v1/threads?assignee=someone").await.0, 422);
        // Unassigning with null; leaving it out changes nothing.
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{}", ids[1]), &json!({"unread": false})).await;
        assert_eq!(body["thread"]["assignee"]["email"], OWNER);
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{}", ids[1]), &json!({"assignee": null})).await;
        assert_eq!(body["thread"]["assignee"], Value::Null);
        // The thread page shows and offers the assignment.
        let (_, page) = agent_browser.page(&format!("/threads/{}", ids[0])).await;
        assert_eq!(text_of(&select(&page, ".assignee-name")[0]), "agent@example.test");
        assert_eq!(select(&page, "select[name=assignee] option").len(), 3);

        // Replies are audited with who queued them: a person on the page, a token on the API.
        let r = agent_browser.post_form(&format!("/threads/{}/reply", ids[0]), &[("text", "Thanks <3")]).await;
        assert_eq!(r.status(), 303);
        let (status, _) = s.post_json(&format!("/api/v1/threads/{}/messages", ids[2]), &json!({"text": "Hi Lisa"})).await;
        assert_eq!(status, 201);
        let (_, audit) = s.page("/audit").await;
        let entries: Vec<(String, String, String)> = select(&audit, ".audit-entry").iter().take(2).map(|e| {
            let cell = |c: &str| text_of(&e.select(&scraper::Selector::parse(c).unwrap()).next().unwrap());
            (cell(".actor"), cell(".action"), cell(".detail"))
        }).collect();
        assert!(entries[0].0.starts_with("API token “test token”"), "{entries:?}");
        assert_eq!((entries[0].1.as_str(), entries[0].2.as_str()), ("manual reply queued", "Hi Lisa"));
        assert_eq!(entries[1], ("agent@example.test".into(), "manual reply queued".into(), "Thanks <3".into()));
        // Agents do not read the audit log.
        assert_eq!(agent_browser.get("/audit").await.status(), 403);
    }

    /// Server admins create workspaces; members switch between theirs in the header.
    async fn workspaces_are_created_and_switched(s: &TestServer) {
        s.ingest(json!([comment("c1", "in the default workspace")])).await;
        assert_eq!(s.post_form("/workspaces", &[("name", "Client <B>"), ("slug", "Bad Slug")]).await.status(), 422);
        let r = s.post_form("/workspaces", &[("name", "Client <B>"), ("slug", "client-b")]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(s.post_form("/workspaces", &[("name", "Again"), ("slug", "client-b")]).await.status(), 422);
        // Now in the new, empty workspace, with a switcher listing both.
        let (_, html) = s.page("/").await;
        assert!(select(&html, "li.thread").is_empty());
        let options: Vec<String> = select(&html, "#workspace-switch option").iter().map(text_of).collect();
        assert_eq!(options, ["Client <B>", "Default workspace"]);
        assert_eq!(text_of(&select(&html, "#workspace-switch option[selected]")[0]), "Client <B>");
        let r = s.post_form("/workspace", &[("workspace_id", "1")]).await;
        assert_eq!(r.status(), 303);
        let (_, html) = s.page("/").await;
        assert_eq!(select(&html, "li.thread").len(), 1);
        // Someone in no workspace is told so, not shown an error.
        let now = unibox::clock::now();
        let hash = unibox::auth::password::hash(&unibox::config::Secret::new(PASSWORD)).await.unwrap();
        unibox::accounts::users::add(&s.db, "loner@example.test", &hash, false, now).await.unwrap();
        let loner = s.sign_in("loner@example.test").await;
        let (status, html) = loner.page("/").await;
        assert_eq!(status, 403);
        assert!(html.html().contains("not a member of any workspace"));
        assert_eq!(select(&html, "form[action='/logout'] input[name=csrf_token]").len(), 1, "they can still sign out");
        assert_eq!(loner.page("/account").await.0, 200);
    }
}
