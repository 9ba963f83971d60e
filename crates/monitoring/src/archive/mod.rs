//! The monitoring archive (监测数据归档): every value of every data upload that the receiver
//! accepted, in Parquet, derived from the evidence log by the [`compact`] compactor.
//!
//! Layout: `DATA/archive/date=YYYY-MM-DD/region=XXXXXX/part-*.parquet` (Hive-style, so
//! DuckDB, Spark and DataFusion read the partitions as columns), partitioned by the date of
//! `DataTime` (Beijing time) and the city-level region the outlet reports to. One row per
//! value: the columns are [`schema`].
//!
//! Files of layout 2 ([`LAYOUT`], in the file's key-value metadata) sort their rows by MN, CN,
//! factor, field and `DataTime`, so each series (an outlet's `Avg` of one factor at one
//! interval) is one run of rows that screening copies whole, and its keys are long runs that
//! the dictionary and run-length encodings store in a few bytes; row-group statistics on `mn`
//! let a reader skip the stations it does not want. Layout 1 files (before 2026-12-07) sort
//! by MN, CN, `DataTime`, factor and field and keep every value's text: every reader here
//! takes both, and `monitoring compact --migrate` rewrites them as layout 2.
//!
//! A value is identified by (MN, CN, `DataTime`, factor, field) and stored once: a message
//! sent again (no ack received, or 2025 back-fill with `RF=1`) adds only values not already
//! archived, and the parts of a split message, archived as they come, complete each other.
//! Values stay the exact text sent: `num` is its number for analysis, and `value` the text,
//! which layout 2 leaves null where `num` written with `decimals` digits after the point gives
//! that text back exactly (nearly every measurement), and keeps where it does not (`N`,
//! `+1.5`, `012`, `-0.0`, more digits than a float holds). `flag` is the factor's data flag
//! (QA: N, M, D, C, …). `evidence` is the position of the frame in the evidence log, so each
//! value leads back to the bytes the logger sent.

pub mod compact;
pub mod query;
mod read;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int8Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{
    Array, BooleanArray, Float64Array, Int8Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate};
use compact_str::CompactString;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::evidence::Pos;

/// The archive's directory inside a data directory.
pub fn dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("archive")
}

/// One value of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Factor code (`a21026`); empty for a plain data-area key such as `RestartTime`. Shared
    /// by the values of one factor (a message has a few factors and many values).
    pub factor: Arc<str>,
    /// `Avg`, `Rtd`, `Flag`, … (or the plain key). Inline, as is `value`: both are short,
    /// and an import holds a million values.
    pub field: CompactString,
    /// The text sent.
    pub value: CompactString,
    /// The factor's data flag as sent, if any.
    pub flag: Option<Arc<str>>,
}

/// A data upload as archived: its identity and its values, sorted by factor and field.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub mn: String,
    pub st: String,
    pub cn: String,
    /// `DataTime` as milliseconds since the Unix epoch (HJ 212 times are +08:00).
    pub data_time_ms: i64,
    pub qn: Option<String>,
    /// 2025 `RF=1`: re-sent (back-filled) data.
    pub rf: bool,
    /// When the receiver got the (first) frame, µs since the Unix epoch.
    pub recv_us: i64,
    /// The frame in the evidence log.
    pub evidence: Pos,
    pub values: Vec<Value>,
}

/// Beijing time, as HJ 212 reads it.
fn cst_datetime(ms: i64) -> DateTime<chrono::FixedOffset> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&ecowarden_core::clock::cst())
}

impl Message {
    /// The date partition: the calendar day of `DataTime`.
    pub fn date(&self) -> NaiveDate {
        cst_datetime(self.data_time_ms).date_naive()
    }

    /// `DataTime` as sent (`YYYYMMDDhhmmss`).
    pub fn data_time_text(&self) -> String {
        cst_datetime(self.data_time_ms)
            .format("%Y%m%d%H%M%S")
            .to_string()
    }

    /// `DataTime` as RFC 3339 with +08:00.
    pub fn data_time_rfc3339(&self) -> String {
        cst_datetime(self.data_time_ms)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    /// Values by factor, then field → text (the export's shape).
    pub fn values_by_factor(&self) -> BTreeMap<&str, BTreeMap<&str, &str>> {
        let mut out: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for v in &self.values {
            out.entry(&*v.factor)
                .or_default()
                .insert(v.field.as_str(), v.value.as_str());
        }
        out
    }

    /// Puts back each factor's `Flag` value, which files keep in the `flag` column only.
    pub fn restore_flags(&mut self) {
        let mut missing: Vec<Value> = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            let first_of_factor = i == 0 || self.values[i - 1].factor != v.factor;
            if !first_of_factor {
                continue;
            }
            let Some(flag) = &v.flag else { continue };
            let has_flag = self.values[i..]
                .iter()
                .take_while(|w| w.factor == v.factor)
                .any(|w| w.field == "Flag");
            if !has_flag {
                missing.push(Value {
                    factor: v.factor.clone(),
                    field: "Flag".into(),
                    value: CompactString::from(&**flag),
                    flag: Some(flag.clone()),
                });
            }
        }
        if !missing.is_empty() {
            self.values.extend(missing);
            self.values
                .sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
        }
    }

    /// The value of a factor's field.
    pub fn value(&self, factor: &str, field: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|v| &*v.factor == factor && v.field == field)
    }
}

