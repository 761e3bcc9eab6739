//! Signing in and out, sessions and their cookies, sign-in limits and password changes,
//! through the real pages.

use crate::common::*;

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
        // Signed in, /login moves on, but only to our own pages.
        let r = browser.get(s.url("/login?next=/account")).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/account");
        for hostile in ["//evil.example/", "https://evil.example/", "/%09/evil.example"] {
            let r = browser.get(s.url(&format!("/login?next={hostile}"))).send().await.unwrap();
            assert_eq!(r.headers()["location"], "/", "{hostile}");
        }

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
        // 15 minutes, or 14 on a slow machine.
        assert!(message.starts_with("Too many failed sign-ins for this account. Try again in 1"), "{message}");
        assert!(message.ends_with(" minutes."), "{message}");
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
        // Refused attempts are not counted, checked ones are: one after another, exactly five
        // guesses in all are checked before the pause.
        let mut more = 0;
        while try_sign_in(&anonymous, s, OWNER, "a wrong guess", None).await.status() == 401 {
            more += 1;
            assert!(more <= 5, "the pause never came");
        }
        assert_eq!(checked + more, 5, "{statuses:?}");
        assert_eq!(try_sign_in(&anonymous, s, OWNER, PASSWORD, None).await.status(), 429);
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
        // Guessing the current password through a session is limited like signing in.
        for _ in 0..5 {
            let r = here.post_form("/account/password", &[("current", "a wrong guess"), ("new", new), ("confirm", new)]).await;
            assert_eq!(r.status(), 422);
        }
        let r = here.post_form("/account/password", &[("current", new), ("new", PASSWORD), ("confirm", PASSWORD)]).await;
        assert_eq!(r.status(), 429);
        assert!(form_error(&r.text().await.unwrap()).starts_with("Too many failed sign-ins for this account"));
    }

    /// A session past its expiry opens nothing, and its cookie is cleared.
    async fn sessions_expire(s: &TestServer) {
        let browser = s.sign_in(OWNER).await;
        assert_eq!(browser.get("/").await.status(), 200);
        let mut expire = unibox::storage::Sql::new("UPDATE sessions SET expires_at = ");
        expire.bind(unibox::clock::now() - chrono::Duration::seconds(1));
        s.db.execute(expire).await.unwrap();
        let r = browser.get("/").await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/login");
        assert!(cookie_header(&r, "unibox_session").contains("Max-Age=0"));
        let r = s.client.get(s.url("/api/v1/threads")).send().await.unwrap();
        assert_eq!(r.status(), 200, "API tokens do not expire with sessions");
    }
}

/// `Secure` cookies behind an HTTPS proxy (trusted), or always when configured; behind a
/// trusted proxy, sign-in limits count the client's forwarded address. (Cookie flags and
/// addresses do not depend on the database, so this runs on SQLite only.)
#[tokio::test]
async fn secure_cookies_and_addresses_behind_a_proxy() {
    // A server that trusts no proxy ignores a client's claims.
    let s = TestServer::sqlite().await;
    let r = s
        .anonymous()
        .get(s.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(!cookie_header(&r, "unibox_signin").contains("Secure"));
    s.finish().await;

    let proxied = TestServer::sqlite_with(|c| c.server.trust_proxy = true).await;
    let client = proxied.anonymous();
    let tried = std::sync::atomic::AtomicUsize::new(0);
    let attempt = |address: &'static str, password: &'static str| {
        let (client, url) = (client.clone(), proxied.url("/login"));
        // A new account each time, so only the address limit can apply.
        let email = format!(
            "guess{}@example.test",
            tried.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        async move {
            let form = client
                .get(&url)
                .header("x-forwarded-proto", "https")
                .send()
                .await
                .unwrap();
            assert!(cookie_header(&form, "unibox_signin").ends_with("; Secure"));
            let cookie = set_cookie(&form, "unibox_signin").unwrap();
            let html = scraper::Html::parse_document(&form.text().await.unwrap());
            let csrf = select(&html, "input[name=csrf_token]")[0]
                .value()
                .attr("value")
                .unwrap()
                .to_owned();
            client
                .post(&url)
                .header("cookie", format!("unibox_signin={cookie}"))
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-for", format!("203.0.113.9, {address}"))
                .form(&[
                    ("email", email.as_str()),
                    ("password", password),
                    ("csrf_token", &csrf),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // The session cookie is Secure too.
    let r = attempt("198.51.100.1", "x").await;
    assert_eq!(r.status(), 401);
    let (cookie, csrf) = login_form(&client, &proxied).await;
    let ok = client
        .post(proxied.url("/login"))
        .header("cookie", format!("unibox_signin={cookie}"))
        .header("x-forwarded-proto", "https")
        .form(&[
            ("email", OWNER),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert!(cookie_header(&ok, "unibox_session").ends_with("; Secure"));
    // 30 failures from one forwarded address pause that address only (the proxy's own
    // address, the peer, is the same for all of them).
    for _ in 1..30 {
        assert_eq!(attempt("198.51.100.1", "x").await.status(), 401);
    }
    let paused = attempt("198.51.100.1", "x").await;
    assert_eq!(paused.status(), 429);
    assert!(form_error(&paused.text().await.unwrap()).contains("your network address"));
    assert_eq!(
        attempt("198.51.100.2", "x").await.status(),
        401,
        "another client is not paused"
    );
    proxied.finish().await;

    let always = TestServer::sqlite_with(|c| {
        c.auth.cookie_security = unibox::config::CookieSecurity::Always
    })
    .await;
    let r = always
        .anonymous()
        .get(always.url("/login"))
        .send()
        .await
        .unwrap();
    assert!(cookie_header(&r, "unibox_signin").ends_with("; Secure"));
    always.finish().await;
}
