//! Screening the monitoring archive (数据筛查): `ecowarden screen`. Reads the Parquet archive
//! (and the evidence log's not-yet-compacted tail) for a period, builds one Arrow series per
//! outlet and interval (10-minute CN 2051, hourly CN 2061) with the registry's limits, ranges
//! and detection limits, runs the `screen` catalogue, ranks the findings into leads (minus what
//! analysts dismissed) and stores them ([`crate::leads`]).
//!
//! Also writes generated fleets ([`screen::generator`]) into the archive and the registry, for
//! the demo, the tests and the benchmark.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, DictionaryArray, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMillisecondArray, UInt8Array,
};
use chrono::NaiveDate;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use screen::leads::{Dismissal, Lead, OutletFindings};
use screen::{Channel, ChannelMeta, Flags, Input, Series};
use sqlx::Row;

use crate::archive::{self, Message, Value, compact};
use crate::evidence::{self, Pos};
use crate::leads::{self, OutletRef};
use crate::registry::{self, FacilitySpec, FactorSpec, OutletSpec};
use ecowarden_core::clock::day_start_ms;
use ecowarden_core::org::Org;
use ecowarden_core::store::Db;

/// Output formats of `ecowarden screen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One finding a line: {"mn","outlet","factor","signature","start","end","score","explanation","evidence"}.
    Jsonl,
    /// A readable table.
    Table,
    /// A workbook (to --output, or standard output when redirected).
    Xlsx,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Format::Jsonl),
            "table" => Ok(Format::Table),
            "xlsx" => Ok(Format::Xlsx),
            _ => Err(format!("unknown format {s}; one of: jsonl, table, xlsx")),
        }
    }
}

/// The thresholds file's industry keys and the registry's (Chinese) industries.
const INDUSTRIES: [(&str, &str); 5] = [
    ("thermal_power", "火力发电"),
    ("waste_incineration", "生活垃圾焚烧"),
    ("cement", "水泥建材"),
    ("industrial_boiler", "工业锅炉"),
    ("wastewater", "污水处理"),
];

/// The peer group of an outlet: wastewater outlets (ST 32) are wastewater, flue-gas outlets
/// by the facility's industry, other combustion sources as industrial boilers.
pub fn industry_key(industry: &str, st: &str) -> &'static str {
    if st == "32" {
        return "wastewater";
    }
    INDUSTRIES
        .iter()
        .find(|(_, zh)| *zh == industry)
        .map_or("industrial_boiler", |(k, _)| *k)
}

/// The registry's name of a thresholds-file industry.
pub fn industry_zh(key: &str) -> &'static str {
    INDUSTRIES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("工业锅炉", |(_, zh)| *zh)
}

/// A registered outlet as screening needs it.
#[derive(Debug, Clone)]
pub struct Registered {
    pub at: OutletRef,
    pub name: String,
    /// Thresholds-file industry (peer group).
    pub industry_key: &'static str,
    pub factors: HashMap<String, ChannelMeta>,
}

fn figure(s: &Option<String>) -> Option<f64> {
    s.as_deref().and_then(|t| t.trim().parse::<f64>().ok())
}

