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

/// Requests per address without a session: a token bucket per client address that holds
/// `per_minute` requests and refills at that rate, so a burst of a page and its assets passes
/// and a script that hammers the login form or unknown paths is answered 429 cheaply.
///
/// At most [`MAX_PAIRS`] addresses are tracked; when full, addresses idle for a minute (their
/// bucket full again) are forgotten, and if none are, all are (a flood from that many
/// addresses is beyond what a per-address limit can stop).
#[derive(Debug)]
pub struct RateLimit {
    buckets: Mutex<HashMap<String, Bucket>>,
    per_minute: u32,
    capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// The last request was refused (so only the first refusal of a run is logged).
    refused: bool,
}

/// A refused request: how long until the next is allowed, and whether it is the first
/// refusal since the address was last allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub wait: Duration,
    pub first: bool,
}

impl RateLimit {
    /// `per_minute` 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, MAX_PAIRS)
    }

    pub fn with_capacity(per_minute: u32, capacity: usize) -> Self {
        RateLimit {
            buckets: Mutex::new(HashMap::new()),
            per_minute,
            capacity: capacity.max(1),
        }
    }

    /// Takes one request of `peer`; refused when its bucket is empty, with the time until
    /// the next request is allowed (at least one second, as `Retry-After` counts).
    pub fn take(&self, peer: &str) -> Result<(), Refused> {
        self.take_at(peer, Instant::now())
    }

    fn take_at(&self, peer: &str, now: Instant) -> Result<(), Refused> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let full = self.per_minute as f64;
        let rate = full / 60.0;
        let mut buckets = self.buckets.lock().expect("lock");
        if !buckets.contains_key(peer) && buckets.len() >= self.capacity {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(60));
            if buckets.len() >= self.capacity {
                buckets.clear();
            }
        }
        let b = buckets.entry(peer.to_owned()).or_insert(Bucket {
            tokens: full,
            at: now,
            refused: false,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(full);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.refused = false;
            Ok(())
        } else {
            let first = !b.refused;
            b.refused = true;
            Err(Refused {
                wait: Duration::from_secs(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64),
                first,
            })
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().expect("lock").len()
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

    #[test]
    fn anonymous_requests_are_limited_per_address() {
        let r = RateLimit::with_capacity(60, 2);
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(r.take_at("10.0.0.1", t0).is_ok());
        }
        let refused = |first| {
            Err(Refused {
                wait: Duration::from_secs(1),
                first,
            })
        };
        assert_eq!(r.take_at("10.0.0.1", t0), refused(true));
        assert_eq!(r.take_at("10.0.0.1", t0), refused(false));
        assert!(
            r.take_at("10.0.0.2", t0).is_ok(),
            "other addresses unaffected"
        );
        // One per second comes back.
        assert!(r.take_at("10.0.0.1", t0 + Duration::from_secs(1)).is_ok());
        assert!(r.take_at("10.0.0.1", t0 + Duration::from_secs(1)).is_err());
        // A third address: the others are recent, so all are forgotten.
        assert!(r.take_at("10.0.0.3", t0 + Duration::from_secs(2)).is_ok());
        assert_eq!(r.len(), 1);
        assert!(RateLimit::new(0).take("x").is_ok());
    }
}
