//! The monitoring archive (监测数据归档): every value of every data upload that the receiver
//! accepted, in Parquet, derived from the evidence log by the [`compact`] compactor.
//!
//! Layout: `DATA/archive/date=YYYY-MM-DD/region=XXXXXX/part-*.parquet` (Hive-style, so
//! DuckDB, Spark and DataFusion read the partitions as columns), partitioned by the date of
//! `DataTime` (Beijing time) and the city-level region the outlet reports to. One row per
//! value: the columns are [`schema`]; a file's rows are sorted by MN, CN, `DataTime`, factor
//! and field, so a station's series is contiguous and row-group statistics on `mn` prune.
//!
//! A value is identified by (MN, CN, `DataTime`, factor, field) and stored once: a message
//! sent again (no ack received, or 2025 back-fill with `RF=1`) adds only values not already
//! archived, and the parts of a split message, archived as they come, complete each other.
//! Values stay the exact text sent (`value`), with `num` its number for analysis and `flag`
//! the factor's data flag (QA: N, M, D, C, …). `evidence` is the position of the frame in the
//! evidence log, so each value leads back to the bytes the logger sent.

pub mod compact;
pub mod query;
mod read;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{
    Array, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
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
    /// `Avg`, `Rtd`, `Flag`, … (or the plain key).
    pub field: String,
    /// The text sent.
    pub value: String,
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
                    value: flag.to_string(),
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

/// The archived form of a parsed upload.
pub fn from_hj212(m: hj212::Message, recv_us: i64, evidence: Pos) -> Result<Message, Skip> {
    let cn = m.cn.unwrap_or_default();
    if !is_data(&cn) {
        return Err(Skip::NotData);
    }
    let t = m.cp.data_time().ok_or(Skip::NoDataTime)?;
    let data_time_ms = t.unix_seconds() * 1000 + i64::from(t.millis.unwrap_or(0));
    let mut values = Vec::new();
    for f in m.cp.factors {
        let flag: Option<Arc<str>> = f.get("Flag").or_else(|| f.get("flag")).map(Arc::from);
        let code: Arc<str> = Arc::from(f.code);
        for (field, value) in f.fields {
            values.push(Value {
                factor: code.clone(),
                field,
                value,
                flag: flag.clone(),
            });
        }
    }
    for (field, value) in m.cp.other {
        values.push(Value {
            factor: Arc::from(""),
            field,
            value,
            flag: None,
        });
    }
    values.sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
    // A key sent twice in one message: the first is kept, as the codec reads it.
    values.dedup_by(|b, a| a.factor == b.factor && a.field == b.field);
    Ok(Message {
        mn: m.mn.unwrap_or_default(),
        st: m.st.unwrap_or_default(),
        cn,
        data_time_ms,
        qn: m.qn,
        rf: m.rf.as_deref() == Some("1"),
        recv_us,
        evidence,
        values,
    })
}

/// The Parquet (Arrow) schema of the archive.
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
        Field::new("value", DataType::Utf8, false),
        Field::new("num", DataType::Float64, true),
        Field::new("flag", DataType::Utf8, true),
        Field::new("recv_time", ts(TimeUnit::Microsecond, "UTC"), false),
        Field::new("evidence", DataType::Int64, false),
    ]))
}

/// Column indices of [`schema`].
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
}

/// Rows per row group: small enough that statistics on `mn` skip most of a file when a
/// page reads one station.
const ROW_GROUP_ROWS: usize = 128 * 1024;

fn writer_properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("valid level"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by("ecowarden".into())
        // Statistics where readers prune (station, command, time); on the values they cost
        // a comparison per row and prune nothing.
        .set_statistics_enabled(EnabledStatistics::None);
    for c in ["mn", "cn", "data_time"] {
        b = b.set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::Page);
    }
    // Times and positions rise within a station: deltas pack them into a few bits.
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

