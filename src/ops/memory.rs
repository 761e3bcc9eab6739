//! Keeping the process's memory to what it uses.
//!
//! glibc's allocator gives every thread that allocates concurrently an arena of its own, up to
//! eight per core, and memory freed in one arena is not reused by another. unibox runs each
//! SQLite connection on a thread of its own, so after a burst of reads every connection's
//! thread would hold an arena with free space in it. Two arenas keep that memory bounded at a
//! small cost in bulk ingest (figures in `docs/performance.md`).

/// Arenas glibc may use at most. Called first thing, before any thread is started.
const ARENAS: i32 = 2;

pub fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
