//! The HJ 212 receiver (数据接收): many long-lived TCP connections of data loggers, each
//! framed by the codec's incremental decoder, every frame judged and appended to the
//! evidence log, and the replies the standard asks for (9014, time sync) sent only after
//! the record they answer is durable.
//!
//! It must keep serving honest stations while a broken or hostile one floods it, so every
//! resource has a bound: connections (global cap, and the process's open-file limit raised
//! to its hard limit), frames per second (per connection and global — a fast sender is
//! slowed, not dropped, so none of its data is lost), bytes buffered (per connection about
//! one frame; globally [`IngestSettings::max_pending_bytes`]), open sub-packet groups per
//! connection, an idle timeout and a timeout for a frame that never ends.

mod conn;
pub mod session;
pub mod stats;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::archive::compact::Archive;
use crate::defects::Recorder;
use crate::evidence::EvidenceLog;
use crate::registry::Stations;
use ecowarden_core::config::{IngestSettings, Settings};
use ecowarden_core::store::Db;
use stats::{Limit, Stats};

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A token bucket: `rate` tokens a second, holding at most one second's worth.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(per_second: u32) -> Bucket {
        let rate = f64::from(per_second.max(1));
        Bucket {
            rate,
            tokens: rate,
            at: Instant::now(),
        }
    }

    /// Takes `n` tokens; returns how long to wait before the next take is within the rate.
    pub fn take(&mut self, n: f64) -> Duration {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.rate);
        self.at = now;
        self.tokens -= n;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// What every connection shares.
pub struct Context {
    pub log: EvidenceLog,
    pub settings: IngestSettings,
    pub stats: Arc<Stats>,
    /// Where refused frames of registered MNs go for their outlet pages.
    pub defects: Recorder,
    stations: RwLock<Arc<Stations>>,
    global_rate: Mutex<Bucket>,
    /// Bytes buffered by all connections.
    pending: AtomicUsize,
    next_conn: AtomicU32,
}

impl Context {
    pub fn new(
        log: EvidenceLog,
        settings: IngestSettings,
        stations: Stations,
        defects: Recorder,
    ) -> Arc<Context> {
        Arc::new(Context {
            defects,
            global_rate: Mutex::new(Bucket::new(settings.max_total_frames_per_sec)),
            log,
            settings,
            stats: Arc::new(Stats::default()),
            stations: RwLock::new(Arc::new(stations)),
            pending: AtomicUsize::new(0),
            next_conn: AtomicU32::new(1),
        })
    }

    /// The registry snapshot frames are judged against.
    pub fn stations(&self) -> Arc<Stations> {
        self.stations.read().expect("lock").clone()
    }

    /// Replaces the snapshot (the registry changed).
    pub fn set_stations(&self, s: Stations) {
        *self.stations.write().expect("lock") = Arc::new(s);
    }
}

/// How often the receiver re-reads the registry: a newly registered logger is accepted
/// within this long without a restart.
pub const REGISTRY_REFRESH: Duration = Duration::from_secs(10);

/// Re-reads the registry into the context until the process ends.
pub async fn refresh_registry(db: Db, ctx: Arc<Context>) {
    let mut tick = tokio::time::interval(REGISTRY_REFRESH);
    tick.tick().await;
    loop {
        tick.tick().await;
        match crate::registry::stations(&db).await {
            Ok(s) => ctx.set_stations(s),
            Err(e) => tracing::warn!(error = %e, "could not re-read the registry"),
        }
    }
}

/// Raises this process's soft open-file limit to the hard limit (each connection is a file)
/// and returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (soft, hard) = (limit.current, limit.maximum);
    if soft != hard {
        let mut raised = limit;
        raised.current = hard;
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            return soft.unwrap_or(u64::MAX);
        }
    }
    hard.unwrap_or(u64::MAX)
}

/// Files the process keeps for itself (database, evidence, archive, web) besides connections.
const RESERVED_FILES: u64 = 256;

