//! A small in-process cache of computed values: each key computed once and kept a while, one
//! computation per key at a time. For figures that cost more than a page view may (a list's
//! total over a million cases, a dashboard's work lists) and are asked for again and again;
//! the caller puts what they depend on (the scope, the ledger's state) into the key.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Values per key, kept `ttl`, at most `cap` of them.
pub struct Memo<V> {
    ttl: Duration,
    cap: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
    /// One computation per key at a time: concurrent requests for a new key wait for the first
    /// one's result instead of each computing it (50 clients searching one new text at once
    /// each counted a million cases, and the pool ran out of connections).
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl<V: Clone> Memo<V> {
    /// A cache keeping values `ttl`; at `cap` entries it drops the expired ones, or starts
    /// afresh if none has expired (a bound on memory, not a policy).
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Memo {
            ttl,
            cap,
            entries: Default::default(),
            turns: Default::default(),
        }
    }

    /// The value of `key`, computed by `compute` unless kept; an expired one is still answered
    /// while another request computes it. A failed computation keeps nothing.
    pub async fn get<F, E>(&self, key: String, compute: impl FnOnce() -> F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let stale = match self.kept(&key) {
            Some((v, true)) => return Ok(v),
            Some((v, false)) => Some(v),
            None => None,
        };
        let turn = self
            .turns
            .lock()
            .expect("lock")
            .entry(key.clone())
            .or_default()
            .clone();
        // An expired value is answered while one request computes the new one: under 50
        // clients, all waiting for a search's recount put its p95 at 120 ms.
        let _turn = match stale {
            Some(v) => match turn.try_lock() {
                Ok(t) => t,
                Err(_) => return Ok(v),
            },
            None => turn.lock().await,
        };
        if let Some((v, true)) = self.kept(&key) {
            return Ok(v);
        }
        let v = compute().await;
        if let Ok(v) = &v {
            let mut entries = self.entries.lock().expect("lock");
            if entries.len() >= self.cap {
                // Expired entries go first; only a burst of new keys within a ttl empties it.
                entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
                if entries.len() >= self.cap {
                    entries.clear();
                }
            }
            entries.insert(key.clone(), (Instant::now(), v.clone()));
        }
        self.turns.lock().expect("lock").remove(&key);
        v
    }

    /// The value kept for `key`, and whether it is still fresh.
    fn kept(&self, key: &str) -> Option<(V, bool)> {
        let entries = self.entries.lock().expect("lock");
        let (at, v) = entries.get(key)?;
        Some((v.clone(), at.elapsed() < self.ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Concurrent requests for one key compute it once; a failure is not kept; an expired
    /// entry is computed anew by one request while the others get the old value.
    #[tokio::test]
    async fn one_computation_per_key() {
        let memo = Arc::new(Memo::<i64>::new(Duration::from_millis(200), 10));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (memo, runs) = (memo.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                memo.get("k".into(), || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(7)
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            memo.get("e".into(), || async { Err("no") }).await,
            Err("no")
        );
        assert_eq!(
            memo.get("e".into(), || async { Ok::<_, &str>(1) }).await,
            Ok(1)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        // Expired: the first request computes anew; one arriving meanwhile gets the old value.
        let slow = memo.get("k".into(), || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(8)
        });
        let meanwhile = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            memo.get("k".into(), || async { Ok::<_, ()>(9) }).await
        };
        assert_eq!(tokio::join!(slow, meanwhile), (Ok(8), Ok(7)));
        assert_eq!(
            memo.get("k".into(), || async { Ok::<_, ()>(9) }).await,
            Ok(8)
        );
    }

    /// At its cap the cache drops what has expired and keeps what has not.
    #[tokio::test]
    async fn at_the_cap_expired_entries_go_first() {
        let memo = Memo::<i64>::new(Duration::from_millis(100), 2);
        let put =
            |k: &'static str, v: i64| memo.get(k.into(), move || async move { Ok::<_, ()>(v) });
        put("a", 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        put("b", 2).await.unwrap();
        // At the cap: "a" has expired and goes, "b" stays.
        put("c", 3).await.unwrap();
        assert_eq!(put("b", 20).await, Ok(2));
        assert_eq!(put("c", 30).await, Ok(3));
    }
}
