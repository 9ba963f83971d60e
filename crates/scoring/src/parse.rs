//! Reading a rule file: TOML into raw tables that keep their spans, then checks that name the
//! line and the problem in Chinese. Every problem of the file is reported at once, so an
//! editor fixes a file in one pass.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use crate::{Indicator, Kind, Level, Rule, RuleSet, Subject};

/// One problem of a rule file, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第{}行：{}", self.line, self.message)
    }
}

/// Every problem of a rule file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<Spanned<String>>,
    year: Option<Spanned<i64>>,
    subject: Option<Spanned<String>>,
    level: Option<Spanned<String>>,
    #[serde(default)]
    indicator: Vec<Spanned<RawIndicator>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    id: Option<Spanned<String>>,
    name: Option<String>,
    max: Option<Spanned<f64>>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<Spanned<String>>,
    name: Option<String>,
    metric: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    max: Option<Spanned<f64>>,
    per: Option<Spanned<f64>>,
    thresholds: Option<Spanned<Vec<(f64, f64)>>>,
    points: Option<Spanned<Vec<f64>>>,
    target: Option<Spanned<f64>>,
}

/// The rule kinds a file may name.
const KINDS: [&str; 8] = [
    "linear",
    "thresholds",
    "rank",
    "ratio",
    "change",
    "yes_no",
    "manual",
    "deduction",
];

/// Parses and validates a rule file.
pub fn parse(text: &str) -> Result<RuleSet, RuleErrors> {
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        RuleErrors(vec![RuleError {
            line: e.span().map_or(1, |s| line(s.start)),
            message: format!("格式错误：{}", e.message().trim()),
        }])
    })?;
    let mut errors = Vec::new();
    let mut err = |at: usize, message: String| {
        errors.push(RuleError {
            line: line(at),
            message,
        })
    };

    let name = match raw.name {
        Some(n) if !n.get_ref().trim().is_empty() => n.into_inner(),
        Some(n) => {
            err(n.span().start, "name（细则名称）不能为空".into());
            String::new()
        }
        None => {
            err(0, "缺少 name（细则名称）".into());
            String::new()
        }
    };
    let year = match raw.year {
        Some(y) if (2000..=2100).contains(y.get_ref()) => *y.get_ref() as i32,
        Some(y) => {
            err(
                y.span().start,
                format!("year 应为 2000–2100 之间的年份，实为 {}", y.get_ref()),
            );
            0
        }
        None => {
            err(0, "缺少 year（考核年度）".into());
            0
        }
    };
    let subject = match raw
        .subject
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        Some(("collective", _)) => Subject::Collective,
        Some(("individual", _)) => Subject::Individual,
        Some((other, span)) => {
            err(
                span.start,
                format!("subject 应为 collective（集体）或 individual（个人），实为“{other}”"),
            );
            Subject::Collective
        }
        None => {
            err(0, "缺少 subject（collective 或 individual）".into());
            Subject::Collective
        }
    };
    let level = match raw.level.as_ref().map(|s| (s.get_ref().as_str(), s.span())) {
        Some(("province", _)) => Level::Province,
        Some(("city", _)) => Level::City,
        Some(("county", _)) => Level::County,
        Some((other, span)) => {
            err(
                span.start,
                format!("level 应为 province（省）、city（市）或 county（县），实为“{other}”"),
            );
            Level::County
        }
        None => {
            err(0, "缺少 level（province、city 或 county）".into());
            Level::County
        }
    };
    if raw.indicator.is_empty() {
        err(0, "至少需要一个一级指标 [[indicator]]".into());
    }

    let mut indicator_ids: HashMap<String, usize> = HashMap::new();
    let mut rule_ids: HashMap<String, usize> = HashMap::new();
    let mut indicators = Vec::new();
    for ind in raw.indicator {
        let at = ind.span().start;
        let ind = ind.into_inner();
        let id = required_id(ind.id, at, "指标", &mut indicator_ids, &line, &mut err);
        let max = non_negative(ind.max, at, &format!("指标 {id} 的 max"), &mut err);
        if ind.rule.is_empty() {
            err(at, format!("指标 {id} 没有评分规则 [[indicator.rule]]"));
        }
        let mut rules = Vec::new();
        for rule in ind.rule {
            let at = rule.span().start;
            let r = rule.into_inner();
            let rid = required_id(r.id, at, "规则", &mut rule_ids, &line, &mut err);
            let max = non_negative(r.max, at, &format!("规则 {rid} 的 max"), &mut err);
            let (metric, metric_at) = match r.metric {
                Some(m) if !m.get_ref().trim().is_empty() => {
                    let at = m.span().start;
                    (m.into_inner(), at)
                }
                Some(m) => {
                    err(m.span().start, format!("规则 {rid} 的 metric 不能为空"));
                    (String::new(), m.span().start)
                }
                None => {
                    err(at, format!("规则 {rid} 缺少 metric（考核数据项）"));
                    (String::new(), at)
                }
            };
            let kind_name = r.kind.as_ref().map(|k| k.get_ref().as_str());
            let kind_at = r.kind.as_ref().map_or(at, |k| k.span().start);
            // Each kind takes exactly its own parameter; a stray one is a mistake in the file
            // (say `per` left on a rule changed to `rank`) that would otherwise be silently ignored.
            let params: [(&str, &[&str], Option<usize>); 4] = [
                (
                    "per",
                    &["linear", "deduction"],
                    r.per.as_ref().map(|p| p.span().start),
                ),
                (
                    "thresholds",
                    &["thresholds"],
                    r.thresholds.as_ref().map(|p| p.span().start),
                ),
                (
                    "points",
                    &["rank"],
                    r.points.as_ref().map(|p| p.span().start),
                ),
                (
                    "target",
                    &["ratio", "change"],
                    r.target.as_ref().map(|p| p.span().start),
                ),
            ];
            if let Some(k) = kind_name.filter(|k| KINDS.contains(k)) {
                for (param, owners, span) in params {
                    if let Some(s) = span.filter(|_| !owners.contains(&k)) {
                        err(s, format!("规则 {rid} 的评分方式为 {k}，不使用 {param}"));
                    }
                }
            }
            let mut per = |p: Spanned<f64>| {
                let per = *p.get_ref();
                if !(per.is_finite() && per >= 0.0) {
                    err(
                        p.span().start,
                        format!("规则 {rid} 的 per 不能小于 0，实为 {per}"),
                    );
                }
                per
            };
            let kind = match kind_name {
                Some("linear") => r.per.map(|p| Kind::Linear { per: per(p) }),
                Some("deduction") => r.per.map(|p| Kind::Deduction { per: per(p) }),
                Some("yes_no") => Some(Kind::YesNo),
                Some("manual") => Some(Kind::Manual),
                Some("thresholds") => r.thresholds.map(|t| {
                    let list = t.get_ref().clone();
                    if list.is_empty() {
                        err(t.span().start, format!("规则 {rid} 的 thresholds 不能为空"));
                    }
                    if list.windows(2).any(|w| w[0].0 >= w[1].0) {
                        err(
                            t.span().start,
                            format!("规则 {rid} 的 thresholds 须按门槛从小到大排列且不重复"),
                        );
                    }
                    if list
                        .iter()
                        .any(|(t, p)| !(t.is_finite() && p.is_finite() && *p >= 0.0))
                    {
                        err(
                            t.span().start,
                            format!("规则 {rid} 的 thresholds 中的门槛须为有限数、分值不能小于 0"),
                        );
                    }
                    Kind::Thresholds { thresholds: list }
                }),
                Some("rank") => r.points.map(|p| {
                    let points = p.get_ref().clone();
                    if points.is_empty() {
                        err(p.span().start, format!("规则 {rid} 的 points 不能为空"));
                    }
                    if points.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
                        err(
                            p.span().start,
                            format!("规则 {rid} 的 points 中的分值不能小于 0"),
                        );
                    }
                    Kind::Rank { points }
                }),
                Some(k @ ("ratio" | "change")) => r.target.map(|t| {
                    let target = *t.get_ref();
                    if !(target.is_finite() && target > 0.0) {
                        err(
                            t.span().start,
                            format!("规则 {rid} 的 target 须大于 0，实为 {target}"),
                        );
                    }
                    if k == "ratio" {
                        Kind::Ratio { target }
                    } else {
                        Kind::Change { target }
                    }
                }),
                Some(other) => {
                    err(
                        kind_at,
                        format!(
                            "规则 {rid} 的评分方式 kind“{other}”未知，应为 {}",
                            KINDS.join("、")
                        ),
                    );
                    continue;
                }
                None => {
                    err(at, format!("规则 {rid} 缺少 kind（评分方式）"));
                    continue;
                }
            };
            let Some(kind) = kind else {
                let (param, what) = match kind_name {
                    Some("linear") => ("per", "每单位得分"),
                    Some("deduction") => ("per", "每单位扣分"),
                    Some("change") => ("target", "满分所需的同比增幅，如 0.1 即 10%"),
                    Some("thresholds") => ("thresholds", "[[门槛, 分值], …]"),
                    Some("rank") => ("points", "按名次的分值"),
                    _ => ("target", "满分目标值"),
                };
                err(
                    kind_at,
                    format!(
                        "规则 {rid} 的评分方式为 {}，缺少 {param}（{what}）",
                        kind_name.unwrap_or_default()
                    ),
                );
                continue;
            };
            rules.push(Rule {
                id: rid,
                name: r.name.unwrap_or_default(),
                metric,
                max,
                kind,
                metric_line: line(metric_at),
            });
        }
        indicators.push(Indicator {
            id,
            name: ind.name.unwrap_or_default(),
            max,
            rules,
        });
    }

    if errors.is_empty() {
        Ok(RuleSet {
            name,
            year,
            subject,
            level,
            indicators,
        })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(RuleErrors(errors))
    }
}

