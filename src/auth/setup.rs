//! The one-time setup link: while no account exists, `unibox serve` prints a link whose random
//! token lets one person create the first server administrator in the browser. The token
//! lives only in this instance's memory, is compared in constant time, and is gone once used
//! (or once any account exists: the account is created only while there is none, see
//! `accounts::users::add_first_admin`).

use std::sync::Mutex;

use super::secret::{random_hex, same};

#[derive(Default)]
pub struct SetupLink {
    token: Mutex<Option<String>>,
}

impl SetupLink {
    /// Opens the link with a fresh random token and returns it.
    pub fn open(&self) -> String {
        let token = random_hex(24);
        *self.lock() = Some(token.clone());
        token
    }

    /// Whether `given` is the open link's token.
    pub fn admits(&self, given: &str) -> bool {
        self.lock().as_deref().is_some_and(|t| same(t, given))
    }

    /// Takes the token if `given` is it, so that two requests cannot both use it.
    pub fn take(&self, given: &str) -> bool {
        let mut token = self.lock();
        if token.as_deref().is_some_and(|t| same(t, given)) {
            *token = None;
            return true;
        }
        false
    }

    /// Puts back a token taken by a request that then failed (a full disk, say), so the link
    /// still works; only if no other link was opened meanwhile.
    pub fn give_back(&self, token: String) {
        let mut slot = self.lock();
        if slot.is_none() {
            *slot = Some(token);
        }
    }

    pub fn close(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_works_once() {
        let link = SetupLink::default();
        assert!(!link.admits(""), "closed until opened");
        let token = link.open();
        assert!(!link.admits("wrong"));
        assert!(!link.take(&token[1..]));
        assert!(link.admits(&token));
        assert!(link.take(&token));
        assert!(!link.take(&token), "used");
        link.give_back(token.clone());
        assert!(link.admits(&token));
        link.close();
        assert!(!link.admits(&token));
    }
}
