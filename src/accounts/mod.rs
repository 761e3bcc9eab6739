//! People and their workspaces: users, workspaces, memberships with roles, and the audit log
//! of who changed what.

pub mod audit;
mod error;
pub mod first;
pub mod members;
pub mod users;
pub mod workspaces;

pub use error::AccountError;
