//! Nobody gets in where they don't belong: every route of the router's own table is walked
//! anonymously, as a viewer, with a read token and without a CSRF token; and workspaces are
//! checked to never see each other's rows. On both backends.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use unibox::auth::{Access, Need};
use unibox::routes::{Route, table};

/// The route's path with every `{parameter}` replaced by `value`.
fn concrete(path: &str, value: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { value } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn changes_state(route: &Route) -> bool {
    !matches!(route.method, Method::GET | Method::HEAD)
}

/// A valid body for each API write, so that a refusal cannot be blamed on a malformed request
/// and "nothing changed" means the guard stopped it.
fn api_body(method: &Method, path: &str, id: &str) -> Value {
    let id: i64 = id.parse().unwrap();
    let rule = json!({"name": "guarded", "mode": "auto", "conditions": [{"type": "keywords", "any": ["price"]}],
                      "actions": [{"type": "label", "label": "price"}]});
    match (path, method.as_str()) {
        ("/api/v1/rules", _) | ("/api/v1/rules/{id}", "PUT") => rule,
        ("/api/v1/rules/test", _) => {
            json!({"platform": "tiktok", "channel": "acme_official", "kind": "comment", "text": "price?"})
        }
        ("/api/v1/rules/{id}", "PATCH") => json!({"enabled": false}),
        ("/api/v1/rules/{id}", "DELETE") => json!({}),
        ("/api/v1/rules/{id}/backtest", _) => json!({"days": 30}),
        ("/api/v1/automation", _) => json!({"paused": true}),
        ("/api/v1/channels", _) => {
            json!({"platform": "instagram", "handle": "guarded", "platform_id": "999", "credentials": {"access_token": "x"}})
        }
        ("/api/v1/channels/{id}", "PATCH") => json!({"display_name": "guarded"}),
        ("/api/v1/channels/{id}", "DELETE") => json!({}),
        ("/api/v1/messages/{id}/approve", _) | ("/api/v1/messages/{id}/reject", _) => json!({}),
        ("/api/v1/outbox/{id}/retry", _) | ("/api/v1/outbox/{id}/cancel", _) => json!({}),
        _ => api_body_for(path, id),
    }
}

fn api_body_for(path: &str, id: i64) -> Value {
    match path {
        "/api/v1/events" => json!([comment("guarded", "must not be stored")]),
        "/api/v1/threads" => json!({"ids": [id], "status": "done"}),
        "/api/v1/threads/{id}" => json!({"status": "done", "add_labels": ["x"]}),
        "/api/v1/threads/{id}/messages" => json!({"text": "must not be queued"}),
        other => panic!("no body for {other}: add one"),
    }
}

fn request(
    client: &reqwest::Client,
    s: &TestServer,
    route: &Route,
    id: &str,
) -> reqwest::RequestBuilder {
    let url = s.url(&concrete(route.path, id));
    let builder = client.request(route.method.clone(), url);
    match (route.access, changes_state(route)) {
        (Access::Api(_), true) => builder.json(&api_body(&route.method, route.path, id)),
        (_, true) => builder.form(&[("status", "done"), ("label", "x"), ("text", "hi")]),
        _ => builder,
    }
}

async fn first_thread(s: &TestServer) -> i64 {
    s.threads("").await[0]["id"].as_i64().unwrap()
}

on_both_backends! {
    /// Every route except sign-in, static files, the icon, health/metrics and the API's
    /// description refuses anonymous requests: pages redirect to the sign-in page, the API
    /// answers 401.
    async fn anonymous_requests_are_refused_everywhere(s: &TestServer) {
        s.ingest(json!([comment("c1", "hello")])).await;
        let id = first_thread(s).await.to_string();
        let audit_before = s.count("audit_log").await;
        let routes = table();
        let public: Vec<(&str, &str)> = routes
            .iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| (r.method.as_str(), r.path))
            .collect();
        assert_eq!(
            public,
            [("GET", "/login"), ("POST", "/login"), ("GET", "/setup"), ("POST", "/setup"), ("GET", "/static/{file}"),
             ("GET", "/favicon.ico"), ("POST", "/csp-reports"), ("GET", "/api/v1/openapi.json"), ("GET", "/webhooks/meta"), ("POST", "/webhooks/meta"),
             ("POST", "/webhooks/tiktok"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")],
            "a new public route must be added here on purpose"
        );
        let anonymous = s.anonymous();
        let forged_cookie = client_with(None, Some("unibox_session=0000000000000000000000000000000000000000000000000000000000000000"));
        let forged_token = client_with(Some("ubx_00000000000000000000000000000000"), None);
        // The owner's token opens no page, and the owner's cookie opens no API route.
        let token_only = s.api_client(&s.token);
        let cookie_only = client_with(None, Some(&s.sign_in(OWNER).await.cookie));
        let mut walked = 0;
        for route in routes.iter().filter(|r| r.access != Access::Public) {
            let label = format!("{} {}", route.method, route.path);
            for client in [&anonymous, &forged_cookie, &forged_token, &token_only, &cookie_only] {
                let is_page = matches!(route.access, Access::Page(_));
                if (is_page && std::ptr::eq(client, &cookie_only)) || (!is_page && std::ptr::eq(client, &token_only)) {
                    continue;
                }
                let r = request(client, s, route, &id).send().await.unwrap();
                match route.access {
                    Access::Page(_) => {
                        assert_eq!(r.status(), 303, "{label}");
                        let to = r.headers()["location"].to_str().unwrap();
                        assert!(to.starts_with("/login"), "{label} → {to}");
                    }
                    Access::Api(_) => {
                        assert_eq!(r.status(), 401, "{label}");
                        assert!(r.headers().contains_key("www-authenticate"), "{label}");
                        let body: Value = r.json().await.unwrap();
                        assert!(body["error"].as_str().unwrap().contains("token"), "{label}: {body}");
                    }
                    Access::Public => unreachable!(),
                }
            }
            walked += 1;
        }
        assert!(walked >= 30, "walked only {walked} routes");
        // A page asks to come back after signing in; htmx is told where to go.
        let r = anonymous.get(s.url(&format!("/threads/{id}"))).send().await.unwrap();
        assert_eq!(r.headers()["location"], format!("/login?next=%2Fthreads%2F{id}").as_str());
        let r = anonymous.get(s.url("/")).header("hx-request", "true").send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["hx-redirect"], "/login");
        // Nothing was changed by any of it.
        let thread = &s.threads("").await[0];
        assert_eq!(thread["status"], "open");
        assert_eq!(s.count("messages").await, 1);
        assert_eq!(s.count("audit_log").await, audit_before);
    }

    /// A viewer reads but every state-changing page route answers 403; so do the pages of
    /// higher roles. A read token reads the API and cannot write.
    async fn viewers_and_read_tokens_cannot_write(s: &TestServer) {
        s.ingest(json!([comment("c1", "hello")])).await;
        let id = first_thread(s).await.to_string();
        // A rule with the same id as the thread, so that every `{id}` route has something to read.
        let admin_token = s.api_client(&s.token_for(1, Scope::Admin).await);
        let rule = admin_token.post(s.url("/api/v1/rules")).json(&api_body(&Method::POST, "/api/v1/rules", &id)).send().await.unwrap();
        let rule: Value = rule.json().await.unwrap();
        assert_eq!(rule["id"].to_string(), id, "{rule}");
        s.add_user("viewer@example.test", 1, Role::Viewer).await;
        let viewer = s.sign_in("viewer@example.test").await;
        s.add_user("agent@example.test", 1, Role::Agent).await;
        let agent = s.sign_in("agent@example.test").await;
        s.add_user("admin@example.test", 1, Role::Admin).await;
        let admin = s.sign_in("admin@example.test").await;
        s.add_user("owner2@example.test", 1, Role::Owner).await;
        let plain_owner = s.sign_in("owner2@example.test").await;
        let read = s.api_client(&s.token_for(1, Scope::Read).await);
        let tokens_before = s.count("api_tokens").await;
        let mut refused = 0;
        for route in table() {
            let label = format!("{} {}", route.method, route.path);
            match route.access {
                Access::Page(Need::Role(role)) => {
                    let builder = request(&viewer.client, s, &route, &id);
                    let builder = if changes_state(&route) {
                        builder.form(&[("status", "done"), ("label", "x"), ("text", "hi"), ("csrf_token", &viewer.csrf)])
                    } else {
                        builder
                    };
                    let r = builder.send().await.unwrap();
                    if role > Role::Viewer {
                        assert_eq!(r.status(), 403, "viewer: {label}");
                        refused += 1;
                    } else {
                        assert_eq!(r.status(), 200, "viewer: {label}");
                    }
                    for (who, browser, theirs) in [("agent", &agent, Role::Agent), ("admin", &admin, Role::Admin)] {
                        if role > theirs {
                            let r = request(&browser.client, s, &route, &id)
                                .form(&[("csrf_token", browser.csrf.as_str())])
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(r.status(), 403, "{who}: {label}");
                        }
                    }
                }
                Access::Page(Need::ServerAdmin) => {
                    // Owning a workspace does not make one a server administrator.
                    for (who, browser) in [("viewer", &viewer), ("owner", &plain_owner)] {
                        let r = browser.post_form(route.path, &[("name", "X"), ("slug", "x")]).await;
                        assert_eq!(r.status(), 403, "{who}: {label}");
                    }
                }
                Access::Api(role) => {
                    let r = request(&read, s, &route, &id).send().await.unwrap();
                    if role > Role::Viewer {
                        assert_eq!(r.status(), 403, "read token: {label}");
                        let body: Value = r.json().await.unwrap();
                        let needed = if role > Role::Agent { "admin" } else { "read-write" };
                        assert!(body["error"].as_str().unwrap().contains(needed), "{body}");
                        refused += 1;
                        if role > Role::Agent {
                            // A read-write token is no admin token either.
                            let r = request(&s.client, s, &route, &id).send().await.unwrap();
                            assert_eq!(r.status(), 403, "write token: {label}");
                        }
                    } else {
                        assert_eq!(r.status(), 200, "read token: {label}");
                    }
                }
                Access::Page(Need::SignedIn) | Access::Public => {}
            }
        }
        assert!(refused >= 15, "only {refused} refusals");
        // The viewer's page shows no buttons it may not use.
        let (_, html) = viewer.page(&format!("/threads/{id}")).await;
        assert!(select(&html, "form[action$='/reply']").is_empty());
        assert!(select(&html, "form[action$='/status']").is_empty());
        assert_eq!(select(&html, ".messages li").len(), 1);
        // And nothing changed.
        let thread = &s.threads("").await[0];
        assert_eq!(thread["status"], "open");
        assert_eq!(thread["unread"], true, "a viewer's look does not mark it read");
        assert_eq!(thread["labels"], json!([]));
        assert_eq!(s.count("messages").await, 1);
        assert_eq!(s.count("api_tokens").await, tokens_before);
        assert_eq!(s.count("workspaces").await, 1);
        let (_, rule) = s.get_json(&format!("/api/v1/rules/{id}")).await;
        assert_eq!((rule["enabled"].as_bool(), rule["name"].as_str()), (Some(true), Some("guarded")));
        // Only the set-up's own changes: five members, three tokens and one rule.
        assert_eq!(s.count("audit_log").await, 9);
    }

    /// A link from another site opens a thread but does not mark it read.
    async fn links_from_other_sites_change_nothing(s: &TestServer) {
        s.ingest(json!([comment("c1", "hello")])).await;
        let id = first_thread(s).await;
        let page = s.url(&format!("/threads/{id}"));
        let r = s.client.get(&page).header("sec-fetch-site", "cross-site").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.threads("").await[0]["unread"], true);
        let r = s.client.get(&page).header("sec-fetch-site", "same-origin").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.threads("").await[0]["unread"], false);
    }

    /// A form post without the session's CSRF token gets 403 and changes nothing; the
    /// header that htmx sends works instead of the field.
    async fn forms_without_a_valid_csrf_token_change_nothing(s: &TestServer) {
        s.ingest(json!([comment("c1", "hello")])).await;
        let id = first_thread(s).await.to_string();
        let other = s.sign_in(OWNER).await;
        let audit_before = s.count("audit_log").await;
        for route in table().iter().filter(|r| matches!(r.access, Access::Page(_)) && changes_state(r)) {
            let label = format!("{} {}", route.method, route.path);
            let url = s.url(&concrete(route.path, &id));
            let fields = [("status", "done"), ("label", "x"), ("text", "hi"), ("name", "n"), ("slug", "n"),
                          ("email", "x@example.test"), ("role", "viewer"), ("scope", "write"), ("workspace_id", "1")];
            let missing = s.client.post(&url).form(&fields).send().await.unwrap();
            assert_eq!(missing.status(), 403, "no token: {label}");
            let mut wrong = fields.to_vec();
            wrong.push(("csrf_token", &other.csrf));
            let r = s.client.post(&url).form(&wrong).send().await.unwrap();
            assert_eq!(r.status(), 403, "another session's token: {label}");
            let r = s.client.post(&url).header("x-csrf-token", "0").form(&fields).send().await.unwrap();
            assert_eq!(r.status(), 403, "wrong header: {label}");
        }
        let thread = &s.threads("").await[0];
        assert_eq!(thread["status"], "open");
        assert_eq!(thread["labels"], json!([]));
        assert_eq!(s.count("messages").await, 1);
        assert_eq!(s.count("audit_log").await, audit_before);
        assert_eq!(s.count("workspaces").await, 1);
        // Still signed in: the logout without a token did nothing.
        assert_eq!(s.page("/").await.0, 200);
        // With the header, as htmx sends it, the same request works.
        let r = s.client.post(s.url(&format!("/threads/{id}/status")))
            .header("x-csrf-token", &s.csrf)
            .form(&[("status", "done")])
            .send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(s.threads("").await[0]["status"], "done");
        // Every form on the pages carries the token.
        for path in ["/", &format!("/threads/{id}"), "/members", "/tokens", "/account"] {
            let (status, html) = s.page(path).await;
            assert_eq!(status, 200, "{path}");
            for form in select(&html, "form[method=post]") {
                let has = form.select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
                    .any(|i| i.value().attr("value") == Some(s.csrf.as_str()));
                assert!(has, "{path}: a form to {:?} lacks the CSRF token", form.value().attr("action"));
            }
        }
    }

    /// A member of workspace A asking for B's items by id gets 404, lists never show B's
    /// rows, and nothing of B changes.
    async fn workspaces_never_see_each_other(s: &TestServer) {
        let b = s.add_workspace("other").await;
        let b_token = s.token_for(b, Scope::Write).await;
        let b_api = s.api_client(&b_token);
        // The same channel name in both workspaces must stay two channels.
        let mut b_comment = comment("b1", "secretword in B");
        b_comment["author"]["username"] = json!("b_author");
        let r = b_api.post(s.url("/api/v1/events")).json(&json!([b_comment, dm("bd1", "bob", "private B")])).send().await.unwrap();
        assert_eq!(r.status(), 201);
        s.ingest(json!([comment("a1", "hello from A")])).await;
        let b_threads: Value = b_api.get(s.url("/api/v1/threads")).send().await.unwrap().json().await.unwrap();
        let b_ids: Vec<i64> = b_threads["threads"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(b_ids.len(), 2);
        let b_user = s.add_user("b-owner@example.test", b, Role::Owner).await;
        let b_owner = s.sign_in("b-owner@example.test").await;
        assert_eq!(b_owner.post_form(&format!("/threads/{}/labels", b_ids[0]), &[("label", "b-label")]).await.status(), 303);
        let b_token_id: (i64,) = s.db.fetch_optional(unibox::storage::Sql::new(format!("SELECT MAX(id) FROM api_tokens WHERE workspace_id = {b}"))).await.unwrap().unwrap();

        // Lists: only A's rows.
        let a_threads = s.threads("").await;
        assert_eq!(a_threads.len(), 1);
        assert!(a_threads.iter().all(|t| !b_ids.contains(&t["id"].as_i64().unwrap())));
        assert!(s.threads("?q=secretword").await.is_empty());
        assert!(s.threads("?q=b_author").await.is_empty());
        let (_, labels) = s.get_json("/api/v1/labels").await;
        assert_eq!(labels["labels"], json!([]));
        let (_, members) = s.get_json("/api/v1/members").await;
        let emails: Vec<&str> = members["members"].as_array().unwrap().iter().map(|m| m["email"].as_str().unwrap()).collect();
        assert_eq!(emails, [OWNER]);
        let (_, inbox) = s.page("/?status=all").await;
        assert_eq!(select(&inbox, "li.thread").len(), 1);
        assert_eq!(select(&inbox, "#channel option").len(), 2, "A's one channel");
        let (_, audit) = s.page("/audit").await;
        assert!(select(&audit, ".audit-entry .target").iter().all(|t| !text_of(t).contains("b-owner")));
        let (_, tokens) = s.page("/tokens").await;
        assert!(select(&tokens, "tr.token").iter().all(|t| t.value().attr("data-token") != Some(&b_token_id.0.to_string())));

        // Items by id: 404, on the API and on pages, and B is untouched.
        for b_id in &b_ids {
            let t = format!("/api/v1/threads/{b_id}");
            assert_eq!(s.get_json(&t).await.0, 404);
            assert_eq!(s.patch_json(&t, &json!({"status": "done"})).await.0, 404);
            assert_eq!(s.patch_json(&t, &json!({"assignee": null})).await.0, 404);
            assert_eq!(s.post_json(&format!("{t}/messages"), &json!({"text": "hi"})).await.0, 404);
            let (status, body) = s.patch_json("/api/v1/threads", &json!({"ids": [b_id], "status": "done"})).await;
            assert_eq!((status, &body["updated"]), (200, &json!(0)));
            let page = format!("/threads/{b_id}");
            assert_eq!(s.page(&page).await.0, 404);
            for (action, field) in [("status", ("status", "done")), ("unread", ("x", "")), ("labels", ("label", "x")),
                                    ("labels/remove", ("label", "b-label")), ("reply", ("text", "hi")), ("assign", ("assignee", ""))] {
                let r = s.post_form(&format!("{page}/{action}"), &[field]).await;
                assert_eq!(r.status(), 404, "{page}/{action}");
            }
            let r = s.post_form("/threads/bulk", &[("ids", &b_id.to_string()), ("status", "done")]).await;
            assert_eq!(r.status(), 303);
        }
        assert_eq!(s.post_form(&format!("/tokens/{}/revoke", b_token_id.0), &[]).await.status(), 404);
        assert_eq!(s.post_form(&format!("/members/{b_user}/role"), &[("role", "viewer")]).await.status(), 404);
        assert_eq!(s.post_form(&format!("/members/{b_user}/remove"), &[]).await.status(), 404);
        assert_eq!(s.post_form("/workspace", &[("workspace_id", &b.to_string())]).await.status(), 404);
        let a_thread = a_threads[0]["id"].as_i64().unwrap();
        let (status, body) = s.patch_json(&format!("/api/v1/threads/{a_thread}"), &json!({"assignee": b_user})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["problems"][0]["field"], "assignee");

        let b_after: Value = b_api.get(s.url("/api/v1/threads")).send().await.unwrap().json().await.unwrap();
        for t in b_after["threads"].as_array().unwrap() {
            assert_eq!(t["status"], "open");
            assert_eq!(t["message_count"], 1);
        }
        let r = b_api.get(s.url("/api/v1/labels")).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["labels"], json!(["b-label"]));
        // A message id of B's is no position in A's thread, and tells nothing.
        let b_message: (i64,) = s.db.fetch_optional(unibox::storage::Sql::new(format!("SELECT MIN(id) FROM messages WHERE workspace_id = {b}"))).await.unwrap().unwrap();
        let (status, body) = s.get_json(&format!("/api/v1/threads/{a_thread}?cursor={}", b_message.0)).await;
        assert_eq!((status, body["messages"].as_array().unwrap().len()), (200, 0));
        // B's token still works, and B's owner sees only B.
        let (_, b_inbox) = b_owner.page("/?status=all").await;
        assert_eq!(select(&b_inbox, "li.thread").len(), 2);
        assert_eq!(s.count("channels").await, 3, "acme_official in A and in B, acme.ig in B");
    }
}

