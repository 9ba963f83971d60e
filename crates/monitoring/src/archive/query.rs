//! Reading the archive: by MN, CN, factor and `DataTime` range, from the Parquet files and
//! from the evidence log after the compactor's checkpoint, so data received a moment ago is
//! in every answer. Where the two overlap (or a message was split), values are merged by
//! (MN, CN, `DataTime`, factor, field), the archived value first.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

pub use super::read::{Filter, read_file};
use super::{Message, compact};
use crate::evidence::{self, Reader};

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