/// Every registered outlet by MN, with its factors' limits, ranges and detection limits.
pub async fn registry(db: &Db) -> anyhow::Result<HashMap<String, Registered>> {
    let rows = sqlx::query(
        "SELECT o.id, o.mn, o.name, o.st, f.industry, f.region_code, f.city_code \
         FROM outlets o JOIN facilities f ON f.id = o.facility_id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut by_id: HashMap<i64, String> = HashMap::new();
    let mut out = HashMap::new();
    for r in rows {
        let (id, mn, name, st, industry): (i64, String, String, String, String) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        by_id.insert(id, mn.clone());
        out.insert(
            mn,
            Registered {
                industry_key: industry_key(&industry, &st),
                at: OutletRef {
                    outlet_id: id,
                    region_code: r.try_get(5)?,
                    city_code: r.try_get(6)?,
                    industry,
                },
                name,
                factors: HashMap::new(),
            },
        );
    }
    let factors: Vec<(i64, FactorSpec)> = sqlx::query(
        "SELECT outlet_id, code, emission_limit, unit, range_low, range_high, detection_limit, o2_ref FROM outlet_factors",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            FactorSpec {
                code: r.try_get(1)?,
                emission_limit: r.try_get(2)?,
                unit: r.try_get(3)?,
                range_low: r.try_get(4)?,
                range_high: r.try_get(5)?,
                detection_limit: r.try_get(6)?,
                o2_ref: r.try_get(7)?,
            },
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?;
    for (id, f) in factors {
        if let Some(reg) = by_id.get(&id).and_then(|mn| out.get_mut(mn)) {
            reg.factors.insert(
                f.code.clone(),
                ChannelMeta {
                    range: figure(&f.range_high),
                    limit: figure(&f.emission_limit),
                    detection_limit: figure(&f.detection_limit),
                    decimals: None,
                },
            );
        }
    }
    Ok(out)
}

/// Data commands a read takes, with their intervals in seconds.
pub type Commands<'a> = &'a [(&'a str, i64)];

/// What screening reads: 10-minute (2051) and hourly (2061) data.
pub const SCREENED: Commands<'static> = &[("2051", 600), ("2061", 3600)];

fn interval_of(cns: Commands, cn: &str) -> Option<i64> {
    cns.iter().find(|c| c.0 == cn).map(|c| c.1)
}

/// One factor's rows from one file (or the log's tail), columnar: times (s), values and flag
/// letters.
#[derive(Debug, Default)]
struct Rows {
    time: Vec<i64>,
    value: Vec<f64>,
    flag: Vec<u8>,
}

impl Rows {
    fn with_capacity(n: usize) -> Rows {
        Rows {
            time: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            flag: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, t: i64, v: f64, f: u8) {
        self.time.push(t);
        self.value.push(v);
        self.flag.push(f);
    }

    /// The pieces one after the other, allocated once: each file's rows are kept as they
    /// were read and joined here, because growing one vector file by file copied every
    /// value several times and was most of a long read's time.
    fn concat(mut pieces: Vec<Rows>) -> Rows {
        if pieces.len() == 1 {
            return pieces.pop().expect("one piece");
        }
        let n = pieces.iter().map(|p| p.time.len()).sum();
        let mut out = Rows::with_capacity(n);
        for p in pieces {
            out.time.extend_from_slice(&p.time);
            out.value.extend_from_slice(&p.value);
            out.flag.extend_from_slice(&p.flag);
        }
        out
    }

    /// Sorted by time, the first row of a time kept (the archive's, read before the tail's).
    /// Rows read file by file in date order are sorted already: that is checked, not redone.
    fn sorted(self) -> Rows {
        if self.time.windows(2).all(|w| w[0] < w[1]) {
            return self;
        }
        let mut order: Vec<usize> = (0..self.time.len()).collect();
        order.sort_by_key(|&i| self.time[i]);
        order.dedup_by_key(|i| self.time[*i]);
        Rows {
            time: order.iter().map(|&i| self.time[i]).collect(),
            value: order.iter().map(|&i| self.value[i]).collect(),
            flag: order.iter().map(|&i| self.flag[i]).collect(),
        }
    }
}

/// The rows of one MN and interval, by factor (a handful: a linear search is fastest), each
/// factor's rows as read, a piece per file.
#[derive(Debug, Default)]
struct Group {
    factors: Vec<(String, Vec<Rows>)>,
}

impl Group {
    fn pieces(&mut self, factor: &str) -> &mut Vec<Rows> {
        match self.factors.iter().position(|(f, _)| f == factor) {
            Some(i) => &mut self.factors[i].1,
            None => {
                self.factors.push((factor.to_owned(), Vec::new()));
                &mut self.factors.last_mut().expect("just pushed").1
            }
        }
    }

    /// A new piece of `factor`'s rows, for `n` rows (a file's run).
    fn piece(&mut self, factor: &str, n: usize) -> &mut Rows {
        let pieces = self.pieces(factor);
        pieces.push(Rows::with_capacity(n));
        pieces.last_mut().expect("just pushed")
    }

    /// `factor`'s last piece, to add rows one at a time (messages of the log's tail).
    fn last_piece(&mut self, factor: &str) -> &mut Rows {
        let pieces = self.pieces(factor);
        if pieces.is_empty() {
            pieces.push(Rows::default());
        }
        pieces.last_mut().expect("not empty")
    }

    fn absorb(&mut self, other: Group) {
        for (f, pieces) in other.factors {
            self.pieces(&f).extend(pieces);
        }
    }
}

type Groups = HashMap<(String, i64), Group>;

fn absorb_all(into: &mut Groups, from: Groups) {
    for (k, g) in from {
        match into.get_mut(&k) {
            Some(acc) => acc.absorb(g),
            None => {
                into.insert(k, g);
            }
        }
    }
}

fn flag_letter(s: &str) -> u8 {
    s.as_bytes().first().copied().unwrap_or(b'N')
}

/// A file's schema with its low-cardinality text columns (mn, cn, factor, field, flag) read
/// as dictionaries: the reader then hands over each page's few distinct strings once and a
/// key per row, instead of copying every row's text, and the loop below compares integer
/// keys. From the file's own schema, as the archive's layouts differ.
fn dictionary_schema(file: &arrow_schema::Schema) -> arrow_schema::SchemaRef {
    use arrow_schema::{DataType, Field, Schema};
    let fields: Vec<Field> = file
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "mn" | "cn" | "factor" | "field" | "flag" => Field::new(
                f.name(),
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                f.is_nullable(),
            ),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The distinct strings of a dictionary column, borrowed from its batch (a null reads as "").
fn words(a: &DictionaryArray<Int32Type>) -> Vec<&str> {
    let v: &StringArray = a.values().as_any().downcast_ref().expect("utf8");
    v.iter().map(Option::unwrap_or_default).collect()
}

/// The columns screening reads, in this order.
const READ: [&str; 7] = ["mn", "cn", "data_time", "factor", "field", "num", "flag"];

/// The `Avg` values of the 10-minute and hourly data of registered MNs in `[from_ms, to_ms)`
/// in one Parquet file: only the columns screening needs are decoded, and rows are taken a
/// run at a time (same MN, CN, factor and field: a whole series in a layout 2 file, one row
/// in a layout 1 file).
fn read_file(
    path: &Path,
    mns: &HashSet<&str>,
    from_ms: i64,
    to_ms: i64,
    cns: Commands,
) -> anyhow::Result<Groups> {
    let file = File::open(path)?;
    let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())?;
    let options = ArrowReaderOptions::new().with_schema(dictionary_schema(plain.schema()));
    let meta = ArrowReaderMetadata::try_new(plain.metadata().clone(), options)?;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta);
    let columns = builder.parquet_schema().columns();
    let index = |name: &str| columns.iter().position(|c| c.name() == name);
    let leaves: Vec<usize> = READ
        .iter()
        .map(|n| index(n).with_context(|| format!("no column {n}")))
        .collect::<anyhow::Result<_>>()?;
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()?;
    let mut groups = Groups::new();
    let mut cur: Option<((String, i64), Group)> = None;
    for batch in reader {
        let b = batch?;
        // The projection keeps the file's column order: find them by name.
        let at = |name: &str| b.schema().index_of(name).expect("projected");
        let d = |i: usize| -> &DictionaryArray<Int32Type> {
            b.column(i).as_any().downcast_ref().expect("dictionary")
        };
        let (mn, cn, factor, field, flag) = (
            d(at("mn")),
            d(at("cn")),
            d(at("factor")),
            d(at("field")),
            d(at("flag")),
        );
        // Per distinct string, decided once a batch.
        let avg: Vec<bool> = words(field).into_iter().map(|w| w == "Avg").collect();
        let intervals: Vec<Option<i64>> =
            words(cn).into_iter().map(|c| interval_of(cns, c)).collect();
        let mn_words = words(mn);
        let wanted: Vec<bool> = mn_words.iter().map(|m| mns.contains(m)).collect();
        let letters: Vec<u8> = words(flag).into_iter().map(flag_letter).collect();
        let factors = words(factor);
        let dt: &TimestampMillisecondArray = b
            .column(at("data_time"))
            .as_any()
            .downcast_ref()
            .expect("timestamp");
        let num: &Float64Array = b.column(at("num")).as_any().downcast_ref().expect("f64");
        let (mk, ck, fk, fdk, flk) = (
            mn.keys().values(),
            cn.keys().values(),
            factor.keys().values(),
            field.keys().values(),
            flag.keys(),
        );
        let times = dt.values();
        let n = b.num_rows();
        let mut i = 0;
        while i < n {
            let (m, c, f, fd) = (mk[i], ck[i], fk[i], fdk[i]);
            let end = (i + 1..n)
                .find(|&j| mk[j] != m || ck[j] != c || fk[j] != f || fdk[j] != fd)
                .unwrap_or(n);
            let run = i..end;
            i = end;
            let (m, c) = (m as usize, c as usize);
            let Some(interval) = intervals[c] else {
                continue;
            };
            if !avg[fd as usize] || !wanted[m] {
                continue;
            }
            let name = mn_words[m];
            if !cur
                .as_ref()
                .is_some_and(|((cm, ci), _)| cm == name && *ci == interval)
            {
                if let Some((k, g)) = cur.take() {
                    absorb_all(&mut groups, HashMap::from([(k, g)]));
                }
                cur = Some(((name.to_owned(), interval), Group::default()));
            }
            let rows = cur
                .as_mut()
                .expect("set above")
                .1
                .piece(factors[f as usize], run.len());
            // A day's file holds only its day, so a run is nearly always inside the period, and
            // a batch of numbers sent with flags has no nulls: then its columns are copied
            // whole, which the compiler vectorises; otherwise row by row.
            let whole = num.null_count() == 0
                && flk.null_count() == 0
                && times[run.clone()]
                    .iter()
                    .all(|t| (from_ms..to_ms).contains(t));
            if whole {
                rows.time
                    .extend(times[run.clone()].iter().map(|t| t.div_euclid(1000)));
                rows.value.extend_from_slice(&num.values()[run.clone()]);
                rows.flag
                    .extend(flk.values()[run].iter().map(|&key| letters[key as usize]));
            } else {
                for k in run {
                    let t = times[k];
                    if (from_ms..to_ms).contains(&t) {
                        rows.push(t.div_euclid(1000), value(num, k), letter(flk, &letters, k));
                    }
                }
            }
        }
    }
    if let Some((k, g)) = cur {
        absorb_all(&mut groups, HashMap::from([(k, g)]));
    }
    Ok(groups)
}

/// Row `k`'s number; NaN where the row has none.
fn value(num: &Float64Array, k: usize) -> f64 {
    if num.is_null(k) {
        f64::NAN
    } else {
        num.value(k)
    }
}

/// Row `k`'s flag letter, `N` where it has no flag.
fn letter(keys: &Int32Array, letters: &[u8], k: usize) -> u8 {
    if keys.is_null(k) {
        b'N'
    } else {
        letters[keys.value(k) as usize]
    }
}

/// The same from archived messages (the evidence log's tail).
fn group_messages(
    messages: &[Message],
    mns: &HashSet<&str>,
    from_ms: i64,
    to_ms: i64,
    cns: Commands,
) -> Groups {
    let mut groups = Groups::new();
    for m in messages {
        let Some(interval) = interval_of(cns, &m.cn) else {
            continue;
        };
        if m.data_time_ms < from_ms || m.data_time_ms >= to_ms || !mns.contains(m.mn.as_str()) {
            continue;
        }
        let g = groups.entry((m.mn.clone(), interval)).or_default();
        for v in m.values.iter().filter(|v| v.field == "Avg") {
            let x = hj212::Decimal::parse(&v.value).map_or(f64::NAN, hj212::Decimal::to_f64);
            let fl = v.flag.as_deref().map_or(b'N', flag_letter);
            g.last_piece(&v.factor)
                .push(m.data_time_ms.div_euclid(1000), x, fl);
        }
    }
    groups
}

/// One outlet's series at one interval from its rows: a time column of every time any
/// factor has, each factor's values (NaN where it has none) and flags on it. Where the
/// archive and the log's tail both hold a value, the archived one (read first) stays. When
/// every factor has the same times (as a logger sends them), its arrays are the rows' own.
fn build_series(mn: &str, interval: i64, group: Group, reg: &Registered) -> Option<Series> {
    let mut factors: Vec<(String, Rows)> = group
        .factors
        .into_iter()
        .map(|(f, pieces)| (f, Rows::concat(pieces).sorted()))
        .collect();
    let shared = factors.windows(2).all(|w| w[0].1.time == w[1].1.time);
    let times: Vec<i64> = if shared {
        // The shared path places nothing, so the first factor's times are taken, not copied.
        factors
            .first_mut()
            .map(|(_, r)| std::mem::take(&mut r.time))
            .unwrap_or_default()
    } else {
        factors
            .iter()
            .fold(Vec::new(), |all, (_, r)| union_sorted(&all, &r.time))
    };
    let n = times.len();
    let mut channels = Vec::with_capacity(factors.len());
    for (factor, rows) in factors {
        let (values, flags) = if shared {
            (rows.value, rows.flag)
        } else {
            let mut values = vec![f64::NAN; n];
            let mut flags = vec![b'N'; n];
            let mut j = 0;
            for (k, t) in rows.time.iter().enumerate() {
                while times[j] < *t {
                    j += 1;
                }
                values[j] = rows.value[k];
                flags[j] = rows.flag[k];
            }
            (values, flags)
        };
        let meta = reg.factors.get(&factor).cloned().unwrap_or_default();
        channels.push(Channel {
            factor,
            values: Float64Array::from(values),
            flags: Flags::Code(UInt8Array::from(flags)),
            meta,
        });
    }
    channels.sort_by(|a, b| a.factor.cmp(&b.factor));
    Series::new(
        mn,
        reg.name.clone(),
        reg.industry_key,
        interval,
        Int64Array::from(times),
        channels,
    )
    .ok()
}

/// The times of two sorted, duplicate-free lists, sorted and without duplicates: a merge,
/// as each factor's times are sorted already (sorting them all again was a read's largest
/// cost where a factor lacks some rows).
fn union_sorted(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// `f` over the items split into one run per core, on scoped threads; results in order.
/// The items are handed over, so a worker can take them apart (a group's rows become its
/// series without a copy).
fn par_chunks<T: Send, R: Send>(mut items: Vec<T>, f: impl Fn(Vec<T>) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let mut parts = Vec::with_capacity(threads);
    while items.len() > chunk {
        let rest = items.split_off(chunk);
        parts.push(std::mem::replace(&mut items, rest));
    }
    parts.push(items);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker thread panicked"))
            .collect()
    })
}

/// What a period's series are, before screening.
pub struct Loaded {
    /// (history before the period, the period) per outlet and interval.
    pub series: Vec<(Series, Series)>,
    /// Values read (history included).
    pub values_read: usize,
    pub elapsed: Duration,
}

/// What the series are read from: the archive's files, and the evidence log's tail (what the
/// compactor has not reached yet) decoded once when opened, so a run that reads many windows
/// or months does not read and decode the tail again for each.
pub struct Source {
    data_dir: PathBuf,
    tail: Vec<Message>,
}

impl Source {
    pub fn open(data_dir: &Path) -> anyhow::Result<Source> {
        let pos = compact::Archive::position(data_dir)?;
        let records = evidence::Reader::open(&evidence::dir_in(data_dir), pos, None)?
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Source {
            data_dir: data_dir.to_owned(),
            tail: compact::decode(&records).0,
        })
    }
}

/// Reads the series of registered outlets for `[from, to]` (dates, inclusive) with
/// `history_days` of history before, from the archive's files (in parallel) and the tail.
pub fn load(
    source: &Source,
    reg: &HashMap<String, Registered>,
    from: NaiveDate,
    to: NaiveDate,
    history_days: u32,
) -> anyhow::Result<Loaded> {
    let history_from = from - chrono::Days::new(u64::from(history_days));
    load_after(source, reg, Groups::new(), history_from, from, to)
}

/// [`load`] of the history and period `[from, to]` when `carried` holds the rows of the days
/// before `read_from` already: only `[read_from, to]` is read.
fn load_after(
    source: &Source,
    reg: &HashMap<String, Registered>,
    carried: Groups,
    read_from: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let period_ms = day_start_ms(from);
    let (all, values_read) = read_series_after(source, reg, carried, read_from, to, SCREENED)?;
    let series = all
        .into_iter()
        .map(|s| s.split_at_time(period_ms.div_euclid(1000)))
        .filter(|(_, period)| !period.time.is_empty())
        .collect();
    Ok(Loaded {
        series,
        values_read,
        elapsed: started.elapsed(),
    })
}

/// The series (`Avg` values) of registered outlets for `[from, to]` (dates, inclusive) of
/// the data commands `cns`, from the archive's files (in parallel) and the evidence log's
/// tail, sorted by MN and interval; and the values read. Screening reads 2051 and 2061
/// ([`SCREENED`]); the inspection comparison adds the daily averages (2031).
pub fn read_series(
    source: &Source,
    reg: &HashMap<String, Registered>,
    from: NaiveDate,
    to: NaiveDate,
    cns: Commands,
) -> anyhow::Result<(Vec<Series>, usize)> {
    read_series_after(source, reg, Groups::new(), from, to, cns)
}

/// [`read_series`] joined after `before`: rows of days before `from` already read.
fn read_series_after(
    source: &Source,
    reg: &HashMap<String, Registered>,
    before: Groups,
    from: NaiveDate,
    to: NaiveDate,
    cns: Commands,
) -> anyhow::Result<(Vec<Series>, usize)> {
    let (from_ms, to_ms) = (day_start_ms(from), day_start_ms(to + chrono::Days::new(1)));
    let mns: HashSet<&str> = reg.keys().map(String::as_str).collect();
    let files = archive::files(&archive::dir_in(&source.data_dir), Some(from), Some(to))?;
    let parts: Vec<anyhow::Result<Groups>> = par_chunks(files, |part| {
        let mut acc = Groups::new();
        for (_, _, path) in part {
            let g = read_file(&path, &mns, from_ms, to_ms, cns)
                .with_context(|| format!("reading {}", path.display()))?;
            absorb_all(&mut acc, g);
        }
        Ok(acc)
    });
    let mut groups = before;
    for p in parts {
        absorb_all(&mut groups, p?);
    }
    absorb_all(
        &mut groups,
        group_messages(&source.tail, &mns, from_ms, to_ms, cns),
    );

    let mut groups: Vec<((String, i64), Group)> = groups.into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let values_read = groups
        .iter()
        .flat_map(|(_, g)| &g.factors)
        .flat_map(|(_, pieces)| pieces)
        .map(|r| r.time.len())
        .sum();
    // Joining each factor's pieces and placing them on the series' times copies every value
    // once: on both cores, as the files were read.
    let series = par_chunks(groups, |part| {
        part.into_iter()
            .filter_map(|((mn, interval), g)| build_series(&mn, interval, g, &reg[&mn]))
            .collect::<Vec<_>>()
    });
    Ok((series.into_iter().flatten().collect(), values_read))
}

/// A screening run's outcome.
pub struct Run {
    pub leads: Vec<Lead>,
    /// Values screened (the period; history excluded).
    pub points: usize,
    pub series: usize,
    pub read: Duration,
    pub screened: Duration,
}

/// Screens loaded series on every core, and ranks the findings into leads, dismissed
/// findings removed. `progress` gets the number of series done.
pub fn screen_loaded(
    loaded: &Loaded,
    dismissed: &[Dismissal],
    config: &screen::Config,
    progress: &(dyn Fn(usize) + Sync),
) -> Run {
    let started = Instant::now();
    let (outlets, points) = outlet_findings(loaded, config, progress);
    Run {
        leads: screen::leads::rank(outlets, dismissed, config),
        points,
        series: loaded.series.len(),
        read: loaded.elapsed,
        screened: started.elapsed(),
    }
}

/// Days screened at once at most. A longer period is screened in windows of this many days,
/// so a run holds one window's values whatever the period: a province-year at once would be
/// 3 × 10⁹ values, tens of GB as read; the whole Fujian-year bench peaked at 16.3 GB, most of
/// it the findings of its generated fleet's seams.
pub const WINDOW_DAYS: u32 = 31;
/// Days each window after the first also screens before its own start: an episode that
/// crosses a window's start is seen whole by the later window when it is this long or
/// shorter (the detectors' longest runs are 72 hours), and its findings in both windows
/// overlap, so [`screen::leads::rank`] merges them into one.
pub const WINDOW_OVERLAP_DAYS: u32 = 7;

/// The windows `(from, to)` (dates, inclusive) that screen `[from, to]`: one when the period
/// is [`WINDOW_DAYS`] or shorter; otherwise consecutive windows of that many days, each after
/// the first reaching back [`WINDOW_OVERLAP_DAYS`] before its start.
pub fn windows(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let overlap = chrono::Days::new(u64::from(WINDOW_OVERLAP_DAYS));
    day_runs(from, to, WINDOW_DAYS)
        .into_iter()
        .map(|(start, end)| ((start - overlap).max(from), end))
        .collect()
}

/// `[from, to]` (dates, inclusive) cut into consecutive runs of at most `days` days: what a
/// long read takes a run at a time to hold one run's values only.
pub fn day_runs(from: NaiveDate, to: NaiveDate, days: u32) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = (start + chrono::Days::new(u64::from(days) - 1)).min(to);
        out.push((start, end));
        start = end + chrono::Days::new(1);
    }
    out
}

