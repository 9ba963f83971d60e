//! The metrics a rule may score, measured from the case ledger for every unit at once.
//!
//! Each family is one scan of its rows for the whole area and period (cases filed, decisions,
//! measures, referrals, campaign tags), never a query per unit, grouped in the store by unit
//! key with the case ids of each group, so every value comes with the cases behind it. Each record counts by its
//! own date, as the statistics do: a decision by its decision date, a measure by its decision
//! date, a referral by its referral date, a filed case (and its tags and source) by its 立案
//! date.

use std::collections::{BTreeMap, HashMap, HashSet};

use ecowarden_core::org::Region;
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Backend, Db, Result, Sql};
use ecowarden_ledger::cases::CaseSource;
use ecowarden_ledger::cases::vocab::{MeasureKind, ReferralKind, Tag};
use ecowarden_ledger::stats::Period;
use ecowarden_scoring::{Level, RuleError, RuleErrors, RuleSet, UnitValues};

/// A metric a rule file may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `cases`: cases filed (立案) in the period, the withdrawn left out.
    Cases,
    /// `penalty_cases`: penalty decisions dated in the period, 不予处罚 left out.
    PenaltyCases,
    /// `fines_yuan`: the fines of those decisions, in yuan.
    FinesYuan,
    /// `measures.<kind>`: measure decisions dated in the period.
    Measure(MeasureKind),
    /// `referrals.<kind>`: referrals dated in the period.
    Referral(ReferralKind),
    /// `tags.<tag>`: cases filed in the period with the campaign tag.
    Tag(Tag),
    /// `share.source.<label>`: cases filed in the period from the source ÷ `cases` (0 if none).
    SourceShare(CaseSource),
    /// `dossier.mean_score`: the mean settled dossier-review score of the units' dossiers in
    /// the year's review plans (a review is yearly, so a half-year period reads its year);
    /// 0 where no dossier is settled.
    DossierMeanScore,
    /// `tasks.completion`: the share of the unit's tasks (挂图作战) with a deadline in the
    /// period that were done by their deadline; 0 where the unit has none.
    TaskCompletion,
}

impl Metric {
    pub fn parse(name: &str) -> Option<Metric> {
        let of = |prefix: &str| name.strip_prefix(prefix);
        Some(match name {
            "cases" => Metric::Cases,
            "penalty_cases" => Metric::PenaltyCases,
            "fines_yuan" => Metric::FinesYuan,
            "dossier.mean_score" => Metric::DossierMeanScore,
            "tasks.completion" => Metric::TaskCompletion,
            _ => {
                if let Some(k) = of("measures.") {
                    Metric::Measure(MeasureKind::ALL.iter().copied().find(|m| m.as_str() == k)?)
                } else if let Some(k) = of("referrals.") {
                    Metric::Referral(
                        ReferralKind::ALL
                            .iter()
                            .copied()
                            .find(|m| m.as_str() == k)?,
                    )
                } else if let Some(k) = of("tags.") {
                    Metric::Tag(Tag::ALL.iter().copied().find(|m| m.as_str() == k)?)
                } else if let Some(l) = of("share.source.") {
                    Metric::SourceShare(CaseSource::ALL.iter().copied().find(|s| s.label() == l)?)
                } else {
                    return None;
                }
            }
        })
    }

    pub fn name(self) -> String {
        match self {
            Metric::Cases => "cases".into(),
            Metric::PenaltyCases => "penalty_cases".into(),
            Metric::FinesYuan => "fines_yuan".into(),
            Metric::Measure(k) => format!("measures.{}", k.as_str()),
            Metric::Referral(k) => format!("referrals.{}", k.as_str()),
            Metric::Tag(t) => format!("tags.{}", t.as_str()),
            Metric::SourceShare(s) => format!("share.source.{}", s.label()),
            Metric::DossierMeanScore => "dossier.mean_score".into(),
            Metric::TaskCompletion => "tasks.completion".into(),
        }
    }

    /// The Chinese name shown for a rule the file leaves unnamed.
    pub fn label(self) -> String {
        match self {
            Metric::Cases => "立案数".into(),
            Metric::PenaltyCases => "行政处罚决定数".into(),
            Metric::FinesYuan => "罚款金额（元）".into(),
            Metric::Measure(k) => format!("{}决定数", k.label()),
            Metric::Referral(k) => format!("{}数", k.label()),
            Metric::Tag(t) => format!("{}案件数", t.label()),
            Metric::SourceShare(s) => format!("{}立案占比", s.label()),
            Metric::DossierMeanScore => "案卷评查平均分".into(),
            Metric::TaskCompletion => "任务按期完成率".into(),
        }
    }
}