/// Accepts connections until the listener fails; each gets its own task.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>) -> anyhow::Result<()> {
    let files = raise_open_file_limit();
    let cap =
        (ctx.settings.max_connections as u64).min(files.saturating_sub(RESERVED_FILES)) as usize;
    tracing::info!(
        addr = %listener.local_addr()?,
        open_file_limit = files,
        max_connections = cap,
        "HJ 212 receiver listening"
    );
    let sampler = {
        let stats = ctx.stats.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                stats.sample();
            }
        })
    };
    let mut last_cap_log: Option<Instant> = None;
    loop {
        let (stream, peer): (_, SocketAddr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors or a transient error: wait, do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if ctx.stats.open.load(std::sync::atomic::Ordering::Relaxed) as usize >= cap {
            ctx.stats.limit(Limit::ConnectionCap);
            if last_cap_log.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                last_cap_log = Some(Instant::now());
                tracing::warn!(
                    max_connections = cap,
                    refused_so_far = ctx.stats.limit_count(Limit::ConnectionCap),
                    %peer,
                    "connection cap reached: refusing new connections"
                );
            }
            drop(stream);
            continue;
        }
        if ctx.log.failed() {
            sampler.abort();
            anyhow::bail!("the evidence log failed; the receiver stops acknowledging");
        }
        let _ = stream.set_nodelay(true);
        tokio::spawn(conn::serve(stream, peer, ctx.clone()));
    }
}

/// A running receiver: its shared context and where it listens.
pub struct Running {
    pub ctx: Arc<Context>,
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Opens the evidence log under the data directory, loads the registry, binds `addr` and
/// starts accepting; the registry is re-read every [`REGISTRY_REFRESH`].
pub async fn start(settings: &Settings, db: &Db, addr: &str) -> anyhow::Result<Running> {
    // Bind first: a taken address must not leave the evidence log opened (and locked)
    // behind it, or the demo's retry on a free port finds its own lock.
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the HJ 212 receiver to {addr}"))?;
    let dir = crate::evidence::dir_in(&settings.data_dir);
    let (log, recovery) = EvidenceLog::open(&dir)
        .with_context(|| format!("opening the evidence log in {}", dir.display()))?;
    tracing::info!(
        dir = %dir.display(),
        segments = recovery.segments,
        last_segment_records = recovery.last_segment_records,
        torn_bytes_cut = recovery.torn_bytes,
        segment = recovery.segment,
        "evidence log recovered"
    );
    let stations = crate::registry::stations(db).await?;
    if stations.is_empty() {
        tracing::warn!(
            "the monitoring registry is empty: every frame will be kept as evidence but none archived (ecowarden registry import FILE)"
        );
    }
    let archive = Archive::open(&settings.data_dir)?;
    let ctx = Context::new(
        log,
        settings.ingest.clone(),
        stations,
        Recorder::start(db.clone()),
    );
    tokio::spawn(refresh_registry(db.clone(), ctx.clone()));
    tokio::spawn(compact_periodically(archive, ctx.clone()));
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve(listener, ctx.clone()));
    Ok(Running { ctx, addr, task })
}

/// Archives what the evidence log has made durable, every `compact_interval_secs`.
async fn compact_periodically(archive: Archive, ctx: Arc<Context>) {
    let archive = Arc::new(archive);
    let mut tick = tokio::time::interval(Duration::from_secs(
        ctx.settings.compact_interval_secs.max(1),
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (archive, stations, until) = (archive.clone(), ctx.stations(), ctx.log.durable());
        match tokio::task::spawn_blocking(move || archive.compact(&stations, Some(until))).await {
            Ok(Ok(done)) if done.records > 0 => tracing::info!(
                records = done.records,
                messages = done.messages,
                values = done.rows,
                duplicates = done.duplicate_messages,
                files = done.files,
                bytes = done.bytes,
                ms = done.elapsed.as_millis() as u64,
                "archived"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(
                error = format!("{e:#}"),
                "compaction failed; retrying next interval"
            ),
            Err(e) => tracing::error!(error = %e, "compaction task panicked"),
        }
    }
}
