//! Gives the heap that a burst of load freed back to the kernel. glibc's malloc keeps
//! freed chunks in its arenas for reuse and returns only the top of the main heap on its
//! own; after 500 clients that never read held 200 kB replies each, most of the
//! hundreds of MiB they took stayed resident once they had gone (issue 19). A thread
//! looks at the arenas' free bytes once a second and, when they have grown by more than
//! `TRIM_AFTER_FREED` since it last looked, asks glibc to hand the free pages back
//! (`malloc_trim(0)`, which also releases free pages in the middle of every arena).
//! Under a steady load the free bytes do not grow, so nothing is trimmed and the
//! allocator keeps its warm chunks; the check itself (`mallinfo2`) walks only the free
//! lists. Other allocators (musl, a build without glibc) need none of this: the thread
//! is not started there.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the arenas are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Free bytes gained since the last look that make a trim worth its cost: a trim walks
/// every arena and madvises each free page run, a few ms for hundreds of MiB.
const TRIM_AFTER_FREED: usize = 8 << 20;

/// Starts the trimming thread; it ends when `shutdown` is cancelled (or with the
/// process).
pub fn spawn_trimmer(shutdown: CancellationToken) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::thread::Builder::new()
            .name("chatd-trim".into())
            .spawn(move || {
                let mut trimmer = Trimmer::default();
                while !shutdown.is_cancelled() {
                    std::thread::sleep(CHECK_EVERY);
                    trimmer.check(glibc::free_bytes(), glibc::trim);
                }
            });
        if let Err(e) = started {
            tracing::warn!("could not start the memory trimming thread: {e}");
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    drop(shutdown);
}

/// When to trim, apart from the allocator so that it can be tested.
#[derive(Debug, Default)]
struct Trimmer {
    /// The free bytes after the last trim, or the lowest seen since (memory reused).
    baseline: usize,
}

impl Trimmer {
    /// Trims (with `trim`, which returns the free bytes left) when `free` has grown by
    /// more than `TRIM_AFTER_FREED` over the baseline; returns whether it did.
    fn check(&mut self, free: usize, trim: impl FnOnce() -> usize) -> bool {
        if free < self.baseline {
            self.baseline = free;
            return false;
        }
        if free - self.baseline <= TRIM_AFTER_FREED {
            return false;
        }
        // A trim leaves the chunks in the free lists (only their pages go), so the free
        // bytes after it are the new baseline, not zero: otherwise every look would
        // trim again.
        self.baseline = trim();
        true
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// Bytes in free chunks over every arena, the top chunks included.
    pub fn free_bytes() -> usize {
        // SAFETY: mallinfo2 takes no arguments and only reads the allocator's own
        // state under its arena locks; it exists in glibc since 2.33, which the
        // `target_env = "gnu"` builds link against (Debian 12 ships 2.36).
        let info = unsafe { libc::mallinfo2() };
        info.fordblks
    }

    /// Returns free pages to the kernel and reports the free bytes left.
    pub fn trim() -> usize {
        // SAFETY: malloc_trim(0) only releases pages the allocator has already marked
        // free, under its arena locks; other threads may allocate meanwhile.
        unsafe {
            libc::malloc_trim(0);
        }
        free_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_after_a_large_free_and_not_again_without_one() {
        let mut trimmer = Trimmer::default();
        // A steady heap: growth under the threshold never trims.
        assert!(!trimmer.check(TRIM_AFTER_FREED, || panic!("no trim expected")));
        // A burst freed: one trim, whose result becomes the baseline.
        assert!(trimmer.check(300 << 20, || 290 << 20));
        assert!(!trimmer.check(295 << 20, || panic!("nothing new was freed")));
        // Memory reused lowers the baseline, so the next burst trims again.
        assert!(!trimmer.check(10 << 20, || panic!("free bytes fell")));
        assert!(trimmer.check(200 << 20, || 190 << 20));
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_reports_free_bytes_after_a_large_free() {
        // Medium blocks (under the mmap threshold, so they live in an arena); every
        // other one stays allocated, so the freed ones cannot merge into the top chunk,
        // which glibc would give back by itself: they are the holes a burst leaves.
        let mut blocks: Vec<Option<Vec<u8>>> =
            (0..2_000).map(|i| Some(vec![i as u8; 16 * 1024])).collect();
        let held = glibc::free_bytes();
        for block in blocks.iter_mut().step_by(2) {
            *block = None;
        }
        let freed = glibc::free_bytes();
        assert!(
            freed >= held + 8 * 1024 * 1024,
            "free bytes went from {held} to {freed} after freeing 16 MiB in holes"
        );
        drop(blocks);
        // Whatever is left, the call must succeed and report a figure.
        let _ = glibc::trim();
    }
}
