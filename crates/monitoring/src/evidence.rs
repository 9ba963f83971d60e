//! The evidence log (原始报文存证): every frame the receiver got — good or bad — with when,
//! from where, on which connection and what the receiver made of it.
//!
//! Automatic-monitoring data is legal evidence, so this log, not the archive, is the truth:
//! the archive is derived from it and can be rebuilt. It is a directory of append-only
//! segment files `seg-000001.log`, … Each process that writes opens a new segment, so a
//! segment torn by a crash is never appended to again.
//!
//! A segment starts with [`MAGIC`]; then records, each `u32 length | u32 CRC32C | body`
//! (little-endian; length and CRC cover the body). The body is
//! `u8 verdict | u8 peer length | i64 receive time (µs since the Unix epoch) |
//! u64 connection id | u32 bytes in the stream | peer | raw bytes`. A bad run of bytes
//! (garbage, a frame that never ended) keeps its first [`MAX_BAD_BYTES`] bytes and its full
//! length.
//!
//! Appends go to one writer thread that batches them and calls `fdatasync` once per batch
//! (group commit); a caller that needs durability (a frame whose sender wants an ack) gets
//! a oneshot completed only after the batch holding its record is on disk. An import's log
//! ([`EvidenceLog::open_tapped`]) also hands each written batch to its compactor. On open,
//! the last segment is checked record by record and a torn tail (a record cut short or
//! failing its CRC, from a crash mid-write) is cut off; everything before it was durable and
//! is kept.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

/// First bytes of every segment file (format version 1).
pub const MAGIC: &[u8; 8] = b"EWEVID1\n";
/// Bytes kept of a bad run; its full length is recorded too.
pub const MAX_BAD_BYTES: usize = 4096;
/// A new segment starts once the current one is this large.
pub const SEGMENT_BYTES: u64 = 256 << 20;
/// `length` + `CRC32C`.
const FRAME_HEADER: usize = 8;
/// verdict, peer length, receive time, connection, stream length.
const BODY_HEADER: usize = 1 + 1 + 8 + 8 + 4;
/// A record body larger than this is corruption, not a record.
const MAX_BODY: usize = BODY_HEADER + 255 + 64 * 1024;
/// Records a writer batch takes at most before it syncs.
const BATCH_RECORDS: usize = 4096;
/// Appends waiting for the writer at most: beyond it, receivers wait (back-pressure).
const QUEUE: usize = 16 * 1024;

/// When the writer calls `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// After every batch (group commit): the receiver acknowledges a frame only once its
    /// record is on disk, so nothing acknowledged is ever lost.
    EveryBatch,
    /// Once, when the log closes: a packet-log import acknowledges nothing to a logger, and
    /// a crash mid-import leaves a torn tail that the next open cuts (the import is run
    /// again; the compactor drops values already archived).
    AtClose,
}

/// What the receiver made of a frame (or of a bad run of bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A frame of a registered data logger with the right password: its data is archived.
    Accepted,
    /// The MN is not in the registry (or the frame has none): kept, never archived.
    UnknownMn,
    /// The password does not match the registry (or is missing): kept, never archived.
    BadPassword,
    /// The codec refused the bytes: framing, CRC or segment errors.
    Codec(hj212::ErrorKind),
}

impl Verdict {
    /// Every verdict, in code order (for counters and pages).
    pub const ALL: [Verdict; 12] = [
        Verdict::Accepted,
        Verdict::UnknownMn,
        Verdict::BadPassword,
        Verdict::Codec(hj212::ErrorKind::BadHeader),
        Verdict::Codec(hj212::ErrorKind::BadLength),
        Verdict::Codec(hj212::ErrorKind::TooLong),
        Verdict::Codec(hj212::ErrorKind::Truncated),
        Verdict::Codec(hj212::ErrorKind::CrcMismatch),
        Verdict::Codec(hj212::ErrorKind::BadCrcText),
        Verdict::Codec(hj212::ErrorKind::BadTrailer),
        Verdict::Codec(hj212::ErrorKind::MalformedSegment),
        Verdict::Codec(hj212::ErrorKind::MalformedCp),
    ];