/// Every metric the rule set names, or the lines of those this platform does not measure.
pub fn check(rules: &RuleSet) -> std::result::Result<Vec<Metric>, RuleErrors> {
    let mut metrics = Vec::new();
    let mut errors = Vec::new();
    for r in rules.indicators.iter().flat_map(|i| &i.rules) {
        // Entered by hand, not measured: see `entries`.
        if crate::entries::is_manual(&r.metric) {
            if let Some(problem) = crate::entries::check(&r.metric) {
                errors.push(RuleError {
                    line: r.metric_line,
                    message: format!("规则 {} 的{problem}", r.id),
                });
            }
            continue;
        }
        match Metric::parse(&r.metric) {
            Some(m) => {
                if !metrics.contains(&m) {
                    metrics.push(m);
                }
            }
            None => errors.push(RuleError {
                line: r.metric_line,
                message: format!(
                    "规则 {} 的考核数据项 metric“{}”未知，可用：cases、penalty_cases、fines_yuan、dossier.mean_score、tasks.completion、\
                     measures.<{}>、referrals.<{}>、tags.<{}>、share.source.<{}>、manual.<填报项>",
                    r.id,
                    r.metric,
                    codes(MeasureKind::ALL.iter().map(|k| k.as_str())),
                    codes(ReferralKind::ALL.iter().map(|k| k.as_str())),
                    codes(Tag::ALL.iter().map(|k| k.as_str())),
                    codes(CaseSource::ALL.iter().map(|k| k.label())),
                ),
            }),
        }
    }
    if errors.is_empty() {
        Ok(metrics)
    } else {
        Err(RuleErrors(errors))
    }
}

fn codes<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join("|")
}

/// The units a rule set of `level` ranks inside an area: the county-level regions (平潭综合
/// 实验区 is a peer of the cities, so it is a city unit, not a county one), the cities and
/// 平潭, or the province alone.
pub fn units<'a>(org: &'a ecowarden_core::org::Org, area: &Area, level: Level) -> Vec<&'a Region> {
    use ecowarden_core::org::Level as L;
    org.all()
        .filter(|r| match level {
            Level::County => r.level == L::County && area.covers(&r.code, &r.city_code),
            Level::City => r.level == L::City && area.covers(&r.code, &r.code),
            Level::Province => r.level == L::Province && area.region().is_none(),
        })
        .collect()
}

/// Every unit's values and, per unit and metric, the ids of the cases behind the value.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub values: Vec<UnitValues>,
    pub evidence: BTreeMap<String, BTreeMap<String, Vec<i64>>>,
}

/// The records of one unit key (and code) in a family, as the store groups them.
#[derive(sqlx::FromRow)]
struct Group {
    k: String,
    /// The source, measure kind, referral kind or tag (empty for decisions).
    code: String,
    /// Decisions: the sum of their fines.
    fine_fen: i64,
    /// The case ids, comma-separated.
    ids: String,
}

