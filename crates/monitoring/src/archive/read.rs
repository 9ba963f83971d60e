//! Reading one Parquet file of the archive through a [`Filter`]: what the query reads for
//! answers and the compactor for the values a partition already holds. Below both, so neither
//! depends on the other for it.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{Message, from_batch};

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