/// A non-empty id not used before in its namespace (indicators, or rules across the file:
/// a rule id names one row of the result, so it must be unique in the whole file).
fn required_id(
    id: Option<Spanned<String>>,
    table_at: usize,
    what: &str,
    seen: &mut HashMap<String, usize>,
    line: &impl Fn(usize) -> usize,
    err: &mut impl FnMut(usize, String),
) -> String {
    match id {
        Some(id) if !id.get_ref().trim().is_empty() => {
            let at = id.span().start;
            let id = id.into_inner();
            if let Some(first) = seen.get(&id) {
                err(at, format!("{what}编号“{id}”重复（第{first}行已使用）"));
            } else {
                seen.insert(id.clone(), line(at));
            }
            id
        }
        Some(id) => {
            err(id.span().start, format!("{what}编号 id 不能为空"));
            String::new()
        }
        None => {
            err(table_at, format!("{what}缺少编号 id"));
            String::new()
        }
    }
}

/// A required `max`: finite and not below 0.
fn non_negative(
    max: Option<Spanned<f64>>,
    table_at: usize,
    what: &str,
    err: &mut impl FnMut(usize, String),
) -> f64 {
    match max {
        Some(m) => {
            let v = *m.get_ref();
            if !(v.is_finite() && v >= 0.0) {
                err(m.span().start, format!("{what} 不能小于 0，实为 {v}"));
            }
            v
        }
        None => {
            err(table_at, format!("{what} 缺失（满分）"));
            0.0
        }
    }
}
