//! Exponential backoff with jitter between reconnection attempts: 1 s, 2 s,
//! 4 s ... up to 5 minutes, each wait drawn between half and all of the
//! step so that many clients (or mailboxes) do not retry in lockstep.

use std::time::Duration;

const FIRST: Duration = Duration::from_secs(1);
const MAX: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { step: FIRST }
    }
}

impl Backoff {
    /// The wait before the next attempt; each call doubles the step.
    pub fn next_wait(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(MAX);
        let half = step / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    /// After a success: start again from the first step.
    pub fn reset(&mut self) {
        self.step = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<Duration> = (0..12).map(|_| b.next_wait()).collect();
        for (i, w) in waits.iter().enumerate() {
            let step = (FIRST * 2u32.pow(i as u32)).min(MAX);
            assert!(
                *w >= step / 2 && *w <= step,
                "wait {i}: {w:?} vs step {step:?}"
            );
        }
        assert!(waits[11] >= MAX / 2);
        b.reset();
        assert!(b.next_wait() <= FIRST);
    }
}
