//! Who may use a route: the vocabulary the route table declares access in.

use crate::domain::Role;

/// What a signed-in browser needs for a page or form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any signed-in user (their own account, signing out, switching workspace).
    SignedIn,
    /// A server administrator (creating workspaces).
    ServerAdmin,
    /// At least this role in the current workspace.
    Role(Role),
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, static files, health and metrics, signed webhooks.
    Public,
    /// A browser with a session cookie.
    Page(Need),
    /// An API token whose scope grants at least this role.
    Api(Role),
}
