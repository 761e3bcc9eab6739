//! Every route the product has, and who may use it. The router is built from this table and
//! from nothing else, so each route passes the guard with the access written here (a test
//! walks the whole table).

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use crate::auth::{Access, Need};
use crate::domain::Role::{Admin, Agent, Owner, Viewer};
use crate::state::AppState;
use crate::{inbox, ingest, ops, web};

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
        route(M::GET, "/login", PUBLIC, web::login_page::form),
        route(M::POST, "/login", PUBLIC, web::login_page::sign_in),
        route(M::POST, "/logout", SIGNED_IN, web::login_page::sign_out),
        route(M::GET, "/account", SIGNED_IN, web::account_page::show),
        route(
            M::POST,
            "/account/password",
            SIGNED_IN,
            web::account_page::change_password,
        ),
        route(
            M::POST,
            "/workspace",
            SIGNED_IN,
            web::account_page::switch_workspace,
        ),
        route(
            M::POST,
            "/workspaces",
            SERVER_ADMIN,
            web::account_page::create_workspace,
        ),
        // The inbox.
        route(M::GET, "/", page(Viewer), web::inbox_page::inbox),
        route(
            M::POST,
            "/threads/bulk",
            page(Agent),
            web::inbox_page::bulk_status,
        ),
        route(
            M::GET,
            "/threads/{id}",
            page(Viewer),
            web::thread_page::thread,
        ),
        route(
            M::POST,
            "/threads/{id}/status",
            page(Agent),
            web::thread_page::set_status,
        ),
        route(
            M::POST,
            "/threads/{id}/unread",
            page(Agent),
            web::thread_page::mark_unread,
        ),
        route(
            M::POST,
            "/threads/{id}/labels",
            page(Agent),
            web::thread_page::add_label,
        ),
        route(
            M::POST,
            "/threads/{id}/labels/remove",
            page(Agent),
            web::thread_page::remove_label,
        ),
        route(
            M::POST,
            "/threads/{id}/assign",
            page(Agent),
            web::thread_page::assign,
        ),
        route(
            M::POST,
            "/threads/{id}/reply",
            page(Agent),
            web::thread_page::reply,
        ),
        // Running a workspace.
        route(M::GET, "/members", page(Owner), web::members_page::show),
        route(M::POST, "/members", page(Owner), web::members_page::add),
        route(
            M::POST,
            "/members/{user}/role",
            page(Owner),
            web::members_page::set_role,
        ),
        route(
            M::POST,
            "/members/{user}/remove",
            page(Owner),
            web::members_page::remove,
        ),
        route(M::GET, "/tokens", page(Admin), web::tokens_page::show),
        route(M::POST, "/tokens", page(Admin), web::tokens_page::create),
        route(
            M::POST,
            "/tokens/{id}/revoke",
            page(Admin),
            web::tokens_page::revoke,
        ),
        route(M::GET, "/audit", page(Admin), web::audit_page::show),
        route(M::GET, "/static/{file}", PUBLIC, web::asset),
        route(M::POST, "/csp-reports", PUBLIC, web::hardening::csp_report)
            .with_body_limit(CSP_REPORT_BYTES),
        // The JSON API.
        route(M::POST, "/api/v1/events", Api(Agent), ingest::post_events),
        route(M::GET, "/api/v1/threads", Api(Viewer), inbox::api::list),
        route(
            M::PATCH,
            "/api/v1/threads",
            Api(Agent),
            inbox::api::bulk_update,
        ),
        route(
            M::GET,
            "/api/v1/threads/{id}",
            Api(Viewer),
            inbox::api::show,
        ),
        route(
            M::PATCH,
            "/api/v1/threads/{id}",
            Api(Agent),
            inbox::api::update,
        ),
        route(
            M::POST,
            "/api/v1/threads/{id}/messages",
            Api(Agent),
            inbox::api::reply,
        ),
        route(M::GET, "/api/v1/labels", Api(Viewer), inbox::api::labels),
        route(M::GET, "/api/v1/members", Api(Viewer), inbox::api::members),
        // Operations.
        route(M::GET, "/healthz", PUBLIC, ops::health::healthz),
        route(M::GET, "/readyz", PUBLIC, ops::health::readyz),
        route(M::GET, "/metrics", PUBLIC, ops::metrics::metrics),
    ]
}
