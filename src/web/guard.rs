//! The guard in front of every route: it authenticates (session cookie for pages, bearer
//! token for the API), checks the CSRF token of state-changing browser requests, then the
//! caller's role, and only then lets the handler run. Each route declares its [`Access`] in
//! the route table; nothing is reachable without passing here.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;

use super::{Chrome, PageError, cookies, csrf, error_page};
use crate::auth::{Access, Actor, Caller, Need, Visitor, sessions, tokens};
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub access: Access,
}

pub async fn guard(State(g): State<Guard>, request: Request, next: Next) -> Response {
    match g.access {
        Access::Public => next.run(request).await,
        Access::Api(role) => match api_caller(&g.state, request.headers(), role).await {
            Ok(caller) => {
                let mut request = request;
                request.extensions_mut().insert(caller);
                next.run(request).await
            }
            Err(e) => e.into_response(),
        },
        Access::Page(need) => match admit(&g.state, need, request).await {
            Ok(request) => next.run(request).await,
            Err(response) => response,
        },
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn api_caller(state: &AppState, headers: &HeaderMap, need: Role) -> Result<Caller, AppError> {
    let secret = bearer(headers).ok_or_else(|| {
        AppError::Unauthorized(
            "this API needs a token: send `Authorization: Bearer ubx_…` (create one on the API tokens page or with `unibox token add`)".into(),
        )
    })?;
    let (token, last_used) = tokens::find(&state.db, secret)
        .await?
        .ok_or_else(|| AppError::Unauthorized("the API token is unknown or revoked".into()))?;
    let now = crate::clock::now();
    // Recorded at most once a minute, so busy integrations do not write on every request,
    // and in the background: on SQLite the write waits for the one writer, which ingest
    // batches keep busy, and the request must not wait with it.
    if last_used.is_none_or(|t| now - t > Duration::minutes(1)) {
        let (db, id) = (state.db.clone(), token.id);
        tokio::spawn(async move {
            if let Err(e) = tokens::touch(&db, id, now).await {
                tracing::warn!(error = %e, token = %id, "cannot record token use");
            }
        });
    }
    let role = token.scope.role();
    if role < need {
        let wanted = if need > Role::Agent {
            "an admin token (scope admin)"
        } else {
            "a read-write token"
        };
        return Err(AppError::Forbidden(format!(
            "this token's scope is {}; this request needs {wanted}",
            token.scope
        )));
    }
    Ok(Caller {
        workspace: token.workspace_id,
        role,
        actor: Actor::Token {
            id: token.id,
            name: token.name,
        },
    })
}

/// Admits a browser request: signed in, CSRF token checked, role sufficient.
async fn admit(state: &AppState, need: Need, request: Request) -> Result<Request, Response> {
    let page_error = |e: AppError| PageError(e).into_response();
    let secret = cookies::get(request.headers(), cookies::SESSION).map(str::to_owned);
    let session = match &secret {
        Some(secret) => sessions::find(&state.db, secret, crate::clock::now())
            .await
            .map_err(|e| page_error(e.into()))?,
        None => None,
    };
    let (Some(secret), Some(session)) = (secret, session) else {
        return Err(to_sign_in(state, &request));
    };
    let mut request = if csrf::is_safe(request.method()) {
        request
    } else {
        csrf::check(request, &secret, state.config.server.max_body_bytes)
            .await
            .map_err(|problem| {
                page_error(match problem {
                    Some(too_large) => AppError::TooLarge(too_large),
                    None => AppError::Forbidden(
                        "This form's security token is missing or out of date (CSRF protection). \
                         Reload the page and try again."
                            .into(),
                    ),
                })
            })?
    };
    let refusal = match (need, &session.workspace) {
        (Need::ServerAdmin, _) if !session.is_admin => {
            Some("Only a server administrator can do this.".to_owned())
        }
        (Need::Role(_), None) => Some(
            "You are not a member of any workspace yet. Ask a workspace owner to add you.".into(),
        ),
        (Need::Role(role), Some(w)) if w.role < role => Some(format!(
            "Your role in “{}” is {}; this needs {} or higher.",
            w.name, w.role, role
        )),
        _ => None,
    };
    if let Some(message) = refusal {
        let chrome = Chrome::of_session(&session, csrf::token_for(&secret));
        return Err(error_page(AppError::Forbidden(message), chrome));
    }
    if let Some(w) = &session.workspace {
        request.extensions_mut().insert(Caller {
            workspace: w.id,
            role: w.role,
            actor: Actor::User {
                id: session.user_id,
                email: session.email.clone(),
            },
        });
    }
    let csrf = csrf::token_for(&secret);
    request.extensions_mut().insert(Visitor { session, csrf });
    Ok(request)
}

/// Anonymous browsers go to the sign-in page (htmx requests are told to go there).
fn to_sign_in(state: &AppState, request: &Request) -> Response {
    let stale = cookies::get(request.headers(), cookies::SESSION).is_some();
    let mut response = if request.headers().contains_key("hx-request") {
        (StatusCode::UNAUTHORIZED, [("hx-redirect", "/login")]).into_response()
    } else {
        let target = match (request.method(), request.uri().path_and_query()) {
            (&Method::GET, Some(pq)) if pq.as_str() != "/" => format!(
                "/login?{}",
                serde_urlencoded::to_string([("next", pq.as_str())]).unwrap_or_default()
            ),
            _ => "/login".to_owned(),
        };
        super::see_other(&target)
    };
    if stale {
        let secure = cookies::secure(&state.config, request.headers());
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(cookies::SESSION, "/", secure),
        );
    }
    response
}

/// The address a request came from: the peer, or with `--trust-proxy` the address the
/// proxy appended last to `X-Forwarded-For`.
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.config.server.trust_proxy {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty());
            if let Some(address) = forwarded {
                return Ok(ClientAddress(address.to_owned()));
            }
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(ClientAddress(peer.unwrap_or_else(|| "unknown".into())))
    }
}
