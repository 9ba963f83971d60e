//! The input: one outlet's channels at one interval, as Arrow arrays.
//!
//! Layout of a [`Series`] (one per outlet and interval, e.g. the 10-minute data and the
//! hourly data of one stack are two series with the same MN):
//!
//! | array | type | meaning |
//! |---|---|---|
//! | `time` | `Int64Array` of Unix seconds (a `TimestampSecondArray` or `TimestampMillisecondArray` is accepted by [`time_array`]) | HJ 212 `DataTime`: the start of each period; nulls are dropped |
//! | `channels[k].values` | `Float64Array` | the value (`Avg` for minute/hourly data); null or NaN = missing |
//! | `channels[k].flags` | `StringArray` (`"N"`, `"F"`, …) or `UInt8Array` of the flag letter's ASCII code, or none | HJ 212 `-Flag`; null = no flag sent, read as N |
//!
//! All arrays have one row per `time` row. Rows need not be sorted or complete: [`Prepared`]
//! places them on a regular grid of `interval` seconds, so a missing row is a missing value
//! and a repeated row keeps its last value.

use arrow_array::types::Int64Type;
use arrow_array::{
    Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray, TimestampSecondArray,
    UInt8Array,
};

use crate::config::{Config, Role};
use crate::finding::iso;
use crate::qa::{self, Qa};
use crate::stats;

/// Why a series cannot be screened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("interval must be positive, got {0} s")]
    Interval(i64),
    #[error("channel {factor}: {what} has {got} rows, the time column {want}")]
    Length {
        factor: String,
        what: &'static str,
        got: usize,
        want: usize,
    },
    #[error("time column: unsupported type {0} (Int64 or Timestamp seconds/milliseconds)")]
    TimeType(String),
    #[error("times span {slots} intervals for {rows} rows: not a regular series")]
    Sparse { slots: u128, rows: usize },
}

/// The data flags of a channel.
#[derive(Debug, Clone)]
pub enum Flags {
    /// No flags sent: every value reads as N.
    None,
    /// Flag letters as text.
    Text(StringArray),
    /// Flag letters as their ASCII codes (`b'N'`), the compact form of the archive reader.
    Code(UInt8Array),
}

impl Flags {
    fn len(&self) -> Option<usize> {
        match self {
            Flags::None => None,
            Flags::Text(a) => Some(a.len()),
            Flags::Code(a) => Some(a.len()),
        }
    }

    /// The flag letters of all `rows` rows; the code array in one pass.
    fn codes(&self, rows: usize) -> Vec<u8> {
        match self {
            Flags::Code(a) => {
                let mut v: Vec<u8> = a
                    .values()
                    .iter()
                    .map(|&b| if b == 0 { b'N' } else { b })
                    .collect();
                if let Some(nulls) = a.nulls().filter(|n| n.null_count() > 0) {
                    for i in nulls
                        .iter()
                        .enumerate()
                        .filter(|(_, ok)| !ok)
                        .map(|(i, _)| i)
                    {
                        v[i] = b'N';
                    }
                }
                v
            }
            _ => (0..rows).map(|i| self.code(i)).collect(),
        }
    }

    /// The flag letter of row `i` (N when none was sent).
    pub fn code(&self, i: usize) -> u8 {
        match self {
            Flags::None => b'N',
            Flags::Text(a) => {
                if a.is_null(i) {
                    b'N'
                } else {
                    qa::flag_code(a.value(i))
                }
            }
            Flags::Code(a) => {
                if a.is_null(i) || a.value(i) == 0 {
                    b'N'
                } else {
                    a.value(i)
                }
            }
        }
    }
}

/// What the registry knows of a channel; `None` falls back to the thresholds file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelMeta {
    /// Instrument range (量程), upper end.
    pub range: Option<f64>,
    /// Emission limit (排放限值) on the basis the values are reported in.
    pub limit: Option<f64>,
    /// Detection limit (检出限).
    pub detection_limit: Option<f64>,
    /// Decimals the values are reported with.
    pub decimals: Option<u8>,
}

/// One factor's values and flags.
#[derive(Debug, Clone)]
pub struct Channel {
    /// HJ 212 factor code (`a21026`).
    pub factor: String,
    pub values: Float64Array,
    pub flags: Flags,
    pub meta: ChannelMeta,
}

/// One outlet's data at one interval.
#[derive(Debug, Clone)]
pub struct Series {
    /// Data-logger MN (监测点编码).
    pub mn: String,
    /// Outlet name (排放口).
    pub outlet: String,
    /// Industry key of the thresholds file (`thermal_power`): the peer group.
    pub industry: String,
    /// Seconds between rows (600 for 10-minute data, 3600 for hourly).
    pub interval: i64,
    pub time: Int64Array,
    pub channels: Vec<Channel>,
    /// Known inspection or notification times (Unix seconds): S9 names drops near them.
    pub events: Vec<i64>,
}