/// Screens `[from, to]` with `history_days` of history before each window ([`windows`]):
/// the same as [`load`] and [`screen_loaded`] over the whole period when it fits in one
/// window. `progress` gets (series done, series in all) of the window being screened and its
/// number and the windows in all.
#[allow(clippy::too_many_arguments)]
pub fn screen_period(
    data_dir: &Path,
    reg: &HashMap<String, Registered>,
    from: NaiveDate,
    to: NaiveDate,
    history_days: u32,
    dismissed: &[Dismissal],
    config: &screen::Config,
    progress: &(dyn Fn(Window) + Sync),
) -> anyhow::Result<Run> {
    let windows = windows(from, to);
    let source = Source::open(data_dir)?;
    let mut outlets = Vec::new();
    let (mut points, mut series) = (0, 0);
    let (mut read, mut screened) = (Duration::ZERO, Duration::ZERO);
    let history = chrono::Days::new(u64::from(history_days));
    // The rows of the days a window shares with the one before (its overlap and history),
    // kept from that one's read rather than read again: a year reads 372 days, not 526.
    let mut carried = Groups::new();
    for (i, &(w_from, w_to)) in windows.iter().enumerate() {
        // The first window reads its history too; a later one the days after the one before.
        let read_from = match i.checked_sub(1) {
            None => w_from - history,
            Some(before) => windows[before].1 + chrono::Days::new(1),
        };
        let loaded = load_after(
            &source,
            reg,
            std::mem::take(&mut carried),
            read_from,
            w_from,
            w_to,
        )?;
        read += loaded.elapsed;
        let started = Instant::now();
        let total = loaded.series.len();
        let with_data: HashSet<&str> = loaded.series.iter().map(|(_, p)| p.mn.as_str()).collect();
        let window = Window {
            index: i,
            windows: windows.len(),
            done: 0,
            total,
            outlets: with_data.len(),
        };
        progress(window);
        let (found, n) =
            outlet_findings(&loaded, config, &|done| progress(Window { done, ..window }));
        outlets.extend(found);
        points += n;
        series = series.max(total);
        screened += started.elapsed();
        // Taken after the screening, whose working memory is then free.
        if let Some(&(next_from, _)) = windows.get(i + 1) {
            let started = Instant::now();
            carried = carry(
                &loaded.series,
                day_start_ms(next_from - history).div_euclid(1000),
            );
            read += started.elapsed();
        }
    }
    Ok(Run {
        leads: screen::leads::rank(outlets, dismissed, config),
        points,
        series,
        read,
        screened,
    })
}

