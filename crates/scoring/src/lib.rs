//! ecowarden's scoring rules (评分细则) as data.
//!
//! The national 评审细则 are not public and change every year, so the platform never hard-codes
//! them: a rule file (TOML) holds the indicator tree, and this crate parses it ([`parse`]),
//! refuses a bad file with the line and the problem in Chinese, and scores units against it
//! ([`score`]). It is pure: no I/O, no store, no clock. Where the values come from (the case
//! ledger) is `ecowarden-assessment`'s business; here a unit is its code and a map of metric
//! values.
//!
//! Scores keep full precision; [`round2`] rounds them to 0.01 for output only, so a sum of
//! rounded parts never drifts from the rounded total by more than the rounding of the total.

mod parse;

use std::collections::BTreeMap;

pub use parse::{RuleError, RuleErrors, parse};

/// Who a rule set scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Enforcement units (集体).
    Collective,
    /// Officers (个人).
    Individual,
}

impl Subject {
    pub fn code(self) -> &'static str {
        match self {
            Subject::Collective => "collective",
            Subject::Individual => "individual",
        }
    }
}

/// The level of the units a rule set scores and ranks against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Province,
    City,
    County,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
        }
    }
}

/// A parsed and validated rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub name: String,
    pub year: i32,
    pub subject: Subject,
    pub level: Level,
    pub indicators: Vec<Indicator>,
}

/// A first-level indicator: its score is the sum of its rules, capped at `max`.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub max: f64,
    pub rules: Vec<Rule>,
}

/// One scored rule over one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    /// Empty when the file gives none; the caller may show the metric's label instead.
    pub name: String,
    pub metric: String,
    pub max: f64,
    pub kind: Kind,
    /// The line of the rule's `metric` in the file, so a caller that does not know a metric
    /// can say where it is.
    pub metric_line: usize,
}

/// How a rule turns a value into points. Every kind is capped at the rule's `max` and never
/// goes below 0, except a deduction, which goes from `−max` to 0.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `per × value`.
    Linear { per: f64 },
    /// The points of the highest threshold reached (`value ≥ threshold`), 0 below all;
    /// thresholds strictly ascending.
    Thresholds { thresholds: Vec<(f64, f64)> },
    /// `points[rank − 1]` for the unit's rank among the scored units by value, largest first,
    /// equal values sharing the better rank; 0 beyond the list.
    Rank { points: Vec<f64> },
    /// `max × min(1, value / target)`.
    Ratio { target: f64 },
    /// Year-on-year change: `max × min(1, change / target)`, where change is
    /// `(value − previous) / previous` against the same period a year before (the value under
    /// [`previous_key`]); from nothing to something is a full change of 1, nothing to nothing 0.
    Change { target: f64 },
    /// Yes or no (是否): `max` when the value is 1 (yes, entered with its evidence), else 0.
    YesNo,
    /// Points given by hand with a justification: the value itself, capped at `max`.
    Manual,
    /// `per` points taken off per unit of value, at most `max`: the rule scores from `−max`
    /// to 0 and lowers its indicator (which still never goes below 0).
    Deduction { per: f64 },
}

impl Kind {
    pub fn code(&self) -> &'static str {
        match self {
            Kind::Linear { .. } => "linear",
            Kind::Thresholds { .. } => "thresholds",
            Kind::Rank { .. } => "rank",
            Kind::Ratio { .. } => "ratio",
            Kind::Change { .. } => "change",
            Kind::YesNo => "yes_no",
            Kind::Manual => "manual",
            Kind::Deduction { .. } => "deduction",
        }
    }
}

/// Where a unit's value of `metric` in the same period of the year before goes, for
/// [`Kind::Change`] rules.
pub fn previous_key(metric: &str) -> String {
    format!("{metric}@previous")
}

