//! The compactor: reads the evidence log from its checkpoint, keeps the accepted data
//! uploads, drops values already archived, and writes one Parquet file per partition. An
//! import feeds it the records its log writes instead ([`Archive::compact_tap`]), with the
//! same runs, names and checkpoints.
//!
//! Crash safety: a run writes its files (each through a synced temporary file) named after
//! the evidence position it started at, then replaces `checkpoint.json` (position reached
//! and, per MN and CN, the latest `DataTime` archived). On open, files of a run whose
//! checkpoint was never written (named at or after the checkpoint's position) are deleted,
//! so a crash at any moment leaves each value archived exactly once.
//!
//! Duplicates: a message newer than the latest archived for its MN and CN is new; an older
//! one (re-sent, back-filled, or the rest of a split message) is checked value by value
//! against its partition's files.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use compact_str::CompactString;
use hj212::{CrcVariant, Frames, Limits, Options, Reassembler};
use serde::{Deserialize, Serialize};

use super::{
    Message, Skip, Written, from_hj212, from_view, partition_dir, sort_messages, sync_all,
    write_file,
};
use crate::evidence::{self, Pos, Reader, Verdict};
use crate::registry::Stations;

/// Records a run reads at most before it writes and checkpoints: bounds its memory (a
/// record's values take a few KiB in memory) and keeps files near a row group's size.
pub const CHUNK_RECORDS: usize = 50_000;
/// Records of an import's tap decoded together at least, when that many are waiting.
const DECODE_RECORDS: usize = 4096;
/// The partition of an outlet no longer in the registry.
pub const UNKNOWN_REGION: &str = "000000";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    /// Evidence position up to which records are archived.
    pos: u64,
    /// "MN\tCN" → the latest `DataTime` (ms) archived.
    latest: BTreeMap<String, i64>,
}

/// What a compaction did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Compaction {
    /// Evidence records read.
    pub records: u64,
    /// Records by verdict (`accepted`, `crc_mismatch`, `unknown_mn`, …).
    pub verdicts: BTreeMap<String, u64>,
    /// Accepted frames that add nothing, by reason (`not_data`, `no_data_time`).
    pub skipped: BTreeMap<String, u64>,
    /// Messages with at least one new value.
    pub messages: u64,
    /// Messages whose every value was archived already.
    pub duplicate_messages: u64,
    /// Values (rows) written, and how many of them are numbers (measurements).
    pub rows: u64,
    pub measurements: u64,
    pub duplicate_rows: u64,
    pub files: u64,
    pub bytes: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Compaction {
    fn add(&mut self, other: Compaction) {
        self.records += other.records;
        for (k, v) in other.verdicts {
            *self.verdicts.entry(k).or_default() += v;
        }
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.messages += other.messages;
        self.duplicate_messages += other.duplicate_messages;
        self.rows += other.rows;
        self.measurements += other.measurements;
        self.duplicate_rows += other.duplicate_rows;
        self.files += other.files;
        self.bytes += other.bytes;
    }
}

/// The archive, open for compaction by this process (one compactor per archive).
pub struct Archive {
    dir: PathBuf,
    evidence: PathBuf,
    _lock: File,
}

/// Which records a compaction archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every accepted record after the checkpoint.
    Forward,
    /// Accepted records with the swapped MODBUS CRC before it ([`Archive::rescan_swapped_crc`]).
    SwappedCrc,
}

impl Pass {
    /// The CRC variant the pass keeps, if it keeps one only.
    fn only(self) -> Option<CrcVariant> {
        match self {
            Pass::Forward => None,
            Pass::SwappedCrc => Some(CrcVariant::ModbusSwapped),
        }
    }
}

/// (date, region) of a partition.
type PartKey = (chrono::NaiveDate, Arc<str>);
/// An MN and CN in a run of the compactor.
struct Series {
    id: u32,
    region: Arc<str>,
    /// The latest `DataTime` archived, this run's included.
    latest: Option<i64>,
}

/// (date, region) → messages.
type Partitions = BTreeMap<PartKey, Vec<Message>>;
/// (data time, factor, field) of archived values.
type ValueKeys = HashSet<(i64, Arc<str>, CompactString)>;