    /// The byte stored on disk; stable.
    pub fn code(self) -> u8 {
        match self {
            Verdict::Accepted => 0,
            Verdict::UnknownMn => 1,
            Verdict::BadPassword => 2,
            Verdict::Codec(kind) => {
                16 + hj212::ErrorKind::ALL
                    .iter()
                    .position(|k| *k == kind)
                    .expect("every kind is listed") as u8
            }
        }
    }

    pub fn from_code(code: u8) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.code() == code)
    }

    /// Position in [`Verdict::ALL`].
    pub fn index(self) -> usize {
        Verdict::ALL
            .iter()
            .position(|v| *v == self)
            .expect("every verdict is listed")
    }

    /// The machine-readable name: `accepted`, `unknown_mn`, `bad_password` or the codec's
    /// error kind (`crc_mismatch`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::UnknownMn => "unknown_mn",
            Verdict::BadPassword => "bad_password",
            Verdict::Codec(kind) => kind.as_str(),
        }
    }

    /// What the pages call it.
    pub fn label(self) -> &'static str {
        use hj212::ErrorKind::*;
        match self {
            Verdict::Accepted => "已接收",
            Verdict::UnknownMn => "未登记的MN",
            Verdict::BadPassword => "访问密码错误",
            Verdict::Codec(BadHeader) => "包头错误或乱码",
            Verdict::Codec(BadLength) => "数据段长度错误",
            Verdict::Codec(TooLong) => "数据段超长",
            Verdict::Codec(Truncated) => "报文不完整",
            Verdict::Codec(CrcMismatch) => "CRC校验错误",
            Verdict::Codec(BadCrcText) => "CRC字段非十六进制",
            Verdict::Codec(BadTrailer) => "包尾错误",
            Verdict::Codec(MalformedSegment) => "数据段格式错误",
            Verdict::Codec(MalformedCp) => "数据区格式错误",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One received frame or bad run, as kept.
#[derive(Debug, Clone)]
pub struct Record {
    /// Receive time, microseconds since the Unix epoch.
    pub recv_us: i64,
    /// The connection (unique across restarts: the high half is the writer's first segment).
    pub conn: u64,
    /// `IP:port` of the sender, or `file:NAME` for an imported packet log.
    pub peer: String,
    pub verdict: Verdict,
    /// Bytes of the stream this record covers (more than `raw` for a long bad run).
    pub stream_len: u32,
    /// The bytes as received (the first [`MAX_BAD_BYTES`] of a bad run).
    pub raw: Vec<u8>,
    /// The receiver's parse of an accepted upload, handed on with its bytes so that a
    /// compactor tapping the log does not parse the frame again. Never written: a record
    /// read back has none, and two records are equal whatever they hold here.
    pub parsed: Option<Box<hj212::Detached>>,
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        (
            self.recv_us,
            self.conn,
            &self.peer,
            self.verdict,
            self.stream_len,
            &self.raw,
        ) == (
            other.recv_us,
            other.conn,
            &other.peer,
            other.verdict,
            other.stream_len,
            &other.raw,
        )
    }
}

impl Eq for Record {}

impl Record {
    /// The position right after this record, which starts at `pos`.
    pub fn end(&self, pos: Pos) -> Pos {
        Pos(pos.0 + self.encoded_len() as u64)
    }

    fn encoded_len(&self) -> usize {
        FRAME_HEADER + BODY_HEADER + self.peer_bytes().len() + self.raw.len()
    }

    /// The peer as stored: at most 255 bytes.
    fn peer_bytes(&self) -> &[u8] {
        let p = self.peer.as_bytes();
        &p[..p.len().min(255)]
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let peer = self.peer_bytes();
        out.extend_from_slice(&[0; FRAME_HEADER]);
        out.push(self.verdict.code());
        out.push(peer.len() as u8);
        out.extend_from_slice(&self.recv_us.to_le_bytes());
        out.extend_from_slice(&self.conn.to_le_bytes());
        out.extend_from_slice(&self.stream_len.to_le_bytes());
        out.extend_from_slice(peer);
        out.extend_from_slice(&self.raw);
        let body = &out[start + FRAME_HEADER..];
        let len = (body.len() as u32).to_le_bytes();
        let crc = crc32c::crc32c(body).to_le_bytes();
        out[start..start + 4].copy_from_slice(&len);
        out[start + 4..start + 8].copy_from_slice(&crc);
    }

