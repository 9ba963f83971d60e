//! A simulator of data loggers (数采仪模拟): registered outlets sending HJ 212 real-time
//! (2011), minute (2051) and hourly (2061) uploads to a receiver, for tests, benchmarks and
//! the demo.
//!
//! Values follow each factor's registry figures: a level below the emission limit, a daily
//! production cycle, noise, a start-up spike some mornings (which may exceed the limit),
//! flags for maintenance and calibration, `T` above the instrument range, converted (折算)
//! values at the reference O2. Loggers behave like real ones: one connection each, every
//! upload with Flag A=1 re-sent until its 9014 arrives, a reconnect after a lost connection.
//! Optional faults add sloppy or broken frames and hostile bytes around the real ones.
//!
//! Two paces: `live` follows the clock (2011 every `rtd_interval`, 2051 every 10 minutes,
//! 2061 at each hour, after back-filling `backfill` hours); a number is a back-fill storm of
//! hourly uploads at that many frames per second in total (0: as fast as acks come).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, FixedOffset, Timelike, Utc};
use hj212::build::{self, Station as Logger, Upload};
use hj212::{Decoder, Factor, Message, Options, Version};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::ingest::Bucket;
use crate::registry::{self, FacilitySpec, FactorSpec, OutletSpec};
use ecowarden_core::clock;
use ecowarden_core::org::Org;
use ecowarden_core::store::{Db, Result};

/// What to simulate (the `ecowarden simulate` options).
#[derive(Debug, Clone)]
pub struct Plan {
    /// The receiver, e.g. 127.0.0.1:9212.
    pub target: String,
    /// Simulated loggers: the first N outlets of the registry.
    pub stations: usize,
    pub rate: Rate,
    /// Faults to mix in.
    pub faults: Vec<Fault>,
    /// Share of uploads that get a fault.
    pub fault_rate: f64,
    /// Uploads a logger sends before waiting for the oldest one's ack.
    pub window: usize,
    /// Stop after this many seconds (`None`: run until interrupted).
    pub duration: Option<u64>,
    /// Live pace: hours of hourly (and, for the last 6, minute) data sent first.
    pub backfill: u32,
    /// Live pace: seconds between real-time (2011) uploads.
    pub rtd_interval: u64,
    pub seed: u64,
}

/// The pace of the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Live,
    /// Hourly uploads back to back at this many frames per second in total (0: unlimited).
    Storm(u32),
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "live" => Ok(Rate::Live),
            n => n
                .parse()
                .map(Rate::Storm)
                .map_err(|_| format!("--rate is `live` or frames per second, not {s}")),
        }
    }
}

/// Something wrong a logger (or someone else) sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Random bytes before an upload.
    Garbage,
    /// An extra copy of an upload with a wrong CRC.
    BadCrc,
    /// An extra copy with a wrong password.
    WrongPw,
    /// An extra upload from an MN that is not registered.
    UnknownMn,
    /// The first half of an extra copy, never finished.
    Truncated,
    /// The upload itself sent the way sloppy loggers do (lower-case CRC, `\n` only, MN
    /// before PW): still accepted.
    Sloppy,
    /// The upload itself split into two parts (Flag=7, PNUM=2), each acked.
    Split,
    /// All of the above.
    All,
}

impl std::str::FromStr for Fault {
    type Err = String;
    /// The names of the command line, with `-` or `_` between words.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s.replace('_', "-").as_str() {
            "garbage" => Fault::Garbage,
            "bad-crc" => Fault::BadCrc,
            "wrong-pw" => Fault::WrongPw,
            "unknown-mn" => Fault::UnknownMn,
            "truncated" => Fault::Truncated,
            "sloppy" => Fault::Sloppy,
            "split" => Fault::Split,
            "all" => Fault::All,
            _ => {
                return Err(format!(
                    "unknown fault {s}; one of: garbage, bad-crc, wrong-pw, unknown-mn, truncated, sloppy, split, all"
                ));
            }
        })
    }
}

impl Fault {
    const EACH: [Fault; 7] = [
        Fault::Garbage,
        Fault::BadCrc,
        Fault::WrongPw,
        Fault::UnknownMn,
        Fault::Truncated,
        Fault::Sloppy,
        Fault::Split,
    ];
}

/// A simulated logger: the outlet's identity and factors.
#[derive(Debug, Clone)]
pub struct SimStation {
    pub mn: String,
    pub password: String,
    pub st: String,
    pub factors: Vec<FactorSpec>,
}