/// The messages (sorted by MN, CN, `DataTime`) as one record batch of rows.
pub fn to_batch<'a>(messages: impl IntoIterator<Item = &'a Message>) -> RecordBatch {
    let mut mn = StringBuilder::new();
    let mut st = StringBuilder::new();
    let mut cn = StringBuilder::new();
    let mut data_time = TimestampMillisecondBuilder::new().with_timezone("+08:00");
    let mut qn = StringBuilder::new();
    let mut rf = BooleanBuilder::new();
    let mut factor = StringBuilder::new();
    let mut field = StringBuilder::new();
    let mut value = StringBuilder::new();
    let mut num = Float64Builder::new();
    let mut flag = StringBuilder::new();
    let mut recv = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut evidence = Int64Builder::new();
    for m in messages {
        for (i, v) in m.values.iter().enumerate() {
            if implied_flag(&m.values, i) {
                continue;
            }
            mn.append_value(&m.mn);
            st.append_value(&m.st);
            cn.append_value(&m.cn);
            data_time.append_value(m.data_time_ms);
            qn.append_option(m.qn.as_deref());
            rf.append_value(m.rf);
            factor.append_value(&v.factor);
            field.append_value(&v.field);
            value.append_value(&v.value);
            num.append_option(hj212::Decimal::parse(&v.value).map(hj212::Decimal::to_f64));
            flag.append_option(v.flag.as_deref());
            recv.append_value(m.recv_us);
            evidence.append_value(m.evidence.0 as i64);
        }
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

/// Writes messages to `path` through a temporary file, then renamed: a file with the final
/// name was written whole. It is not synced: a caller that needs it on disk calls
/// [`sync_all`] with it and its directories (the compactor does, before its checkpoint).
pub fn write_file(path: &Path, messages: &[&Message]) -> io::Result<Written> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp)?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(writer_properties()))
        .map_err(io::Error::other)?;
    // Batches of about a row group keep the builders' memory bounded.
    let mut written = Written::default();
    let mut start = 0;
    while start < messages.len() {
        let mut rows = 0;
        let mut end = start;
        while end < messages.len() && rows < ROW_GROUP_ROWS {
            rows += messages[end].values.len();
            end += 1;
        }
        let batch = to_batch(messages[start..end].iter().copied());
        written.rows += batch.num_rows() as u64;
        written.measurements += (batch.num_rows() - batch.column(col::NUM).null_count()) as u64;
        w.write(&batch).map_err(io::Error::other)?;
        start = end;
    }
    let file = w.into_inner().map_err(io::Error::other)?;
    written.bytes = file.metadata()?.len();
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(written)
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

/// Rebuilds messages from a batch of rows (rows of one message are adjacent).
pub fn from_batch(b: &RecordBatch, keep: impl Fn(&str, &str, i64) -> bool) -> Vec<Message> {
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
    let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_owned());
    let mut out: Vec<Message> = Vec::new();
    let (mut last_factor, mut last_flag): (Option<Arc<str>>, Option<Arc<str>>) = (None, None);
    for i in 0..b.num_rows() {
        let (m, c, t) = (mn.value(i), cn.value(i), dt.value(i));
        if !keep(m, c, t) {
            continue;
        }
        // Rows of a factor are adjacent: its code and flag are shared, not copied per row.
        let (f, fl) = (factor.value(i), (!flag.is_null(i)).then(|| flag.value(i)));
        if last_factor.as_deref() != Some(f) {
            last_factor = Some(Arc::from(f));
        }
        if last_flag.as_deref() != fl {
            last_flag = fl.map(Arc::from);
        }
        let v = Value {
            factor: last_factor.clone().expect("set above"),
            field: field.value(i).to_owned(),
            value: value.value(i).to_owned(),
            flag: last_flag.clone(),
        };
        match out.last_mut() {
            Some(last) if last.mn == m && last.cn == c && last.data_time_ms == t => {
                last.values.push(v)
            }
            _ => out.push(Message {
                mn: m.to_owned(),
                st: st.value(i).to_owned(),
                cn: c.to_owned(),
                data_time_ms: t,
                qn: opt(qn, i),
                rf: rf.value(i),
                recv_us: recv.value(i),
                evidence: Pos(evidence.value(i) as u64),
                values: vec![v],
            }),
        }
    }
    out
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