    fn decode(body: &[u8]) -> Option<Record> {
        if body.len() < BODY_HEADER {
            return None;
        }
        let verdict = Verdict::from_code(body[0])?;
        let peer_len = usize::from(body[1]);
        let recv_us = i64::from_le_bytes(body[2..10].try_into().ok()?);
        let conn = u64::from_le_bytes(body[10..18].try_into().ok()?);
        let stream_len = u32::from_le_bytes(body[18..22].try_into().ok()?);
        let peer = body.get(BODY_HEADER..BODY_HEADER + peer_len)?;
        Some(Record {
            recv_us,
            conn,
            peer: String::from_utf8_lossy(peer).into_owned(),
            verdict,
            stream_len,
            raw: body[BODY_HEADER + peer_len..].to_vec(),
            parsed: None,
        })
    }
}

/// Where a record starts: segment number (high 32 bits) and byte offset in it. Positions
/// order the log: a later record has a larger position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos(pub u64);

impl Pos {
    pub fn new(segment: u32, offset: u32) -> Pos {
        Pos((u64::from(segment) << 32) | u64::from(offset))
    }
    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Pos {
    /// `000001:4096`: segment and offset, as an officer would look the record up.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}:{}", self.segment(), self.offset())
    }
}

/// The evidence log's directory inside a data directory.
pub fn dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("evidence")
}

fn segment_path(dir: &Path, segment: u32) -> PathBuf {
    dir.join(format!("seg-{segment:06}.log"))
}

/// Segment numbers present in `dir`, ascending.
pub fn segments(dir: &Path) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("seg-")
            .and_then(|s| s.strip_suffix(".log"))
            .and_then(|s| s.parse::<u32>().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads one record at the reader's position; `Ok(None)` at a clean end, `Err` with
/// `InvalidData` for a torn or corrupt record.
fn read_record(r: &mut impl Read, body: &mut Vec<u8>) -> io::Result<Option<Record>> {
    let mut head = [0u8; FRAME_HEADER];
    let mut got = 0;
    while got < FRAME_HEADER {
        match r.read(&mut head[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(torn("a record header is cut short")),
            n => got += n,
        }
    }
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    if !(BODY_HEADER..=MAX_BODY).contains(&len) {
        return Err(torn("a record length is out of range"));
    }
    body.resize(len, 0);
    r.read_exact(body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => torn("a record body is cut short"),
        _ => e,
    })?;
    if crc32c::crc32c(body) != crc {
        return Err(torn("a record fails its CRC32C"));
    }
    Record::decode(body)
        .map(Some)
        .ok_or_else(|| torn("a record body cannot be read"))
}

fn torn(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Reads the log in order from a position, up to an optional end (exclusive).
///
/// In every segment but the last, a bad record is corruption: the rest of that segment is
/// skipped with an error log. In the last segment it is the end (a writer may be mid-batch).
pub struct Reader {
    dir: PathBuf,
    segments: Vec<u32>,
    next_segment: usize,
    current: Option<(u32, u64, BufReader<File>)>,
    from: Pos,
    until: Option<Pos>,
    body: Vec<u8>,
}

impl Reader {
    pub fn open(dir: &Path, from: Pos, until: Option<Pos>) -> io::Result<Reader> {
        let segments = segments(dir)?
            .into_iter()
            .filter(|s| *s >= from.segment())
            .collect();
        Ok(Reader {
            dir: dir.to_owned(),
            segments,
            next_segment: 0,
            current: None,
            from,
            until,
            body: Vec::new(),
        })
    }

    fn open_next(&mut self) -> io::Result<bool> {
        let Some(&segment) = self.segments.get(self.next_segment) else {
            return Ok(false);
        };
        self.next_segment += 1;
        let mut file = File::open(segment_path(&self.dir, segment))?;
        let mut magic = [0u8; 8];
        if file.read_exact(&mut magic).is_err() || &magic != MAGIC {
            tracing::error!(segment, "evidence segment has no valid header; skipped");
            return self.open_next();
        }
        let mut offset = MAGIC.len() as u64;
        if segment == self.from.segment() && u64::from(self.from.offset()) > offset {
            offset = u64::from(self.from.offset());
            file.seek(SeekFrom::Start(offset))?;
        }
        self.current = Some((segment, offset, BufReader::with_capacity(1 << 20, file)));
        Ok(true)
    }
}

impl Iterator for Reader {
    type Item = io::Result<(Pos, Record)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                match self.open_next() {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(e) => return Some(Err(e)),
                }
            }
            let (segment, offset, file) = self.current.as_mut().expect("opened above");
            let pos = Pos::new(*segment, *offset as u32);
            if self.until.is_some_and(|u| pos >= u) {
                return None;
            }
            match read_record(file, &mut self.body) {
                Ok(Some(record)) => {
                    *offset += (FRAME_HEADER + self.body.len()) as u64;
                    return Some(Ok((pos, record)));
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    let last = self.next_segment >= self.segments.len();
                    if last {
                        return None;
                    }
                    tracing::error!(%pos, error = %e, "corrupt evidence record; rest of segment skipped");
                }
                Err(e) => return Some(Err(e)),
            }
            self.current = None;
        }
    }
}

