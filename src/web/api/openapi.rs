//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, built once, on first request,
//! from the handlers' `#[utoipa::path]` annotations and the types they read and answer.
//! Tests hold it to the route table (methods, path parameters, scopes) and to real answers.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{self, Ref, RefOr, Response, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};

use super::{automation, channels, engagement, events, outbox, rules, threads};

/// The bearer token scheme's name, as the operations' `security(("token" = [scope]))` give it.
const TOKEN: &str = "token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "unibox API",
        description = "One inbox for every comment and DM across TikTok, Instagram, Facebook and \
            YouTube: ingest messages, read and act on threads, run reply rules, read engagement.\n\n\
            Every operation but this document needs an API token (`Authorization: Bearer ubx_…`, \
            made with `unibox token add` or on the Tokens page). A token's scope is `read`, \
            `write` or `admin`; each wider scope can do all the narrower ones can. An \
            operation's `security` names the narrowest scope it accepts. Refusals answer \
            `{\"error\", \"problems\": [{\"field\", \"message\"}]}`."
    ),
    paths(
        document,
        events::post_events,
        threads::list,
        threads::bulk_update,
        threads::show,
        threads::update,
        threads::reply,
        threads::labels,
        threads::members,
        rules::list,
        rules::create,
        rules::test,
        rules::show,
        rules::replace,
        rules::adjust,
        rules::delete,
        automation::run_backtest,
        automation::standing,
        automation::switch,
        automation::waiting,
        automation::approve,
        automation::reject,
        engagement::video,
        engagement::channel,
        engagement::videos_csv,
        outbox::list,
        outbox::retry,
        outbox::cancel,
        channels::list,
        channels::connect,
        channels::show,
        channels::change,
        channels::remove,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Guard),
    tags(
        (name = "ingest", description = "Messages and statistics sent in by any source"),
        (name = "threads", description = "Conversations: reading, statuses, labels, replies"),
        (name = "rules", description = "Reply rules, trying them, and their backtests"),
        (name = "automation", description = "The pause switch and suggestions waiting for a person"),
        (name = "engagement", description = "Engagement rates of videos and channels"),
        (name = "outbox", description = "Replies sent or waiting to be sent"),
        (name = "channels", description = "Connected accounts and their credentials"),
        (name = "document", description = "This document"),
    )
)]
struct Document;

/// The bearer scheme, and the refusals every operation of a kind can answer: 401 without a
/// valid token, 403 when the token's scope is narrower than the operation's, 404 for an id
/// not in the token's workspace, 400 and 422 for a body that is not JSON or does not fit.
struct Guard;

impl Modify for Guard {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API token of one workspace; its scope (read, write or admin) decides \
                 what it may do.",
            ))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(TOKEN, SecurityScheme::Http(scheme));
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let security = op.security.as_deref().unwrap_or_default();
                let mut refusals = vec![];
                if security
                    .iter()
                    .any(|s| *s != SecurityRequirement::default())
                {
                    refusals.push(("401", "No valid API token was sent"));
                    if !security.contains(&SecurityRequirement::new(TOKEN, ["read"])) {
                        refusals.push(("403", "The token's scope is narrower than this needs"));
                    }
                }
                if path.contains('{') {
                    refusals.push(("404", "No such item in the token's workspace"));
                }
                if op.request_body.is_some() {
                    refusals.push(("400", "The body is not JSON"));
                    refusals.push(("422", "The body does not fit; `problems` names each field"));
                }
                for (status, description) in refusals {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| refusal(description));
                }
            }
        }
    }
}

/// An error answer in the API's one error shape.
fn refusal(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .into()
}

static JSON: LazyLock<String> = LazyLock::new(|| {
    Document::openapi()
        .to_json()
        .expect("the OpenAPI document serialises")
});

/// The document, served to anyone: it describes the API, it holds nothing of a workspace.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "document",
    responses((status = 200, description = "This document, OpenAPI 3.1", body = Object)),
)]
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], JSON.as_str())
}