/// HJ 212 commands whose uploads carry data (2011 real-time, 2031 daily, 2051 minute,
/// 2061 hourly, 2021/2041 facility state and run time, …): every 2xxx but the host's
/// "stop" commands 2012 and 2022.
pub fn is_data(cn: &str) -> bool {
    cn.len() == 4 && cn.starts_with('2') && cn != "2012" && cn != "2022"
}

/// Why an accepted frame adds nothing to the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// Not a data upload (time sync, heartbeat, a reply).
    NotData,
    /// A data upload without a readable `DataTime`: it cannot be placed in time.
    NoDataTime,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotData => "not_data",
            Skip::NoDataTime => "no_data_time",
        }
    }
}

/// The archived form of a parsed upload (a reassembled split message, say): [`from_view`].
pub fn from_hj212(
    m: hj212::Message,
    recv_us: i64,
    evidence: Pos,
    codes: &mut Codes,
) -> Result<Message, Skip> {
    from_view(&m.view(), recv_us, evidence, codes)
}

/// The factor codes and flags of a run of messages, each held once: a month's uploads name the
/// same few codes hundreds of thousands of times, and its values share them instead of
/// allocating one each (which also lets equal codes compare by address).
#[derive(Debug, Default)]
pub struct Codes(foldhash::HashSet<Arc<str>>);

impl Codes {
    fn get(&mut self, code: &str) -> Arc<str> {
        if let Some(held) = self.0.get(code) {
            return held.clone();
        }
        let held: Arc<str> = Arc::from(code);
        self.0.insert(held.clone());
        held
    }
}

