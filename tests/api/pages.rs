//! The inbox pages, checked through their HTML structure, on both backends.

use crate::common::*;
use serde_json::json;

/// Text that must come back exactly as sent and never act as markup.
fn hostile_text() -> String {
    let mut t = String::from("<script>alert('x')</script> &amp; &lt;b&gt; \"quotes\" 'single' ");
    t.push_str("\u{202E}reversed\u{202C} zero\u{200B}width \u{FEFF} emoji 👩🏽‍💻🔥 \u{05E9}\u{05DC}\u{05D5}\u{05DD} ");
    t.push_str("<img src=x onerror=alert(1)> {{ template }} {% raw %} ");
    while t.len() < 10_240 {
        t.push_str("long text ✓ ");
    }
    t
}

on_both_backends! {
    /// A page that does not exist keeps the signed-in menu; strangers get none.
    async fn missing_pages_keep_the_menu(s: &TestServer) {
        let (status, html) = s.page("/no/such/page").await;
        assert_eq!(status, 404);
        assert_eq!(select(&html, "nav a[href='/rules']").len(), 1);
        assert_eq!(select(&html, "form[action='/logout']").len(), 1);
        let r = s.anonymous().get(s.url("/no/such/page")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        assert!(select(&html, "nav").is_empty());
    }

    async fn inbox_lists_threads_with_their_details(s: &TestServer) {
        s.ingest(json!([comment("c1", "Where can I buy this?"), dm("d1", "lisa", "hello")])).await;
        let (status, html) = s.page("/").await;
        assert_eq!(status, 200);
        let rows = select(&html, "ul.threads li.thread");
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.value().classes().any(|c| c == "unread")));
        let subjects: Vec<String> = select(&html, "li.thread .subject").iter().map(text_of).collect();
        assert_eq!(subjects, ["hello", "Where can I buy this?"]);
        let platforms: Vec<String> = select(&html, "li.thread .platform").iter().map(text_of).collect();
        assert_eq!(platforms, ["Instagram", "TikTok"]);
        // Every filter has a label a screen reader can announce.
        for id in ["q", "platform", "channel", "kind", "label"] {
            assert_eq!(select(&html, &format!("label[for={id}]")).len(), 1, "label for #{id}");
        }
        let channels: Vec<String> = select(&html, "#channel option").iter().map(text_of).collect();
        assert_eq!(channels, ["All channels", "acme.ig (instagram)", "acme_official (tiktok)"]);
        let (_, filtered) = s.page("/?kind=dm").await;
        assert_eq!(select(&filtered, "li.thread").len(), 1);
        assert_eq!(select(&filtered, "#kind option[selected]")[0].value().attr("value"), Some("dm"));
        let (_, none) = s.page("/?q=nothingmatches").await;
        assert_eq!(text_of(&select(&none, "p.empty")[0]), "No threads match these filters.");
    }

    async fn inbox_paginates_with_older_link(s: &TestServer) {
        let events: Vec<_> = (0..60).map(|i| at(comment(&format!("c{i}"), &format!("n{i}")), format!("{}T{:02}:{:02}:00Z", day(), 8 + i / 60, i % 60))).collect();
        s.ingest(serde_json::Value::Array(events)).await;
        let (_, html) = s.page("/").await;
        assert_eq!(select(&html, "li.thread").len(), 50);
        let older = select(&html, "nav.pager a[rel=next]");
        let href = older[0].value().attr("href").unwrap().to_owned();
        let (_, page2) = s.page(&href).await;
        assert_eq!(select(&page2, "li.thread").len(), 10);
        assert!(select(&page2, "nav.pager a[rel=next]").is_empty());
        assert_eq!(text_of(&select(&page2, "li.thread .subject")[9]), "n0");
    }

    async fn hostile_text_is_stored_exactly_and_shown_escaped(s: &TestServer) {
        let text = hostile_text();
        let mut event = comment("c1", &text);
        event["author"]["display_name"] = json!("<b>Evil</b> \u{202E}name");
        event["video"]["title"] = json!("<script>document.cookie</script>");
        s.ingest(event).await;
        let id = s.threads("").await[0]["id"].clone();
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{id}")).await;
        assert_eq!(detail["messages"][0]["text"].as_str().unwrap(), text, "stored exactly");
        let (status, html) = s.page(&format!("/threads/{id}")).await;
        assert_eq!(status, 200);
        let shown = select(&html, "li.message p.text");
        assert_eq!(shown.len(), 1);
        assert_eq!(text_of(&shown[0]), text, "shown exactly, as text");
        // Nothing in the text turned into an element.
        assert!(select(&html, "main script, main img, main b").is_empty());
        assert_eq!(text_of(&select(&html, ".context .author-name")[0]), "<b>Evil</b> \u{202E}name");
        let (_, inbox) = s.page("/").await;
        assert!(select(&inbox, "main script, main img, main b").is_empty());
        assert!(text_of(&select(&inbox, "li.thread .subject")[0]).starts_with("<script>alert('x')</script>"));
        let (_, search) = s.page("/?q=%3Cscript%3E%22%3E%3Cimg").await;
        assert!(select(&search, "main script, main img").is_empty());
        assert_eq!(select(&search, "#q")[0].value().attr("value"), Some("<script>\"><img"));
    }

    async fn thread_page_shows_conversation_video_and_reply_box(s: &TestServer) {
        s.ingest(json!([comment("top", "Question"), reply("r1", "top", "Me too")])).await;
        let id = s.threads("").await[0]["id"].clone();
        let (status, html) = s.page(&format!("/threads/{id}")).await;
        assert_eq!(status, 200);
        let texts: Vec<String> = select(&html, "li.message p.text").iter().map(text_of).collect();
        assert_eq!(texts, ["Question", "Me too"]);
        assert_eq!(select(&html, "li.message.reply").len(), 1);
        let video_link = select(&html, ".context a[target=_blank]");
        assert_eq!(video_link[0].value().attr("href"), Some("https://www.tiktok.com/@acme/video/7377694258502880513"));
        // The limit is shown and checked, never enforced by cutting what was typed or pasted.
        assert_eq!(select(&html, "form.reply-box textarea[name=text][data-max='150']").len(), 1);
        assert!(select(&html, "form.reply-box textarea[maxlength]").is_empty());
        assert_eq!(select(&html, "label[for=reply-text]").len(), 1);
        // Opening the thread marked it read.
        assert_eq!(s.threads("").await[0]["unread"], false);
        let (status, missing) = s.page("/threads/999999").await;
        assert_eq!(status, 404);
        assert_eq!(text_of(&select(&missing, "h1")[0]), "Not Found");
    }

    async fn forms_reply_label_and_close(s: &TestServer) {
        s.ingest(json!([comment("c1", "one"), comment("c2", "two"), comment("c3", "three")])).await;
        let threads = s.threads("").await;
        let id = threads[0]["id"].as_i64().unwrap();
        let r = s.post_form(&format!("/threads/{id}/reply"), &[("text", "Thanks! <3")]).await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, html) = s.page(&format!("/threads/{id}")).await;
        let outbound = select(&html, "li.message.outbound");
        assert_eq!(outbound.len(), 1);
        assert_eq!(text_of(&select(&html, "li.message.outbound p.text")[0]), "Thanks! <3");
        assert!(text_of(&select(&html, "li.message.outbound .badge")[0]).contains("Queued"));
        // Too long for TikTok: the page says why and keeps the draft.
        let draft = "z".repeat(151);
        let r = s.post_form(&format!("/threads/{id}/reply"), &[("text", &draft)]).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        assert!(text_of(&select(&html, ".form-error")[0]).contains("150"));
        assert_eq!(text_of(&select(&html, "textarea#reply-text")[0]), draft);
        let r = s.post_form(&format!("/threads/{id}/labels"), &[("label", "urgent")]).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(s.threads("?label=urgent").await.len(), 1);
        s.post_form(&format!("/threads/{id}/labels/remove"), &[("label", "urgent")]).await;
        assert!(s.threads("?label=urgent").await.is_empty());
        let r = s.post_form(&format!("/threads/{id}/status"), &[("status", "done")]).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(s.threads("?status=done").await.len(), 1);
        // Bulk: the other two at once, back to where we were.
        let (a, b) = (threads[1]["id"].to_string(), threads[2]["id"].to_string());
        let r = s.post_form("/threads/bulk", &[("ids", &a), ("ids", &b), ("status", "done"), ("return_to", "/?kind=comment")]).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"], "/?kind=comment");
        assert_eq!(s.threads("?status=done").await.len(), 3);
        // A return address on another site is not followed.
        let r = s.post_form("/threads/bulk", &[("ids", &a), ("status", "open"), ("return_to", "//evil.example")]).await;
        assert_eq!(r.headers()["location"], "/");
        let r = s.post_form("/threads/bulk", &[("ids", "x"), ("status", "done")]).await;
        assert_eq!(r.status().as_u16(), 422);
    }
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let s = TestServer::sqlite().await;
    for (file, kind) in [
        ("htmx.min.js", "text/javascript"),
        ("app.css", "text/css"),
        ("app.js", "text/javascript"),
    ] {
        let r = s.get(&format!("/static/{file}")).await;
        assert_eq!(r.status().as_u16(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(r.text().await.unwrap().len() > 100);
    }
    assert_eq!(s.get("/static/../Cargo.toml").await.status().as_u16(), 404);
    assert_eq!(s.get("/static/nope.js").await.status().as_u16(), 404);
    s.finish().await;
}

/// Browsers ask every page's origin for `/favicon.ico`: it is an icon, and pages link it.
#[tokio::test]
async fn the_icon_is_served_and_linked() {
    let s = TestServer::sqlite().await;
    let r = s
        .anonymous()
        .get(s.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let icon = r.bytes().await.unwrap();
    // An ICO header (reserved 0, type 1, one image) whose image is a PNG.
    assert_eq!(icon[..6], [0, 0, 1, 0, 1, 0]);
    assert_eq!(icon[22..26], *b"\x89PNG");
    let login = s.anonymous().get(s.url("/login")).send().await.unwrap();
    let login = scraper::Html::parse_document(&login.text().await.unwrap());
    let (status, inbox) = s.page("/").await;
    assert_eq!(status, 200);
    for (path, page) in [("/login", &login), ("/", &inbox)] {
        let links = select(page, "head link[rel=icon]");
        assert_eq!(links.len(), 1, "{path}");
        assert_eq!(
            links[0].value().attr("href"),
            Some("/favicon.ico"),
            "{path}"
        );
    }
    s.finish().await;
}