/// The table itself follows the roles as the product defines them: owners manage members,
/// admins tokens and the audit log, agents act on threads, viewers read; the API reads with
/// any token and writes with a read-write one. A route that fits none of these fails here
/// until its policy is written down.
#[test]
fn route_table_follows_the_role_policy() {
    use Role::{Admin, Agent, Owner, Viewer};
    for route in table() {
        let (path, get) = (route.path, route.method == Method::GET);
        let expected = match path {
            "/login" | "/setup" | "/static/{file}" | "/favicon.ico" | "/csp-reports"
            | "/healthz" | "/readyz" | "/metrics" | "/webhooks/meta" | "/webhooks/tiktok" => {
                Access::Public
            }
            // The API's description holds nothing of a workspace.
            "/api/v1/openapi.json" if get => Access::Public,
            "/logout" | "/account" | "/account/password" | "/workspace" => {
                Access::Page(Need::SignedIn)
            }
            "/workspaces" => Access::Page(Need::ServerAdmin),
            p if p.starts_with("/members") => Access::Page(Need::Role(Owner)),
            p if p.starts_with("/tokens") || p == "/audit" || p == "/channels" => {
                Access::Page(Need::Role(Admin))
            }
            "/rules" if get => Access::Page(Need::Role(Viewer)),
            // The editor's pages and every change of rules: admins.
            p if p.starts_with("/rules/") => Access::Page(Need::Role(Admin)),
            // Suggestions are read by anyone and decided by agents, like replies.
            "/approvals" if get => Access::Page(Need::Role(Viewer)),
            p if p.starts_with("/approvals/") && !get => Access::Page(Need::Role(Agent)),
            // Rules are workspace settings: admins change them.
            p if p.starts_with("/api/v1/rules") || p == "/api/v1/automation" => {
                Access::Api(if get { Viewer } else { Admin })
            }
            // Channels carry credentials: admins only, reading included.
            p if p.starts_with("/api/v1/channels") => Access::Api(Admin),
            p if p.starts_with("/api/v1/") => Access::Api(if get { Viewer } else { Agent }),
            // The outbox is read by anyone; agents retry and cancel, like replies.
            "/outbox" if get => Access::Page(Need::Role(Viewer)),
            p if p.starts_with("/outbox/") && !get => Access::Page(Need::Role(Agent)),
            "/" | "/live" | "/threads/{id}" | "/engagement" | "/videos/{id}" if get => {
                Access::Page(Need::Role(Viewer))
            }
            // The engagement page's CSV link: whoever reads the page gets its table.
            "/engagement/channels/{id}/videos.csv" if get => Access::Page(Need::Role(Viewer)),
            p if p.starts_with("/threads/") && !get => Access::Page(Need::Role(Agent)),
            other => panic!("no policy for {} {other}", route.method),
        };
        assert_eq!(route.access, expected, "{} {path}", route.method);
    }
}