/// Reads the record at `pos` (the archive links each value to its frame this way).
pub fn read_at(dir: &Path, pos: Pos) -> io::Result<Record> {
    let mut file = File::open(segment_path(dir, pos.segment()))?;
    file.seek(SeekFrom::Start(u64::from(pos.offset())))?;
    read_record(&mut file, &mut Vec::new())?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no record at {pos}")))
}

/// What opening the log found.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    pub segments: usize,
    /// Records in the last segment of the previous run.
    pub last_segment_records: u64,
    /// Bytes cut from the end of the previous run's segment (a torn tail).
    pub torn_bytes: u64,
    /// The segment this process writes.
    pub segment: u32,
}

/// Checks the last segment and cuts a torn tail; returns (records, bytes cut).
fn recover_segment(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let size = file.metadata()?.len();
    let mut magic = [0u8; 8];
    let valid_header = file.read_exact(&mut magic).is_ok() && &magic == MAGIC;
    let mut good = MAGIC.len() as u64;
    let mut records = 0;
    if valid_header {
        let mut r = BufReader::with_capacity(1 << 20, &mut file);
        let mut body = Vec::new();
        while let Ok(Some(_)) = read_record(&mut r, &mut body) {
            good += (FRAME_HEADER + body.len()) as u64;
            records += 1;
        }
    } else {
        // A crash between creating the file and syncing its header.
        good = 0;
    }
    if good < size {
        file.set_len(good)?;
        if good == 0 {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(MAGIC)?;
        }
        file.sync_all()?;
    }
    Ok((records, size.saturating_sub(good)))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn create_segment(dir: &Path, segment: u32) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(segment_path(dir, segment))?;
    file.write_all(MAGIC)?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}

struct Append {
    record: Record,
    done: Option<oneshot::Sender<Pos>>,
}

/// The writer side of the log: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct EvidenceLog {
    tx: mpsc::Sender<Append>,
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    /// End of what is on disk and synced.
    durable: AtomicU64,
    failed: AtomicBool,
    /// The writer thread and its result.
    thread: Mutex<Option<std::thread::JoinHandle<io::Result<()>>>>,
    /// Holds the directory's lock for the life of the writer.
    _lock: File,
    /// The segment this process writes first; names connections uniquely.
    first_segment: u32,
}

/// The log was closed or its writer failed; nothing more can be appended.
#[derive(Debug, thiserror::Error)]
#[error("the evidence log is closed")]
pub struct Closed;

