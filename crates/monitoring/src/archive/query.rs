//! Reading the archive: by MN, CN, factor and `DataTime` range, from the Parquet files and
//! from the evidence log after the compactor's checkpoint, so data received a moment ago is
//! in every answer. Where the two overlap (or a message was split), values are merged by
//! (MN, CN, `DataTime`, factor, field), the archived value first.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Message, compact, from_batch};
use crate::evidence::{self, Reader};

/// What to read. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub mns: Option<HashSet<String>>,
    pub cns: Option<HashSet<String>>,
    /// Keep only this factor's values (and messages that have some).
    pub factor: Option<String>,
    /// `DataTime` from (inclusive), ms since the Unix epoch.
    pub from_ms: Option<i64>,
    /// `DataTime` to (exclusive).
    pub to_ms: Option<i64>,
}

impl Filter {
    fn keep(&self, mn: &str, cn: &str, t: i64) -> bool {
        self.mns.as_ref().is_none_or(|s| s.contains(mn))
            && self.cns.as_ref().is_none_or(|s| s.contains(cn))
            && self.from_ms.is_none_or(|f| t >= f)
            && self.to_ms.is_none_or(|e| t < e)
    }

    /// Trims a message to the factor asked for; false when nothing is left.
    fn trim(&self, m: &mut Message) -> bool {
        if let Some(f) = &self.factor {
            m.values.retain(|v| *v.factor == **f);
        }
        !m.values.is_empty()
    }

    /// The date partitions that can hold matching messages.
    fn dates(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let date = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.with_timezone(&ecowarden_core::clock::cst()).date_naive())
        };
        (
            self.from_ms.and_then(date),
            self.to_ms.map(|t| t - 1).and_then(date),
        )
    }
}

/// The messages of one Parquet file that match, in file order. Row groups whose `mn`
/// statistics exclude every MN asked for are not read.
pub fn read_file(path: &Path, filter: &Filter) -> anyhow::Result<Vec<Message>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
    let groups: Vec<usize> = builder
        .metadata()
        .row_groups()
        .iter()
        .enumerate()
        .filter(|(_, rg)| {
            let Some(mns) = &filter.mns else { return true };
            let Some(stats) = rg.column(0).statistics() else {
                return true;
            };
            match (stats.min_bytes_opt(), stats.max_bytes_opt()) {
                (Some(lo), Some(hi)) => {
                    mns.iter().any(|m| lo <= m.as_bytes() && m.as_bytes() <= hi)
                }
                _ => true,
            }
        })
        .map(|(i, _)| i)
        .collect();
    let reader = builder
        .with_row_groups(groups)
        .with_batch_size(64 * 1024)
        .build()?;
    let mut out: Vec<Message> = Vec::new();
    for batch in reader {
        for mut m in from_batch(&batch?, |mn, cn, t| filter.keep(mn, cn, t)) {
            if !filter.trim(&mut m) {
                continue;
            }
            // A message cut by a batch boundary continues in the next batch.
            match out.last_mut() {
                Some(last)
                    if last.mn == m.mn
                        && last.cn == m.cn
                        && last.data_time_ms == m.data_time_ms =>
                {
                    last.values.extend(m.values)
                }
                _ => out.push(m),
            }
        }
    }
    out.iter_mut().for_each(Message::restore_flags);
    Ok(out)
}

/// Merged messages of one date, keyed for order.
type Day = BTreeMap<(String, String, i64), Message>;

fn merge_into(day: &mut Day, m: Message) {
    let key = (m.mn.clone(), m.cn.clone(), m.data_time_ms);
    match day.get_mut(&key) {
        None => {
            day.insert(key, m);
        }
        Some(first) => {
            let fresh: Vec<_> = m
                .values
                .into_iter()
                .filter(|v| first.value(&v.factor, &v.field).is_none())
                .collect();
            if !fresh.is_empty() {
                first.values.extend(fresh);
                first
                    .values
                    .sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
            }
        }
    }
}

/// Calls `each` with the matching messages of every date, in date order, each date's sorted
/// by MN, CN and `DataTime`. One date is in memory at a time (plus the log's tail).
pub fn for_each_day(
    data_dir: &Path,
    filter: &Filter,
    mut each: impl FnMut(NaiveDate, Vec<Message>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // The tail first: what the compactor has not reached yet.
    let from = compact::Archive::position(data_dir)?;
    let records = Reader::open(&evidence::dir_in(data_dir), from, None)?
        .collect::<std::io::Result<Vec<_>>>()?;
    let (tail, _) = compact::decode(&records);
    let mut tail_days: BTreeMap<NaiveDate, Vec<Message>> = BTreeMap::new();
    for mut m in tail {
        if filter.keep(&m.mn, &m.cn, m.data_time_ms) && filter.trim(&mut m) {
            tail_days.entry(m.date()).or_default().push(m);
        }
    }
    let (from_date, to_date) = filter.dates();
    let files = super::files(&super::dir_in(data_dir), from_date, to_date)?;
    let mut dates: Vec<NaiveDate> = files.iter().map(|(d, ..)| *d).collect();
    dates.extend(tail_days.keys());
    dates.sort();
    dates.dedup();
    for date in dates {
        let mut day = Day::new();
        for (_, _, path) in files.iter().filter(|(d, ..)| *d == date) {
            let msgs = read_file(path, filter)
                .map_err(|e| e.context(format!("reading {}", path.display())))?;
            msgs.into_iter().for_each(|m| merge_into(&mut day, m));
        }
        for m in tail_days.remove(&date).unwrap_or_default() {
            merge_into(&mut day, m);
        }
        each(date, day.into_values().collect())?;
    }
    Ok(())
}

/// All matching messages, sorted by date, MN, CN and `DataTime` (for pages and the API:
/// keep the filter narrow).
pub fn query(data_dir: &Path, filter: &Filter) -> anyhow::Result<Vec<Message>> {
    let mut out = Vec::new();
    for_each_day(data_dir, filter, |_, msgs| {
        out.extend(msgs);
        Ok(())
    })?;
    Ok(out)
}