/// The rows from `from_s` (Unix seconds) on of loaded series, as groups a read adds to:
/// what the next window shares with this one. A time where a factor had no row carries a
/// NaN with flag N, which is what the next window's series would fill it with.
fn carry(loaded: &[(Series, Series)], from_s: i64) -> Groups {
    // On both cores: an outlet's history and period go to the same worker, in that order.
    let parts = par_chunks(loaded.iter().collect(), |part| {
        let mut groups = Groups::new();
        for s in part.into_iter().flat_map(|(h, p)| [h, p]) {
            let times = s.time.values();
            let k = times.partition_point(|&t| t < from_s);
            if k == times.len() {
                continue;
            }
            let g = groups.entry((s.mn.clone(), s.interval)).or_default();
            for c in &s.channels {
                let rows = g.piece(&c.factor, times.len() - k);
                rows.time.extend_from_slice(&times[k..]);
                rows.value.extend_from_slice(&c.values.values()[k..]);
                rows.flag.extend((k..times.len()).map(|i| c.flags.code(i)));
            }
        }
        groups
    });
    let mut groups = Groups::new();
    for p in parts {
        absorb_all(&mut groups, p);
    }
    groups
}

/// Where a [`screen_period`] run is.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The window being screened (from 0), of `windows`.
    pub index: usize,
    pub windows: usize,
    /// Its series screened, of `total`, and the outlets they are of.
    pub done: usize,
    pub total: usize,
    pub outlets: usize,
}

