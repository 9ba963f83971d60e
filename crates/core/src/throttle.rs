//! Failed-login backoff per (account, client address), in bounded memory.
//!
//! A hard lock of the account after five failures let anyone lock `admin` out for everyone. Here
//! failures count per pair: after [`FREE_FAILURES`] failures from one address that address must
//! wait before trying that account again, [`FIRST_WAIT_SECS`] doubling with each further
//! failure up to [`MAX_WAIT_SECS`]. The same person from another address (or another account
//! from this one) is not held up. A success clears the pair.
//!
//! The map holds at most [`MAX_PAIRS`] pairs; when full, the pair seen longest ago goes (an
//! attacker can only make room by sending many pairs, which the per-address rate limit slows).
//! Memory is per process: several app servers each count their own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures from one address to one account before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The first wait, doubled with each later failure.
pub const FIRST_WAIT_SECS: u64 = 30;
/// The longest wait.
pub const MAX_WAIT_SECS: u64 = 15 * 60;
/// Pairs tracked at most.
pub const MAX_PAIRS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Pair {
    failures: u32,
    blocked_until: Option<Instant>,
    seen: Instant,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    pairs: Mutex<HashMap<(String, String), Pair>>,
    capacity: usize,
}

impl LoginThrottle {
    pub fn new() -> Self {
        Self::with_capacity(MAX_PAIRS)
    }

    pub fn with_capacity(capacity: usize) -> Self {
        LoginThrottle {
            pairs: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn key(account: &str, peer: &str) -> (String, String) {
        // Usernames are capped before they get here; cap anyway so memory stays bounded.
        (
            account.chars().take(64).collect::<String>().to_lowercase(),
            peer.to_owned(),
        )
    }

    /// Whether `peer` must still wait before trying `account`.
    pub fn is_blocked(&self, account: &str, peer: &str) -> bool {
        let now = Instant::now();
        let pairs = self.pairs.lock().expect("lock");
        pairs
            .get(&Self::key(account, peer))
            .and_then(|p| p.blocked_until)
            .is_some_and(|t| t > now)
    }

    /// Counts a failure; returns the wait it starts, if any.
    pub fn failed(&self, account: &str, peer: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut pairs = self.pairs.lock().expect("lock");
        let key = Self::key(account, peer);
        if !pairs.contains_key(&key)
            && pairs.len() >= self.capacity
            && let Some(oldest) = pairs
                .iter()
                .min_by_key(|(_, p)| p.seen)
                .map(|(k, _)| k.clone())
        {
            pairs.remove(&oldest);
        }
        let p = pairs.entry(key).or_insert(Pair {
            failures: 0,
            blocked_until: None,
            seen: now,
        });
        p.failures = p.failures.saturating_add(1);
        p.seen = now;
        let wait = backoff(p.failures);
        p.blocked_until = wait.map(|w| now + w);
        wait
    }

    /// A success clears the pair.
    pub fn succeeded(&self, account: &str, peer: &str) {
        self.pairs
            .lock()
            .expect("lock")
            .remove(&Self::key(account, peer));
    }

    pub fn len(&self) -> usize {
        self.pairs.lock().expect("lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The wait after `failures` failures: none for the first [`FREE_FAILURES`] − 1.
pub fn backoff(failures: u32) -> Option<Duration> {
    let extra = failures.checked_sub(FREE_FAILURES)?;
    let secs = FIRST_WAIT_SECS.saturating_mul(1u64 << extra.min(20));
    Some(Duration::from_secs(secs.min(MAX_WAIT_SECS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_per_pair_and_memory_is_bounded() {
        assert_eq!(backoff(4), None);
        assert_eq!(backoff(5), Some(Duration::from_secs(30)));
        assert_eq!(backoff(6), Some(Duration::from_secs(60)));
        assert_eq!(backoff(40), Some(Duration::from_secs(MAX_WAIT_SECS)));
        let t = LoginThrottle::with_capacity(3);
        for _ in 0..5 {
            t.failed("admin", "10.0.0.1");
        }
        assert!(t.is_blocked("admin", "10.0.0.1"));
        assert!(t.is_blocked("ADMIN", "10.0.0.1"));
        assert!(
            !t.is_blocked("admin", "10.0.0.2"),
            "other addresses unaffected"
        );
        assert!(
            !t.is_blocked("gulou", "10.0.0.1"),
            "other accounts unaffected"
        );
        for i in 0..10 {
            t.failed(&format!("u{i}"), "10.0.0.3");
        }
        assert_eq!(t.len(), 3);
        t.succeeded("u9", "10.0.0.3");
        assert_eq!(t.len(), 2);
    }
}
