//! Running a workspace through its pages and API: members, API tokens, assignment, the
//! audit log, and creating and switching workspaces.

use crate::common::*;
use serde_json::{Value, json};

on_both_backends! {
    /// Owners add members (a new account gets a one-time password), change roles and remove
    /// them; a workspace keeps at least one owner; every change is in the audit log.
    async fn owners_manage_members(s: &TestServer) {
        s.ingest(json!([comment("c1", "hello")])).await;
        let thread = s.threads("").await[0]["id"].as_i64().unwrap();
        let r = s.post_form("/members", &[("email", "New.Person@Example.test"), ("role", "agent")]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store", "a first password is on this page");
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
        let session = set_cookie(&r, "unibox_session").unwrap();
        let member = client_with(None, Some(&format!("unibox_session={session}")));
        let member_csrf = unibox::auth::csrf::token_for(&session);
        let r = member.post(s.url(&format!("/threads/{thread}/status")))
            .form(&[("status", "done"), ("csrf_token", &member_csrf)]).send().await.unwrap();
        assert_eq!(r.status(), 303, "an agent sets statuses");
        assert_eq!(member.get(s.url("/members")).send().await.unwrap().status(), 403, "but manages no members");
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
        // With a second owner, an owner may be demoted.
        assert_eq!(s.post_form(&format!("/members/{id}/role"), &[("role", "owner")]).await.status(), 303);
        assert_eq!(member.get(s.url("/members")).send().await.unwrap().status(), 200, "a new role applies at once");
        assert_eq!(s.post_form(&format!("/members/{id}/role"), &[("role", "viewer")]).await.status(), 303);
        // Removed, they lose access at once and their threads become unassigned.
        assert_eq!(s.post_form(&format!("/threads/{thread}/assign"), &[("assignee", &id.to_string())]).await.status(), 303);
        assert_eq!(s.threads("").await[0]["assignee"]["id"], id);
        assert_eq!(s.post_form(&format!("/members/{id}/remove"), &[]).await.status(), 303);
        assert_eq!(s.post_form(&format!("/members/{id}/remove"), &[]).await.status(), 404);
        assert_eq!(member.get(s.url("/")).send().await.unwrap().status(), 403);
        assert_eq!(s.threads("").await[0]["assignee"], Value::Null);

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
        // Its use is recorded (in the background, so the request never waits for it).
        let mut last_used = String::new();
        for _ in 0..250 {
            let (_, page) = s.page("/tokens").await;
            last_used = text_of(&select(&page, "tr.token td:nth-child(5)")[0]);
            if last_used != "never" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_ne!(last_used, "never");
        // Bad names and scopes are refused.
        assert_eq!(s.post_form("/tokens", &[("name", " "), ("scope", "read")]).await.status(), 422);
        assert_eq!(s.post_form("/tokens", &[("name", "x"), ("scope", "owner")]).await.status(), 422);

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