/// Whether two shared codes are equal: nearly always the same allocation ([`Codes`]), so
/// compared by address before text.
fn same_code(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// The archived form of an upload read as a view of its frame: each value's texts are copied
/// once, into the archived value (not first into an owned message, then moved).
pub fn from_view(
    m: &hj212::MessageView<'_>,
    recv_us: i64,
    evidence: Pos,
    codes: &mut Codes,
) -> Result<Message, Skip> {
    let cn = m.cn.as_deref().unwrap_or_default();
    if !is_data(cn) {
        return Err(Skip::NotData);
    }
    let t =
        m.cp.data_time
            .as_deref()
            .and_then(hj212::Timestamp::parse)
            .ok_or(Skip::NoDataTime)?;
    let data_time_ms = t.unix_seconds() * 1000 + i64::from(t.millis.unwrap_or(0));
    // Each factor's flag: its first `Flag` field, else its first `flag`.
    let mut flags: Vec<(Option<&str>, Option<&str>)> = vec![(None, None); m.cp.codes.len()];
    for (i, field, value) in &m.cp.fields {
        match field.as_ref() {
            "Flag" => _ = flags[*i].0.get_or_insert(value.as_ref()),
            "flag" => _ = flags[*i].1.get_or_insert(value.as_ref()),
            _ => {}
        }
    }
    let factors: Vec<(Arc<str>, Option<Arc<str>>)> =
        m.cp.codes
            .iter()
            .zip(&flags)
            .map(|(code, (upper, lower))| (codes.get(code), upper.or(*lower).map(|f| codes.get(f))))
            .collect();
    // Sorted by factor, then field. The factors (a handful, distinct) are ranked once and
    // the values placed by rank, so that only a factor's own fields are compared as text;
    // the plain keys count as factor "", which ranks first. (A stable sort of the indices
    // keyed on (rank, field) gives the same order, but the month's import ran 2.3% more
    // instructions with it.)
    let none = (!m.cp.other.is_empty()).then(|| codes.get(""));
    let mut names: Vec<&str> = m.cp.codes.iter().map(|c| c.as_ref()).collect();
    if none.is_some() {
        names.push("");
    }
    names.sort_unstable();
    names.dedup();
    let rank = |code: &str| names.binary_search(&code).expect("ranked");
    let code_rank: Vec<usize> = m.cp.codes.iter().map(|c| rank(c)).collect();
    let other_rank = none.as_ref().map_or(0, |_| rank(""));
    // Each value's rank, in the order sent, the plain keys last: a key sent twice in one
    // message keeps its first, as the codec reads it.
    let ranks = || {
        m.cp.fields
            .iter()
            .map(|(i, _, _)| code_rank[*i])
            .chain(m.cp.other.iter().map(|_| other_rank))
    };
    let mut start = vec![0usize; names.len() + 1];
    for r in ranks() {
        start[r + 1] += 1;
    }
    for r in 1..start.len() {
        start[r] += start[r - 1];
    }
    let mut order = vec![0usize; m.cp.fields.len() + m.cp.other.len()];
    let mut next = start.clone();
    for (k, r) in ranks().enumerate() {
        order[next[r]] = k;
        next[r] += 1;
    }
    let field_of = |k: usize| match m.cp.fields.get(k) {
        Some((_, field, _)) => field.as_ref(),
        None => m.cp.other[k - m.cp.fields.len()].0.as_ref(),
    };
    for group in start.windows(2) {
        // Stable, as the order sent decides between two equal keys.
        order[group[0]..group[1]].sort_by_key(|&k| field_of(k));
    }
    let mut values: Vec<Value> = Vec::with_capacity(order.len());
    for k in order {
        let (factor, field, value, flag) = match m.cp.fields.get(k) {
            Some((i, field, value)) => {
                let (code, flag) = &factors[*i];
                (code, field, value, flag.clone())
            }
            None => {
                let (field, value) = &m.cp.other[k - m.cp.fields.len()];
                (none.as_ref().expect("plain keys"), field, value, None)
            }
        };
        if values
            .last()
            .is_some_and(|l| same_code(&l.factor, factor) && l.field == field.as_ref())
        {
            continue;
        }
        values.push(Value {
            factor: factor.clone(),
            field: CompactString::from(field.as_ref()),
            value: CompactString::from(value.as_ref()),
            flag,
        });
    }
    let text = |t: &Option<std::borrow::Cow<'_, str>>| t.as_deref().map(str::to_owned);
    Ok(Message {
        mn: text(&m.mn).unwrap_or_default(),
        st: text(&m.st).unwrap_or_default(),
        cn: cn.to_owned(),
        data_time_ms,
        qn: text(&m.qn),
        rf: m.rf.as_deref() == Some("1"),
        recv_us,
        evidence,
        values,
    })
}

/// The layout files are written in, under [`LAYOUT_KEY`] in their key-value metadata (files
/// without it are layout 1).
pub const LAYOUT: &str = "2";
pub const LAYOUT_KEY: &str = "ecowarden.layout";

/// The Parquet (Arrow) schema of the archive (layout 2; layout 1 has no `decimals` and a
/// `value` on every row).
pub fn schema() -> SchemaRef {
    let ts = |unit, tz: &str| DataType::Timestamp(unit, Some(tz.into()));
    Arc::new(Schema::new(vec![
        Field::new("mn", DataType::Utf8, false),
        Field::new("st", DataType::Utf8, false),
        Field::new("cn", DataType::Utf8, false),
        Field::new("data_time", ts(TimeUnit::Millisecond, "+08:00"), false),
        Field::new("qn", DataType::Utf8, true),
        Field::new("rf", DataType::Boolean, false),
        Field::new("factor", DataType::Utf8, false),
        Field::new("field", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        Field::new("num", DataType::Float64, true),
        Field::new("flag", DataType::Utf8, true),
        Field::new("recv_time", ts(TimeUnit::Microsecond, "UTC"), false),
        Field::new("evidence", DataType::Int64, false),
        Field::new("decimals", DataType::Int8, true),
    ]))
}

/// Column indices of [`schema`] (the same in layout 1, which ends before `DECIMALS`).
mod col {
    pub const MN: usize = 0;
    pub const ST: usize = 1;
    pub const CN: usize = 2;
    pub const DATA_TIME: usize = 3;
    pub const QN: usize = 4;
    pub const RF: usize = 5;
    pub const FACTOR: usize = 6;
    pub const FIELD: usize = 7;
    pub const VALUE: usize = 8;
    pub const NUM: usize = 9;
    pub const FLAG: usize = 10;
    pub const RECV_TIME: usize = 11;
    pub const EVIDENCE: usize = 12;
    pub const DECIMALS: usize = 13;
}

/// Rows per row group: small enough that statistics on `mn` skip most of a file when a
/// page reads one station.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Files of fewer rows than this (one row group) are compressed with Snappy, larger ones with
/// zstd. The Parquet writer makes a zstd compressor and decompressor for every column chunk:
/// on a partition of a few thousand rows (a day of a city's fifty outlets) that setup costs
/// more than compressing, and Snappy, which needs none, writes a month's import 0.09 CPU-s
/// (14%) faster for 16% more bytes. A day of a city of hundreds of outlets is zstd's.
const SNAPPY_BELOW_ROWS: usize = ROW_GROUP_ROWS;

/// How a file of `rows` rows is written.
fn writer_properties(rows: usize) -> WriterProperties {
    let codec = if rows < SNAPPY_BELOW_ROWS {
        Compression::SNAPPY
    } else {
        Compression::ZSTD(ZstdLevel::try_new(1).expect("valid level"))
    };
    let mut b = WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by("ecowarden".into())
        .set_key_value_metadata(Some(vec![KeyValue::new(
            LAYOUT_KEY.to_owned(),
            LAYOUT.to_owned(),
        )]))
        // Statistics where readers prune (station, command, time); on the values they cost
        // a comparison per row and prune nothing.
        .set_statistics_enabled(EnabledStatistics::None);
    for c in ["mn", "cn", "data_time"] {
        b = b.set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::Page);
    }
    // Sorted as layout 2 sorts them, the keys and times are long runs that the dictionary,
    // run-length and delta encodings already store in a few bytes: zstd on them would only
    // cost a compressor per column and file to write and a decompression per page to read.
    // `value` holds only the values that are not numbers: mostly nulls, a few bits each.
    for c in [
        "mn",
        "st",
        "cn",
        "data_time",
        "qn",
        "rf",
        "factor",
        "field",
        "value",
        "flag",
        "decimals",
    ] {
        b = b.set_column_compression(ColumnPath::from(c), Compression::UNCOMPRESSED);
    }
    // Times and positions rise within a series: deltas pack them into a few bits.
    for c in ["data_time", "recv_time", "evidence"] {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(c), false)
            .set_column_encoding(ColumnPath::from(c), Encoding::DELTA_BINARY_PACKED);
    }
    b = b
        .set_column_dictionary_enabled(ColumnPath::from("num"), false)
        .set_column_encoding(ColumnPath::from("num"), Encoding::BYTE_STREAM_SPLIT);
    b.build()
}

/// The digits after the point with which the number gives `text` back exactly, if it does:
/// then the file keeps the number and those digits, not the text. That holds for a decimal in
/// its plain form (no `+`, no leading zero, no `-0`) below 2^52 in its last digit: its nearest
/// double, written with as many digits, rounds back to it.
fn decimals_of(text: &str, d: hj212::Decimal) -> Option<i8> {
    let digits = text.strip_prefix('-').unwrap_or(text).as_bytes();
    let leading_zero = digits.len() > 1 && digits[0] == b'0' && digits[1] != b'.';
    let negative_zero = text.starts_with('-') && d.mantissa() == 0;
    let plain = !(text.starts_with('+') || leading_zero || negative_zero);
    (plain && d.mantissa().unsigned_abs() < 1 << 52).then(|| d.scale() as i8)
}