impl EvidenceLog {
    /// Opens the log in `dir` for writing: takes its lock (one writer per directory),
    /// recovers the last segment, starts a new one and the writer thread.
    pub fn open(dir: &Path) -> io::Result<(EvidenceLog, Recovery)> {
        Self::open_with(dir, SEGMENT_BYTES, SyncMode::EveryBatch)
    }

    pub fn open_with(
        dir: &Path,
        segment_bytes: u64,
        sync: SyncMode,
    ) -> io::Result<(EvidenceLog, Recovery)> {
        Self::open_inner(dir, segment_bytes, sync, None)
    }

    /// Opens the log for an import ([`SyncMode::AtClose`]) that archives its records as they
    /// are written: the [`Tap`] gets every record with its position, batch by batch, so the
    /// compactor decodes them while the import still reads (instead of reading the log back
    /// afterwards). The writer also syncs once `sync_every` records are unsynced, so a
    /// compactor that writes `sync_every` records at a time finds them on disk.
    pub fn open_tapped(
        dir: &Path,
        segment_bytes: u64,
        sync_every: usize,
    ) -> io::Result<(EvidenceLog, Recovery, Tap)> {
        // A few batches in flight: beyond them the writer, and so the import, waits.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let sender = TapSender {
            tx,
            sync_every,
            unsynced: 0,
        };
        let (log, recovery) =
            Self::open_inner(dir, segment_bytes, SyncMode::AtClose, Some(sender))?;
        let tap = Tap {
            rx,
            sync_every,
            shared: log.shared.clone(),
        };
        Ok((log, recovery, tap))
    }

    fn open_inner(
        dir: &Path,
        segment_bytes: u64,
        sync: SyncMode,
        tap: Option<TapSender>,
    ) -> io::Result<(EvidenceLog, Recovery)> {
        fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another process writes the evidence log in {} (a receiver or an import is running)",
                    dir.display()
                ),
            )
        })?;
        let existing = segments(dir)?;
        let mut recovery = Recovery {
            segments: existing.len(),
            ..Recovery::default()
        };
        if let Some(&last) = existing.last() {
            let (records, cut) = recover_segment(&segment_path(dir, last))?;
            recovery.last_segment_records = records;
            recovery.torn_bytes = cut;
        }
        let segment = existing.last().map_or(1, |s| s + 1);
        recovery.segment = segment;
        let file = create_segment(dir, segment)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            durable: AtomicU64::new(Pos::new(segment, MAGIC.len() as u32).0),
            failed: AtomicBool::new(false),
            thread: Mutex::new(None),
            _lock: lock,
            first_segment: segment,
        });
        let writer = Writer {
            dir: dir.to_owned(),
            segment,
            file,
            size: MAGIC.len() as u64,
            segment_bytes,
            sync,
            unsynced: Vec::new(),
            tap,
            shared: shared.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("evidence-writer".into())
            .spawn(move || writer.run(rx))?;
        *shared.thread.lock().expect("lock") = Some(handle);
        Ok((EvidenceLog { tx, shared }, recovery))
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// A connection id unique across restarts: this writer's first segment, then `n`.
    pub fn connection_id(&self, n: u32) -> u64 {
        (u64::from(self.shared.first_segment) << 32) | u64::from(n)
    }

    /// Appends without waiting for the disk.
    pub async fn append(&self, record: Record) -> Result<(), Closed> {
        self.tx
            .send(Append { record, done: None })
            .await
            .map_err(|_| Closed)
    }

    /// Appends; the returned receiver completes with the record's position once it is synced
    /// (with [`SyncMode::AtClose`], at the close) and fails if the writer fails first.
    pub async fn append_durable(&self, record: Record) -> Result<oneshot::Receiver<Pos>, Closed> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Append {
                record,
                done: Some(done),
            })
            .await
            .map_err(|_| Closed)?;
        Ok(rx)
    }

    /// End of what is synced: readers in this process stop here.
    pub fn durable(&self) -> Pos {
        Pos(self.shared.durable.load(Ordering::Acquire))
    }

    /// The writer hit an I/O error: nothing appended after it is durable.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Stops accepting appends once every clone is dropped, and waits for the writer to
    /// sync what it holds. Returns the writer's error, if it had one.
    pub async fn close(self) -> io::Result<()> {
        let EvidenceLog { tx, shared } = self;
        drop(tx);
        let handle = shared.thread.lock().expect("lock").take();
        match handle {
            Some(h) => tokio::task::spawn_blocking(move || h.join())
                .await
                .expect("join task")
                .unwrap_or_else(|_| Err(io::Error::other("the evidence writer panicked"))),
            None => Ok(()),
        }
    }
}