/// The findings of loaded series per outlet and interval (screened on every core), and the
/// values screened.
fn outlet_findings(
    loaded: &Loaded,
    config: &screen::Config,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<OutletFindings>, usize) {
    let inputs: Vec<Input> = loaded
        .series
        .iter()
        .map(|(h, p)| Input {
            series: p,
            history: (!h.time.is_empty()).then_some(h),
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = screen::screen(&inputs, config, threads, progress);
    let outlets = inputs
        .iter()
        .zip(report.results)
        .filter_map(|(i, r)| {
            let findings = r.ok()?;
            Some(OutletFindings {
                mn: i.series.mn.clone(),
                outlet: i.series.outlet.clone(),
                industry: i.series.industry.clone(),
                findings,
            })
        })
        .collect();
    (outlets, report.points)
}

/// One finding as a line of the jsonl contract.
pub fn finding_json(lead: &Lead, f: &screen::Finding) -> serde_json::Value {
    serde_json::json!({
        "mn": lead.mn,
        "outlet": lead.outlet,
        "factor": f.factor,
        "signature": f.signature.id(),
        "start": screen::finding::iso(f.start),
        "end": screen::finding::iso(f.end),
        "score": (f.score * 1000.0).round() / 1000.0,
        "explanation": f.explanation,
        "evidence": f.evidence,
    })
}

const TABLE_HEADERS: [&str; 8] = [
    "线索得分",
    "MN",
    "排放口",
    "因子",
    "特征",
    "时段",
    "得分",
    "说明",
];

/// The table's cells of a finding.
fn cells(lead: &Lead, f: &screen::Finding) -> [String; 8] {
    [
        format!("{:.2}", lead.score),
        lead.mn.clone(),
        lead.outlet.clone(),
        f.factor.clone().unwrap_or_else(|| "—".into()),
        format!("{} {}", f.signature.code(), f.signature.name_zh()),
        screen::finding::zh_window(f.start, f.end),
        format!("{:.2}", f.score),
        f.explanation.clone(),
    ]
}

/// Writes the findings of the leads in rank order.
pub fn write_findings(leads: &[Lead], format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    let findings = leads
        .iter()
        .flat_map(|l| l.findings.iter().map(move |f| (l, f)));
    match format {
        Format::Jsonl => {
            for (l, f) in findings {
                serde_json::to_writer(&mut *out, &finding_json(l, f))?;
                out.write_all(b"\n")?;
            }
        }
        Format::Table => {
            writeln!(out, "{}", TABLE_HEADERS.join(" | "))?;
            for (l, f) in findings {
                let mut c = cells(l, f);
                if c[7].chars().count() > 60 {
                    c[7] = c[7].chars().take(60).collect::<String>() + "…";
                }
                writeln!(out, "{}", c.join(" | "))?;
            }
        }
        Format::Xlsx => {
            let mut workbook = rust_xlsxwriter::Workbook::new();
            let sheet = workbook.add_worksheet();
            sheet.set_name("筛查疑点")?;
            for (c, h) in TABLE_HEADERS.iter().enumerate() {
                sheet.write_string(0, c as u16, *h)?;
            }
            for (r, (l, f)) in findings.enumerate() {
                for (c, text) in cells(l, f).iter().enumerate() {
                    sheet.write_string(r as u32 + 1, c as u16, text)?;
                }
            }
            out.write_all(&workbook.save_to_buffer()?)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// How far a screening run has come, for whoever watches it: the series (an outlet's 10-minute
/// or hourly data) screened of those read, and the outlets they belong to; all 0 while the
/// archive is being read.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicUsize,
    total: AtomicUsize,
    outlets: AtomicUsize,
    /// Draw a bar on standard error when it is a terminal (the command).
    bar: bool,
}

impl Progress {
    /// Progress that also draws a bar on a terminal.
    pub fn with_bar() -> Self {
        Progress {
            bar: true,
            ..Default::default()
        }
    }
    /// (series screened, series in all, outlets in all).
    pub fn get(&self) -> (usize, usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.outlets.load(Ordering::Relaxed),
        )
    }
}

/// Screens a period of the archive and stores its leads as `actor`: the command, the demo and
/// the screening page's background run all call this.
pub async fn screen_and_save(
    db: &Db,
    data_dir: &Path,
    from: NaiveDate,
    to: NaiveDate,
    history_days: u32,
    actor: &str,
    progress: Arc<Progress>,
) -> anyhow::Result<(Run, leads::Saved)> {
    use std::io::IsTerminal;
    let reg = Arc::new(registry(db).await?);
    let dismissed = leads::dismissals(db).await?;
    let data_dir = data_dir.to_owned();
    let reg2 = reg.clone();
    let run = tokio::task::spawn_blocking(move || -> anyhow::Result<Run> {
        let bar = if progress.bar && std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(0)
        } else {
            indicatif::ProgressBar::hidden()
        };
        // Each window's series in all, as the windows come: the figures add up over them.
        let totals = std::sync::Mutex::new(Vec::new());
        let run = screen_period(
            &data_dir,
            &reg2,
            from,
            to,
            history_days,
            &dismissed,
            &screen::Config::default(),
            &|w: Window| {
                let mut totals = totals.lock().expect("not poisoned");
                if totals.len() == w.index {
                    totals.push(w.total);
                    let all: usize = totals.iter().sum();
                    progress.total.store(all, Ordering::Relaxed);
                    progress.outlets.fetch_max(w.outlets, Ordering::Relaxed);
                    bar.set_length(all as u64);
                    bar.set_message(format!("筛查 {}/{}", w.index + 1, w.windows));
                }
                let done = totals[..w.index].iter().sum::<usize>() + w.done;
                progress.done.store(done, Ordering::Relaxed);
                bar.set_position(done as u64)
            },
        )?;
        bar.finish_and_clear();
        Ok(run)
    })
    .await
    .context("screening task")??;
    let refs: HashMap<String, OutletRef> = reg
        .iter()
        .map(|(mn, r)| (mn.clone(), r.at.clone()))
        .collect();
    let saved = leads::save_run(db, actor, (from, to), &refs, &run.leads).await?;
    Ok((run, saved))
}

/// Records in the audit log that `actor` started screening the period (the page's runs; the
/// leads a run stores are audited as they are saved).
pub async fn record_start(
    db: &Db,
    actor: &str,
    from: NaiveDate,
    to: NaiveDate,
    history_days: u32,
) -> ecowarden_core::store::Result<()> {
    let mut w = db.write().await?;
    ecowarden_core::audit_log::append(
        &mut w,
        &ecowarden_core::audit_log::Change {
            actor,
            action: "start",
            entity: "screening",
            entity_id: format!("{from}..{to}"),
            before: None,
            after: Some(serde_json::json!({
                "from": from.to_string(), "to": to.to_string(), "history_days": history_days,
            })),
        },
    )
    .await?;
    w.commit().await
}

// ---------------------------------------------------------------------------------------
// Generated fleets into the archive and the registry.

/// The HJ 212 system code of a generated series: wastewater factors start with `w`.
fn st_of(s: &Series) -> &'static str {
    if s.channels.iter().any(|c| c.factor.starts_with('w')) {
        "32"
    } else {
        "31"
    }
}

/// A generated series' outlet as if registered in `city` (benchmarks: no store needed).
pub fn registered_of(s: &Series, city: &str) -> Registered {
    let st = st_of(s);
    let industry = industry_zh(&s.industry);
    Registered {
        at: OutletRef {
            outlet_id: 0,
            region_code: city.to_owned(),
            city_code: city.to_owned(),
            industry: industry.to_owned(),
        },
        name: s.outlet.clone(),
        industry_key: industry_key(industry, st),
        factors: s
            .channels
            .iter()
            .map(|c| (c.factor.clone(), c.meta.clone()))
            .collect(),
    }
}

/// A series as archived messages: one per row, the `Avg` and flag of each factor that has a
/// value, written with the channel's decimals.
fn messages_of(s: &Series) -> Vec<Message> {
    let cn = if s.interval >= 3600 { "2061" } else { "2051" };
    let st = st_of(s);
    let factors: Vec<Arc<str>> = s
        .channels
        .iter()
        .map(|c| Arc::from(c.factor.as_str()))
        .collect();
    let mut order: Vec<usize> = (0..s.channels.len()).collect();
    order.sort_by(|&a, &b| s.channels[a].factor.cmp(&s.channels[b].factor));
    let mut letters: BTreeMap<u8, Arc<str>> = BTreeMap::new();
    (0..s.time.len())
        .filter(|&i| s.time.is_valid(i))
        .map(|i| {
            let t = s.time.value(i);
            let values = order
                .iter()
                .filter_map(|&k| {
                    let c = &s.channels[k];
                    if c.values.is_null(i) || !c.values.value(i).is_finite() {
                        return None;
                    }
                    let d = usize::from(c.meta.decimals.unwrap_or(3));
                    let letter = c.flags.code(i);
                    let flag = letters
                        .entry(letter)
                        .or_insert_with(|| Arc::from((letter as char).to_string().as_str()))
                        .clone();
                    Some(Value {
                        factor: factors[k].clone(),
                        field: "Avg".into(),
                        value: compact_str::format_compact!("{:.d$}", c.values.value(i)),
                        flag: Some(flag),
                    })
                })
                .collect();
            Message {
                mn: s.mn.clone(),
                st: st.into(),
                cn: cn.into(),
                data_time_ms: t * 1000,
                qn: None,
                rf: false,
                recv_us: t * 1_000_000,
                evidence: Pos(0),
                values,
            }
        })
        .collect()
}

/// Writes generated series into the archive, partitioned by date and the city of
/// `city_of(mn)`, one file per partition named `{name}.parquet` (not `part-*`, which the
/// compactor owns). Returns the values written.
pub fn write_series(
    data_dir: &Path,
    series: &[&Series],
    city_of: &dyn Fn(&str) -> String,
    name: &str,
) -> anyhow::Result<u64> {
    let mut parts: BTreeMap<(NaiveDate, String), Vec<Message>> = BTreeMap::new();
    for s in series {
        let city = city_of(&s.mn);
        for m in messages_of(s) {
            parts.entry((m.date(), city.clone())).or_default().push(m);
        }
    }
    let dir = archive::dir_in(data_dir);
    let parts: Vec<_> = parts.into_iter().collect();
    let written = par_chunks(parts, |part| -> anyhow::Result<u64> {
        let mut rows = 0;
        for ((date, city), msgs) in part {
            let p = archive::partition_dir(&dir, date, &city);
            std::fs::create_dir_all(&p)?;
            let mut refs: Vec<&Message> = msgs.iter().collect();
            archive::sort_messages(&mut refs);
            rows += archive::write_file(&p.join(format!("{name}.parquet")), &refs)?.rows;
        }
        Ok(rows)
    });
    written.into_iter().sum()
}

/// Registers generated outlets: each under a new facility of its industry in
/// `regions[k % len]` (county codes), with its channels' limits, ranges and detection limits.
pub async fn register_generated(
    db: &Db,
    org: &Org,
    outlets: &[&screen::generator::Outlet],
    regions: &[&str],
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let specs: Vec<OutletSpec> = outlets
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let s = o.first();
            let region = regions[k % regions.len()];
            let text = |x: Option<f64>| x.map(|v| format!("{v}"));
            OutletSpec {
                mn: s.mn.clone(),
                password: "123456".into(),
                st: st_of(s).into(),
                name: "1号排放口".into(),
                facility: FacilitySpec {
                    name: format!(
                        "{}筛查样例{}企业{:03}",
                        org.name(region),
                        industry_zh(&s.industry),
                        k + 1
                    ),
                    credit_code: ecowarden_core::ids::CreditCode::generate(region, |n| {
                        rng.random_range(0..n)
                    })
                    .to_string(),
                    region_code: region.into(),
                    industry: industry_zh(&s.industry).into(),
                },
                factors: s
                    .channels
                    .iter()
                    .map(|c| FactorSpec {
                        code: c.factor.clone(),
                        emission_limit: text(c.meta.limit),
                        unit: Some(screen::finding::unit(&c.factor).to_owned())
                            .filter(|u| !u.is_empty()),
                        range_low: c.meta.range.map(|_| "0".into()),
                        range_high: text(c.meta.range),
                        detection_limit: text(c.meta.detection_limit),
                        o2_ref: None,
                    })
                    .collect(),
            }
        })
        .collect();
    registry::save(
        db,
        org,
        &ecowarden_core::scope::Scope::Province,
        "system:generator",
        "generator",
        &specs,
    )
    .await
    .map_err(|e| anyhow::anyhow!("registering generated outlets: {e}"))?;
    Ok(())
}