/// A value's text from its number and digits (the inverse of [`decimals_of`]).
fn text_of(num: f64, decimals: i8) -> CompactString {
    compact_str::format_compact!("{num:.prec$}", prec = decimals.max(0) as usize)
}

/// The rows of messages (sorted by MN, CN, `DataTime`) in layout 2's order: each station's
/// values by factor, field and then `DataTime`, without the implied flags.
///
/// A station's messages nearly always carry the same keys, so each distinct (factor, field)
/// is ranked once and the rows are placed by rank (a counting sort, stable: a series keeps
/// the messages' order, which is by time), not compared as strings row against row.
fn file_rows<'a>(messages: &[&'a Message]) -> Vec<(&'a Message, usize)> {
    let mut rows = Vec::with_capacity(messages.iter().map(|m| m.values.len()).sum());
    // The station's distinct keys in the order first seen; each row's index into them.
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut key_of: Vec<u32> = Vec::new();
    // The key indices of the values of the last message whose keys differed from its
    // predecessor's.
    let mut layout: Vec<u32> = Vec::new();
    for station in messages.chunk_by(|a, b| a.mn == b.mn && a.cn == b.cn) {
        let start = rows.len();
        keys.clear();
        key_of.clear();
        let mut last: Option<&Message> = None;
        for m in station {
            let same = last.is_some_and(|p| {
                p.values.len() == m.values.len()
                    && p.values
                        .iter()
                        .zip(&m.values)
                        .all(|(a, b)| same_code(&a.factor, &b.factor) && a.field == b.field)
            });
            if !same {
                layout.clear();
                for v in &m.values {
                    let k = (&*v.factor, v.field.as_str());
                    let i = keys.iter().position(|x| *x == k).unwrap_or_else(|| {
                        keys.push(k);
                        keys.len() - 1
                    });
                    layout.push(i as u32);
                }
                last = Some(m);
            }
            // `layout` has one entry per value of `m` (its keys are the last layout's).
            for (i, &k) in layout.iter().enumerate() {
                if !implied_flag(&m.values, i) {
                    rows.push((*m, i));
                    key_of.push(k);
                }
            }
        }
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&k| keys[k]);
        let mut rank = vec![0; keys.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k] = r;
        }
        // Where each rank's rows start, then each row placed at its rank's next slot.
        let mut next = vec![0usize; keys.len() + 1];
        for &k in &key_of {
            next[rank[k as usize] + 1] += 1;
        }
        for r in 1..next.len() {
            next[r] += next[r - 1];
        }
        let station_rows = rows.split_off(start);
        let mut placed: Vec<Option<(&Message, usize)>> = vec![None; station_rows.len()];
        for (row, &k) in station_rows.into_iter().zip(&key_of) {
            let slot = &mut next[rank[k as usize]];
            placed[*slot] = Some(row);
            *slot += 1;
        }
        rows.extend(placed.into_iter().map(|r| r.expect("every slot filled")));
    }
    rows
}

/// Rows (message, value index) as one record batch.
fn to_batch(rows: &[(&Message, usize)]) -> RecordBatch {
    let n = rows.len();
    // Text columns sized as if every row's text were as long as the first row's: a file's
    // MNs, commands, QNs and codes are nearly all of one length, so the builders seldom grow
    // (each growth copies what they hold).
    let (m0, v0) = rows
        .first()
        .map_or((None, None), |&(m, i)| (Some(m), Some(&m.values[i])));
    let text = |len: Option<usize>| StringBuilder::with_capacity(n, n * len.unwrap_or(0));
    let mut mn = text(m0.map(|m| m.mn.len()));
    let mut st = text(m0.map(|m| m.st.len()));
    let mut cn = text(m0.map(|m| m.cn.len()));
    let mut data_time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("+08:00");
    let mut qn = text(m0.and_then(|m| m.qn.as_ref()).map(String::len));
    let mut rf = BooleanBuilder::with_capacity(n);
    let mut factor = text(v0.map(|v| v.factor.len()));
    let mut field = text(v0.map(|v| v.field.len()));
    let mut value = StringBuilder::new();
    let mut num = Float64Builder::with_capacity(n);
    let mut flag = text(v0.and_then(|v| v.flag.as_ref()).map(|f| f.len()));
    let mut recv = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut evidence = Int64Builder::with_capacity(n);
    let mut decimals = Int8Builder::with_capacity(n);
    for &(m, i) in rows {
        let v = &m.values[i];
        mn.append_value(&m.mn);
        st.append_value(&m.st);
        cn.append_value(&m.cn);
        data_time.append_value(m.data_time_ms);
        qn.append_option(m.qn.as_deref());
        rf.append_value(m.rf);
        factor.append_value(&v.factor);
        field.append_value(&v.field);
        let parsed = hj212::Decimal::parse(&v.value);
        let d = parsed.and_then(|p| decimals_of(&v.value, p));
        value.append_option(d.is_none().then_some(v.value.as_str()));
        num.append_option(parsed.map(hj212::Decimal::to_f64));
        decimals.append_option(d);
        flag.append_option(v.flag.as_deref());
        recv.append_value(m.recv_us);
        evidence.append_value(m.evidence.0 as i64);
    }
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(mn.finish()),
            Arc::new(st.finish()),
            Arc::new(cn.finish()),
            Arc::new(data_time.finish()),
            Arc::new(qn.finish()),
            Arc::new(rf.finish()),
            Arc::new(factor.finish()),
            Arc::new(field.finish()),
            Arc::new(value.finish()),
            Arc::new(num.finish()),
            Arc::new(flag.finish()),
            Arc::new(recv.finish()),
            Arc::new(evidence.finish()),
            Arc::new(decimals.finish()),
        ],
    )
    .expect("columns match the schema")
}