struct Writer {
    dir: PathBuf,
    segment: u32,
    file: File,
    size: u64,
    segment_bytes: u64,
    sync: SyncMode,
    /// Completions waiting for the sync at close ([`SyncMode::AtClose`]).
    unsynced: Vec<(oneshot::Sender<Pos>, Pos)>,
    tap: Option<TapSender>,
    shared: Arc<Shared>,
}

/// The writer's end of a [`Tap`].
struct TapSender {
    tx: std::sync::mpsc::SyncSender<Vec<(Pos, Record)>>,
    sync_every: usize,
    /// Records written to the tap since the last sync.
    unsynced: usize,
}

/// The records a writer opened by [`EvidenceLog::open_tapped`] wrote, in log order. The
/// records of a batch may not be on disk yet: [`Tap::durable`] says what is. The tap ends
/// once the log is closed and synced (or its writer failed).
pub struct Tap {
    rx: std::sync::mpsc::Receiver<Vec<(Pos, Record)>>,
    sync_every: usize,
    shared: Arc<Shared>,
}

impl Tap {
    /// The next batch, waiting for it; `None` once the writer is gone.
    pub fn recv(&self) -> Option<Vec<(Pos, Record)>> {
        self.rx.recv().ok()
    }

    /// The next batch if one is waiting.
    pub fn try_recv(&self) -> Option<Vec<(Pos, Record)>> {
        self.rx.try_recv().ok()
    }

    /// End of what is on disk and synced.
    pub fn durable(&self) -> Pos {
        Pos(self.shared.durable.load(Ordering::Acquire))
    }