/// Measures `metrics` for `units` (all of one level) in an area and period.
pub async fn measure(
    db: &Db,
    area: &Area,
    level: Level,
    period: Period,
    units: &[&Region],
    metrics: &[Metric],
) -> Result<Measured> {
    // A county unit is its own region; a city unit its whole city (the detachment's own cases
    // and its counties'); the province everything (its rows grouped by city, then summed).
    let (key, group) = match level {
        Level::County => ("c.region_code", "c.region_code"),
        Level::City => ("c.city_code", "c.city_code"),
        Level::Province => ("''", "c.city_code"),
    };
    let (from, to) = period.bounds();
    let need = |f: fn(&Metric) -> bool| metrics.iter().any(f);
    // Each family is grouped by unit key (and code) in the store, the case ids of a group
    // joined into one text: a million cases come back as a few hundred rows.
    let select = |code: &str, fine: &str, id: &str| {
        format!(
            "SELECT {key} AS k, {code} AS code, {fine} AS fine_fen, {} AS ids",
            db.ids_text(id)
        )
    };
    // A filed case's statistical year is its filing year, so the period's filed cases are one
    // range of the year index; decisions, measures and referrals may follow filing into the
    // next year, so their cases are those of the year and the one before, narrowed by the
    // record's own date.
    let filed_cases = |select: String, from_clause: &str, code: &str| {
        let mut s = Sql::new(&format!("{select} FROM {from_clause} WHERE c.year = "));
        s.bind(period.year as i64)
            .push(" AND c.status <> 'withdrawn' AND c.filed_on BETWEEN ")
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string());
        s.scope(area, "c")
            .push(&format!(" GROUP BY {group}, {code}"));
        s
    };
    let dated = |select: String, from_clause: &str, col: &str, extra: &str, code: &str| {
        let mut s = Sql::new(&format!(
            "{select} FROM {from_clause} WHERE c.year BETWEEN "
        ));
        s.bind(period.year as i64 - 1)
            .push(" AND ")
            .bind(period.year as i64)
            .push(&format!(" AND {col} BETWEEN "))
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string())
            .push(extra);
        s.scope(area, "c").push(&format!(" GROUP BY {group}{code}"));
        s
    };
    let parse = |ids: &str| -> Vec<i64> { ids.split(',').filter_map(|x| x.parse().ok()).collect() };

    let mut acc = Acc::new(units, metrics, level);
    if need(|m| matches!(m, Metric::Cases | Metric::SourceShare(_))) {
        for g in filed_cases(
            select("c.source", "0", "c.id"),
            &cases_by(db, "cases_stats"),
            "c.source",
        )
        .fetch_all::<Group>(db)
        .await?
        {
            let ids = parse(&g.ids);
            acc.add(&g.k, Metric::Cases, &ids, ids.len() as f64);
            if let Some(s) = CaseSource::parse(&g.code) {
                acc.add(&g.k, Metric::SourceShare(s), &ids, ids.len() as f64);
            }
        }
    }
    if need(|m| matches!(m, Metric::PenaltyCases | Metric::FinesYuan)) {
        let sql = dated(
            // Each stored fine capped at 10亿元, as the statistics sum them (issue #16).
            select(
                "''",
                "CAST(SUM(CASE WHEN c.fine_fen > 100000000000 THEN 100000000000 ELSE c.fine_fen END) AS BIGINT)",
                "c.id",
            ),
            &cases_by(db, "cases_decided"),
            "c.decided_on",
            " AND c.penalty_kinds NOT LIKE '%no_penalty%'",
            "",
        );
        for g in sql.fetch_all::<Group>(db).await? {
            let ids = parse(&g.ids);
            acc.add(&g.k, Metric::PenaltyCases, &ids, ids.len() as f64);
            acc.add(&g.k, Metric::FinesYuan, &ids, g.fine_fen as f64 / 100.0);
        }
    }
    if need(|m| matches!(m, Metric::Measure(_))) {
        for g in dated(
            select("m.kind", "0", "m.case_id"),
            "measures m JOIN cases c ON c.id = m.case_id",
            "m.decided_on",
            "",
            ", m.kind",
        )
        .fetch_all::<Group>(db)
        .await?
        {
            if let Some(k) = MeasureKind::parse(&g.code) {
                let ids = parse(&g.ids);
                acc.add(&g.k, Metric::Measure(k), &ids, ids.len() as f64);
            }
        }
    }
    if need(|m| matches!(m, Metric::Referral(_))) {
        for g in dated(
            select("r.kind", "0", "r.case_id"),
            "referrals r JOIN cases c ON c.id = r.case_id",
            "r.referred_on",
            "",
            ", r.kind",
        )
        .fetch_all::<Group>(db)
        .await?
        {
            if let Some(k) = ReferralKind::parse(&g.code) {
                let ids = parse(&g.ids);
                acc.add(&g.k, Metric::Referral(k), &ids, ids.len() as f64);
            }
        }
    }
    if need(|m| matches!(m, Metric::Tag(_))) {
        for g in filed_cases(
            select("t.tag", "0", "t.case_id"),
            "case_tags t JOIN cases c ON c.id = t.case_id",
            "t.tag",
        )
        .fetch_all::<Group>(db)
        .await?
        {
            if let Some(t) = Tag::parse(&g.code) {
                let ids = parse(&g.ids);
                acc.add(&g.k, Metric::Tag(t), &ids, ids.len() as f64);
            }
        }
    }
    let mut out = acc.finish();
    if need(|m| *m == Metric::DossierMeanScore) {
        dossier_means(db, area, level, period, &mut out).await?;
    }
    if need(|m| *m == Metric::TaskCompletion) {
        task_completion(db, area, level, period, &mut out).await?;
    }
    Ok(out)
}

/// `cases c`, read on SQLite through `index`, an index that covers the query: SQLite's
/// planner otherwise took a list index that does not (skip-scanning it by unit and year) and
/// looked up each of a million cases' rows, 4.3 s of a county run where the covering index
/// takes 0.5 s (migration 0024). PostgreSQL plans by its statistics.
pub(crate) fn cases_by(db: &Db, index: &str) -> String {
    match db.backend() {
        Backend::Sqlite => format!("cases c INDEXED BY {index}"),
        Backend::Postgres => "cases c".to_owned(),
    }
}

/// Puts each unit's mean settled dossier score, and the cases behind it, into `out` (a mean
/// is not a sum, so it does not go through [`Acc`]).
async fn dossier_means(
    db: &Db,
    area: &Area,
    level: Level,
    period: Period,
    out: &mut Measured,
) -> Result<()> {
    let mut by: HashMap<String, (f64, Vec<i64>)> = HashMap::new();
    for (region, city, case_id, score) in crate::review::settled(db, area, period.year).await? {
        let e = by.entry(unit_key(level, region, city)).or_default();
        e.0 += score;
        e.1.push(case_id);
    }
    let by = by
        .into_iter()
        .map(|(k, (sum, ids))| (k, (sum, ids.len() as f64, ids)))
        .collect();
    put_ratios(out, level, Metric::DossierMeanScore, by, |x| {
        (x * 100.0).round() / 100.0
    });
    Ok(())
}

