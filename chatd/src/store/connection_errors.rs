//! What chatd logs while PostgreSQL cannot be reached: one line per 30 s, not one per
//! connection attempt.

/// Logs PostgreSQL connection failures at most every 30 s. r2d2's own handler logs
/// every attempt at ERROR, which is a line per retry, per pooled connection, for as long
/// as the server is away; each request meanwhile gets its 503 anyway.
#[derive(Debug, Default)]
pub(super) struct ConnectionErrors {
    /// When the last line was written, in ms since the first failure (0: never).
    last_logged_ms: std::sync::atomic::AtomicU64,
    since: std::sync::OnceLock<std::time::Instant>,
}

impl ConnectionErrors {
    const EVERY_MS: u64 = 30_000;

    /// Whether a failure seen now is to be logged; one caller wins a race.
    fn due(&self) -> bool {
        use std::sync::atomic::Ordering;
        let since = self.since.get_or_init(std::time::Instant::now);
        // +1 so that the very first failure (at 0 ms) counts as later than "never".
        let now = u64::try_from(since.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.last_logged_ms.load(Ordering::Relaxed);
        (last == 0 || now.saturating_sub(last) >= Self::EVERY_MS)
            && self
                .last_logged_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for ConnectionErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        if self.due() {
            tracing::warn!(
                "cannot connect to PostgreSQL (said at most every 30 s while it lasts): {error}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionErrors;

    #[test]
    fn a_lasting_outage_is_logged_once_per_period() {
        let errors = ConnectionErrors::default();
        assert!(errors.due(), "the first failure is logged");
        assert!(!errors.due(), "the next ones, moments later, are not");
        assert!(!errors.due());
    }
}
