//! Which comment thread a comment belongs to, when platforms deliver out of order.
//!
//! A comment thread is keyed by the external id of its top-level comment. A reply whose parent
//! is not known yet goes into a provisional thread keyed by that parent's id; when the parent
//! arrives and turns out to be a reply itself, the provisional thread is merged into the
//! parent's thread (see `write::merge_provisional`).

use std::collections::{HashMap, HashSet};

/// Longest parent chain followed inside one batch; deeper (or cyclic) chains stop there.
const MAX_DEPTH: usize = 64;

/// The thread key for comment `ext_id`, given
/// - `in_batch`: every comment of this batch and this channel, mapped to its parent (if any),
/// - `stored`: thread keys of already stored comments of this channel.
pub fn thread_key(
    ext_id: &str,
    in_batch: &HashMap<&str, Option<&str>>,
    stored: &HashMap<&str, &str>,
) -> String {
    let mut current = ext_id;
    let mut seen = HashSet::new();
    for _ in 0..MAX_DEPTH {
        if !seen.insert(current) {
            break;
        }
        if let Some(key) = stored.get(current) {
            return (*key).to_owned();
        }
        match in_batch.get(current) {
            Some(Some(parent)) => current = parent,
            // A top-level comment, or a message we have not seen: either way its id keys the thread.
            Some(None) | None => return current.to_owned(),
        }
    }
    current.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch<'a>(pairs: &[(&'a str, Option<&'a str>)]) -> HashMap<&'a str, Option<&'a str>> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn top_level_comment_keys_its_own_thread() {
        let b = batch(&[("a", None)]);
        assert_eq!(thread_key("a", &b, &HashMap::new()), "a");
    }

    #[test]
    fn reply_follows_parent_in_batch_even_when_parent_comes_later() {
        let b = batch(&[("r2", Some("r1")), ("r1", Some("top")), ("top", None)]);
        assert_eq!(thread_key("r2", &b, &HashMap::new()), "top");
    }

    #[test]
    fn reply_to_stored_message_takes_its_thread() {
        let b = batch(&[("r2", Some("r1"))]);
        let stored = HashMap::from([("r1", "top")]);
        assert_eq!(thread_key("r2", &b, &stored), "top");
    }

    #[test]
    fn orphan_reply_waits_under_its_parent_id() {
        let b = batch(&[("r2", Some("missing"))]);
        assert_eq!(thread_key("r2", &b, &HashMap::new()), "missing");
    }

    #[test]
    fn cycles_end() {
        let b = batch(&[("x", Some("y")), ("y", Some("x"))]);
        assert_eq!(thread_key("x", &b, &HashMap::new()), "x");
    }
}