/// Puts each unit's share of its tasks of the period done by their deadline, with the tasks
/// behind it (their ids), into `out`.
async fn task_completion(
    db: &Db,
    area: &Area,
    level: Level,
    period: Period,
    out: &mut Measured,
) -> Result<()> {
    let (from, to) = period.bounds();
    let mut by: HashMap<String, (f64, f64, Vec<i64>)> = HashMap::new();
    for t in crate::tasks::of_period(db, area, from, to).await? {
        let e = by
            .entry(unit_key(level, t.region_code.clone(), t.city_code.clone()))
            .or_default();
        e.0 += f64::from(u8::from(t.done_in_time()));
        e.1 += 1.0;
        e.2.push(t.id);
    }
    put_ratios(out, level, Metric::TaskCompletion, by, |x| x);
    Ok(())
}

/// The unit a record of `region` (in `city`) counts for at a level ("" for the province).
fn unit_key(level: Level, region: String, city: String) -> String {
    match level {
        Level::County => region,
        Level::City => city,
        Level::Province => String::new(),
    }
}

/// Puts `numerator ÷ denominator` per unit (0 without a denominator), rounded by `round`, and
/// the ids behind it, under `metric`; `by` is keyed by unit code ("" for the province).
fn put_ratios(
    out: &mut Measured,
    level: Level,
    metric: Metric,
    by: HashMap<String, (f64, f64, Vec<i64>)>,
    round: fn(f64) -> f64,
) {
    let name = metric.name();
    for u in &mut out.values {
        let key = if level == Level::Province {
            ""
        } else {
            u.unit.as_str()
        };
        let (num, den, mut ids) = by.get(key).cloned().unwrap_or_default();
        let ratio = if den > 0.0 { round(num / den) } else { 0.0 };
        u.values.insert(name.clone(), ratio);
        ids.sort_unstable();
        ids.dedup();
        out.evidence
            .entry(u.unit.clone())
            .or_default()
            .insert(name.clone(), ids);
    }
}

/// Sums per unit and metric, keeping only the units scored and the metrics asked for.
struct Acc {
    unit_of: HashMap<String, String>,
    wanted: HashSet<Metric>,
    sums: HashMap<(String, Metric), (f64, Vec<i64>)>,
    units: Vec<String>,
    metrics: Vec<Metric>,
}

impl Acc {
    fn new(units: &[&Region], metrics: &[Metric], level: Level) -> Acc {
        let mut wanted: HashSet<Metric> = metrics.iter().copied().collect();
        // A share needs its denominator.
        if metrics.iter().any(|m| matches!(m, Metric::SourceShare(_))) {
            wanted.insert(Metric::Cases);
        }
        Acc {
            // The province's unit takes every row (its key is the empty string).
            unit_of: units
                .iter()
                .map(|u| {
                    let key = if level == Level::Province {
                        String::new()
                    } else {
                        u.code.clone()
                    };
                    (key, u.code.clone())
                })
                .collect(),
            wanted,
            sums: HashMap::new(),
            units: units.iter().map(|u| u.code.clone()).collect(),
            metrics: metrics.to_vec(),
        }
    }

    fn add(&mut self, key: &str, metric: Metric, cases: &[i64], amount: f64) {
        if !self.wanted.contains(&metric) {
            return;
        }
        let Some(unit) = self.unit_of.get(key) else {
            return;
        };
        let e = self.sums.entry((unit.clone(), metric)).or_default();
        e.0 += amount;
        e.1.extend_from_slice(cases);
    }

    fn finish(mut self) -> Measured {
        let mut out = Measured::default();
        for unit in &self.units {
            let mut values = BTreeMap::new();
            let mut evidence = BTreeMap::new();
            let cases = self
                .sums
                .get(&(unit.clone(), Metric::Cases))
                .map_or(0.0, |s| s.0);
            for &m in &self.metrics {
                let (sum, mut ids) = self.sums.remove(&(unit.clone(), m)).unwrap_or_default();
                let value = match m {
                    Metric::SourceShare(_) if cases > 0.0 => sum / cases,
                    Metric::SourceShare(_) => 0.0,
                    _ => sum,
                };
                ids.sort_unstable();
                ids.dedup();
                values.insert(m.name(), value);
                evidence.insert(m.name(), ids);
            }
            out.values.push(UnitValues {
                unit: unit.clone(),
                values,
            });
            out.evidence.insert(unit.clone(), evidence);
        }
        out
    }
}
