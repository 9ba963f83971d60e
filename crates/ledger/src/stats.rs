//! Statistics straight from the ledger: every kind of figure the corps reports (cases and
//! fines, the supporting measures, referrals and their criminal-justice outcomes, "两打",
//! third-party fraud by sub-type, "清水蓝天", transferred duties, typical cases), for any
//! region and period, each with the cases behind it.
//!
//! Cost model: one aggregate scan over the period's cases (grouped by region), then the sparse
//! tables (tags, measures, referrals, task forces, typical cases) joined to the same cases;
//! those sets are small, so the figures and their drill-down lists are computed in Rust.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use crate::cases::vocab::{MeasureKind, ReferralKind, Tag, ThirdPartySubtype};
use ecowarden_core::org::{Level, Org};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result, Sql};

/// A reporting period: a year, or one of its halves (the corps reports half-yearly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub year: i32,
    pub half: Option<u8>,
}

impl Period {
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let d = |m, day| NaiveDate::from_ymd_opt(self.year, m, day).expect("valid date");
        match self.half {
            Some(1) => (d(1, 1), d(6, 30)),
            Some(_) => (d(7, 1), d(12, 31)),
            None => (d(1, 1), d(12, 31)),
        }
    }

    pub fn label(self) -> String {
        match self.half {
            Some(1) => format!("{}年上半年", self.year),
            Some(_) => format!("{}年下半年", self.year),
            None => format!("{}年", self.year),
        }
    }
}

/// One reported number and the cases it counts.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Stable key, used by the drill-down link (`/cases?figure=…`).
    pub key: String,
    pub group: &'static str,
    pub label: String,
    pub value: i64,
    /// 件, 人, 个, 批 or 元 (money is in fen in `value` and shown in 万元).
    pub unit: &'static str,
    pub case_ids: Vec<i64>,
}

/// Per-region breakdown of the headline figures.
#[derive(Debug, Clone, Serialize)]
pub struct RegionRow {
    pub region_code: String,
    /// The region's name, or 省总队直办 for the province's code ([`Org::breakdown_name`]).
    pub name: String,
    pub cases: i64,
    pub fine_fen: i64,
    pub closed: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub period: Period,
    pub period_label: String,
    pub region_code: String,
    pub region_name: String,
    pub figures: Vec<Figure>,
    pub by_region: Vec<RegionRow>,
}

impl Stats {
    pub fn figure(&self, key: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.key == key)
    }
}

