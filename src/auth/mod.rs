//! Who is asking, and may they: passwords, sessions, API tokens, CSRF tokens, login
//! throttling, and the access vocabulary of the route table. (The guard that applies it to
//! requests is HTTP, in `web::guard`.)

mod access;
mod caller;
pub mod csrf;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod setup;
pub mod throttle;
pub mod tokens;

pub use access::{Access, Need};
pub use caller::{Actor, Caller, Visitor};
