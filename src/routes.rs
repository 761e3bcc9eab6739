//! Every route the product has, and who may use it. The router is built from this table and
//! from nothing else, so each route passes the guard with the access written here (a test
//! walks the whole table).

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::auth::{Access, Need};
use crate::domain::Role::{Admin, Agent, Owner, Viewer};
use crate::state::AppState;
use crate::web;

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub(crate) handler: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    Route {
        method,
        path,
        access,
        handler: on(filter, handler),
    }
}

const PUBLIC: Access = Access::Public;

/// Violation reports are small; anyone may send one, so they get no more room than this.
const CSP_REPORT_BYTES: usize = 16 * 1024;

impl Route {
    fn with_body_limit(mut self, bytes: usize) -> Self {
        self.handler = self
            .handler
            .layer(axum::extract::DefaultBodyLimit::max(bytes));
        self
    }
}
const SIGNED_IN: Access = Access::Page(Need::SignedIn);
const SERVER_ADMIN: Access = Access::Page(Need::ServerAdmin);
const fn page(role: crate::domain::Role) -> Access {
    Access::Page(Need::Role(role))
}

pub fn table() -> Vec<Route> {
    use Access::Api;
    use Method as M;
    vec![
        // Signing in and one's own account.
        route(M::GET, "/login", PUBLIC, web::pages::login::form),
        route(M::POST, "/login", PUBLIC, web::pages::login::sign_in),
        route(M::GET, "/setup", PUBLIC, web::pages::setup::form),
        route(M::POST, "/setup", PUBLIC, web::pages::setup::create),
        route(M::POST, "/logout", SIGNED_IN, web::pages::login::sign_out),
        route(M::GET, "/account", SIGNED_IN, web::pages::account::show),
        route(
            M::POST,
            "/account/password",
            SIGNED_IN,
            web::pages::account::change_password,
        ),
        route(
            M::POST,
            "/workspace",
            SIGNED_IN,
            web::pages::account::switch_workspace,
        ),
        route(
            M::POST,
            "/workspaces",
            SERVER_ADMIN,
            web::pages::account::create_workspace,
        ),
        // The inbox.
        route(M::GET, "/", page(Viewer), web::pages::inbox::inbox),
        route(M::GET, "/live", page(Viewer), web::live::stream),
        route(
            M::POST,
            "/threads/bulk",
            page(Agent),
            web::pages::inbox::bulk_status,
        ),
        route(
            M::GET,
            "/threads/{id}",
            page(Viewer),
            web::pages::thread::thread,
        ),
        route(
            M::POST,
            "/threads/{id}/status",
            page(Agent),
            web::pages::thread::set_status,
        ),
        route(
            M::POST,
            "/threads/{id}/unread",
            page(Agent),
            web::pages::thread::mark_unread,
        ),
        route(
            M::POST,
            "/threads/{id}/labels",
            page(Agent),
            web::pages::thread::add_label,
        ),
        route(
            M::POST,
            "/threads/{id}/labels/remove",
            page(Agent),
            web::pages::thread::remove_label,
        ),
        route(
            M::POST,
            "/threads/{id}/assign",
            page(Agent),
            web::pages::thread::assign,
        ),
        route(
            M::POST,
            "/threads/{id}/reply",
            page(Agent),
            web::pages::thread::reply,
        ),
        // Running a workspace.
        route(M::GET, "/members", page(Owner), web::pages::members::show),
        route(M::POST, "/members", page(Owner), web::pages::members::add),
        route(
            M::POST,
            "/members/{user}/role",
            page(Owner),
            web::pages::members::set_role,
        ),
        route(
            M::POST,
            "/members/{user}/remove",
            page(Owner),
            web::pages::members::remove,
        ),
        route(M::GET, "/rules", page(Viewer), web::pages::rules::show),
        route(
            M::POST,
            "/rules/try",
            page(Admin),
            web::pages::rules::try_message,
        ),
        route(
            M::POST,
            "/rules/{id}/enabled",
            page(Admin),
            web::pages::rules::switch,
        ),
        route(
            M::POST,
            "/rules/{id}/delete",
            page(Admin),
            web::pages::rules::delete,
        ),
        route(
            M::GET,
            "/engagement",
            page(Viewer),
            web::pages::engagement::show,
        ),
        route(
            M::GET,
            "/engagement/channels/{id}/videos.csv",
            page(Viewer),
            web::pages::engagement::videos_csv,
        ),
        route(
            M::GET,
            "/videos/{id}",
            page(Viewer),
            web::pages::video::show,
        ),
        route(
            M::GET,
            "/rules/new",
            page(Admin),
            web::pages::rule_editor::new,
        ),
        route(
            M::POST,
            "/rules/new",
            page(Admin),
            web::pages::rule_editor::create,
        ),
        route(
            M::GET,
            "/rules/{id}/edit",
            page(Admin),
            web::pages::rule_editor::edit,
        ),
        route(
            M::POST,
            "/rules/{id}/edit",
            page(Admin),
            web::pages::rule_editor::update,
        ),
        route(
            M::POST,
            "/rules/{id}/move",
            page(Admin),
            web::pages::rules::move_rule,
        ),
        route(
            M::POST,
            "/rules/{id}/backtest",
            page(Admin),
            web::pages::rules::run_backtest,
        ),
        route(
            M::POST,
            "/rules/automation",
            page(Admin),
            web::pages::rules::automation,
        ),
        route(
            M::POST,
            "/rules/time-zone",
            page(Admin),
            web::pages::rules::time_zone,
        ),
        route(
            M::GET,
            "/approvals",
            page(Viewer),
            web::pages::approvals::show,
        ),
        route(
            M::POST,
            "/approvals/{id}/approve",
            page(Agent),
            web::pages::approvals::approve,
        ),
        route(
            M::POST,
            "/approvals/{id}/reject",
            page(Agent),
            web::pages::approvals::reject,
        ),
        route(M::GET, "/tokens", page(Admin), web::pages::tokens::show),
        route(M::POST, "/tokens", page(Admin), web::pages::tokens::create),
        route(
            M::POST,
            "/tokens/{id}/revoke",
            page(Admin),
            web::pages::tokens::revoke,
        ),
        route(M::GET, "/audit", page(Admin), web::pages::audit::show),
        route(M::GET, "/channels", page(Admin), web::pages::channels::show),
        route(M::GET, "/outbox", page(Viewer), web::pages::outbox::show),
        route(
            M::POST,
            "/outbox/{id}/retry",
            page(Agent),
            web::pages::outbox::retry,
        ),
        route(
            M::POST,
            "/outbox/{id}/cancel",
            page(Agent),
            web::pages::outbox::cancel,
        ),
        route(
            M::POST,
            "/channels",
            page(Admin),
            web::pages::channels::connect,
        ),
        route(M::GET, "/static/{file}", PUBLIC, web::asset),
        route(M::GET, "/favicon.ico", PUBLIC, web::favicon),
        route(M::POST, "/csp-reports", PUBLIC, web::hardening::csp_report)
            .with_body_limit(CSP_REPORT_BYTES),
        // The JSON API, and its OpenAPI document (public: it holds nothing of a workspace).
        route(
            M::GET,
            "/api/v1/openapi.json",
            PUBLIC,
            web::api::openapi::document,
        ),
        route(
            M::POST,
            "/api/v1/events",
            Api(Agent),
            web::api::events::post_events,
        ),
        route(
            M::GET,
            "/api/v1/threads",
            Api(Viewer),
            web::api::threads::list,
        ),
        route(
            M::PATCH,
            "/api/v1/threads",
            Api(Agent),
            web::api::threads::bulk_update,
        ),
        route(
            M::GET,
            "/api/v1/threads/{id}",
            Api(Viewer),
            web::api::threads::show,
        ),
        route(
            M::PATCH,
            "/api/v1/threads/{id}",
            Api(Agent),
            web::api::threads::update,
        ),
        route(
            M::POST,
            "/api/v1/threads/{id}/messages",
            Api(Agent),
            web::api::threads::reply,
        ),
        route(M::GET, "/api/v1/rules", Api(Viewer), web::api::rules::list),
        route(
            M::POST,
            "/api/v1/rules",
            Api(Admin),
            web::api::rules::create,
        ),
        route(
            M::POST,
            "/api/v1/rules/test",
            Api(Admin),
            web::api::rules::test,
        ),
        route(
            M::GET,
            "/api/v1/rules/{id}",
            Api(Viewer),
            web::api::rules::show,
        ),
        route(
            M::PUT,
            "/api/v1/rules/{id}",
            Api(Admin),
            web::api::rules::replace,
        ),
        route(
            M::PATCH,
            "/api/v1/rules/{id}",
            Api(Admin),
            web::api::rules::adjust,
        ),
        route(
            M::DELETE,
            "/api/v1/rules/{id}",
            Api(Admin),
            web::api::rules::delete,
        ),
        route(
            M::POST,
            "/api/v1/rules/{id}/backtest",
            Api(Admin),
            web::api::automation::run_backtest,
        ),
        route(
            M::GET,
            "/api/v1/automation",
            Api(Viewer),
            web::api::automation::standing,
        ),
        route(
            M::PUT,
            "/api/v1/automation",
            Api(Admin),
            web::api::automation::switch,
        ),
        route(
            M::GET,
            "/api/v1/suggestions",
            Api(Viewer),
            web::api::automation::waiting,
        ),
        route(
            M::POST,
            "/api/v1/messages/{id}/approve",
            Api(Agent),
            web::api::automation::approve,
        ),
        route(
            M::POST,
            "/api/v1/messages/{id}/reject",
            Api(Agent),
            web::api::automation::reject,
        ),
        route(
            M::GET,
            "/api/v1/engagement/videos/{id}",
            Api(Viewer),
            web::api::engagement::video,
        ),
        route(
            M::GET,
            "/api/v1/engagement/channels/{id}",
            Api(Viewer),
            web::api::engagement::channel,
        ),
        route(
            M::GET,
            "/api/v1/engagement/channels/{id}/videos.csv",
            Api(Viewer),
            web::api::engagement::videos_csv,
        ),
        route(
            M::GET,
            "/api/v1/outbox",
            Api(Viewer),
            web::api::outbox::list,
        ),
        route(
            M::POST,
            "/api/v1/outbox/{id}/retry",
            Api(Agent),
            web::api::outbox::retry,
        ),
        route(
            M::POST,
            "/api/v1/outbox/{id}/cancel",
            Api(Agent),
            web::api::outbox::cancel,
        ),
        route(
            M::GET,
            "/api/v1/channels",
            Api(Admin),
            web::api::channels::list,
        ),
        route(
            M::POST,
            "/api/v1/channels",
            Api(Admin),
            web::api::channels::connect,
        ),
        route(
            M::GET,
            "/api/v1/channels/{id}",
            Api(Admin),
            web::api::channels::show,
        ),
        route(
            M::PATCH,
            "/api/v1/channels/{id}",
            Api(Admin),
            web::api::channels::change,
        ),
        route(
            M::DELETE,
            "/api/v1/channels/{id}",
            Api(Admin),
            web::api::channels::remove,
        ),
        route(
            M::GET,
            "/api/v1/labels",
            Api(Viewer),
            web::api::threads::labels,
        ),
        route(
            M::GET,
            "/api/v1/members",
            Api(Viewer),
            web::api::threads::members,
        ),
        // Platform webhooks: the signature is the authentication.
        route(M::GET, "/webhooks/meta", PUBLIC, web::webhooks::meta_verify),
        route(
            M::POST,
            "/webhooks/meta",
            PUBLIC,
            web::webhooks::meta_receive,
        ),
        route(
            M::POST,
            "/webhooks/tiktok",
            PUBLIC,
            web::webhooks::tiktok_receive,
        ),
        // Operations.
        route(M::GET, "/healthz", PUBLIC, web::ops::healthz),
        route(M::GET, "/readyz", PUBLIC, web::ops::readyz),
        route(M::GET, "/metrics", PUBLIC, web::ops::metrics),
    ]
}
