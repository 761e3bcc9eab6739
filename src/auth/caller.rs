//! Who is acting: what the guard learned about a request, and what handlers act as.

use super::sessions::Session;
use crate::accounts::audit::Who;
use crate::domain::Role;
use crate::ids::{TokenId, UserId, WorkspaceId};

/// Who acts, as the audit log names them.
#[derive(Debug, Clone)]
pub enum Actor {
    User { id: UserId, email: String },
    Token { id: TokenId, name: String },
}

/// A member (or token) acting in one workspace with one role. Every handler that reads or
/// changes workspace data takes this, and scopes every query by `workspace`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub workspace: WorkspaceId,
    pub role: Role,
    pub actor: Actor,
}

impl Caller {
    pub fn user_id(&self) -> Option<UserId> {
        match &self.actor {
            Actor::User { id, .. } => Some(*id),
            Actor::Token { .. } => None,
        }
    }

    /// How the audit log shows this caller.
    pub fn label(&self) -> String {
        match &self.actor {
            Actor::User { email, .. } => email.clone(),
            Actor::Token { name, id } => format!("API token “{name}” (#{id})"),
        }
    }

    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// A signed-in browser: the session, and the CSRF token its pages embed.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub session: Session,
    pub csrf: String,
}

impl From<&Caller> for Who {
    fn from(caller: &Caller) -> Self {
        Who {
            user_id: caller.user_id(),
            label: caller.label(),
        }
    }
}
