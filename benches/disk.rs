//! How the disk flushes while a benchmark measures: a thread writes 8 KiB to a file in the
//! temporary directory and flushes it (`fdatasync`) every 50 ms, timing each flush. PostgreSQL
//! waits for such a flush at every commit (and SQLite at its checkpoints), so a run during
//! which the disk stalled for a few hundred milliseconds is not comparable with one during
//! which it did not, however quiet the CPU was.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct DiskProbe {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl DiskProbe {
    pub fn start() -> DiskProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let path =
                std::env::temp_dir().join(format!("unibox-disk-probe-{}", std::process::id()));
            let Ok(file) = std::fs::File::create(&path) else {
                return Vec::new();
            };
            let page = [7u8; 8192];
            let mut flushes = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let started = Instant::now();
                let offset = (flushes.len() % 64) as u64 * 8192;
                if file
                    .write_all_at(&page, offset)
                    .and_then(|_| file.sync_data())
                    .is_err()
                {
                    break;
                }
                flushes.push(started.elapsed().as_secs_f64() * 1000.0);
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = std::fs::remove_file(&path);
            flushes
        });
        DiskProbe { stop, thread }
    }

    /// Stops the probe and says what it saw.
    pub fn finish(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let mut flushes = self.thread.join().unwrap_or_default();
        if flushes.is_empty() {
            return "disk: no flush measured".into();
        }
        flushes.sort_by(f64::total_cmp);
        let over = flushes.iter().filter(|&&ms| ms > 20.0).count();
        format!(
            "disk: {} flushes of 8 KiB, p50 {:.2} ms, max {:.1} ms, {over} over 20 ms",
            flushes.len(),
            flushes[flushes.len() / 2],
            flushes[flushes.len() - 1]
        )
    }
}