/// Year-on-year change of `value` over `previous` (see [`Kind::Change`]).
pub fn change(value: f64, previous: f64) -> f64 {
    if previous > 0.0 {
        (value - previous) / previous
    } else if value > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The input of one unit: its code and its metric values (a metric it lacks counts 0).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitValues {
    pub unit: String,
    pub values: BTreeMap<String, f64>,
}

/// A unit's result: total, rank among the scored units, and every indicator and rule.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitScore {
    pub unit: String,
    pub score: f64,
    pub rank: usize,
    pub indicators: Vec<IndicatorScore>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorScore {
    pub id: String,
    pub name: String,
    pub score: f64,
    pub rules: Vec<RuleScore>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleScore {
    pub id: String,
    pub name: String,
    pub metric: String,
    pub value: f64,
    pub score: f64,
}

/// Rounds to 0.01 for output (half away from zero).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Scores every unit and ranks them, largest score first; units with the same score as shown
/// (to 0.01) share the better rank (1, 1, 3), so two units printed with equal scores never get
/// different ranks from float noise. Ties are listed by unit code, so the result does not
/// depend on the order of `units`.
pub fn score(rules: &RuleSet, units: &[UnitValues]) -> Vec<UnitScore> {
    let value = |u: &UnitValues, metric: &str| u.values.get(metric).copied().unwrap_or(0.0);
    let mut out: Vec<UnitScore> = units
        .iter()
        .map(|u| {
            let indicators: Vec<IndicatorScore> = rules
                .indicators
                .iter()
                .map(|ind| {
                    let rules: Vec<RuleScore> = ind
                        .rules
                        .iter()
                        .map(|r| {
                            let mut v = value(u, &r.metric);
                            let raw = match &r.kind {
                                Kind::Linear { per } => per * v,
                                Kind::Thresholds { thresholds } => thresholds
                                    .iter()
                                    .rev()
                                    .find(|(t, _)| v >= *t)
                                    .map_or(0.0, |(_, p)| *p),
                                Kind::Rank { points } => {
                                    let better =
                                        units.iter().filter(|o| value(o, &r.metric) > v).count();
                                    points.get(better).copied().unwrap_or(0.0)
                                }
                                Kind::Ratio { target } => r.max * (v / target).min(1.0),
                                Kind::Change { target } => {
                                    v = change(v, value(u, &previous_key(&r.metric)));
                                    r.max * (v / target).min(1.0)
                                }
                                Kind::YesNo => {
                                    if v >= 1.0 {
                                        r.max
                                    } else {
                                        0.0
                                    }
                                }
                                Kind::Manual => v,
                                Kind::Deduction { per } => -(per * v),
                            };
                            RuleScore {
                                id: r.id.clone(),
                                name: r.name.clone(),
                                metric: r.metric.clone(),
                                value: v,
                                score: match r.kind {
                                    Kind::Deduction { .. } => -cap(-raw, r.max),
                                    _ => cap(raw, r.max),
                                },
                            }
                        })
                        .collect();
                    IndicatorScore {
                        id: ind.id.clone(),
                        name: ind.name.clone(),
                        score: cap(rules.iter().map(|r| r.score).sum(), ind.max),
                        rules,
                    }
                })
                .collect();
            UnitScore {
                unit: u.unit.clone(),
                score: indicators.iter().map(|i| i.score).sum(),
                rank: 0,
                indicators,
            }
        })
        .collect();
    let shown: Vec<f64> = out.iter().map(|u| round2(u.score)).collect();
    for (i, u) in out.iter_mut().enumerate() {
        u.rank = 1 + shown.iter().filter(|s| **s > shown[i]).count();
    }
    out.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.unit.cmp(&b.unit)));
    out
}

/// Clamps to `[0, max]`; a NaN (a ratio over a NaN value) scores 0.
fn cap(x: f64, max: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, max) }
}

#[cfg(test)]
mod tests;

/// The shipped default rule file of a level (a template to adjust, see `rules/`), with its
/// year and the year in its name set to `year`, so an administrator starts each year from it;
/// none for the province, which has no template.
pub fn template(level: Level, year: i32) -> Option<String> {
    let text = match level {
        Level::County => include_str!("../rules/default-county-2023.toml"),
        Level::City => include_str!("../rules/default-city-2023.toml"),
        Level::Province => return None,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with("year = ") {
            out.push_str(&format!("year = {year}"));
        } else if line.starts_with("name = ") {
            out.push_str(&line.replacen("2023年度", &format!("{year}年度"), 1));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(out)
}

impl Level {
    /// The level named by its code (`province`, `city`, `county`).
    pub fn parse(code: &str) -> Option<Level> {
        [Level::Province, Level::City, Level::County]
            .into_iter()
            .find(|l| l.code() == code)
    }

    /// The level's name in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Level::Province => "省级",
            Level::City => "设区市级",
            Level::County => "县级",
        }
    }
}
