//! Reading one Parquet file of the archive through a [`Filter`]: what the query reads for
//! answers and the compactor for the values a partition already holds. Below both, so neither
//! depends on the other for it.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Message, Rebuilt, from_batch};

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
    pub(super) fn keep(&self, mn: &str, cn: &str, t: i64) -> bool {
        self.mns.as_ref().is_none_or(|s| s.contains(mn))
            && self.cns.as_ref().is_none_or(|s| s.contains(cn))
            && self.from_ms.is_none_or(|f| t >= f)
            && self.to_ms.is_none_or(|e| t < e)
    }

    /// Trims a message to the factor asked for; false when nothing is left.
    pub(super) fn trim(&self, m: &mut Message) -> bool {
        if let Some(f) = &self.factor {
            m.values.retain(|v| *v.factor == **f);
        }
        !m.values.is_empty()
    }

    /// The date partitions that can hold matching messages.
    pub(super) fn dates(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
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

/// The messages of one Parquet file that match, sorted by MN, CN and `DataTime` (layout 1's
/// order). Row groups whose `mn` statistics exclude every MN asked for are not read.
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
    // A message's rows may lie anywhere in its station's rows (layout 2) and a station's in
    // two batches: messages are complete only at the end of the file.
    let mut rebuilt = Rebuilt::new();
    for batch in reader {
        from_batch(&batch?, |mn, cn, t| filter.keep(mn, cn, t), &mut rebuilt);
    }
    let mut out: Vec<Message> = Vec::new();
    for mut m in rebuilt.into_values().flat_map(BTreeMap::into_values) {
        if !m
            .values
            .is_sorted_by(|a, b| (&a.factor, &a.field) <= (&b.factor, &b.field))
        {
            m.values
                .sort_by(|a, b| (&a.factor, &a.field).cmp(&(&b.factor, &b.field)));
        }
        if filter.trim(&mut m) {
            m.restore_flags();
            out.push(m);
        }
    }
    Ok(out)
}