/// Reads a time column as Unix seconds: `Int64`, or a timestamp in seconds or
/// milliseconds (the archive's `data_time`).
pub fn time_array(a: &dyn Array) -> Result<Int64Array, Error> {
    let any = a.as_any();
    if let Some(t) = any.downcast_ref::<Int64Array>() {
        Ok(t.clone())
    } else if let Some(t) = any.downcast_ref::<TimestampSecondArray>() {
        Ok(t.reinterpret_cast::<Int64Type>())
    } else if let Some(t) = any.downcast_ref::<TimestampMillisecondArray>() {
        Ok(t.unary::<_, Int64Type>(|ms| ms.div_euclid(1000)))
    } else {
        Err(Error::TimeType(format!("{:?}", a.data_type())))
    }
}

impl Series {
    /// Checks that every array has one row per time row.
    pub fn new(
        mn: impl Into<String>,
        outlet: impl Into<String>,
        industry: impl Into<String>,
        interval: i64,
        time: Int64Array,
        channels: Vec<Channel>,
    ) -> Result<Series, Error> {
        if interval <= 0 {
            return Err(Error::Interval(interval));
        }
        let want = time.len();
        for c in &channels {
            let check = |what, got| {
                if got == want {
                    Ok(())
                } else {
                    Err(Error::Length {
                        factor: c.factor.clone(),
                        what,
                        got,
                        want,
                    })
                }
            };
            check("values", c.values.len())?;
            if let Some(n) = c.flags.len() {
                check("flags", n)?;
            }
        }
        Ok(Series {
            mn: mn.into(),
            outlet: outlet.into(),
            industry: industry.into(),
            interval,
            time,
            channels,
            events: Vec::new(),
        })
    }

    /// Rows `[offset, offset + len)`: the history before a screening period, or the period.
    /// Arrow slices share the buffers, so this copies nothing.
    pub fn slice(&self, offset: usize, len: usize) -> Series {
        let offset = offset.min(self.time.len());
        let len = len.min(self.time.len() - offset);
        Series {
            mn: self.mn.clone(),
            outlet: self.outlet.clone(),
            industry: self.industry.clone(),
            interval: self.interval,
            time: self.time.slice(offset, len),
            channels: self
                .channels
                .iter()
                .map(|c| Channel {
                    factor: c.factor.clone(),
                    values: c.values.slice(offset, len),
                    flags: match &c.flags {
                        Flags::None => Flags::None,
                        Flags::Text(a) => Flags::Text(a.slice(offset, len)),
                        Flags::Code(a) => Flags::Code(a.slice(offset, len)),
                    },
                    meta: c.meta.clone(),
                })
                .collect(),
            events: self.events.clone(),
        }
    }

    /// The rows before `t` and the rows from `t` on (rows sorted by time): the history
    /// before a screening period and the period itself.
    pub fn split_at_time(&self, t: i64) -> (Series, Series) {
        let n = self.time.len();
        let k = (0..n)
            .find(|&i| self.time.is_valid(i) && self.time.value(i) >= t)
            .unwrap_or(n);
        (self.slice(0, k), self.slice(k, n - k))
    }

    /// Number of values (rows × channels): the unit of throughput figures.
    pub fn points(&self) -> usize {
        self.time.len() * self.channels.len()
    }
}

/// A channel on the regular grid, with its QA state and resolved metadata.
#[derive(Debug, Clone)]
pub struct PreparedChannel {
    pub factor: String,
    pub role: Role,
    pub range: Option<f64>,
    pub limit: Option<f64>,
    pub detection_limit: Option<f64>,
    pub decimals: Option<u8>,
    /// Values; NaN where no value was sent.
    pub x: Vec<f64>,
    pub qa: Vec<Qa>,
    /// Flag letters; 0 where the row is missing.
    pub flag: Vec<u8>,
}

impl PreparedChannel {
    /// Whether row `i` holds a valid value while the unit runs: the values the value
    /// signatures look at.
    #[inline]
    pub fn usable(&self, running: &[bool], i: usize) -> bool {
        self.qa[i] == Qa::Valid && running[i]
    }
}