/// Writes a generated fleet's outlets (both intervals, history and period) into the archive,
/// each under the city of its registered facility.
pub async fn archive_generated(
    db: &Db,
    data_dir: &Path,
    outlets: &[&screen::generator::Outlet],
    name: &str,
) -> anyhow::Result<u64> {
    let cities: HashMap<String, String> = registry::stations(db)
        .await?
        .into_iter()
        .map(|(mn, s)| (mn, s.city_code))
        .collect();
    let series: Vec<&Series> = outlets.iter().flat_map(|o| &o.series).collect();
    let data_dir = data_dir.to_owned();
    let name = name.to_owned();
    let series: Vec<Series> = series.into_iter().cloned().collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&Series> = series.iter().collect();
        write_series(
            &data_dir,
            &refs,
            &|mn| cities.get(mn).cloned().unwrap_or_else(|| "000000".into()),
            &name,
        )
    })
    .await
    .context("archive writer")?
}

/// MNs of generated outlets start with this; the demo's live loggers leave them alone.
pub const GENERATED_MN_PREFIX: &str = "SIM";

/// How many generated outlets the registry holds (the demo seeds its fleet once).
pub async fn generated_outlets(db: &Db) -> ecowarden_core::store::Result<i64> {
    let n = sqlx::query_scalar("SELECT COUNT(*) FROM outlets WHERE mn LIKE $1")
        .bind(format!("{GENERATED_MN_PREFIX}%"))
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// What the demo's screening seeded.
#[derive(Debug, Clone, Copy)]
pub struct DemoScreening {
    pub outlets: usize,
    pub values: u64,
    pub leads: usize,
    pub elapsed: Duration,
}

/// The demo's screening data: a generated fleet (clean outlets and one outlet per signature,
/// a week of history and the three days before today) registered in the counties of 福州 and
/// 厦门, written into the archive, and screened, so the lead queue has leads to work on.
pub async fn seed_demo(
    db: &Db,
    org: &Org,
    data_dir: &Path,
    seed: u64,
) -> anyhow::Result<DemoScreening> {
    let started = Instant::now();
    let today = ecowarden_core::clock::today();
    let (history_days, days) = (7u32, 3u32);
    let first = today - chrono::Days::new(u64::from(history_days + days));
    let config = screen::Config::default();
    let spec = screen::generator::FleetSpec {
        seed,
        clean: 40,
        per_signature: 1,
        history_days,
        days,
        start: day_start_ms(first) / 1000,
    };
    let fleet = tokio::task::spawn_blocking(move || screen::generator::fleet(&spec, &config))
        .await
        .context("generator")?;
    // The counties of 福州 and 厦门, where the demo accounts sit: two cities' partitions a day.
    let counties: Vec<&str> = ["350100", "350200"]
        .iter()
        .flat_map(|c| org.counties_of(c))
        .map(|r| r.code.as_str())
        .collect();
    let outlets: Vec<&screen::generator::Outlet> = fleet.outlets.iter().collect();
    register_generated(db, org, &outlets, &counties, seed).await?;
    let values = archive_generated(db, data_dir, &outlets, "generated-demo").await?;
    let (run, _) = screen_and_save(
        db,
        data_dir,
        today - chrono::Days::new(u64::from(days)),
        today - chrono::Days::new(1),
        history_days,
        "system:screen",
        Default::default(),
    )
    .await?;
    Ok(DemoScreening {
        outlets: outlets.len(),
        values,
        leads: run.leads.len(),
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests::{tmp, write_layout1};

    /// A generated fleet's outlets, registered in 福州.
    fn registry_of(fleet: &screen::generator::Fleet) -> HashMap<String, Registered> {
        fleet
            .outlets
            .iter()
            .map(|o| (o.first().mn.clone(), registered_of(o.first(), "350100")))
            .collect()
    }

    /// A power plant's outlet in 鼓楼, without factor metadata.
    fn plant_outlet() -> Registered {
        Registered {
            at: OutletRef {
                outlet_id: 1,
                region_code: "350102".into(),
                city_code: "350100".into(),
                industry: "火电".into(),
            },
            name: "1号排口".into(),
            industry_key: "thermal_power",
            factors: HashMap::new(),
        }
    }

    /// The first day a generated fleet screens, in Beijing time.
    fn first_day(fleet: &screen::generator::Fleet) -> NaiveDate {
        chrono::DateTime::from_timestamp(fleet.screen_from + 8 * 3600, 0)
            .unwrap()
            .date_naive()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Pieces of one factor as files and the log's tail give them: joined in time order,
    /// and where two hold the same time the first read (the archive's) stays; factors with
    /// different times share one time column with NaN where a factor has no row.
    #[test]
    fn a_series_is_built_from_pieces_in_any_order_the_archive_first() {
        let rows = |pts: &[(i64, f64)]| {
            let mut r = Rows::default();
            for &(t, v) in pts {
                r.push(t, v, b'N');
            }
            r
        };
        let mut g = Group::default();
        g.factors.push((
            "a21026".into(),
            vec![
                rows(&[(7200, 2.0), (10800, 3.0)]),
                rows(&[(0, 0.0), (3600, 1.0)]),
                rows(&[(3600, 99.0), (14400, 4.0)]),
            ],
        ));
        g.factors.push((
            "a01012".into(),
            vec![rows(&[(3600, 50.0)]), rows(&[(18000, 51.0)])],
        ));
        let reg = plant_outlet();
        let s = build_series("MN1", 3600, g, &reg).unwrap();
        assert_eq!(s.time.values(), &[0, 3600, 7200, 10800, 14400, 18000]);
        let values = |f: &str| {
            let c = s.channels.iter().find(|c| c.factor == f).unwrap();
            c.values.iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(values("a21026")[..5], [0.0, 1.0, 2.0, 3.0, 4.0]);
        assert!(values("a21026")[5].is_nan());
        let o2 = values("a01012");
        assert_eq!((o2[1], o2[5]), (50.0, 51.0));
        assert!(o2[0].is_nan() && o2[2].is_nan());
        assert_eq!(union_sorted(&[1, 3, 5], &[2, 3, 6, 7]), [1, 2, 3, 5, 6, 7]);
    }

    /// A file's rows as a series: a value that is not a number reads as NaN and a value
    /// without a flag as `N`; `Avg` only. (A file without either has its runs copied whole:
    /// the generated files of the other tests.)
    #[test]
    fn a_file_reads_texts_as_nan_and_missing_flags_as_n() {
        let day = date(2026, 11, 2);
        let t0 = day_start_ms(day);
        let value = |factor: &str, field: &str, text: &str, flag: Option<&str>| Value {
            factor: Arc::from(factor),
            field: field.into(),
            value: text.into(),
            flag: flag.map(Arc::from),
        };
        let hour = |h: i64, so2: &str, so2_flag: Option<&str>| Message {
            mn: "MN1".into(),
            st: "31".into(),
            cn: "2061".into(),
            data_time_ms: t0 + h * 3_600_000,
            qn: None,
            rf: false,
            recv_us: 0,
            evidence: Pos(0),
            values: vec![
                value("a01012", "Avg", &format!("{}.5", 50 + h), Some("N")),
                value("a21026", "Avg", so2, so2_flag),
                value("a21026", "Max", "99", so2_flag),
            ],
        };
        let msgs = [
            hour(0, "1.5", Some("N")),
            hour(1, "abc", None),
            hour(2, "2.0", Some("D")),
        ];
        let dir = tmp("texts");
        let p = archive::partition_dir(&archive::dir_in(&dir), day, "350100");
        std::fs::create_dir_all(&p).unwrap();
        archive::write_file(&p.join("a.parquet"), &msgs.iter().collect::<Vec<_>>()).unwrap();
        let reg = HashMap::from([("MN1".to_owned(), plant_outlet())]);
        let (series, values) =
            read_series(&Source::open(&dir).unwrap(), &reg, day, day, SCREENED).unwrap();
        assert_eq!((series.len(), values), (1, 6));
        let s = &series[0];
        let channel = |f: &str| s.channels.iter().find(|c| c.factor == f).unwrap();
        let (o2, so2) = (channel("a01012"), channel("a21026"));
        assert_eq!(o2.values.values(), &[50.5, 51.5, 52.5]);
        assert_eq!((0..3).map(|i| o2.flags.code(i)).collect::<Vec<_>>(), b"NNN");
        assert_eq!(so2.values.value(0), 1.5);
        assert!(so2.values.value(1).is_nan());
        assert_eq!(so2.values.value(2), 2.0);
        assert_eq!(
            (0..3).map(|i| so2.flags.code(i)).collect::<Vec<_>>(),
            b"NND"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A period of a month or less is one window; a year is twelve, which cover every day,
    /// each after the first reaching a week back into the one before.
    #[test]
    fn a_long_period_is_cut_into_overlapping_windows() {
        let (jan1, jan31) = (date(2025, 1, 1), date(2025, 1, 31));
        assert_eq!(windows(jan1, jan31), vec![(jan1, jan31)]);
        assert_eq!(windows(jan1, jan1), vec![(jan1, jan1)]);
        let year = windows(jan1, date(2025, 12, 31));
        assert_eq!(year.len(), 12);
        assert_eq!(year[0], (jan1, jan31));
        assert_eq!(year[1], (date(2025, 1, 25), date(2025, 3, 3)));
        assert_eq!(year.last().unwrap().1, date(2025, 12, 31));
        for pair in year.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert_eq!(b.0 + chrono::Days::new(7), a.1 + chrono::Days::new(1));
        }
    }

    /// A period longer than a window finds, window by window, every injected signature that
    /// one load of the whole period finds, with no finding doubled where windows overlap.
    #[test]
    fn screening_in_windows_finds_what_one_window_finds() {
        let spec = screen::generator::FleetSpec {
            seed: 11,
            clean: 2,
            per_signature: 1,
            history_days: 7,
            days: 40,
            start: 1_793_462_400,
        };
        let config = screen::Config::default();
        let fleet = screen::generator::fleet(&spec, &config);
        let series: Vec<&Series> = fleet.outlets.iter().flat_map(|o| &o.series).collect();
        let reg = registry_of(&fleet);
        let dir = tmp("windows");
        write_series(&dir, &series, &|_| "350100".into(), "generated").unwrap();
        let from = first_day(&fleet);
        let to = from + chrono::Days::new(39);
        assert_eq!(windows(from, to).len(), 2);
        let whole = screen_loaded(
            &load(&Source::open(&dir).unwrap(), &reg, from, to, 7).unwrap(),
            &[],
            &config,
            &|_| {},
        );
        let windowed = screen_period(&dir, &reg, from, to, 7, &[], &config, &|_| {}).unwrap();
        let found = |run: &Run| -> BTreeMap<(String, String), usize> {
            let mut out = BTreeMap::new();
            for l in &run.leads {
                for f in &l.findings {
                    let key = (l.mn.clone(), f.signature.id().to_owned());
                    *out.entry(key).or_default() += 1;
                }
            }
            out
        };
        let (w, o) = (found(&windowed), found(&whole));
        let truths: Vec<_> = fleet.outlets.iter().flat_map(|o| &o.truth).collect();
        assert!(truths.len() >= 14, "{}", truths.len());
        for t in truths {
            let key = (t.mn.clone(), t.signature.id().to_owned());
            if o.contains_key(&key) {
                assert!(w.contains_key(&key), "{key:?} found whole, not in windows");
            }
        }
        assert!(
            windowed.points >= whole.points,
            "the overlap is screened twice"
        );
        for l in &windowed.leads {
            for (i, a) in l.findings.iter().enumerate() {
                for b in &l.findings[i + 1..] {
                    assert!(
                        !a.same_as(b.signature, b.factor.as_deref(), b.start, b.end),
                        "{} {:?} twice",
                        l.mn,
                        a.signature
                    );
                }
            }
        }
        // The second window, joined to the rows the first one read, is what reading it
        // afresh gives: row for row, value for value.
        type Contents = Vec<(String, i64, Vec<i64>, Vec<(String, Vec<u64>, Vec<u8>)>)>;
        let contents = |l: &Loaded| -> Contents {
            l.series
                .iter()
                .flat_map(|(h, p)| [h, p])
                .map(|s| {
                    let channels = s
                        .channels
                        .iter()
                        .map(|c| {
                            let bits = c.values.values().iter().map(|v| v.to_bits()).collect();
                            let flags = (0..c.values.len()).map(|i| c.flags.code(i)).collect();
                            (c.factor.clone(), bits, flags)
                        })
                        .collect();
                    (s.mn.clone(), s.interval, s.time.values().to_vec(), channels)
                })
                .collect()
        };
        let source = Source::open(&dir).unwrap();
        let ws = windows(from, to);
        let first = load(&source, &reg, ws[0].0, ws[0].1, 7).unwrap();
        let next_history = day_start_ms(ws[1].0 - chrono::Days::new(7)).div_euclid(1000);
        let joined = load_after(
            &source,
            &reg,
            carry(&first.series, next_history),
            ws[0].1.succ_opt().unwrap(),
            ws[1].0,
            ws[1].1,
        )
        .unwrap();
        let fresh = load(&source, &reg, ws[1].0, ws[1].1, 7).unwrap();
        assert!(!fresh.series.is_empty());
        assert!(contents(&joined) == contents(&fresh));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Files of layout 1 and of layout 2 holding the same data load as the same series.
    #[test]
    fn both_archive_layouts_load_the_same_series() {
        let spec = screen::generator::FleetSpec {
            seed: 3,
            clean: 6,
            per_signature: 0,
            history_days: 1,
            days: 1,
            start: 1_793_462_400,
        };
        let fleet = screen::generator::fleet(&spec, &screen::Config::default());
        let series: Vec<&Series> = fleet.outlets.iter().flat_map(|o| &o.series).collect();
        let reg = registry_of(&fleet);
        let (current, old) = (tmp("load-2"), tmp("load-1"));
        write_series(&current, &series, &|_| "350100".into(), "generated").unwrap();
        let mut days: BTreeMap<NaiveDate, Vec<Message>> = BTreeMap::new();
        for m in series.iter().flat_map(|s| messages_of(s)) {
            days.entry(m.date()).or_default().push(m);
        }
        for (date, msgs) in &days {
            let p = archive::partition_dir(&archive::dir_in(&old), *date, "350100");
            std::fs::create_dir_all(&p).unwrap();
            let mut refs: Vec<&Message> = msgs.iter().collect();
            archive::sort_messages(&mut refs);
            write_layout1(&p.join("generated.parquet"), &refs);
        }
        let from = first_day(&fleet);
        let a = load(&Source::open(&current).unwrap(), &reg, from, from, 1).unwrap();
        let b = load(&Source::open(&old).unwrap(), &reg, from, from, 1).unwrap();
        assert_eq!(a.series.len(), series.len());
        assert!(a.values_read > 10_000, "{}", a.values_read);
        assert_eq!(a.values_read, b.values_read);
        assert_eq!(format!("{:?}", a.series), format!("{:?}", b.series));
        // A value read is the generator's, as written (with its channel's decimals).
        let (_, period) = &a.series[0];
        let generated = series
            .iter()
            .find(|s| s.mn == period.mn && s.interval == period.interval)
            .unwrap();
        let c = &period.channels[0];
        let g = generated
            .channels
            .iter()
            .find(|g| g.factor == c.factor)
            .unwrap();
        let k = (0..c.values.len())
            .find(|&k| c.values.value(k).is_finite())
            .unwrap();
        let i = (0..g.values.len())
            .find(|&i| generated.time.value(i) == period.time.value(k))
            .unwrap();
        assert!((c.values.value(k) - g.values.value(i)).abs() < 1e-3);
        for d in [current, old] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}
