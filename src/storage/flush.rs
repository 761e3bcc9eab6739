//! When a commit reaches the disk (`UNIBOX_DB_FLUSH`): a trade between what a power cut can
//! take and how long each commit waits. Either way a killed unibox loses nothing it
//! acknowledged: the database holds every commit before the answer leaves.

use std::fmt;
use std::str::FromStr;

use super::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Each commit waits until the disk holds it: nothing acknowledged is lost to a power cut
    /// or a crash of the database (SQLite `synchronous = FULL`, PostgreSQL
    /// `synchronous_commit = on`). Every commit waits for the disk's slowest moments.
    Commit,
    /// Commits are flushed in the background: SQLite's log by each checkpoint (every 20 ms
    /// while writing; `synchronous = NORMAL`), PostgreSQL's by its log writer (within about
    /// 0.6 s; `synchronous_commit = off`). A power cut, or on PostgreSQL a crash of the
    /// database server, can lose what was acknowledged since.
    Background,
}

impl Flush {
    /// `chosen`, or else the backend's default: `background` on SQLite (the disk at times takes
    /// hundreds of milliseconds to flush, and SQLite's one writer would wait for it: a reply
    /// p99 of 99-792 ms at 500 comments a second instead of 13-15),
    /// `commit` on PostgreSQL (its default, which a server shared with others expects).
    pub fn for_backend(chosen: Option<Flush>, backend: Backend) -> Flush {
        chosen.unwrap_or(match backend {
            Backend::Sqlite => Flush::Background,
            Backend::Postgres => Flush::Commit,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Flush::Commit => "commit",
            Flush::Background => "background",
        }
    }
}

impl fmt::Display for Flush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flush {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "commit" => Ok(Flush::Commit),
            "background" => Ok(Flush::Background),
            other => Err(format!(
                "`{other}` is not a flush mode: use `commit` (each commit waits for the disk) \
                 or `background`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_defaults_follow_the_backend() {
        for flush in [Flush::Commit, Flush::Background] {
            assert_eq!(flush.name().parse::<Flush>(), Ok(flush));
        }
        let refused = "always".parse::<Flush>().unwrap_err();
        assert!(
            refused.contains("`always`") && refused.contains("commit"),
            "{refused}"
        );
        assert_eq!(Flush::for_backend(None, Backend::Sqlite), Flush::Background);
        assert_eq!(Flush::for_backend(None, Backend::Postgres), Flush::Commit);
        assert_eq!(
            Flush::for_backend(Some(Flush::Commit), Backend::Sqlite),
            Flush::Commit
        );
    }
}