/// The cases of a period inside a scope and an optional sub-region, as a SQL condition on
/// alias `c` (appended to `sql`).
fn case_filter(
    sql: &mut Sql,
    scope: &Scope,
    region: Option<&ecowarden_core::org::Region>,
    period: Period,
) {
    // `year` is the case's statistical year (of filing, or of discovery before filing), so a
    // year's cases are one range of the covering index; a half narrows by the filing date.
    sql.push(" AND c.year = ").bind(period.year as i64);
    if period.half.is_some() {
        let (from, to) = period.bounds();
        sql.push(" AND COALESCE(c.filed_on, c.discovered_on) BETWEEN ")
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string());
    }
    sql.scope(scope, "c");
    if let Some(r) = region {
        match r.level {
            Level::Province => {}
            Level::City => {
                sql.push(" AND c.city_code = ").bind(r.code.as_str());
            }
            Level::County => {
                sql.push(" AND c.region_code = ").bind(r.code.as_str());
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct RegionAgg {
    k: String,
    n: i64,
    fine: i64,
    closed: i64,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    fine_fen: i64,
    decided: i64,
    subtype: Option<String>,
    task_force_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TagRow {
    case_id: i64,
    tag: String,
}

#[derive(sqlx::FromRow)]
struct MeasureRow {
    case_id: i64,
    kind: String,
}

#[derive(sqlx::FromRow)]
struct ReferralRow {
    case_id: i64,
    kind: String,
    persons_detained: i64,
    arrest_review_persons: i64,
    arrest_approved_persons: i64,
    prosecution_persons: i64,
    guilty_plea_persons: i64,
}

#[derive(sqlx::FromRow)]
struct TypicalRow {
    batch_id: i64,
    theme: String,
    case_id: i64,
}

#[derive(sqlx::FromRow)]
struct TaskForceRow {
    id: i64,
    theme: String,
}

/// Computes every figure for a scope, an optional sub-region inside it, and a period.
/// `region` must lie inside `scope` (the caller checks and refuses otherwise).
pub async fn compute(
    db: &Db,
    org: &Org,
    scope: &Scope,
    region: Option<&str>,
    period: Period,
) -> Result<Stats> {
    let region = region.and_then(|r| org.region(r));
    let group_col = match (region.map(|r| r.level), scope) {
        (Some(Level::County), _) | (_, Scope::County(_)) => "c.region_code",
        (Some(Level::City), _) | (_, Scope::City(_)) => "c.region_code",
        _ => "c.city_code",
    };

    // 1. Headline figures by region, one scan.
    let mut sql = Sql::new(&format!(
        "SELECT {group_col} AS k, COUNT(*) AS n, CAST(COALESCE(SUM(c.fine_fen), 0) AS BIGINT) AS fine, \
         CAST(COALESCE(SUM(CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS closed FROM cases c WHERE 1=1"
    ));
    case_filter(&mut sql, scope, region, period);
    sql.push(&format!(" GROUP BY {group_col}"));
    let regions: Vec<RegionAgg> = sql.fetch_all(db).await?;

    // 2. The sparse sets, each restricted to the same cases.
    let sparse = |select: &str, join: &str| {
        let mut s = Sql::new(&format!("SELECT {select} FROM {join} WHERE 1=1"));
        case_filter(&mut s, scope, region, period);
        s
    };
    let tags: Vec<TagRow> = sparse(
        "t.case_id, t.tag",
        "case_tags t JOIN cases c ON c.id = t.case_id",
    )
    .fetch_all(db)
    .await?;
    let measures: Vec<MeasureRow> = sparse(
        "m.case_id, m.kind",
        "measures m JOIN cases c ON c.id = m.case_id",
    )
    .fetch_all(db)
    .await?;
    let referrals: Vec<ReferralRow> = sparse(
        "r.case_id, r.kind, r.persons_detained, r.arrest_review_persons, r.arrest_approved_persons, \
         r.prosecution_persons, r.guilty_plea_persons",
        "referrals r JOIN cases c ON c.id = r.case_id",
    )
    .fetch_all(db)
    .await?;
    let typical: Vec<TypicalRow> = sparse(
        "tc.batch_id, b.theme, tc.case_id",
        "typical_cases tc JOIN typical_batches b ON b.id = tc.batch_id JOIN cases c ON c.id = tc.case_id",
    )
    .fetch_all(db)
    .await?;
    // Cases that are tagged, referred, linked to a third party or a task force: their details.
    let mut detail = sparse(
        "c.id, c.fine_fen, CASE WHEN c.decided_on IS NOT NULL THEN 1 ELSE 0 END AS decided, \
         c.third_party_subtype AS subtype, c.task_force_id",
        "cases c",
    );
    // Driven from the sparse links, not a scan of every case.
    detail.push(
        " AND c.id IN (SELECT t.case_id FROM case_tags t \
         UNION SELECT x.id FROM cases x WHERE x.third_party_id IS NOT NULL \
         UNION SELECT x.id FROM cases x WHERE x.task_force_id IS NOT NULL)",
    );
    let details: HashMap<i64, CaseRow> = detail
        .fetch_all::<CaseRow>(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let (from, to) = period.bounds();
    let task_forces: Vec<TaskForceRow> = {
        let mut s =
            Sql::new("SELECT t.id, t.theme FROM task_forces t WHERE t.established_on BETWEEN ");
        s.bind(from.to_string()).push(" AND ").bind(to.to_string());
        s.scope(scope, "t");
        s.fetch_all(db).await?
    };

    // 3. Figures.
    let mut f = Figures::default();
    let total: i64 = regions.iter().map(|r| r.n).sum();
    let fine: i64 = regions.iter().map(|r| r.fine).sum();
    let closed: i64 = regions.iter().map(|r| r.closed).sum();
    f.push_all("cases.total", "案件", "查处案件", total, "件");
    f.push_all("cases.fine", "案件", "罚没金额", fine, "元");
    f.push_all("cases.closed", "案件", "已结案", closed, "件");

    let tagged = |tag: Tag| -> BTreeSet<i64> {
        tags.iter()
            .filter(|t| t.tag == tag.as_str())
            .map(|t| t.case_id)
            .collect()
    };
    let with_measure = |kind: MeasureKind| -> BTreeSet<i64> {
        measures
            .iter()
            .filter(|m| m.kind == kind.as_str())
            .map(|m| m.case_id)
            .collect()
    };
    let referred = |kind: ReferralKind| -> Vec<&ReferralRow> {
        referrals
            .iter()
            .filter(|r| r.kind == kind.as_str())
            .collect()
    };
    for kind in MeasureKind::ALL {
        f.cases(
            &format!("measures.{}", kind.as_str()),
            "配套办法",
            kind.label(),
            with_measure(*kind),
        );
    }
    for kind in ReferralKind::ALL {
        f.cases(
            &format!("referrals.{}", kind.as_str()),
            "移送",
            kind.label(),
            referred(*kind).iter().map(|r| r.case_id).collect(),
        );
    }

    // 两打.
    for tag in [Tag::HazardousWaste, Tag::MonitoringFraud] {
        let cases = tagged(tag);
        let judicial: BTreeSet<i64> = referrals
            .iter()
            .filter(|r| r.kind == "criminal" && cases.contains(&r.case_id))
            .map(|r| r.case_id)
            .collect();
        f.cases(
            &format!("dual_crackdown.{}.cases", tag.as_str()),
            "两打",
            &format!("{}案件", tag.label()),
            cases,
        );
        f.cases(
            &format!("dual_crackdown.{}.criminal", tag.as_str()),
            "两打",
            &format!("{}移送司法", tag.label()),
            judicial,
        );
        let forces: Vec<i64> = task_forces
            .iter()
            .filter(|t| t.theme == tag.as_str())
            .map(|t| t.id)
            .collect();
        let force_cases = details
            .values()
            .filter(|d| d.task_force_id.is_some_and(|t| forces.contains(&t)))
            .map(|d| d.id)
            .collect();
        f.push(
            &format!("dual_crackdown.{}.task_forces", tag.as_str()),
            "两打",
            &format!("{}专案攻坚", tag.label()),
            forces.len() as i64,
            "个",
            force_cases,
        );
    }

    // 第三方弄虚作假.
    let tp = tagged(Tag::ThirdPartyFraud);
    let tp_fine = tp
        .iter()
        .filter_map(|id| details.get(id))
        .map(|d| d.fine_fen)
        .sum();
    f.cases(
        "third_party.cases",
        "第三方弄虚作假",
        "第三方弄虚作假案件",
        tp.clone(),
    );
    f.push(
        "third_party.fine",
        "第三方弄虚作假",
        "第三方弄虚作假罚款",
        tp_fine,
        "元",
        tp.iter().copied().collect(),
    );
    for st in ThirdPartySubtype::ALL {
        let ids = tp
            .iter()
            .filter(|id| details.get(id).and_then(|d| d.subtype.as_deref()) == Some(st.as_str()))
            .copied()
            .collect();
        f.cases(
            &format!("third_party.{}", st.as_str()),
            "第三方弄虚作假",
            &format!("{}类", st.label()),
            ids,
        );
    }
    referral_figures(&mut f, "third_party", "第三方弄虚作假", &referrals, &tp);
    let tp_typical: Vec<&TypicalRow> = typical
        .iter()
        .filter(|t| t.theme == Tag::ThirdPartyFraud.as_str())
        .collect();
    f.push(
        "third_party.typical_batches",
        "第三方弄虚作假",
        "典型案例批次",
        tp_typical
            .iter()
            .map(|t| t.batch_id)
            .collect::<BTreeSet<_>>()
            .len() as i64,
        "批",
        tp_typical.iter().map(|t| t.case_id).collect(),
    );
    f.cases(
        "third_party.typical_cases",
        "第三方弄虚作假",
        "典型案例",
        tp_typical.iter().map(|t| t.case_id).collect(),
    );

    // 清水蓝天.
    let cw = tagged(Tag::ClearWaterBlueSky);
    f.cases(
        "clear_water.cases",
        "清水蓝天",
        "“清水蓝天”办理案件",
        cw.clone(),
    );
    f.cases(
        "clear_water.ordinary_penalty",
        "清水蓝天",
        "行政处罚",
        cw.iter()
            .filter(|id| details.get(id).is_some_and(|d| d.decided == 1))
            .copied()
            .collect(),
    );
    for kind in MeasureKind::ALL {
        f.cases(
            &format!("clear_water.{}", kind.as_str()),
            "清水蓝天",
            kind.label(),
            with_measure(*kind).intersection(&cw).copied().collect(),
        );
    }
    for kind in [ReferralKind::Detention, ReferralKind::Criminal] {
        let ids = referred(kind)
            .iter()
            .map(|r| r.case_id)
            .filter(|id| cw.contains(id))
            .collect();
        f.cases(
            &format!("clear_water.{}", kind.as_str()),
            "清水蓝天",
            kind.label(),
            ids,
        );
    }

    // 划转职能.
    let td = tagged(Tag::TransferredDuties);
    f.cases(
        "transferred_duties.cases",
        "划转职能",
        "划转职能立案查处",
        td,
    );
    f.cases(
        "transferred_duties.typical_cases",
        "划转职能",
        "典型案例",
        typical
            .iter()
            .filter(|t| t.theme == Tag::TransferredDuties.as_str())
            .map(|t| t.case_id)
            .collect(),
    );

    let mut by_region: Vec<RegionRow> = regions
        .into_iter()
        .map(|r| RegionRow {
            name: org.breakdown_name(&r.k).to_owned(),
            region_code: r.k,
            cases: r.n,
            fine_fen: r.fine,
            closed: r.closed,
        })
        .collect();
    by_region.sort_by(|a, b| a.region_code.cmp(&b.region_code));
    let (region_code, region_name) = match region {
        Some(r) => (r.code.clone(), r.name.clone()),
        None => match scope {
            Scope::Province => (org.province().code.clone(), org.province().name.clone()),
            Scope::City(c) | Scope::County(c) => (c.clone(), org.name(c).to_owned()),
        },
    };
    Ok(Stats {
        period,
        period_label: period.label(),
        region_code,
        region_name,
        figures: f.0,
        by_region,
    })
}

/// Referral counts and the procuratorate's outcomes among a set of cases.
fn referral_figures(
    f: &mut Figures,
    prefix: &str,
    group: &'static str,
    referrals: &[ReferralRow],
    among: &BTreeSet<i64>,
) {
    let rs: Vec<&ReferralRow> = referrals
        .iter()
        .filter(|r| among.contains(&r.case_id))
        .collect();
    for kind in ReferralKind::ALL {
        let ids = rs
            .iter()
            .filter(|r| r.kind == kind.as_str())
            .map(|r| r.case_id)
            .collect();
        f.cases(
            &format!("{prefix}.{}", kind.as_str()),
            group,
            kind.label(),
            ids,
        );
    }
    type Persons = fn(&ReferralRow) -> i64;
    let outcomes: [(&str, &str, Persons); 5] = [
        ("detained", "行政拘留", |r| r.persons_detained),
        ("arrest_review", "审查逮捕", |r| r.arrest_review_persons),
        ("arrest_approved", "批准逮捕", |r| {
            r.arrest_approved_persons
        }),
        ("prosecution", "审查起诉", |r| r.prosecution_persons),
        ("guilty_plea", "认罪认罚", |r| r.guilty_plea_persons),
    ];
    for (key, label, persons) in outcomes {
        let hits: Vec<&&ReferralRow> = rs.iter().filter(|r| persons(r) > 0).collect();
        let ids: BTreeSet<i64> = hits.iter().map(|r| r.case_id).collect();
        f.push(
            &format!("{prefix}.{key}.persons"),
            group,
            &format!("{label}（人）"),
            hits.iter().map(|r| persons(r)).sum(),
            "人",
            ids.iter().copied().collect(),
        );
        f.cases(
            &format!("{prefix}.{key}.cases"),
            group,
            &format!("{label}（件）"),
            ids,
        );
    }
}

#[derive(Default)]
struct Figures(Vec<Figure>);

impl Figures {
    fn push(
        &mut self,
        key: &str,
        group: &'static str,
        label: &str,
        value: i64,
        unit: &'static str,
        case_ids: Vec<i64>,
    ) {
        self.0.push(Figure {
            key: key.to_owned(),
            group,
            label: label.to_owned(),
            value,
            unit,
            case_ids,
        });
    }
    /// A count of cases: the value is the number of ids.
    fn cases(&mut self, key: &str, group: &'static str, label: &str, ids: BTreeSet<i64>) {
        let ids: Vec<i64> = ids.into_iter().collect();
        self.push(key, group, label, ids.len() as i64, "件", ids);
    }
    /// A figure over all cases of the period; its drill-down is the filtered case list.
    fn push_all(
        &mut self,
        key: &str,
        group: &'static str,
        label: &str,
        value: i64,
        unit: &'static str,
    ) {
        self.push(key, group, label, value, unit, Vec::new());
    }
}