/// A series placed on a regular grid, QA-classified, with the unit's operating state.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub series: &'a Series,
    /// Time of grid slot 0.
    pub t0: i64,
    pub interval: i64,
    pub len: usize,
    pub channels: Vec<PreparedChannel>,
    /// Whether the unit runs in each slot (flow, or no F flag when there is no flow).
    pub running: Vec<bool>,
    /// Whether it runs steadily: running, and more than `settle_hours` after the last slot
    /// known to be stopped (a start-up's purge air, cold SCR and uncoated bags are no level).
    pub settled: Vec<bool>,
    /// Index of the flow channel, if any.
    pub flow: Option<usize>,
    /// Index of the O2 channel, if any.
    pub o2: Option<usize>,
    /// Median flow while running (the reference for "full load").
    pub flow_median: f64,
}

impl<'a> Prepared<'a> {
    /// Grids, classifies and resolves defaults. Fails only on a time column that is not a
    /// series at `interval` (more than four empty slots per row).
    pub fn new(series: &'a Series, config: &Config) -> Result<Prepared<'a>, Error> {
        if series.interval <= 0 {
            return Err(Error::Interval(series.interval));
        }
        let interval = series.interval;
        let times = &series.time;
        let rows = times.len();
        let valid_rows = (0..rows).filter(|&i| times.is_valid(i));
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for i in valid_rows.clone() {
            let t = times.value(i);
            lo = lo.min(t);
            hi = hi.max(t);
        }
        let t0 = if lo <= hi { lo } else { 0 };
        let slots: u128 = if lo <= hi {
            ((hi as i128 - lo as i128 + interval as i128 / 2) / interval as i128 + 1) as u128
        } else {
            0
        };
        if slots > 4 * rows as u128 + 4096 {
            return Err(Error::Sparse { slots, rows });
        }
        let len = slots as usize;
        // Slot of each row: the common case (sorted, complete) is the identity.
        let regular = times.null_count() == 0
            && (0..rows).all(|i| times.value(i) == t0 + i as i64 * interval);
        let slot_of: Vec<usize> = if regular {
            Vec::new()
        } else {
            (0..rows)
                .map(|i| {
                    if times.is_null(i) {
                        usize::MAX
                    } else {
                        let d = times.value(i) as i128 - t0 as i128 + interval as i128 / 2;
                        (d / interval as i128) as usize
                    }
                })
                .collect()
        };
        let neg_tol = config.qa.negative_tolerance.value;
        let mut channels = Vec::with_capacity(series.channels.len());
        for c in &series.channels {
            let defaults = config.factor(&c.factor);
            let role = defaults.map_or(Role::Other, |d| d.role);
            let range = c.meta.range.or(defaults.and_then(|d| d.range));
            let limit = c
                .meta
                .limit
                .or_else(|| config.limit(&series.industry, &c.factor));
            let detection_limit = c
                .meta
                .detection_limit
                .or(defaults.and_then(|d| d.detection_limit));
            let decimals = c.meta.decimals.or(defaults.and_then(|d| d.decimals));
            // Temperatures may be negative; concentrations, flow and O2 may not (much).
            let floor = match (role, range) {
                (Role::Temperature | Role::Other, _) => f64::NEG_INFINITY,
                (_, Some(r)) => -neg_tol * r,
                (_, None) => 0.0,
            };
            let values = c.values.values();
            let codes = c.flags.codes(rows);
            let (mut x, mut flag) = if regular {
                (values.to_vec(), codes)
            } else {
                let mut x = vec![f64::NAN; len];
                let mut flag = vec![0u8; len];
                for (i, &s) in slot_of.iter().enumerate().filter(|(_, s)| **s < len) {
                    x[s] = values[i];
                    flag[s] = codes[i];
                }
                (x, flag)
            };
            if let Some(nulls) = c.values.nulls().filter(|n| n.null_count() > 0) {
                for i in nulls
                    .iter()
                    .enumerate()
                    .filter(|(_, ok)| !ok)
                    .map(|(i, _)| i)
                {
                    let s = if regular { i } else { slot_of[i] };
                    if s < len {
                        x[s] = f64::NAN;
                    }
                }
            }
            x.resize(len, f64::NAN);
            flag.resize(len, 0);
            let qa_v: Vec<Qa> = x
                .iter()
                .zip(&flag)
                .map(|(&v, &f)| {
                    if f == 0 {
                        Qa::Missing
                    } else {
                        qa::classify(v, f, range, floor)
                    }
                })
                .collect();
            channels.push(PreparedChannel {
                factor: c.factor.clone(),
                role,
                range,
                limit,
                detection_limit,
                decimals,
                x,
                qa: qa_v,
                flag,
            });
        }
        let flow = channels.iter().position(|c| c.role == Role::Flow);
        let o2 = channels.iter().position(|c| c.role == Role::O2);
        let running = running_mask(&channels, flow, len, config.qa.running_flow_share.value);
        let settled = settled_mask(
            &channels,
            flow,
            &running,
            (config.qa.settle_hours.value * 3600.0 / interval as f64).ceil() as usize,
        );
        let stride = stats::sample_stride(len);
        let flow_median = flow.map_or(f64::NAN, |f| {
            let c = &channels[f];
            let mut v: Vec<f64> = (0..len)
                .step_by(stride)
                .filter(|&i| c.usable(&running, i))
                .map(|i| c.x[i])
                .collect();
            stats::quantile(&mut v, 0.5)
        });
        Ok(Prepared {
            series,
            t0,
            interval,
            len,
            channels,
            running,
            settled,
            flow,
            o2,
            flow_median,
        })
    }

    /// Time of slot `i`.
    #[inline]
    pub fn time(&self, i: usize) -> i64 {
        self.t0 + i as i64 * self.interval
    }

    /// Slots covering `hours` (at least 1).
    pub fn slots(&self, hours: f64) -> usize {
        ((hours * 3600.0 / self.interval as f64).ceil() as usize).max(1)
    }

    /// The window `[i0, i1)` as (start, end) times.
    pub fn window(&self, i0: usize, i1: usize) -> (i64, i64) {
        (self.time(i0), self.time(i1.max(i0 + 1)))
    }

    /// The values of a channel in `[i0, i1)` for the evidence: at most `max_points`, thinned
    /// evenly, invalid values as null with their flag kept beside them.
    pub fn evidence_window(
        &self,
        ch: usize,
        i0: usize,
        i1: usize,
        max_points: usize,
    ) -> serde_json::Value {
        let c = &self.channels[ch];
        let i1 = i1.min(self.len);
        let i0 = i0.min(i1);
        let stride = (i1 - i0).div_ceil(max_points.max(1)).max(1);
        let mut values = Vec::new();
        let mut flags = String::new();
        let mut i = i0;
        while i < i1 {
            values.push(if c.qa[i] == Qa::Missing || c.x[i].is_nan() {
                serde_json::Value::Null
            } else {
                serde_json::json!(c.x[i])
            });
            flags.push(if c.flag[i] == 0 {
                '-'
            } else {
                char::from(c.flag[i])
            });
            i += stride;
        }
        serde_json::json!({
            "factor": c.factor,
            "start": iso(self.time(i0)),
            "step_s": stride as i64 * self.interval,
            "values": values,
            "flags": flags,
        })
    }

    /// Channels of a role.
    pub fn of_role(&self, role: Role) -> impl Iterator<Item = usize> + '_ {
        (0..self.channels.len()).filter(move |&k| self.channels[k].role == role)
    }
}