/// What a file holds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub bytes: u64,
    /// Values (rows), and how many of them are numbers (measurements).
    pub rows: u64,
    pub measurements: u64,
}

/// A factor's `Flag` value that the `flag` column of its other rows carries: not stored as
/// a row of its own (a fifth of all values), restored when read ([`Message::restore_flags`]).
fn implied_flag(values: &[Value], i: usize) -> bool {
    let v = &values[i];
    let same = |j: usize| values.get(j).is_some_and(|w| w.factor == v.factor);
    v.field == "Flag"
        && v.flag.as_deref() == Some(v.value.as_str())
        && ((i > 0 && same(i - 1)) || same(i + 1))
}

/// Writes messages (sorted by MN, CN and `DataTime`: [`sort_messages`]) to `path` in layout 2,
/// through a temporary file, then renamed: a file with the final name was written whole. It
/// is not synced: a caller that needs it on disk calls [`sync_all`] with it and its
/// directories (the compactor does, before its checkpoint).
pub fn write_file(path: &Path, messages: &[&Message]) -> io::Result<Written> {
    let tmp = path.with_extension("parquet.tmp");
    let written = write_rows(&tmp, &file_rows(messages))?;
    std::fs::rename(&tmp, path)?;
    Ok(written)
}

fn write_rows(path: &Path, rows: &[(&Message, usize)]) -> io::Result<Written> {
    let file = File::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(writer_properties(rows.len())))
        .map_err(io::Error::other)?;
    // Batches of a row group keep the builders' memory bounded.
    let mut written = Written::default();
    for chunk in rows.chunks(ROW_GROUP_ROWS) {
        let batch = to_batch(chunk);
        written.rows += batch.num_rows() as u64;
        written.measurements += (batch.num_rows() - batch.column(col::NUM).null_count()) as u64;
        w.write(&batch).map_err(io::Error::other)?;
    }
    let file = w.into_inner().map_err(io::Error::other)?;
    written.bytes = file.metadata()?.len();
    Ok(written)
}

/// The layout of an archive file ([`LAYOUT_KEY`]; "1" without it).
pub fn layout_of(path: &Path) -> anyhow::Result<String> {
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(File::open(path)?)?;
    let kv = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == LAYOUT_KEY))
        .and_then(|e| e.value.clone());
    Ok(kv.unwrap_or_else(|| "1".into()))
}

/// Rewrites a file of an older layout in [`LAYOUT`], value for value: read whole, written
/// beside it and synced, then renamed over it (a crash leaves the old file or the new one,
/// and a `.tmp` that the compactor's next open removes). False when it was current already.
pub fn migrate_file(path: &Path) -> anyhow::Result<bool> {
    if layout_of(path)? == LAYOUT {
        return Ok(false);
    }
    let messages = read::read_file(path, &read::Filter::default())?;
    let mut refs: Vec<&Message> = messages.iter().collect();
    sort_messages(&mut refs);
    let tmp = path.with_extension("parquet.tmp");
    write_rows(&tmp, &file_rows(&refs))?;
    File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(true)
}

/// Threads that call `fsync` at once in [`sync_all`].
const SYNC_THREADS: usize = 16;

/// Syncs files and directories, many at a time: the file system commits concurrent syncs
/// together, so 570 of them (a month of 9 cities: files, their directories and the dates'
/// directories) take 0.31 s here instead of 1.8 s one after the other.
pub fn sync_all(paths: &[PathBuf]) -> io::Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..SYNC_THREADS.min(paths.len()))
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = paths.get(i) else {
                            return Ok(());
                        };
                        File::open(path)?.sync_all()?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a sync thread panicked"))
    })
}

/// Messages being rebuilt from a file's rows: by MN and CN, then `DataTime`.
pub(crate) type Rebuilt = BTreeMap<(String, String), BTreeMap<i64, Message>>;

