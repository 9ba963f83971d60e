//! The receiver's figures for its page: connections, frames per second, verdicts, limits
//! hit, and the last frame of each station. Counters are atomics bumped on the hot path;
//! the per-station map is behind a mutex taken once per frame.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::evidence::Verdict;

/// Why the receiver closed or slowed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The global connection cap was reached: a new connection was refused.
    ConnectionCap,
    /// No bytes for the idle timeout.
    Idle,
    /// A frame stayed incomplete for the frame timeout.
    FrameTimeout,
    /// Too much garbage without a frame.
    Garbage,
    /// The connection sent faster than its frame rate (it was slowed down).
    ConnectionRate,
    /// All connections together sent faster than the global frame rate (slowed down).
    GlobalRate,
    /// Buffered bytes of all connections reached the global bound (reads paused).
    PendingBytes,
    /// A connection had too many open sub-packet groups; the oldest were given up.
    OpenGroups,
    /// The peer did not read its replies.
    WriteTimeout,
    /// Refused frames came faster than their defects could be stored: the outlet page
    /// misses some (the evidence log still holds each frame and its verdict).
    DefectQueue,
}

impl Limit {
    pub const ALL: [Limit; 10] = [
        Limit::ConnectionCap,
        Limit::Idle,
        Limit::FrameTimeout,
        Limit::Garbage,
        Limit::ConnectionRate,
        Limit::GlobalRate,
        Limit::PendingBytes,
        Limit::OpenGroups,
        Limit::WriteTimeout,
        Limit::DefectQueue,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Limit::ConnectionCap => "连接数已达上限，拒绝新连接",
            Limit::Idle => "空闲超时断开",
            Limit::FrameTimeout => "报文长时间不完整断开",
            Limit::Garbage => "连续乱码断开",
            Limit::ConnectionRate => "单连接发送过快（限速）",
            Limit::GlobalRate => "总帧率过高（限速）",
            Limit::PendingBytes => "缓冲字节达上限（暂停读取）",
            Limit::OpenGroups => "未完成分包过多（放弃最早的分包组）",
            Limit::WriteTimeout => "对端不读取应答断开",
            Limit::DefectQueue => "报文缺陷入库积压（原始报文已存证，排口页未列出）",
        }
    }
}

/// What the receiver last saw of a station.
#[derive(Debug, Clone, Serialize)]
pub struct Seen {
    /// Microseconds since the Unix epoch.
    pub at_us: i64,
    pub cn: String,
    pub peer: String,
    pub frames: u64,
}

/// Frames of an MN rejected because their CRC is a variant its outlet is not set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CrcSuspect {
    #[serde(serialize_with = "variant_name")]
    pub variant: hj212::CrcVariant,
    pub frames: u64,
    /// The last one, microseconds since the Unix epoch.
    pub last_us: i64,
}

fn variant_name<S: serde::Serializer>(v: &hj212::CrcVariant, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

#[derive(Default)]
pub struct Stats {
    pub open: AtomicU64,
    pub accepted_connections: AtomicU64,
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub acks: AtomicU64,
    verdicts: [AtomicU64; Verdict::ALL.len()],
    limits: [AtomicU64; Limit::ALL.len()],
    stations: Mutex<HashMap<String, Seen>>,
    crc_suspects: Mutex<HashMap<String, CrcSuspect>>,
    /// (when, frames so far), one sample a second, for the rate.
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

impl Stats {
    pub fn verdict(&self, v: Verdict, record_bytes: u64) {
        self.verdicts[v.index()].fetch_add(1, Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(record_bytes, Ordering::Relaxed);
    }

    pub fn limit(&self, l: Limit) {
        let i = Limit::ALL.iter().position(|x| *x == l).expect("listed");
        self.limits[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn limit_count(&self, l: Limit) -> u64 {
        let i = Limit::ALL.iter().position(|x| *x == l).expect("listed");
        self.limits[i].load(Ordering::Relaxed)
    }

    pub fn verdict_count(&self, v: Verdict) -> u64 {
        self.verdicts[v.index()].load(Ordering::Relaxed)
    }

    pub fn station(&self, mn: String, cn: String, peer: &str, at_us: i64) {
        let mut map = self.stations.lock().expect("lock");
        let seen = map.entry(mn).or_insert_with(|| Seen {
            at_us,
            cn: String::new(),
            peer: String::new(),
            frames: 0,
        });
        seen.at_us = at_us;
        seen.frames += 1;
        if seen.cn != cn {
            seen.cn = cn;
        }
        if seen.peer != peer {
            seen.peer = peer.to_owned();
        }
    }

    /// Counts a frame of `mn` whose CRC matched only as `variant`.
    pub fn crc_suspect(&self, mn: String, variant: hj212::CrcVariant, at_us: i64) {
        let mut map = self.crc_suspects.lock().expect("lock");
        let s = map.entry(mn).or_insert(CrcSuspect {
            variant,
            frames: 0,
            last_us: at_us,
        });
        s.variant = variant;
        s.frames += 1;
        s.last_us = at_us;
    }

    /// The suspicion about `mn`'s CRC, if its frames gave one.
    pub fn crc_suspect_of(&self, mn: &str) -> Option<CrcSuspect> {
        self.crc_suspects.lock().expect("lock").get(mn).copied()
    }

    pub fn stations(&self) -> HashMap<String, Seen> {
        self.stations.lock().expect("lock").clone()
    }

    /// Takes a sample of the frame counter (call about once a second).
    pub fn sample(&self) {
        let mut s = self.samples.lock().expect("lock");
        s.push_back((Instant::now(), self.frames.load(Ordering::Relaxed)));
        while s.len() > 61 {
            s.pop_front();
        }
    }

    /// Frames per second over the last `window` (from the samples).
    pub fn rate(&self, window: Duration) -> f64 {
        let s = self.samples.lock().expect("lock");
        let Some(&(t1, n1)) = s.back() else {
            return 0.0;
        };
        let Some(&(t0, n0)) = s.iter().find(|(t, _)| t1.duration_since(*t) <= window) else {
            return 0.0;
        };
        let dt = t1.duration_since(t0).as_secs_f64();
        if dt <= 0.0 {
            0.0
        } else {
            (n1 - n0) as f64 / dt
        }
    }

    /// Frames per second for each of the last samples, oldest first (for the chart).
    pub fn history(&self) -> Vec<f64> {
        let s = self.samples.lock().expect("lock");
        s.iter()
            .zip(s.iter().skip(1))
            .map(|((t0, n0), (t1, n1))| {
                let dt = t1.duration_since(*t0).as_secs_f64();
                if dt > 0.0 { (n1 - n0) as f64 / dt } else { 0.0 }
            })
            .collect()
    }
}
