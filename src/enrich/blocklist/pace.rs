//! Per-zone pacing: at most `rate_per_zone` queries a second to each zone
//! (blocklist operators block resolvers that flood them), and a zone that
//! fails [`TRIP_AFTER`] queries in a row is left alone for the rest of the
//! pass: offline, a check costs one timeout per zone, not one per address.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Consecutive failures after which a zone is skipped for this pass.
pub const TRIP_AFTER: usize = 8;

pub struct ZonePace {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
    failures_in_a_row: AtomicUsize,
}

impl ZonePace {
    pub fn new(rate_per_second: u32) -> ZonePace {
        ZonePace {
            interval: Duration::from_secs(1) / rate_per_second.max(1),
            next_slot: Mutex::new(None),
            failures_in_a_row: AtomicUsize::new(0),
        }
    }

    /// Wait for this zone's next free slot.
    pub async fn wait_turn(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Too many failures in a row: stop asking this zone for now.
    pub fn tripped(&self) -> bool {
        self.failures_in_a_row.load(Ordering::Relaxed) >= TRIP_AFTER
    }

    pub fn record(&self, ok: bool) {
        if ok {
            self.failures_in_a_row.store(0, Ordering::Relaxed);
        } else {
            self.failures_in_a_row.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_queries_by_the_rate() {
        let pace = ZonePace::new(100);
        let start = Instant::now();
        for _ in 0..21 {
            pace.wait_turn().await;
        }
        // 21 slots at 100/s: the last one at least 200 ms after the first.
        assert!(start.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn trips_after_failures_in_a_row_only() {
        let pace = ZonePace::new(1);
        for _ in 0..TRIP_AFTER - 1 {
            pace.record(false);
        }
        pace.record(true);
        for _ in 0..TRIP_AFTER - 1 {
            pace.record(false);
        }
        assert!(!pace.tripped());
        pace.record(false);
        assert!(pace.tripped());
    }
}