/// Adds a batch of rows to the messages they belong to, in either layout (rows of a station
/// are adjacent in both; a message's rows are adjacent in layout 1 only).
pub(crate) fn from_batch(
    b: &RecordBatch,
    keep: impl Fn(&str, &str, i64) -> bool,
    out: &mut Rebuilt,
) {
    fn strings(b: &RecordBatch, i: usize) -> &StringArray {
        b.column(i).as_any().downcast_ref().expect("utf8 column")
    }
    let mn = strings(b, col::MN);
    let st = strings(b, col::ST);
    let cn = strings(b, col::CN);
    let dt: &TimestampMillisecondArray = b
        .column(col::DATA_TIME)
        .as_any()
        .downcast_ref()
        .expect("timestamp column");
    let qn = strings(b, col::QN);
    let rf: &BooleanArray = b.column(col::RF).as_any().downcast_ref().expect("bool");
    let factor = strings(b, col::FACTOR);
    let field = strings(b, col::FIELD);
    let value = strings(b, col::VALUE);
    let num: &Float64Array = b.column(col::NUM).as_any().downcast_ref().expect("f64");
    let flag = strings(b, col::FLAG);
    let recv: &TimestampMicrosecondArray = b
        .column(col::RECV_TIME)
        .as_any()
        .downcast_ref()
        .expect("timestamp column");
    let evidence: &Int64Array = b
        .column(col::EVIDENCE)
        .as_any()
        .downcast_ref()
        .expect("int64 column");
    let decimals: Option<&Int8Array> = (b.num_columns() > col::DECIMALS)
        .then(|| b.column(col::DECIMALS).as_any().downcast_ref())
        .flatten();
    let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    let (mut last_factor, mut last_flag): (Option<Arc<str>>, Option<Arc<str>>) = (None, None);
    let mut i = 0;
    while i < b.num_rows() {
        // A station's rows, found once in the map.
        let (m, c) = (mn.value(i), cn.value(i));
        let end = (i + 1..b.num_rows())
            .find(|&j| mn.value(j) != m || cn.value(j) != c)
            .unwrap_or(b.num_rows());
        let station = out.entry((m.to_owned(), c.to_owned())).or_default();
        for i in i..end {
            let t = dt.value(i);
            if !keep(m, c, t) {
                continue;
            }
            // A factor's code and flag are shared by its values, not copied per row.
            let (f, fl) = (factor.value(i), (!flag.is_null(i)).then(|| flag.value(i)));
            if last_factor.as_deref() != Some(f) {
                last_factor = Some(Arc::from(f));
            }
            if last_flag.as_deref() != fl {
                last_flag = fl.map(Arc::from);
            }
            let text = match decimals.filter(|d| value.is_null(i) && !d.is_null(i)) {
                Some(d) => text_of(num.value(i), d.value(i)),
                None => value.value(i).into(),
            };
            let v = Value {
                factor: last_factor.clone().expect("set above"),
                field: field.value(i).into(),
                value: text,
                flag: last_flag.clone(),
            };
            station
                .entry(t)
                .or_insert_with(|| Message {
                    mn: m.to_owned(),
                    st: st.value(i).to_owned(),
                    cn: c.to_owned(),
                    data_time_ms: t,
                    qn: opt(qn, i),
                    rf: rf.value(i),
                    recv_us: recv.value(i),
                    evidence: Pos(evidence.value(i) as u64),
                    values: Vec::new(),
                })
                .values
                .push(v);
        }
        i = end;
    }
}

/// Orders messages as files store them.
pub fn sort_messages(messages: &mut [&Message]) {
    messages.sort_by(|a, b| (&a.mn, &a.cn, a.data_time_ms).cmp(&(&b.mn, &b.cn, b.data_time_ms)));
}

/// `date=YYYY-MM-DD/region=XXXXXX` under the archive directory.
pub fn partition_dir(archive: &Path, date: NaiveDate, region: &str) -> PathBuf {
    archive
        .join(format!("date={date}"))
        .join(format!("region={region}"))
}