impl Archive {
    /// Takes the archive's lock and removes what an interrupted run left.
    pub fn open(data_dir: &Path) -> anyhow::Result<Archive> {
        let dir = super::dir_in(data_dir);
        fs::create_dir_all(&dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another process compacts the archive in {} (a receiver is running)",
                dir.display()
            )
        })?;
        let archive = Archive {
            dir,
            evidence: evidence::dir_in(data_dir),
            _lock: lock,
        };
        let checkpoint = archive.checkpoint()?;
        archive.remove_uncommitted(Pos(checkpoint.pos))?;
        Ok(archive)
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }

    fn checkpoint(&self) -> anyhow::Result<Checkpoint> {
        match fs::read(self.checkpoint_path()) {
            Ok(b) => serde_json::from_slice(&b).context("reading the archive checkpoint"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Evidence position up to which the archive is complete (queries read the log after it).
    pub fn position(data_dir: &Path) -> anyhow::Result<Pos> {
        let path = super::dir_in(data_dir).join("checkpoint.json");
        match fs::read(path) {
            Ok(b) => Ok(Pos(serde_json::from_slice::<Checkpoint>(&b)?.pos)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Pos::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn write_checkpoint(&self, c: &Checkpoint) -> io::Result<()> {
        let tmp = self.dir.join("checkpoint.json.tmp");
        let f = File::create(&tmp)?;
        serde_json::to_writer(&f, c).map_err(io::Error::other)?;
        f.sync_all()?;
        fs::rename(&tmp, self.checkpoint_path())?;
        File::open(&self.dir)?.sync_all()
    }

    /// Deletes temporary files and the files of runs that never reached their checkpoint.
    fn remove_uncommitted(&self, checkpoint: Pos) -> io::Result<()> {
        for (_, _, path) in super::files(&self.dir, None, None)? {
            if run_start(&path).is_some_and(|start| start >= checkpoint) {
                tracing::warn!(file = %path.display(), "removing a file of an interrupted compaction");
                fs::remove_file(&path)?;
            }
        }
        for entry in walk(&self.dir)? {
            if entry.extension().is_some_and(|e| e == "tmp") {
                fs::remove_file(&entry)?;
            }
        }
        Ok(())
    }

    /// Rewrites the archive's files of an older layout in the current one
    /// ([`super::migrate_file`]), under the archive's lock; returns how many it rewrote.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut n = 0;
        for (_, _, path) in super::files(&self.dir, None, None)? {
            if super::migrate_file(&path)
                .with_context(|| format!("migrating {}", path.display()))?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Archives everything in the evidence log up to `until` (all of it when `None`).
    pub fn compact(&self, stations: &Stations, until: Option<Pos>) -> anyhow::Result<Compaction> {
        let mut checkpoint = self.checkpoint()?;
        let from = Pos(checkpoint.pos);
        self.archive_log(stations, &mut checkpoint, from, until, Pass::Forward)
    }

    /// Archives the accepted frames sent with the swapped MODBUS CRC that the log holds before
    /// the checkpoint and the archive does not. Compactors before 2026-12-07 framed accepted
    /// records with the standard CRC only, so such a logger's uploads were kept as evidence
    /// but never archived. Each value is checked against its partition's files, so a rerun,
    /// or a run after a crash, adds only what is still missing; the files it writes are named
    /// `rescan-<ms>-<position>.parquet`, which no later run overwrites.
    pub fn rescan_swapped_crc(&self, stations: &Stations) -> anyhow::Result<Compaction> {
        let mut checkpoint = self.checkpoint()?;
        let until = Pos(checkpoint.pos);
        self.archive_log(
            stations,
            &mut checkpoint,
            Pos::default(),
            Some(until),
            Pass::SwappedCrc,
        )
    }

    /// Archives the records of `[from, until)` chunk by chunk, as `pass` says, moving
    /// `checkpoint` (and its file) along.
    fn archive_log(
        &self,
        stations: &Stations,
        checkpoint: &mut Checkpoint,
        from: Pos,
        until: Option<Pos>,
        pass: Pass,
    ) -> anyhow::Result<Compaction> {
        let started = Instant::now();
        let mut total = Compaction::default();
        let reader = Reader::open(&self.evidence, from, until)?;
        let stamp = chrono::Utc::now().timestamp_millis();
        // One thread reads the log ahead while the chunk before is archived.
        std::thread::scope(|s| -> anyhow::Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<_>>>(1);
            s.spawn(move || {
                let mut reader = reader;
                loop {
                    let chunk: io::Result<Vec<_>> = reader.by_ref().take(CHUNK_RECORDS).collect();
                    let last = chunk.as_ref().map_or(true, |c| c.len() < CHUNK_RECORDS);
                    if tx.send(chunk).is_err() || last {
                        return;
                    }
                }
            });
            for chunk in rx {
                let chunk = chunk?;
                let Some(first) = chunk.first().map(|(pos, _)| *pos) else {
                    break;
                };
                let mut decoded = Decoded::starting(first, pass);
                decoded.add(&chunk, &self.dir, stations, checkpoint)?;
                drop(chunk);
                total.add(self.archive_decoded(checkpoint, decoded, stamp)?);
            }
            Ok(())
        })?;
        total.elapsed = started.elapsed();
        Ok(total)
    }

    /// Archives what an import writes to the log, from its [`evidence::Tap`]: each batch is
    /// decoded as it comes, while the import reads on; each run of the tap's
    /// [`sync_every`](evidence::Tap::sync_every) records, once on disk, is deduplicated,
    /// written and checkpointed (the import opens the tap with [`CHUNK_RECORDS`]). What the log held
    /// before the tap's first record is archived first, as [`Archive::compact`] would.
    pub fn compact_tap(
        &self,
        stations: &Stations,
        tap: evidence::Tap,
    ) -> anyhow::Result<Compaction> {
        let started = Instant::now();
        let Some(first_batch) = tap.recv() else {
            return self.compact(stations, None);
        };
        let first = first_batch[0].0;
        let mut checkpoint = self.checkpoint()?;
        let from = Pos(checkpoint.pos);
        let mut total =
            self.archive_log(stations, &mut checkpoint, from, Some(first), Pass::Forward)?;
        let mut decoded = Decoded::starting(first, Pass::Forward);
        for mut batch in std::iter::once(first_batch).chain(std::iter::from_fn(|| tap.recv())) {
            // Whatever else is waiting is decoded with it: fewer, larger runs for the cores.
            while batch.len() < DECODE_RECORDS {
                match tap.try_recv() {
                    Some(more) => batch.extend(more),
                    None => break,
                }
            }
            decoded.add(&batch, &self.dir, stations, &checkpoint)?;
            drop(batch);
            if decoded.done.records as usize >= tap.sync_every() && tap.durable() >= decoded.end {
                let next = Decoded::starting(decoded.end, Pass::Forward);
                let chunk = std::mem::replace(&mut decoded, next);
                total.add(self.archive_decoded(&mut checkpoint, chunk, 0)?);
            }
        }
        if decoded.done.records > 0 {
            // The tap ended: the log is closed and synced, or its writer failed.
            anyhow::ensure!(
                tap.durable() >= decoded.end,
                "the evidence log failed before its records up to {:?} were on disk: they are not archived",
                decoded.end
            );
            total.add(self.archive_decoded(&mut checkpoint, decoded, 0)?);
        }
        total.elapsed = started.elapsed();
        Ok(total)
    }

    /// Writes and checkpoints a decoded and deduplicated run of records. Files of a forward
    /// pass are named after the checkpoint they start from; a rescan's after `stamp` and the
    /// run's first record.
    fn archive_decoded(
        &self,
        checkpoint: &mut Checkpoint,
        decoded: Decoded,
        stamp: i64,
    ) -> anyhow::Result<Compaction> {
        let Decoded {
            pass,
            first,
            end,
            dedupe,
            mut done,
        } = decoded;
        let name = match pass {
            Pass::Forward => format!("part-{:016x}.parquet", checkpoint.pos),
            Pass::SwappedCrc => format!("rescan-{stamp}-{:016x}.parquet", first.0),
        };
        let partitions = dedupe.finish(checkpoint, &mut done);
        for w in self.write_parallel(partitions, &name)? {
            done.bytes += w.bytes;
            done.rows += w.rows;
            done.measurements += w.measurements;
            done.files += 1;
        }
        // A rescan moves no position; the latest times it may have raised are kept.
        if pass == Pass::Forward {
            checkpoint.pos = end.0;
        }
        self.write_checkpoint(checkpoint)?;
        Ok(done)
    }

    /// Writes one file per partition, the partitions shared among the cores (which also free
    /// the messages); then syncs the files and their directories, all at once.
    fn write_parallel(&self, partitions: Partitions, name: &str) -> io::Result<Vec<Written>> {
        let mut synced: BTreeSet<PathBuf> = BTreeSet::from([self.dir.clone()]);
        for (date, region) in partitions.keys() {
            let dir = partition_dir(&self.dir, *date, region);
            synced.insert(dir.join(name));
            synced.extend(dir.parent().map(Path::to_owned));
            synced.insert(dir);
        }
        let threads = workers().min(partitions.len().max(1));
        let mut shares: Vec<Vec<(PartKey, Vec<Message>)>> =
            (0..threads).map(|_| Vec::new()).collect();
        // Consecutive dates to a thread: their messages were decoded together, so they share
        // their factor codes' reference counts with each other and not with another thread's,
        // whose counts would bounce between the cores as the messages are freed.
        let n = partitions.len();
        for (i, p) in partitions.into_iter().enumerate() {
            shares[i * threads / n].push(p);
        }
        let write = |(key, msgs): (PartKey, Vec<Message>)| -> io::Result<Written> {
            let dir = partition_dir(&self.dir, key.0, &key.1);
            fs::create_dir_all(&dir)?;
            let mut refs: Vec<&Message> = msgs.iter().collect();
            sort_messages(&mut refs);
            write_file(&dir.join(name), &refs)
        };
        let written = std::thread::scope(|s| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|mine| {
                    s.spawn(move || mine.into_iter().map(write).collect::<io::Result<Vec<_>>>())
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.extend(h.join().expect("a writer thread panicked")?);
            }
            io::Result::Ok(out)
        })?;
        sync_all(&synced.into_iter().collect::<Vec<_>>())?;
        Ok(written)
    }
}

/// A run of records decoded and deduplicated, from the position of its first to the end of
/// its last.
struct Decoded {
    /// What the run archives: its CRC variant and its dedupe follow from it.
    pass: Pass,
    first: Pos,
    end: Pos,
    dedupe: Dedupe,
    done: Compaction,
}

impl Decoded {
    fn starting(first: Pos, pass: Pass) -> Decoded {
        Decoded {
            pass,
            first,
            end: first,
            dedupe: Dedupe::default(),
            done: Compaction::default(),
        }
    }

    /// Decodes the records that follow the run's end (those of the pass's CRC variant, if it
    /// keeps one only), and deduplicates them against the archive and the run; a rescan's
    /// are all checked against the archive. The decoders' batches
    /// are taken as they are, not joined into one vector, which copied each message into
    /// fresh memory again (an eighth of a month's import's page faults).
    fn add(
        &mut self,
        records: &[(Pos, evidence::Record)],
        archive: &Path,
        stations: &Stations,
        checkpoint: &Checkpoint,
    ) -> anyhow::Result<()> {
        let Some((pos, last)) = records.last() else {
            return Ok(());
        };
        self.end = last.end(*pos);
        let (batches, done) = decode_parallel(records, self.pass.only());
        self.done.add(done);
        let check_all = self.pass == Pass::SwappedCrc;
        for batch in batches {
            self.dedupe.add(
                archive,
                batch,
                stations,
                checkpoint,
                check_all,
                &mut self.done,
            )?;
        }
        Ok(())
    }
}

/// The dedupe step of a run: the values already archived, or already in the run, dropped,
/// and the rest grouped by partition. It is fed each batch as it is decoded, so an import's
/// dedupe runs while the import reads on, not on one core after its last batch.
#[derive(Default)]
struct Dedupe {
    partitions: Partitions,
    /// Per "MN\tCN" of the run, looked up once: a number, the region, the latest `DataTime`
    /// archived (written back to the checkpoint at the end).
    series: foldhash::HashMap<String, Series>,
    /// (series, data time) → where the message of that key sits in `partitions`.
    seen: foldhash::HashMap<(u32, i64), (PartKey, usize)>,
    /// Archived (data time, factor, field) of a partition's MN and CN, read on demand.
    archived: HashMap<(PartKey, String, String), ValueKeys>,
    /// "MN\tCN", built without an allocation.
    series_key: String,
}

impl Dedupe {
    /// Adds messages (in log order) of the archive at `archive`. A message newer than the
    /// latest archived of its MN and CN is taken as new unless `check_all` (a rescan's:
    /// every message is checked against the archive).
    fn add(
        &mut self,
        archive: &Path,
        messages: Vec<Message>,
        stations: &Stations,
        checkpoint: &Checkpoint,
        check_all: bool,
        done: &mut Compaction,
    ) -> anyhow::Result<()> {
        self.seen.reserve(messages.len());
        for mut m in messages {
            self.series_key.clear();
            self.series_key.push_str(&m.mn);
            self.series_key.push('\t');
            self.series_key.push_str(&m.cn);
            if !self.series.contains_key(self.series_key.as_str()) {
                let region = stations
                    .get(&m.mn)
                    .map_or(UNKNOWN_REGION, |s| s.city_code.as_str());
                let state = Series {
                    id: self.series.len() as u32,
                    region: Arc::from(region),
                    latest: checkpoint.latest.get(&self.series_key).copied(),
                };
                self.series.insert(self.series_key.clone(), state);
            }
            let state = self
                .series
                .get_mut(self.series_key.as_str())
                .expect("inserted");
            let part = (m.date(), state.region.clone());
            let key = (state.id, m.data_time_ms);
            let before = m.values.len();
            if let Some((p, i)) = self.seen.get(&key) {
                // The same message again in this run, or another part of it.
                let first = self
                    .partitions
                    .get_mut(p)
                    .and_then(|list| list.get_mut(*i))
                    .expect("recorded");
                let fresh: Vec<_> = m
                    .values
                    .into_iter()
                    .filter(|v| first.value(&v.factor, &v.field).is_none())
                    .collect();
                done.duplicate_rows += (before - fresh.len()) as u64;
                if fresh.is_empty() {
                    done.duplicate_messages += 1;
                } else {
                    first.values.extend(fresh);
                    first
                        .values
                        .sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
                }
                continue;
            }
            if check_all || state.latest.is_some_and(|l| m.data_time_ms <= l) {
                let akey = (part.clone(), m.mn.clone(), m.cn.clone());
                if !self.archived.contains_key(&akey) {
                    let dir = partition_dir(archive, part.0, &part.1);
                    self.archived
                        .insert(akey.clone(), archived_keys(&dir, &m.mn, &m.cn)?);
                }
                let set = &self.archived[&akey];
                let t = m.data_time_ms;
                m.values
                    .retain(|v| !set.contains(&(t, v.factor.clone(), v.field.clone())));
                done.duplicate_rows += (before - m.values.len()) as u64;
                if m.values.is_empty() {
                    done.duplicate_messages += 1;
                    continue;
                }
            }
            state.latest = Some(
                state
                    .latest
                    .map_or(m.data_time_ms, |l| l.max(m.data_time_ms)),
            );
            let list = self.partitions.entry(part.clone()).or_default();
            self.seen.insert(key, (part, list.len()));
            list.push(m);
        }
        Ok(())
    }

    /// The partitions; the latest times go back to `checkpoint`.
    fn finish(self, checkpoint: &mut Checkpoint, done: &mut Compaction) -> Partitions {
        for (key, state) in self.series {
            if let Some(latest) = state.latest {
                checkpoint.latest.insert(key, latest);
            }
        }
        done.messages += self
            .partitions
            .values()
            .map(|m| m.len() as u64)
            .sum::<u64>();
        self.partitions
    }
}

/// Threads for the compactor's CPU work: the cores, at most four.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// [`decode`] of a chunk split among the cores. A split message whose parts fall in two
/// slices comes out as two partial messages, which the dedupe step merges.
fn decode_parallel(
    records: &[(Pos, evidence::Record)],
    only: Option<CrcVariant>,
) -> (Vec<Vec<Message>>, Compaction) {
    let per = records.len().div_ceil(workers()).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(per)
            .map(|slice| s.spawn(move || decode_only(slice, only)))
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        let mut done = Compaction::default();
        for h in handles {
            let (m, d) = h.join().expect("a decoder thread panicked");
            out.push(m);
            done.add(d);
        }
        (out, done)
    })
}

/// The start position encoded in a run's file name (`part-<hex>.parquet`).
fn run_start(path: &Path) -> Option<Pos> {
    let name = path.file_name()?.to_str()?;
    let hex = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    u64::from_str_radix(hex, 16).ok().map(Pos)
}

fn walk(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}

/// The archived (data time, factor, field) of one MN and CN in a partition.
fn archived_keys(dir: &Path, mn: &str, cn: &str) -> anyhow::Result<ValueKeys> {
    let mut out = HashSet::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    let filter = super::read::Filter {
        mns: Some(HashSet::from([mn.to_owned()])),
        cns: Some(HashSet::from([cn.to_owned()])),
        ..Default::default()
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "parquet") {
            for m in super::read::read_file(&path, &filter)? {
                for v in m.values {
                    out.insert((m.data_time_ms, v.factor, v.field));
                }
            }
        }
    }
    Ok(out)
}

/// The archivable messages of a run of records, in log order, with the counts of what was
/// read and skipped. Split messages are merged within the run; a part whose group is not
/// complete by the end of the run is archived with what arrived (its other parts, coming
/// later, add their values then).
pub fn decode(records: &[(Pos, evidence::Record)]) -> (Vec<Message>, Compaction) {
    decode_only(records, None)
}

/// [`decode`] of the accepted frames with CRC variant `only` (all of them when `None`).
fn decode_only(
    records: &[(Pos, evidence::Record)],
    only: Option<CrcVariant>,
) -> (Vec<Message>, Compaction) {
    let mut done = Compaction::default();
    // At most a message a record: room for all at once, not regrown (each growth copies
    // the messages into fresh pages).
    let mut out = Vec::with_capacity(records.len());
    let mut groups = Reassembler::new(Limits {
        timeout_ms: u64::MAX,
        max_groups: 1 << 16,
        max_bytes: 64 << 20,
    });
    let mut part_times: foldhash::HashMap<u64, i64> = Default::default();
    let mut codes = super::Codes::default();
    let take = |done: &mut Compaction, out: &mut Vec<Message>, m: Result<Message, Skip>| match m {
        Ok(m) => out.push(m),
        Err(s) => *done.skipped.entry(s.as_str().to_owned()).or_default() += 1,
    };
    // Counted by verdict here, named once at the end.
    let mut by_verdict = [0u64; Verdict::ALL.len()];
    for (pos, record) in records {
        let pos = *pos;
        done.records += 1;
        by_verdict[record.verdict.index()] += 1;
        if record.verdict != Verdict::Accepted {
            continue;
        }
        // The receiver's own parse, when it handed it on (an import's, tapped): not parsed
        // again. A rescan for one CRC variant reads records from disk, which have none.
        let handed_on = record
            .parsed
            .as_ref()
            .filter(|_| only.is_none())
            .and_then(|p| p.attach(&record.raw));
        let m = match handed_on {
            Some(m) => m,
            None => {
                // The receiver accepted it, so its CRC was one the logger is registered
                // for: the swapped MODBUS variant too (without it, such a logger's data
                // never reached the archive).
                let accepted = Options {
                    alt_crc: Some(CrcVariant::ModbusSwapped),
                    ..Options::lenient()
                };
                let Some(Ok(frame)) = Frames::new(&record.raw, accepted).next() else {
                    continue;
                };
                if only.is_some_and(|v| v != frame.crc_variant) {
                    continue;
                }
                // A view of the frame: a whole message's values are copied once, into the
                // archive's.
                let Ok(m) = hj212::MessageView::parse(&frame, &Options::lenient()) else {
                    continue;
                };
                m
            }
        };
        if m.is_part() {
            part_times.insert(pos.0, record.recv_us);
            groups.push(m.into_owned(), pos.0, (record.recv_us / 1000) as u64);
            while let Some(a) = groups.pop() {
                let recv = part_times.remove(&a.offset).unwrap_or(record.recv_us);
                take(
                    &mut done,
                    &mut out,
                    from_hj212(a.message, recv, Pos(a.offset), &mut codes),
                );
            }
        } else {
            take(
                &mut done,
                &mut out,
                from_view(&m, record.recv_us, pos, &mut codes),
            );
        }
    }
    groups.finish();
    while let Some(a) = groups.pop() {
        let recv = part_times.remove(&a.offset).unwrap_or_default();
        take(
            &mut done,
            &mut out,
            from_hj212(a.message, recv, Pos(a.offset), &mut codes),
        );
    }
    for (v, n) in Verdict::ALL.iter().zip(by_verdict) {
        if n > 0 {
            done.verdicts.insert(v.as_str().to_owned(), n);
        }
    }
    (out, done)
}

#[cfg(test)]
mod tests {
    use hj212::build::{Station, Upload, upload};

    use super::*;

    /// An hourly upload of `mn` at `t` with one value, framed with the standard CRC and with
    /// the swapped MODBUS CRC.
    fn frames(mn: &str, t: &str, avg: &str) -> (Vec<u8>, Vec<u8>) {
        let station = Station {
            version: hj212::Version::V2017,
            st: "31".into(),
            pw: "123456".into(),
            mn: mn.into(),
        };
        let factors = vec![hj212::Factor::new("a21026").with("Avg", avg)];
        let standard = upload(&station, Upload::Hourly, t, t, factors, false).to_frame();
        // `##` + 4 digits of length, the data, 4 hex digits of CRC, CR LF.
        let data = &standard[6..standard.len() - 6];
        let crc = format!("{:04X}", CrcVariant::ModbusSwapped.compute(data));
        let swapped = [&standard[..standard.len() - 6], crc.as_bytes(), b"\r\n"].concat();
        assert_ne!(swapped, standard);
        (standard, swapped)
    }

    fn accepted(raw: Vec<u8>) -> evidence::Record {
        evidence::Record {
            recv_us: 1,
            conn: 1,
            peer: "file:test".into(),
            verdict: Verdict::Accepted,
            stream_len: raw.len() as u32,
            raw,
            parsed: None,
        }
    }

    /// An accepted upload carrying the receiver's parse, as an import's session hands it on.
    fn handed_on(raw: Vec<u8>) -> evidence::Record {
        let frame = Frames::new(&raw, Options::lenient())
            .next()
            .unwrap()
            .unwrap();
        let view = hj212::MessageView::parse(&frame, &Options::lenient()).unwrap();
        let parsed = view.detach(&raw).map(Box::new);
        assert!(parsed.is_some());
        evidence::Record {
            parsed,
            ..accepted(raw)
        }
    }

    /// An accepted upload of a logger registered for the swapped MODBUS CRC is archived like
    /// any other.
    #[test]
    fn an_accepted_frame_with_the_swapped_modbus_crc_is_archived() {
        let (standard, swapped) = frames("MODBUSMN0001", "20240301100000", "12.5");
        let (messages, done) = decode(&[(Pos(0), accepted(swapped)), (Pos(1), accepted(standard))]);
        assert_eq!(done.records, 2);
        assert_eq!(messages.len(), 2, "{done:?}");
        assert_eq!(messages[0].mn, "MODBUSMN0001");
        assert_eq!(messages[0].values[0].value, "12.5");
    }

    /// The values of every archived message, as (MN, data time, value).
    fn archived(archive: &Path) -> BTreeSet<(String, i64, String)> {
        let mut out = BTreeSet::new();
        for (_, _, path) in super::super::files(archive, None, None).unwrap() {
            for m in super::super::read::read_file(&path, &Default::default()).unwrap() {
                for v in &m.values {
                    out.insert((m.mn.clone(), m.data_time_ms, v.value.to_string()));
                }
            }
        }
        out
    }

    /// An import's compactor, fed by the log's tap, archives what a compaction of the log
    /// would, the records the log held before the tap first; with `sync_every` 7 it writes
    /// runs of at least 7 records, each checkpointed where it ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_tap_archives_what_a_compaction_of_the_log_would() {
        let data = super::super::tests::tmp("tap");
        let upload = |i: u32| {
            let mn = format!("TAPMN{:07}", i % 3);
            let t = format!("202403{:02}{:02}0000", 1 + i / 24 % 3, i % 24);
            frames(&mn, &t, &format!("{i}.5")).0
        };
        // Left by a receiver and not compacted yet.
        let (log, _) = evidence::EvidenceLog::open(&evidence::dir_in(&data)).unwrap();
        for i in 0..5 {
            log.append(accepted(upload(i))).await.unwrap();
        }
        log.close().await.unwrap();
        let (log, _, tap) = evidence::EvidenceLog::open_tapped(
            &evidence::dir_in(&data),
            evidence::SEGMENT_BYTES,
            7,
        )
        .unwrap();
        let archive = Archive::open(&data).unwrap();
        let stations = Stations::new();
        let compactor = std::thread::spawn(move || archive.compact_tap(&stations, tap));
        // One upload sent twice: archived once. A pause after each lets the writer take it
        // as a batch of its own, as a slow sender would. Every other record carries the
        // receiver's parse (an import's): the archive is the one a compaction of the log,
        // which parses every frame, makes.
        for i in (5..40).chain([12]) {
            let record = if i % 2 == 0 {
                handed_on(upload(i))
            } else {
                accepted(upload(i))
            };
            log.append(record).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        log.close().await.unwrap();
        let done = compactor.join().unwrap().unwrap();
        assert_eq!(done.records, 41);
        assert_eq!(
            (done.messages, done.duplicate_messages),
            (40, 1),
            "{done:?}"
        );

        let copy = super::super::tests::tmp("tap-copy");
        let evidence_copy = evidence::dir_in(&copy);
        fs::create_dir_all(&evidence_copy).unwrap();
        for e in fs::read_dir(evidence::dir_in(&data)).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), evidence_copy.join(e.file_name())).unwrap();
        }
        let whole = Archive::open(&copy).unwrap();
        let once = whole.compact(&Stations::new(), None).unwrap();
        assert_eq!((once.records, once.messages), (41, 40));
        let (tapped, compacted) = (super::super::dir_in(&data), super::super::dir_in(&copy));
        assert_eq!(archived(&tapped), archived(&compacted));
        assert_eq!(archived(&tapped).len(), 40);
        let end = Archive::open(&data).unwrap().checkpoint().unwrap();
        assert_eq!(end.pos, whole.checkpoint().unwrap().pos);
        assert_eq!(end.latest, whole.checkpoint().unwrap().latest);
        // The 5 records before the tap, then runs of at least 7 (the last one may be
        // shorter), each written once on disk: one file name per run, the position it
        // starts from.
        let mut runs: BTreeSet<String> = BTreeSet::new();
        for (_, _, path) in super::super::files(&tapped, None, None).unwrap() {
            runs.insert(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        assert!(
            (3..=1 + 36_usize.div_ceil(7)).contains(&runs.len()),
            "{runs:?}"
        );
    }

    /// Uploads with the swapped MODBUS CRC that an older compactor read past without
    /// archiving are archived by a rescan, once: a rerun after a crash adds nothing, the
    /// standard frames are not read again, and the checkpoint's position stays.
    #[tokio::test]
    async fn a_rescan_archives_the_swapped_crc_uploads_an_older_compactor_skipped() {
        let data = super::super::tests::tmp("rescan");
        let (log, _) = evidence::EvidenceLog::open(&evidence::dir_in(&data)).unwrap();
        let (standard, _) = frames("STANDARDMN01", "20240301100000", "1.5");
        let (_, swapped) = frames("MODBUSMN0001", "20240301100000", "2.5");
        let (_, later) = frames("MODBUSMN0001", "20240302100000", "3.5");
        for raw in [standard, swapped, later] {
            log.append(accepted(raw)).await.unwrap();
        }
        log.close().await.unwrap();
        let stations = Stations::new();
        let archive = Archive::open(&data).unwrap();
        let dir = super::super::dir_in(&data);
        // As an older compactor left it: the standard upload archived, the checkpoint past
        // all three records.
        let first = archive.compact(&stations, None).unwrap();
        assert_eq!(first.messages, 3);
        let mut end = archive.checkpoint().unwrap();
        for (_, _, path) in super::super::files(&dir, None, None).unwrap() {
            fs::remove_file(path).unwrap();
        }
        end.latest.retain(|k, _| k.starts_with("STANDARDMN01"));
        archive.write_checkpoint(&end).unwrap();
        let rows = |mn: &str, t: i64, v: &str| (mn.to_owned(), t, v.to_owned());
        // 2024-03-01 10:00 and 2024-03-02 10:00, Beijing time.
        let (t1, t2) = (1_709_258_400_000, 1_709_344_800_000);
        let old = {
            let records = Reader::open(&evidence::dir_in(&data), Pos(0), None)
                .unwrap()
                .collect::<io::Result<Vec<_>>>()
                .unwrap();
            let (m, _) = decode(&records[..1]);
            let mut refs: Vec<&Message> = m.iter().collect();
            sort_messages(&mut refs);
            let part = partition_dir(&dir, m[0].date(), UNKNOWN_REGION);
            fs::create_dir_all(&part).unwrap();
            write_file(&part.join("part-0000000000000000.parquet"), &refs).unwrap();
            m
        };
        assert_eq!(old[0].mn, "STANDARDMN01");
        assert_eq!(
            archived(&dir),
            BTreeSet::from([rows("STANDARDMN01", t1, "1.5")])
        );

        let rescan = archive.rescan_swapped_crc(&stations).unwrap();
        assert_eq!(rescan.records, 3);
        assert_eq!((rescan.messages, rescan.rows), (2, 2), "{rescan:?}");
        assert_eq!(
            archived(&dir),
            BTreeSet::from([
                rows("STANDARDMN01", t1, "1.5"),
                rows("MODBUSMN0001", t1, "2.5"),
                rows("MODBUSMN0001", t2, "3.5"),
            ])
        );
        assert_eq!(archive.checkpoint().unwrap().pos, end.pos);

        // As a crash after the files and before the checkpoint leaves it: the files are
        // there, the latest times are not; a rerun still writes nothing twice.
        archive.write_checkpoint(&end).unwrap();
        let again = archive.rescan_swapped_crc(&stations).unwrap();
        assert_eq!(
            (again.messages, again.duplicate_messages),
            (0, 2),
            "{again:?}"
        );
        assert_eq!(archived(&dir).len(), 3);
        let _ = fs::remove_dir_all(&data);
    }
}