/// The first `n` outlets of the registry (by id) as loggers.
pub async fn stations(db: &Db, n: usize) -> Result<Vec<SimStation>> {
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, mn, password, st FROM outlets ORDER BY id LIMIT $1")
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .fetch_all(db.pool())
            .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, mn, password, st) in rows {
        out.push(SimStation {
            mn,
            password,
            st,
            factors: registry::factors(db, id).await?,
        });
    }
    Ok(out)
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub sent: u64,
    pub acked: u64,
    pub faults: u64,
    pub reconnects: u64,
    pub elapsed: Duration,
    /// Ack latencies (µs) of a sample of uploads.
    pub latencies: Vec<u32>,
}

impl Summary {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut l = self.latencies.clone();
        l.sort_unstable();
        let i = ((l.len() - 1) as f64 * p).round() as usize;
        Duration::from_micros(u64::from(l[i]))
    }

    pub fn report(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "sent {} frames, {} acked in {:.1} s: {:.0} acked frames/s; ack latency p50 {:.1} ms, p99 {:.1} ms; {} faults injected, {} reconnects",
            self.sent,
            self.acked,
            secs,
            self.acked as f64 / secs,
            self.percentile(0.5).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.faults,
            self.reconnects
        )
    }
}

/// Counters shared by the loggers of a run.
#[derive(Default)]
struct Shared {
    sent: AtomicU64,
    acked: AtomicU64,
    faults: AtomicU64,
    reconnects: AtomicU64,
}

/// Runs the loggers until `duration` ends or `stop` is set; progress every 5 s on stderr
/// when `progress`.
pub async fn run(
    args: &Plan,
    stations: Vec<SimStation>,
    stop: Arc<AtomicBool>,
    progress: bool,
) -> Summary {
    let started = Instant::now();
    let shared = Arc::new(Shared::default());
    let rate = match args.rate {
        Rate::Storm(n) if n > 0 => Some(Arc::new(Mutex::new(Bucket::new(n)))),
        _ => None,
    };
    let faults: Vec<Fault> = if args.faults.contains(&Fault::All) {
        Fault::EACH.to_vec()
    } else {
        args.faults.clone()
    };
    let deadline = args.duration.map(|d| started + Duration::from_secs(d));
    let mut tasks = Vec::new();
    for (i, s) in stations.into_iter().enumerate() {
        let logger = Logger {
            version: if i % 5 == 4 {
                Version::V2025
            } else {
                Version::V2017
            },
            st: s.st.clone(),
            pw: s.password.clone(),
            mn: s.mn.clone(),
        };
        let sim = Sim {
            model: Model::new(&s, args.seed.wrapping_add(i as u64)),
            logger,
            target: args.target.clone(),
            window: args.window.max(1),
            faults: faults.clone(),
            fault_rate: if faults.is_empty() {
                0.0
            } else {
                args.fault_rate
            },
            rng: StdRng::seed_from_u64(args.seed.wrapping_mul(31).wrapping_add(i as u64)),
            shared: shared.clone(),
            rate: rate.clone(),
            stop: stop.clone(),
            deadline,
            latencies: Vec::new(),
            queue: VecDeque::new(),
            templates: Vec::new(),
        };
        let pace = args.rate;
        let (backfill, rtd) = (args.backfill, Duration::from_secs(args.rtd_interval.max(1)));
        tasks.push(tokio::spawn(
            async move { sim.run(pace, backfill, rtd).await },
        ));
    }
    let reporter = progress.then(|| {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                let acked = shared.acked.load(Ordering::Relaxed);
                eprintln!(
                    "t={:>4.0}s sent={} acked={} ({:.0} acked/s)",
                    started.elapsed().as_secs_f64(),
                    shared.sent.load(Ordering::Relaxed),
                    acked,
                    (acked - last) as f64 / 5.0
                );
                last = acked;
            }
        })
    });
    let mut latencies = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies.extend(l);
        }
    }
    if let Some(r) = reporter {
        r.abort();
    }
    Summary {
        sent: shared.sent.load(Ordering::Relaxed),
        acked: shared.acked.load(Ordering::Relaxed),
        faults: shared.faults.load(Ordering::Relaxed),
        reconnects: shared.reconnects.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        latencies,
    }
}

/// An upload waiting for its acks.
struct Pending {
    /// The frame(s) to send again after a reconnect.
    bytes: Vec<u8>,
    /// QNs whose 9014 is still due (two for a split upload).
    due: VecDeque<String>,
    sent_at: Instant,
}