    /// Records the writer syncs after at most (besides at close).
    pub fn sync_every(&self) -> usize {
        self.sync_every
    }
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Append>) -> io::Result<()> {
        let mut batch: Vec<Append> = Vec::with_capacity(BATCH_RECORDS);
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
        let mut done: Vec<(oneshot::Sender<Pos>, Pos)> = Vec::with_capacity(BATCH_RECORDS);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH_RECORDS {
                match rx.try_recv() {
                    Ok(a) => batch.push(a),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.write_batch(&mut batch, &mut buf, &mut done) {
                tracing::error!(error = %e, dir = %self.dir.display(), "evidence log write failed; no more acks");
                self.shared.failed.store(true, Ordering::Release);
                // Dropping the senders tells every waiting connection that no ack may go out.
                return Err(e);
            }
            for (tx, pos) in done.drain(..) {
                let _ = tx.send(pos);
            }
        }
        if self.sync == SyncMode::AtClose {
            self.sync_now()?;
            for (tx, pos) in self.unsynced.drain(..) {
                let _ = tx.send(pos);
            }
        }
        Ok(())
    }

    /// Makes what is written durable, and says so to readers in this process.
    fn sync_now(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.shared.durable.store(
            Pos::new(self.segment, self.size as u32).0,
            Ordering::Release,
        );
        Ok(())
    }

    fn write_batch(
        &mut self,
        batch: &mut Vec<Append>,
        buf: &mut Vec<u8>,
        done: &mut Vec<(oneshot::Sender<Pos>, Pos)>,
    ) -> io::Result<()> {
        let mut tapped = Vec::with_capacity(if self.tap.is_some() { batch.len() } else { 0 });
        let mut pending = batch.drain(..).peekable();
        while pending.peek().is_some() {
            if self.size >= self.segment_bytes {
                self.rotate()?;
            }
            buf.clear();
            while let Some(a) = pending.peek() {
                let len = a.record.encoded_len() as u64;
                if self.size + buf.len() as u64 + len > self.segment_bytes && !buf.is_empty() {
                    break;
                }
                let a = pending.next().expect("peeked");
                let pos = Pos::new(self.segment, (self.size + buf.len() as u64) as u32);
                a.record.encode(buf);
                if let Some(tx) = a.done {
                    done.push((tx, pos));
                }
                if self.tap.is_some() {
                    tapped.push((pos, a.record));
                }
            }
            self.file.write_all(buf)?;
            self.size += buf.len() as u64;
        }
        match self.sync {
            SyncMode::EveryBatch => self.sync_now()?,
            SyncMode::AtClose => self.unsynced.append(done),
        }
        self.send_to_tap(tapped)
    }

    /// Hands written records to the tap, after a sync if `sync_every` are unsynced. A tap
    /// whose reader is gone (its compactor failed, and says so) is dropped: the log goes on.
    fn send_to_tap(&mut self, records: Vec<(Pos, Record)>) -> io::Result<()> {
        let Some(tap) = self.tap.as_mut() else {
            return Ok(());
        };
        tap.unsynced += records.len();
        let sync = tap.unsynced >= tap.sync_every;
        if sync {
            tap.unsynced = 0;
            self.sync_now()?;
        }
        if let Some(tap) = &self.tap
            && tap.tx.send(records).is_err()
        {
            self.tap = None;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        self.segment += 1;
        self.file = create_segment(&self.dir, self.segment)?;
        self.size = MAGIC.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u32, verdict: Verdict) -> Record {
        Record {
            recv_us: 1_700_000_000_000_000 + i64::from(i),
            conn: 7,
            peer: "127.0.0.1:5000".into(),
            verdict,
            stream_len: 5 + i,
            raw: format!("frame{i}").into_bytes(),
            parsed: None,
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ew-evidence-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn read_all(dir: &Path) -> Vec<Record> {
        Reader::open(dir, Pos::default(), None)
            .unwrap()
            .map(|r| r.unwrap().1)
            .collect()
    }

    #[tokio::test]
    async fn appends_sync_and_read_back_across_segments_and_restarts() {
        let dir = tmp("rw");
        let (log, rec) = EvidenceLog::open_with(&dir, 200, SyncMode::EveryBatch).unwrap();
        assert_eq!(rec.segment, 1);
        let mut acks = Vec::new();
        for i in 0..10 {
            acks.push(
                log.append_durable(record(i, Verdict::Accepted))
                    .await
                    .unwrap(),
            );
        }
        let mut last = Pos::default();
        for a in acks {
            let pos = a.await.unwrap();
            assert!(pos > last);
            last = pos;
            assert!(log.durable() > pos);
        }
        log.clone()
            .append(record(10, Verdict::Codec(hj212::ErrorKind::CrcMismatch)))
            .await
            .unwrap();
        log.close().await.unwrap();
        assert!(segments(&dir).unwrap().len() > 1, "rotated at 200 bytes");
        let (log, _) = EvidenceLog::open_with(&dir, 200, SyncMode::EveryBatch).unwrap();
        log.close().await.unwrap();
        let got = read_all(&dir);
        assert_eq!(got.len(), 11);
        assert_eq!(got[3], record(3, Verdict::Accepted));
        assert_eq!(got[10].verdict.as_str(), "crc_mismatch");
        assert_eq!(read_at(&dir, last).unwrap(), record(9, Verdict::Accepted));
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_and_the_rest_kept() {
        let dir = tmp("torn");
        let (log, _) = EvidenceLog::open(&dir).unwrap();
        for i in 0..3 {
            log.append_durable(record(i, Verdict::Accepted))
                .await
                .unwrap()
                .await
                .unwrap();
        }
        log.close().await.unwrap();
        // A crash mid-write: half a record at the end, then garbage in a second test.
        let path = segment_path(&dir, 1);
        let mut whole = Vec::new();
        record(3, Verdict::Accepted).encode(&mut whole);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&whole[..whole.len() / 2]).unwrap();
        drop(f);
        let size = fs::metadata(&path).unwrap().len();
        let (log, rec) = EvidenceLog::open(&dir).unwrap();
        assert_eq!(rec.last_segment_records, 3);
        assert_eq!(rec.torn_bytes, (whole.len() / 2) as u64);
        assert_eq!(fs::metadata(&path).unwrap().len(), size - rec.torn_bytes);
        log.append_durable(record(4, Verdict::UnknownMn))
            .await
            .unwrap()
            .await
            .unwrap();
        log.close().await.unwrap();
        let got = read_all(&dir);
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].verdict, Verdict::UnknownMn);

        // A flipped bit in the last segment's last record: cut on the next open.
        let path = segment_path(&dir, 2);
        let mut bytes = fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 2] ^= 1;
        fs::write(&path, bytes).unwrap();
        let (log, rec) = EvidenceLog::open(&dir).unwrap();
        assert_eq!(rec.last_segment_records, 0);
        assert!(rec.torn_bytes > 0);
        log.close().await.unwrap();
        assert_eq!(read_all(&dir).len(), 3);
    }

    #[tokio::test]
    async fn an_import_log_syncs_once_at_close_and_completes_then() {
        let dir = tmp("at-close");
        let (log, _) = EvidenceLog::open_with(&dir, SEGMENT_BYTES, SyncMode::AtClose).unwrap();
        let start = log.durable();
        let mut first = log
            .append_durable(record(0, Verdict::Accepted))
            .await
            .unwrap();
        for i in 1..100 {
            log.append(record(i, Verdict::Accepted)).await.unwrap();
        }
        // Give the writer time to write every batch: it still syncs nothing.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(first.try_recv().is_err(), "completed before the sync");
        assert_eq!(log.durable(), start);
        log.close().await.unwrap();
        assert_eq!(read_all(&dir).len(), 100);
        assert_eq!(first.await.unwrap(), start);
    }

    /// A tap gets every record with the position a reader finds it at, and what it has got
    /// is on disk once `sync_every` records have gone to it since the last sync.
    #[tokio::test]
    async fn a_tap_gets_each_record_where_the_log_holds_it() {
        let dir = tmp("tap");
        let (log, _, tap) = EvidenceLog::open_tapped(&dir, 200, 10).unwrap();
        let start = log.durable();
        for i in 0..25 {
            log.append(record(i, Verdict::Accepted)).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // The first batch to reach 10 records since the last sync was synced before it came.
        let mut got = Vec::new();
        while got.len() < 10 {
            got.extend(tap.recv().unwrap());
        }
        let (pos, last) = got.last().unwrap();
        assert!(
            tap.durable() >= last.end(*pos),
            "{:?} {:?}",
            tap.durable(),
            pos
        );
        assert!(tap.durable() > start);
        log.close().await.unwrap();
        while let Some(batch) = tap.recv() {
            got.extend(batch);
        }
        let (pos, last) = got.last().unwrap();
        assert_eq!(tap.durable(), last.end(*pos));
        let read = Reader::open(&dir, Pos(0), None)
            .unwrap()
            .collect::<io::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(
            got, read,
            "segments of 200 bytes: the tap follows rotations"
        );
        assert!(
            got.iter()
                .map(|(p, _)| p.segment())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                > 1
        );
    }

    #[tokio::test]
    async fn one_writer_per_directory() {
        let dir = tmp("lock");
        let (log, _) = EvidenceLog::open(&dir).unwrap();
        assert!(EvidenceLog::open(&dir).is_err());
        log.close().await.unwrap();
        let (log, _) = EvidenceLog::open(&dir).unwrap();
        log.close().await.unwrap();
    }

    #[test]
    fn verdict_codes_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_code(v.code()), Some(v));
            assert_eq!(Verdict::ALL[v.index()], v);
        }
        assert_eq!(Verdict::from_code(99), None);
    }
}