/// Running and more than `settle` slots after the last slot known to be stopped: not
/// running, with a valid flow or an F flag saying so (a lost row says nothing).
fn settled_mask(
    channels: &[PreparedChannel],
    flow: Option<usize>,
    running: &[bool],
    settle: usize,
) -> Vec<bool> {
    let mut last_stop: Option<usize> = None;
    (0..running.len())
        .map(|i| {
            let stopped = !running[i]
                && (flow.is_some_and(|f| channels[f].qa[i] == Qa::Valid)
                    || channels.iter().any(|c| c.flag[i] == b'F'));
            if stopped {
                last_stop = Some(i);
            }
            running[i] && last_stop.is_none_or(|s| i - s > settle)
        })
        .collect()
}

/// Running: flow at least `share` of its p90 where flow is valid; elsewhere, some valid
/// value and no channel flagged F (停运).
fn running_mask(
    channels: &[PreparedChannel],
    flow: Option<usize>,
    len: usize,
    share: f64,
) -> Vec<bool> {
    let by_flags = |i: usize| {
        channels.iter().any(|c| c.qa[i] == Qa::Valid) && channels.iter().all(|c| c.flag[i] != b'F')
    };
    let Some(f) = flow else {
        return (0..len).map(by_flags).collect();
    };
    let fc = &channels[f];
    let mut valid: Vec<f64> = (0..len)
        .step_by(stats::sample_stride(len))
        .filter(|&i| fc.qa[i] == Qa::Valid)
        .map(|i| fc.x[i])
        .collect();
    let p90 = stats::quantile(&mut valid, 0.9);
    let threshold = if p90.is_finite() { share * p90 } else { 0.0 };
    (0..len)
        .map(|i| {
            if fc.qa[i] == Qa::Valid {
                fc.x[i] >= threshold && fc.x[i] > 0.0
            } else {
                by_flags(i)
            }
        })
        .collect()
}
