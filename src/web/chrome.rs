//! What every page's header needs: who is signed in, their workspaces (the switcher), their
//! role (which links and buttons to show), and the CSRF token for the page's forms.

use crate::accounts::workspaces::{self, Membership};
use crate::auth::Visitor;
use crate::auth::sessions::Session;
use crate::domain::Role;
use crate::ids::WorkspaceId;
use crate::storage::Db;

pub struct Chrome {
    /// Empty for pages shown to nobody in particular (sign-in, errors).
    pub email: String,
    pub csrf: String,
    pub workspaces: Vec<Membership>,
    pub current: Option<WorkspaceId>,
    pub current_name: String,
    pub role: Option<Role>,
    pub is_admin: bool,
}

impl Chrome {
    pub fn anonymous() -> Chrome {
        Chrome {
            email: String::new(),
            csrf: String::new(),
            workspaces: Vec::new(),
            current: None,
            current_name: String::new(),
            role: None,
            is_admin: false,
        }
    }

    /// The header for a signed-in user without reading their workspaces (no switcher).
    pub fn of_session(session: &Session, csrf: String) -> Chrome {
        Chrome {
            email: session.email.clone(),
            csrf,
            workspaces: Vec::new(),
            current: session.workspace.as_ref().map(|w| w.id),
            current_name: session
                .workspace
                .as_ref()
                .map(|w| w.name.clone())
                .unwrap_or_default(),
            role: session.workspace.as_ref().map(|w| w.role),
            is_admin: session.is_admin,
        }
    }

    pub async fn load(db: &Db, visitor: &Visitor) -> Result<Chrome, sqlx::Error> {
        let session = &visitor.session;
        Ok(Chrome {
            workspaces: workspaces::of_user(db, session.user_id).await?,
            ..Chrome::of_session(session, visitor.csrf.clone())
        })
    }

    pub fn signed_in(&self) -> bool {
        !self.email.is_empty()
    }

    fn at_least(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r >= role)
    }

    /// May reply, change statuses and labels, assign.
    pub fn can_act(&self) -> bool {
        self.at_least(Role::Agent)
    }

    /// May manage tokens and read the audit log.
    pub fn can_admin(&self) -> bool {
        self.at_least(Role::Admin)
    }

    pub fn is_owner(&self) -> bool {
        self.at_least(Role::Owner)
    }

    pub fn is_current(&self, id: &WorkspaceId) -> bool {
        self.current == Some(*id)
    }

    pub fn role_word(&self) -> &'static str {
        self.role.map_or("", Role::as_str)
    }
}