/// One logger.
struct Sim {
    model: Model,
    logger: Logger,
    target: String,
    window: usize,
    faults: Vec<Fault>,
    fault_rate: f64,
    rng: StdRng,
    shared: Arc<Shared>,
    rate: Option<Arc<Mutex<Bucket>>>,
    stop: Arc<AtomicBool>,
    deadline: Option<Instant>,
    latencies: Vec<u32>,
    /// Uploads generated and not yet acked, oldest first (sent or not).
    queue: VecDeque<Pending>,
    /// Storm pace without faults: one pre-built hourly upload per hour of the day.
    templates: Vec<Template>,
}

/// Latencies kept per logger (a sample is enough for percentiles).
const LATENCY_SAMPLES: usize = 2000;

impl Sim {
    fn over(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    async fn run(mut self, pace: Rate, backfill: u32, rtd: Duration) -> Vec<u32> {
        let now = Utc::now().with_timezone(&clock::cst());
        let mut schedule = match pace {
            Rate::Live => {
                // Loggers do not all send their real-time data at the same second.
                let first =
                    Duration::from_millis(self.rng.random_range(0..rtd.as_millis().max(1) as u64));
                Schedule::live(now, backfill, rtd, first)
            }
            Rate::Storm(_) => Schedule::storm(),
        };
        if schedule.storm && self.fault_rate == 0.0 {
            self.templates = (0..24)
                .map(|h| {
                    let at = schedule.storm_hour + Span::hours(h);
                    Template::new(self.message(Upload::Hourly, at, 0).to_frame())
                })
                .collect();
        }
        while !self.over() {
            let Ok(stream) = TcpStream::connect(&self.target).await else {
                self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            if self.session(stream, &mut schedule).await.is_ok() {
                break;
            }
            self.shared.reconnects.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.latencies
    }

    /// Sends and awaits acks on one connection; `Ok` when the run is over.
    async fn session(&mut self, stream: TcpStream, schedule: &mut Schedule) -> std::io::Result<()> {
        let (mut rd, mut wr) = stream.into_split();
        let mut decoder = Decoder::new(Options::lenient());
        let mut buf = vec![0u8; 16 * 1024];
        // Everything not yet acked is sent again on a new connection.
        let mut sent = 0;
        let mut out = Vec::new();
        loop {
            if self.over() && self.queue.is_empty() {
                return Ok(());
            }
            // Uploads already due (a storm, a back-fill) fill the window at once unless a
            // rate paces them, and go out in one write with what is still unsent.
            while self.rate.is_none() && !self.over() && self.queue.len() < self.window {
                let Some((at, kind)) = schedule.next_due() else {
                    break;
                };
                if at > Instant::now() {
                    break;
                }
                schedule.advance(kind);
                let extra = self.upload(kind, schedule);
                out.extend_from_slice(&extra);
            }
            let now = Instant::now();
            while sent < self.queue.len().min(self.window) {
                let p = &mut self.queue[sent];
                p.sent_at = now;
                out.extend_from_slice(&p.bytes);
                self.shared.sent.fetch_add(1, Ordering::Relaxed);
                sent += 1;
            }
            if !out.is_empty() {
                wr.write_all(&out).await?;
                out.clear();
            }
            let next = (!self.over() && self.queue.len() < self.window)
                .then(|| schedule.next_due())
                .flatten();
            let wait = next.map(|(at, _)| at);
            tokio::select! {
                n = rd.read(&mut buf) => {
                    let n = n?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    decoder.push(&buf[..n]);
                    while let Some(item) = decoder.next_frame() {
                        let Ok(frame) = item else { continue };
                        if let Some(qn) = ack_qn(frame.raw) {
                            sent -= self.acked(qn);
                        }
                    }
                }
                _ = sleep_until(wait), if wait.is_some() => {
                    let (_, kind) = next.expect("guarded");
                    if let Some(rate) = &self.rate {
                        let pause = rate.lock().await.take(1.0);
                        tokio::time::sleep(pause).await;
                    }
                    schedule.advance(kind);
                    let extra = self.upload(kind, schedule);
                    if !extra.is_empty() {
                        wr.write_all(&extra).await?;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// Notes the ack of `qn`; returns 1 when it completed the oldest sent upload.
    fn acked(&mut self, qn: &str) -> usize {
        let Some(front) = self.queue.front_mut() else {
            return 0;
        };
        if front.due.front().map(String::as_str) != Some(qn) {
            return 0;
        }
        front.due.pop_front();
        if !front.due.is_empty() {
            return 0;
        }
        let done = self.queue.pop_front().expect("front");
        self.shared.acked.fetch_add(1, Ordering::Relaxed);
        if self.latencies.len() < LATENCY_SAMPLES {
            self.latencies
                .push(done.sent_at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        }
        1
    }

    /// The upload of `kind` for data time `at`, with values from the model.
    fn message(&mut self, upload: Upload, at: DateTime<FixedOffset>, serial: u64) -> Message {
        let data_time = at.format("%Y%m%d%H%M%S").to_string();
        // A QN unique per logger and upload: the send time to the ms would repeat in a storm.
        let qn = format!("{}{:03}", data_time, serial % 1000);
        let factors = self.model.factors(upload, at, &mut self.rng);
        build::upload(&self.logger, upload, &qn, &data_time, factors, true)
    }

    /// Generates the due upload into the queue; returns fault bytes to send right away.
    fn upload(&mut self, kind: Due, schedule: &Schedule) -> Vec<u8> {
        let (upload, at) = match kind {
            Due::Rtd(t) => (Upload::Realtime, t),
            Due::Minute(t) => (Upload::Minute, t),
            Due::Hour(t) => (Upload::Hourly, t),
        };
        if let Some(t) = self.templates.get(at.hour() as usize) {
            let (bytes, qn) = t.instance(at, schedule.serial);
            self.queue.push_back(Pending {
                bytes,
                due: VecDeque::from([qn]),
                sent_at: Instant::now(),
            });
            return Vec::new();
        }
        let mut m = self.message(upload, at, schedule.serial);
        let qn = m.qn.clone().unwrap_or_default();
        if schedule.backfilling(at) && self.logger.version == Version::V2025 {
            m.rf = Some("1".into());
        }
        let fault = (self.fault_rate > 0.0 && self.rng.random_bool(self.fault_rate.min(1.0)))
            .then(|| self.faults[self.rng.random_range(0..self.faults.len())]);
        if fault.is_some() {
            self.shared.faults.fetch_add(1, Ordering::Relaxed);
        }
        let mut extra = Vec::new();
        let (bytes, due) = match fault {
            Some(Fault::Split) => split(&m),
            Some(Fault::Sloppy) => (sloppy(&m, &mut self.rng), VecDeque::from([qn])),
            Some(f) => {
                extra = broken(f, &m, &mut self.rng);
                (m.to_frame(), VecDeque::from([qn]))
            }
            None => (m.to_frame(), VecDeque::from([qn])),
        };
        self.queue.push_back(Pending {
            bytes,
            due,
            sent_at: Instant::now(),
        });
        extra
    }
}

/// A pre-built hourly upload whose QN, DataTime and CRC are rewritten for each upload of a
/// storm, so that the simulator costs far less per frame than the receiver it measures. A
/// logger has one per hour of the day: values follow the daily cycle, and repeat daily.
struct Template {
    frame: Vec<u8>,
    /// Where the 17 digits of QN and the 14 of DataTime start.
    qn_at: usize,
    time_at: usize,
}

impl Template {
    fn new(frame: Vec<u8>) -> Template {
        let find = |key: &[u8]| {
            frame
                .windows(key.len())
                .position(|w| w == key)
                .expect("an upload has QN and DataTime")
                + key.len()
        };
        let (qn_at, time_at) = (find(b"QN="), find(b"DataTime="));
        Template {
            frame,
            qn_at,
            time_at,
        }
    }

    /// The frame for data time `at` (QN: `at` and the serial's last 3 digits), and its QN.
    fn instance(&self, at: DateTime<FixedOffset>, serial: u64) -> (Vec<u8>, String) {
        use chrono::Datelike;
        let mut f = self.frame.clone();
        let time = &mut f[self.time_at..self.time_at + 14];
        for (range, n) in [
            (0..4, at.year() as u32),
            (4..6, at.month()),
            (6..8, at.day()),
            (8..10, at.hour()),
            (10..12, at.minute()),
            (12..14, at.second()),
        ] {
            put_digits(&mut time[range], u64::from(n));
        }
        let (q, t) = (self.qn_at, self.time_at);
        f.copy_within(t..t + 14, q);
        put_digits(&mut f[q + 14..q + 17], serial % 1000);
        let n = f.len();
        let crc = hj212::crc16(&f[6..n - 6]);
        for (i, b) in f[n - 6..n - 2].iter_mut().enumerate() {
            *b = b"0123456789ABCDEF"[usize::from((crc >> (12 - 4 * i)) & 0xF)];
        }
        let qn = String::from_utf8_lossy(&f[q..q + 17]).into_owned();
        (f, qn)
    }
}

/// The QN a 9014 reply acknowledges (`None` for any other frame), read straight from the
/// bytes: a logger in a storm gets tens of thousands of replies a second.
fn ack_qn(raw: &[u8]) -> Option<&str> {
    let find = |key: &[u8]| raw.windows(key.len()).position(|w| w == key);
    find(b";CN=9014;")?;
    let start = find(b"QN=")? + 3;
    let len = raw[start..].iter().position(|&b| b == b';')?;
    std::str::from_utf8(&raw[start..start + len]).ok()
}

/// Writes `n` in decimal into `out`, zero-padded to its length.
fn put_digits(out: &mut [u8], mut n: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// What is due next.
#[derive(Debug, Clone, Copy)]
enum Due {
    Rtd(DateTime<FixedOffset>),
    Minute(DateTime<FixedOffset>),
    Hour(DateTime<FixedOffset>),
}

/// When each kind of upload is next due, in data time and in wall time.
struct Schedule {
    storm: bool,
    /// Back-fill: hourly and minute data times still to send (oldest first).
    backlog: VecDeque<Due>,
    /// The data time from which data is live (not back-filled).
    live_from: DateTime<FixedOffset>,
    next_rtd: Instant,
    next_minute: (Instant, DateTime<FixedOffset>),
    next_hour: (Instant, DateTime<FixedOffset>),
    rtd: Duration,
    /// Uploads generated so far.
    serial: u64,
    storm_hour: DateTime<FixedOffset>,
}

impl Schedule {
    fn live(
        now: DateTime<FixedOffset>,
        backfill: u32,
        rtd: Duration,
        first_rtd: Duration,
    ) -> Schedule {
        let hour = now
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .expect("valid time");
        let ten = hour + Span::minutes(i64::from(now.minute() / 10 * 10));
        let mut backlog = VecDeque::new();
        for h in (1..=i64::from(backfill)).rev() {
            let t = hour - Span::hours(h);
            backlog.push_back(Due::Hour(t));
            if h <= 6 {
                for m in 0..6 {
                    backlog.push_back(Due::Minute(t + Span::minutes(m * 10)));
                }
            }
        }
        let wall = |t: DateTime<FixedOffset>| {
            let ahead = (t - now).to_std().unwrap_or_default();
            Instant::now() + ahead
        };
        Schedule {
            storm: false,
            backlog,
            live_from: hour - Span::hours(1),
            next_rtd: Instant::now() + first_rtd,
            // Each period's upload follows its end by a few seconds.
            next_minute: (wall(ten + Span::minutes(10)) + Duration::from_secs(3), ten),
            next_hour: (wall(hour + Span::hours(1)) + Duration::from_secs(5), hour),
            rtd,
            serial: 0,
            storm_hour: hour,
        }
    }

    fn storm() -> Schedule {
        let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
            .expect("date")
            .and_hms_opt(0, 0, 0)
            .expect("time")
            .and_local_timezone(clock::cst())
            .single()
            .expect("fixed offset");
        Schedule {
            storm: true,
            backlog: VecDeque::new(),
            live_from: start + Span::days(365 * 100),
            next_rtd: Instant::now(),
            next_minute: (Instant::now(), start),
            next_hour: (Instant::now(), start),
            rtd: Duration::ZERO,
            serial: 0,
            storm_hour: start,
        }
    }

    fn backfilling(&self, at: DateTime<FixedOffset>) -> bool {
        at < self.live_from
    }

    /// The next upload and when to send it.
    fn next_due(&self) -> Option<(Instant, Due)> {
        if self.storm {
            return Some((Instant::now(), Due::Hour(self.storm_hour)));
        }
        if let Some(d) = self.backlog.front() {
            return Some((Instant::now(), *d));
        }
        let now = Utc::now().with_timezone(&clock::cst());
        [
            (self.next_rtd, Due::Rtd(now)),
            (self.next_minute.0, Due::Minute(self.next_minute.1)),
            (self.next_hour.0, Due::Hour(self.next_hour.1)),
        ]
        .into_iter()
        .min_by_key(|(at, _)| *at)
    }

    /// Moves past the upload just generated.
    fn advance(&mut self, due: Due) {
        self.serial += 1;
        if self.storm {
            self.storm_hour += Span::hours(1);
        } else if self.backlog.is_empty() {
            match due {
                Due::Rtd(_) => self.next_rtd += self.rtd,
                Due::Minute(t) => {
                    self.next_minute = (
                        self.next_minute.0 + Duration::from_secs(600),
                        t + Span::minutes(10),
                    )
                }
                Due::Hour(t) => {
                    self.next_hour = (
                        self.next_hour.0 + Duration::from_secs(3600),
                        t + Span::hours(1),
                    )
                }
            }
        } else {
            self.backlog.pop_front();
        }
    }
}

/// The values of one logger's factors.
struct Model {
    factors: Vec<FactorModel>,
    /// A start-up (high values) on some mornings.
    startup_days: u32,
}

struct FactorModel {
    spec: FactorSpec,
    level: f64,
    decimals: usize,
    /// Follows production (pollutants, flow) or not (O2, temperature, pH).
    cyclic: bool,
}

impl Model {
    fn new(s: &SimStation, seed: u64) -> Model {
        let mut rng = StdRng::seed_from_u64(seed);
        let factors = s
            .factors
            .iter()
            .map(|f| {
                let limit = f.emission_limit.as_deref().and_then(hj212::Decimal::parse);
                let high = f.range_high.as_deref().and_then(hj212::Decimal::parse);
                let (level, decimals, cyclic) = match f.code.as_str() {
                    "a19001" => (rng.random_range(7.0..12.0), 1, false),
                    "a01012" => (rng.random_range(60.0..140.0), 1, false),
                    "a01011" => (rng.random_range(8.0..18.0), 2, true),
                    "w01001" => (rng.random_range(6.8..8.0), 2, false),
                    "w00000" => (rng.random_range(5.0..60.0), 2, true),
                    _ => match (limit, high) {
                        (Some(l), _) => (l.to_f64() * rng.random_range(0.25..0.7), 2, true),
                        (None, Some(h)) => (h.to_f64() * 0.2, 2, true),
                        _ => (10.0, 2, true),
                    },
                };
                FactorModel {
                    spec: f.clone(),
                    level,
                    decimals,
                    cyclic,
                }
            })
            .collect();
        Model {
            factors,
            startup_days: rng.random_range(5..15),
        }
    }

    /// The factors of an upload for data time `at`.
    fn factors(&self, upload: Upload, at: DateTime<FixedOffset>, rng: &mut StdRng) -> Vec<Factor> {
        use chrono::Datelike;
        let hour = f64::from(at.hour()) + f64::from(at.minute()) / 60.0;
        // Production: low at night, high in the afternoon.
        let cycle = 0.75 + 0.35 * ((hour - 8.0) / 24.0 * std::f64::consts::TAU).sin();
        let startup = at.ordinal().is_multiple_of(self.startup_days) && (6..8).contains(&at.hour());
        let flag = match rng.random_range(0..1000) {
            0..=4 => "M",
            5..=9 => "C",
            10..=11 => "D",
            _ => "N",
        };
        let o2 = self
            .factors
            .iter()
            .find(|f| f.spec.code == "a19001")
            .map(|f| f.level * rng.random_range(0.95..1.05));
        let mut out = Vec::with_capacity(self.factors.len());
        for f in &self.factors {
            let mut v = if f.spec.code == "a19001" {
                o2.unwrap_or(f.level)
            } else if f.cyclic {
                f.level * cycle * rng.random_range(0.9..1.1)
            } else {
                f.level * rng.random_range(0.97..1.03)
            };
            if startup
                && f.cyclic
                && f.spec.code.starts_with(['a', 'w'])
                && f.spec.emission_limit.is_some()
            {
                v *= rng.random_range(1.6..2.6);
            }
            let range_high = f
                .spec
                .range_high
                .as_deref()
                .and_then(hj212::Decimal::parse)
                .map(|d| d.to_f64());
            let flag = if range_high.is_some_and(|h| v > h) {
                "T"
            } else {
                flag
            };
            let text = |x: f64| format!("{:.*}", f.decimals, x.max(0.0));
            let mut factor = Factor::new(f.spec.code.clone());
            let converted = match (&f.spec.o2_ref, o2) {
                (Some(r), Some(o2)) => r
                    .parse::<f64>()
                    .ok()
                    .map(|r| v * (21.0 - r) / (21.0 - o2).max(1.0)),
                _ => None,
            };
            match upload {
                Upload::Realtime => {
                    factor = factor.with("Rtd", text(v));
                    if let Some(z) = converted {
                        factor = factor.with("ZsRtd", text(z));
                    }
                }
                _ => {
                    factor = factor
                        .with("Min", text(v * rng.random_range(0.8..0.95)))
                        .with("Avg", text(v))
                        .with("Max", text(v * rng.random_range(1.05..1.25)));
                    if let Some(z) = converted {
                        factor = factor.with("ZsAvg", text(z));
                    }
                    if f.spec.code == "w00000" {
                        let seconds = if upload == Upload::Hourly {
                            3600.0
                        } else {
                            600.0
                        };
                        factor = factor.with("Cou", text(v * seconds / 1000.0));
                    }
                }
            }
            out.push(factor.with("Flag", flag));
        }
        out
    }
}

/// An upload in two parts (Flag with the D bit, PNUM=2): factors split between them, QNs one
/// millisecond apart as in the standard's example. Returns the frames and the QNs to be acked.
fn split(m: &hj212::Message) -> (Vec<u8>, VecDeque<String>) {
    if m.cp.factors.len() < 2 {
        let qn = m.qn.clone().unwrap_or_default();
        return (m.to_frame(), VecDeque::from([qn]));
    }
    let half = m.cp.factors.len() / 2;
    let mut bytes = Vec::new();
    let mut due = VecDeque::new();
    for (pno, factors) in [(1u16, &m.cp.factors[..half]), (2, &m.cp.factors[half..])] {
        let mut part = m.clone();
        let qn: u64 =
            m.qn.as_deref().and_then(|q| q.parse().ok()).unwrap_or(0) + u64::from(pno) - 1;
        part.qn = Some(format!("{qn:017}"));
        part.flag = m.flag.map(|f| f | hj212::FLAG_SPLIT);
        part.pnum = Some(2);
        part.pno = Some(pno);
        part.cp.factors = factors.to_vec();
        bytes.extend(part.to_frame());
        due.push_back(format!("{qn:017}"));
    }
    (bytes, due)
}

/// The frame the way sloppy loggers send it; the codec's lenient mode still accepts it.
fn sloppy(m: &hj212::Message, rng: &mut StdRng) -> Vec<u8> {
    let mut frame = m.to_frame();
    match rng.random_range(0..3) {
        // Lower-case CRC.
        0 => {
            let n = frame.len();
            frame[n - 6..n - 2].make_ascii_lowercase();
        }
        // A lone "\n" as the trailer.
        1 => {
            frame.truncate(frame.len() - 2);
            frame.push(b'\n');
        }
        // MN before PW.
        _ => {
            let seg = m.encode_segment();
            let (pw, mn) = (
                format!("PW={};", m.pw.as_deref().unwrap_or("")),
                format!("MN={};", m.mn.as_deref().unwrap_or("")),
            );
            let swapped = seg.replacen(&format!("{pw}{mn}"), &format!("{mn}{pw}"), 1);
            frame = build::frame(swapped.as_bytes());
        }
    }
    frame
}

/// Extra bytes for a fault that is not the upload itself.
fn broken(f: Fault, m: &hj212::Message, rng: &mut StdRng) -> Vec<u8> {
    let mut copy = m.clone();
    match f {
        Fault::Garbage => (0..rng.random_range(16..256))
            .map(|_| rng.random_range(0..=255u8))
            // A stray "##" would start a frame and swallow the next one's first bytes.
            .map(|b| if b == b'#' { b'?' } else { b })
            .collect(),
        Fault::BadCrc => {
            let mut frame = m.to_frame();
            let n = frame.len();
            frame[n - 3] = if frame[n - 3] == b'0' { b'1' } else { b'0' };
            frame
        }
        Fault::WrongPw => {
            copy.pw = Some("000000".into());
            copy.flag = copy.flag.map(|f| f & !hj212::FLAG_ACK);
            copy.to_frame()
        }
        Fault::UnknownMn => {
            copy.mn = Some(format!("FAKE{}", rng.random_range(100_000..999_999)));
            copy.flag = copy.flag.map(|f| f & !hj212::FLAG_ACK);
            copy.to_frame()
        }
        Fault::Truncated => {
            let frame = m.to_frame();
            frame[..frame.len() / 2].to_vec()
        }
        Fault::Sloppy | Fault::Split | Fault::All => Vec::new(),
    }
}

/// Demo outlets: CEMS for power, cement, steel, ceramics and chemical plants; a wastewater
/// outlet for the water-intensive industries; one facility in twelve of each region.
pub async fn seed_registry(
    db: &Db,
    org: &Org,
    seed: u64,
) -> std::result::Result<usize, registry::SaveError> {
    let facilities: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, name, credit_code, region_code, industry FROM facilities ORDER BY id",
    )
    .fetch_all(db.pool())
    .await
    .map_err(ecowarden_core::store::StoreError::from)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut outlets = Vec::new();
    // Every twelfth facility of each region, the first included: every county has outlets.
    let mut per_region: std::collections::HashMap<String, usize> = Default::default();
    for (id, name, credit_code, region, industry) in facilities {
        let n = per_region.entry(region.clone()).or_default();
        let chosen = n.is_multiple_of(12);
        *n += 1;
        if !chosen {
            continue;
        }
        let facility = FacilitySpec {
            name,
            credit_code,
            region_code: region.clone(),
            industry: industry.clone(),
        };
        let gas = gas_limits(&industry);
        let water = matches!(
            industry.as_str(),
            "化工" | "纺织印染" | "电镀" | "造纸" | "污水处理" | "制革" | "食品加工" | "医药制造"
        );
        let mut n = 0;
        if let Some((so2, nox, pm, o2)) = gas {
            n += 1;
            outlets.push(OutletSpec {
                mn: format!("{region}{id:06}{n:02}"),
                password: format!("{:06}", rng.random_range(0..1_000_000)),
                st: "31".into(),
                name: "1号烟气排放口".into(),
                facility: facility.clone(),
                factors: vec![
                    spec(
                        "a21026",
                        Some(so2),
                        "mg/m3",
                        "0",
                        "500",
                        Some("3"),
                        Some(o2),
                    ),
                    spec(
                        "a21002",
                        Some(nox),
                        "mg/m3",
                        "0",
                        "500",
                        Some("3"),
                        Some(o2),
                    ),
                    spec("a34013", Some(pm), "mg/m3", "0", "200", Some("1"), Some(o2)),
                    spec("a19001", None, "%", "0", "25", None, None),
                    spec("a01012", None, "℃", "0", "300", None, None),
                    spec("a01011", None, "m/s", "0", "40", None, None),
                ],
            });
        }
        if water {
            n += 1;
            let (cod, nh3) = if industry == "污水处理" {
                ("50", "5")
            } else {
                ("100", "15")
            };
            outlets.push(OutletSpec {
                mn: format!("{region}{id:06}{n:02}"),
                password: format!("{:06}", rng.random_range(0..1_000_000)),
                st: "32".into(),
                name: "废水总排放口".into(),
                facility,
                factors: vec![
                    spec("w01018", Some(cod), "mg/L", "0", "1000", Some("4"), None),
                    spec("w21003", Some(nh3), "mg/L", "0", "50", Some("0.025"), None),
                    spec("w01001", None, "无量纲", "0", "14", None, None),
                    spec("w00000", None, "L/s", "0", "200", None, None),
                ],
            });
        }
    }
    let n = outlets.len();
    registry::save(
        db,
        org,
        &ecowarden_core::scope::Scope::Province,
        "system:demo",
        "demo",
        &outlets,
    )
    .await?;
    Ok(n)
}

/// SO2, NOx, particulate limits (mg/m³) and reference O2 (%) by industry, from the national
/// emission standards (ultra-low for power and steel).
fn gas_limits(industry: &str) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    match industry {
        "火力发电" => Some(("35", "50", "10", "6")),
        "水泥建材" => Some(("100", "320", "20", "10")),
        "钢铁" => Some(("35", "50", "10", "16")),
        "陶瓷" => Some(("50", "180", "30", "18")),
        "化工" => Some(("50", "150", "20", "9")),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn spec(
    code: &str,
    limit: Option<&str>,
    unit: &str,
    low: &str,
    high: &str,
    detection: Option<&str>,
    o2: Option<&str>,
) -> FactorSpec {
    FactorSpec {
        code: code.into(),
        emission_limit: limit.map(Into::into),
        unit: Some(unit.into()),
        range_low: Some(low.into()),
        range_high: Some(high.into()),
        detection_limit: detection.map(Into::into),
        o2_ref: o2.map(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_instance_is_a_valid_upload_and_its_ack_is_recognised() {
        let logger = Logger {
            version: Version::V2017,
            st: "31".into(),
            pw: "123456".into(),
            mn: "BENCH000001".into(),
        };
        let factors = vec![Factor::new("a21026").with("Avg", "12.5").with("Flag", "N")];
        let m = build::upload(
            &logger,
            Upload::Hourly,
            "20240101000000000",
            "20240101000000",
            factors,
            true,
        );
        let t = Template::new(m.to_frame());
        let at = chrono::NaiveDate::from_ymd_opt(2025, 3, 7)
            .and_then(|d| d.and_hms_opt(13, 0, 0))
            .and_then(|t| t.and_local_timezone(clock::cst()).single())
            .expect("valid time");
        let (frame, qn) = t.instance(at, 1042);
        assert_eq!(qn, "20250307130000042");
        let f = hj212::Frames::new(&frame, Options::strict())
            .next()
            .expect("a frame")
            .expect("a valid frame");
        let parsed = Message::parse(&f, &Options::strict()).expect("parses");
        assert_eq!(parsed.qn.as_deref(), Some(qn.as_str()));
        assert_eq!(parsed.cp.data_time.as_deref(), Some("20250307130000"));
        assert_eq!(parsed.cp.factors, m.cp.factors);
        let reply = build::reply_9014(&parsed).to_frame();
        assert_eq!(ack_qn(&reply), Some(qn.as_str()));
        assert_eq!(ack_qn(&frame), None);
    }
}
