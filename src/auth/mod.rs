//! Who is asking, and may they: passwords, sessions, API tokens, CSRF tokens, login
//! throttling, and the guard every route passes through.

mod caller;
pub mod cookies;
pub mod csrf;
pub mod guard;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use caller::{Actor, Caller, Visitor};
pub use guard::{Access, Need};