/// The Parquet files of the archive, by partition, for dates in `[from, to]` (inclusive;
/// either may be open).
pub fn files(
    archive: &Path,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> io::Result<Vec<(NaiveDate, String, PathBuf)>> {
    let mut out = Vec::new();
    for (date, date_dir) in subdirs(archive, "date=")? {
        let Ok(date) = date.parse::<NaiveDate>() else {
            continue;
        };
        if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
            continue;
        }
        for (region, dir) in subdirs(&date_dir, "region=")? {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "parquet") {
                    out.push((date, region.clone(), path));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Subdirectories named `{prefix}{value}`, as (value, path), sorted.
fn subdirs(dir: &Path, prefix: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(v) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
        {
            out.push((v.to_owned(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;

    pub(crate) fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ew-archive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The rows of messages in message order, without the implied flags.
    fn message_rows<'a>(messages: &[&'a Message]) -> Vec<(&'a Message, usize)> {
        messages
            .iter()
            .flat_map(|m| {
                (0..m.values.len())
                    .filter(|&i| !implied_flag(&m.values, i))
                    .map(move |i| (*m, i))
            })
            .collect()
    }

    /// Writes messages as layout 1 did (rows in message order, every value's text, no
    /// `decimals`, no layout key): the files archives written before layout 2 hold.
    pub(crate) fn write_layout1(path: &Path, messages: &[&Message]) {
        let rows = message_rows(messages);
        let b = to_batch(&rows);
        let mut columns = b.columns()[..col::DECIMALS].to_vec();
        columns[col::VALUE] = Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(m, i)| m.values[*i].value.as_str()),
        ));
        let mut fields: Vec<Field> = schema().fields()[..col::DECIMALS]
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[col::VALUE] = Field::new("value", DataType::Utf8, false);
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut w = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn value(factor: &str, field: &str, text: &str, flag: Option<&str>) -> Value {
        Value {
            factor: Arc::from(factor),
            field: field.into(),
            value: text.into(),
            flag: flag.map(Arc::from),
        }
    }

    /// Two stations, two commands, three times; texts that are numbers as written, and
    /// texts that a number would not give back.
    pub(crate) fn messages() -> Vec<Message> {
        let texts = [
            "12.50",
            "N",
            "+1.5",
            "012",
            "-0.0",
            "0.000",
            "-3",
            "1e3",
            "123456789012345678",
            "7.",
            "35.6",
        ];
        let mut out = Vec::new();
        for (s, mn) in ["88888880000001", "88888880000002"].iter().enumerate() {
            for cn in ["2051", "2061"] {
                for k in 0..3i64 {
                    let pick = |j: usize| texts[(j + 5 * (k as usize + 3 * s)) % texts.len()];
                    let mut values = vec![
                        value("a21026", "Avg", pick(0), Some("N")),
                        value("a21026", "Flag", "N", Some("N")),
                        value("a21026", "Max", pick(1), Some("N")),
                        value("a34013", "Avg", pick(2), Some("D")),
                        value("a34013", "Flag", "D", Some("D")),
                        value("a34013", "Min", pick(3), Some("D")),
                        value("w01018", "Avg", pick(4), None),
                        value("", "RestartTime", "20261201000000", None),
                    ];
                    values.sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
                    out.push(Message {
                        mn: (*mn).into(),
                        st: "31".into(),
                        cn: cn.into(),
                        data_time_ms: 1_793_462_400_000 + k * 600_000,
                        qn: (k == 1).then(|| "20261101000000123".into()),
                        rf: k == 2,
                        recv_us: 1_793_462_400_000_000 + k,
                        evidence: Pos(1000 + k as u64),
                        values,
                    });
                }
            }
        }
        out
    }

    fn sorted(messages: &[Message]) -> Vec<&Message> {
        let mut refs: Vec<&Message> = messages.iter().collect();
        sort_messages(&mut refs);
        refs
    }

    fn read_all(path: &Path) -> Vec<Message> {
        read::read_file(path, &read::Filter::default()).unwrap()
    }

    #[test]
    fn layout_2_gives_every_text_back_and_stores_numbers_without_it() {
        let dir = tmp("layout2");
        let messages = messages();
        let path = dir.join("part.parquet");
        let written = write_file(&path, &sorted(&messages)).unwrap();
        assert_eq!(layout_of(&path).unwrap(), LAYOUT);
        let back = read_all(&path);
        let want: Vec<Message> = sorted(&messages).into_iter().cloned().collect();
        assert_eq!(back, want);
        // Texts kept: only those a number does not give back.
        let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(
            File::open(&path).unwrap(),
            1 << 16,
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
        let kept: BTreeSet<&str> = batch
            .column(col::VALUE)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        let expected = [
            "N",
            "+1.5",
            "012",
            "-0.0",
            "1e3",
            "123456789012345678",
            "7.",
        ];
        assert_eq!(kept, BTreeSet::from(expected));
        assert_eq!(written.rows, batch.num_rows() as u64);
        // Each station's series is one run: factor and field change only between runs.
        let keys: Vec<(String, String, String, String)> = (0..batch.num_rows())
            .map(|i| {
                let s = |c: usize| {
                    let a: &StringArray = batch.column(c).as_any().downcast_ref().unwrap();
                    a.value(i).to_owned()
                };
                (s(col::MN), s(col::CN), s(col::FACTOR), s(col::FIELD))
            })
            .collect();
        let runs = keys.chunk_by(|a, b| a == b).count();
        let distinct: BTreeSet<_> = keys.iter().collect();
        assert_eq!(runs, distinct.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file smaller than a row group is Snappy, a larger one zstd; the keys and the texts
    /// are never compressed; both read back as written.
    #[test]
    fn a_small_file_is_snappy_and_one_of_a_row_group_zstd() {
        use parquet::basic::Compression as C;
        use parquet::file::reader::FileReader;
        let dir = tmp("codecs");
        let codecs = |path: &Path| -> Vec<(usize, C)> {
            let reader = parquet::file::serialized_reader::SerializedFileReader::new(
                File::open(path).unwrap(),
            )
            .unwrap();
            let meta = reader.metadata();
            [col::MN, col::VALUE, col::NUM, col::EVIDENCE]
                .into_iter()
                .map(|c| (c, meta.row_group(0).column(c).compression()))
                .collect()
        };
        let small = messages();
        let path = dir.join("small.parquet");
        write_file(&path, &sorted(&small)).unwrap();
        assert_eq!(
            codecs(&path),
            [
                (col::MN, C::UNCOMPRESSED),
                (col::VALUE, C::UNCOMPRESSED),
                (col::NUM, C::SNAPPY),
                (col::EVIDENCE, C::SNAPPY)
            ]
        );
        let large: Vec<Message> = (0..SNAPPY_BELOW_ROWS as i64 / 4)
            .map(|i| {
                let mut m = small[0].clone();
                m.data_time_ms += i * 600_000;
                m
            })
            .collect();
        let path = dir.join("large.parquet");
        let written = write_file(&path, &sorted(&large)).unwrap();
        assert!(written.rows >= SNAPPY_BELOW_ROWS as u64, "{written:?}");
        let zstd = C::ZSTD(ZstdLevel::try_new(1).unwrap());
        assert_eq!(
            codecs(&path),
            [
                (col::MN, C::UNCOMPRESSED),
                (col::VALUE, C::UNCOMPRESSED),
                (col::NUM, zstd),
                (col::EVIDENCE, zstd)
            ]
        );
        assert_eq!(read_all(&path), large);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_rows_place_rows_as_a_sort_by_key_then_time_would() {
        let mut messages = messages();
        // Messages whose keys differ from their neighbours': one more, one fewer.
        messages[1].values.push(value("a00000", "Avg", "1", None));
        messages[1]
            .values
            .sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
        messages[4].values.retain(|v| &*v.factor != "a34013");
        let refs = sorted(&messages);
        let mut want = Vec::new();
        for station in refs.chunk_by(|a, b| a.mn == b.mn && a.cn == b.cn) {
            let mut rows = message_rows(station);
            rows.sort_by(|(a, i), (b, j)| {
                let (x, y) = (&a.values[*i], &b.values[*j]);
                (&x.factor, &x.field).cmp(&(&y.factor, &y.field))
            });
            want.extend(rows);
        }
        let key = |rows: Vec<(&Message, usize)>| -> Vec<(String, String, i64, usize)> {
            rows.into_iter()
                .map(|(m, i)| (m.mn.clone(), m.cn.clone(), m.data_time_ms, i))
                .collect()
        };
        assert_eq!(key(file_rows(&refs)), key(want));
    }

    #[test]
    fn a_view_of_a_frame_archives_as_its_owned_message() {
        let segment = "QN=20261101000000123;ST=31;CN=2061;PW=123456;MN=88888880000001;Flag=5;\
                       CP=&&DataTime=20261101080000;a21026-Avg=12.5,a21026-Flag=N;\
                       a34013-flag=D,a34013-Min=1;RestartTime=20261101000000;\
                       a21026-Avg=13,a21026-Max=20&&";
        let opts = hj212::Options::lenient();
        let view = hj212::MessageView::parse_segment(segment.as_bytes(), 0, &opts).unwrap();
        let owned = hj212::Message::parse_segment(segment.as_bytes(), 0, &opts).unwrap();
        let got = from_view(&view, 7, Pos(9), &mut Codes::default()).unwrap();
        assert_eq!(
            Ok(got.clone()),
            from_hj212(owned, 7, Pos(9), &mut Codes::default())
        );
        let texts: Vec<(&str, &str, &str, Option<&str>)> = got
            .values
            .iter()
            .map(|v| {
                (
                    &*v.factor,
                    v.field.as_str(),
                    v.value.as_str(),
                    v.flag.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            texts,
            [
                ("", "RestartTime", "20261101000000", None),
                ("a21026", "Avg", "12.5", Some("N")),
                ("a21026", "Flag", "N", Some("N")),
                ("a21026", "Max", "20", Some("N")),
                ("a34013", "Min", "1", Some("D")),
                ("a34013", "flag", "D", Some("D")),
            ]
        );
        assert_eq!(got.qn.as_deref(), Some("20261101000000123"));
        assert_eq!((got.mn.as_str(), got.st.as_str()), ("88888880000001", "31"));
    }

    proptest::proptest! {
        /// The values come out as a stable sort by factor and field would put them, the
        /// first of a key sent twice kept: codes in any order, a key twice, plain keys.
        #[test]
        fn values_come_sorted_by_factor_then_field_the_first_of_a_key_kept(
            items in proptest::collection::vec((0usize..6, 0usize..5, 0u32..100), 1..30)
        ) {
            const CODES: [&str; 5] = ["a34013", "a21026", "w01018", "a19001", "a01011"];
            const FIELDS: [&str; 5] = ["Avg", "Min", "Max", "Flag", "Rtd"];
            let cp: Vec<String> = items
                .iter()
                .map(|&(c, f, v)| match CODES.get(c) {
                    Some(code) => format!("{code}-{}={v}", FIELDS[f]),
                    None => format!("Key{f}={v}"),
                })
                .collect();
            let segment = format!(
                "QN=20261101000000123;ST=31;CN=2061;PW=123456;MN=88888880000001;Flag=4;\
                 CP=&&DataTime=20261101080000;{}&&",
                cp.join(";")
            );
            let view = hj212::MessageView::parse_segment(
                segment.as_bytes(),
                0,
                &hj212::Options::lenient(),
            )
            .unwrap();
            let got = from_view(&view, 7, Pos(9), &mut Codes::default()).unwrap();
            let mut want: Vec<(String, String, String)> = view
                .cp
                .fields
                .iter()
                .map(|(i, f, v)| (view.cp.codes[*i].to_string(), f.to_string(), v.to_string()))
                .chain(
                    view.cp.other.iter().map(|(f, v)| (String::new(), f.to_string(), v.to_string())),
                )
                .collect();
            want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            want.dedup_by(|b, a| (&a.0, &a.1) == (&b.0, &b.1));
            let got: Vec<(String, String, String)> = got
                .values
                .iter()
                .map(|v| (v.factor.to_string(), v.field.to_string(), v.value.to_string()))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn layout_1_files_read_as_before_and_migrate_value_for_value() {
        let dir = tmp("layout1");
        let messages = messages();
        let path = dir.join("part.parquet");
        write_layout1(&path, &sorted(&messages));
        assert_eq!(layout_of(&path).unwrap(), "1");
        let want: Vec<Message> = sorted(&messages).into_iter().cloned().collect();
        assert_eq!(read_all(&path), want);
        assert!(migrate_file(&path).unwrap());
        assert_eq!(layout_of(&path).unwrap(), LAYOUT);
        assert_eq!(read_all(&path), want);
        assert!(!migrate_file(&path).unwrap(), "already current");
        assert!(!path.with_extension("parquet.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_filter_reads_one_station_factor_and_time_from_layout_2() {
        let dir = tmp("filter");
        let messages = messages();
        let path = dir.join("part.parquet");
        write_file(&path, &sorted(&messages)).unwrap();
        let filter = read::Filter {
            mns: Some(HashSet::from(["88888880000002".to_owned()])),
            cns: Some(HashSet::from(["2061".to_owned()])),
            factor: Some("a34013".into()),
            from_ms: Some(1_793_462_400_000 + 600_000),
            to_ms: None,
        };
        let got = read::read_file(&path, &filter).unwrap();
        let mut want: Vec<Message> = messages
            .into_iter()
            .filter(|m| m.mn == "88888880000002" && m.cn == "2061")
            .filter(|m| m.data_time_ms >= 1_793_462_400_000 + 600_000)
            .collect();
        for m in &mut want {
            m.values.retain(|v| &*v.factor == "a34013");
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
