//! Statistics straight from the ledger: every kind of figure the corps reports (cases and
//! fines, the supporting measures, referrals and their criminal-justice outcomes, "两打",
//! third-party fraud by sub-type, "清水蓝天", transferred duties, typical cases), for any
//! region and period, each with the cases behind it.
//!
//! Cost model: one aggregate scan over the period's cases (grouped by region), then the sparse
//! tables (tags, measures, referrals, task forces, typical cases) joined to the same cases;
//! those sets are small, so the figures and their drill-down lists are computed in Rust.

mod count;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use ecowarden_core::org::{Level, Org};
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Result, Sql};

use count::{
    CaseRow, DecisionRow, MeasureRow, ReferralRow, RegionAgg, Rows, TagRow, TaskForceRow,
    TypicalRow,
};

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

impl Figure {
    /// The value with its unit as people read it: money (kept in fen) in 万元.
    pub fn display(&self) -> String {
        show(self.value, self.unit)
    }
}

/// A figure's value with its unit; amounts in fen are shown in 万元.
pub fn show(value: i64, unit: &str) -> String {
    if unit == "元" {
        format!(
            "{}万元",
            ecowarden_core::ids::Money::from_fen(value).wan_yuan()
        )
    } else {
        format!("{value}{unit}")
    }
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

/// The cases of a period inside an area, as a SQL condition on alias `c` (appended to `sql`).
fn case_filter(sql: &mut Sql, area: &Area, period: Period) {
    in_period(sql, period);
    sql.scope(area, "c");
}

/// ` AND` the case is of the period: `year` is the case's statistical year (of filing, or of
/// discovery before filing), so a year's cases are one range of the covering index; a half
/// narrows by the filing date.
fn in_period(sql: &mut Sql, period: Period) {
    sql.push(" AND c.year = ").bind(period.year as i64);
    if period.half.is_some() {
        let (from, to) = period.bounds();
        sql.push(" AND COALESCE(c.filed_on, c.discovered_on) BETWEEN ")
            .bind(from.to_string())
            .push(" AND ")
            .bind(to.to_string());
    }
}

/// The cases of an area that may have a decision, measure or referral dated in the period:
/// those of its statistical year and the year before (a decision follows filing by at most
/// 150 days). A superset the indexes serve; each row's own date narrows it.
fn decision_filter(sql: &mut Sql, area: &Area, period: Period) {
    sql.push(" AND c.year BETWEEN ")
        .bind(period.year as i64 - 1)
        .push(" AND ")
        .bind(period.year as i64);
    sql.scope(area, "c");
}

/// `{col} BETWEEN` the period's first and last day.
fn dated(sql: &mut Sql, col: &str, period: Period) {
    let (from, to) = period.bounds();
    sql.push(" AND ")
        .push(col)
        .push(" BETWEEN ")
        .bind(from.to_string())
        .push(" AND ")
        .bind(to.to_string());
}

/// Computes every figure of an area (the caller's scope, or a region inside it) and a period.
pub async fn compute(db: &Db, org: &Org, area: &Area, period: Period) -> Result<Stats> {
    let group_col = match area.breakdown_level() {
        Level::City => "c.city_code",
        _ => "c.region_code",
    };

    // 1. 立案 cases by region, one scan: the withdrawn and the unfiled are not 立案.
    let mut sql = Sql::new(&format!(
        "SELECT {group_col} AS k, \
         CAST(COALESCE(SUM(CASE WHEN c.filed_on IS NOT NULL AND c.status <> 'withdrawn' THEN 1 ELSE 0 END), 0) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(CASE WHEN c.status = 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS closed FROM cases c WHERE 1=1"
    ));
    case_filter(&mut sql, area, period);
    sql.push(&format!(" GROUP BY {group_col}"));
    let regions: Vec<RegionAgg> = sql.fetch_all(db).await?;

    // 2. The sparse sets, each restricted to the same cases.
    let sparse = |select: &str, join: &str| {
        let mut s = Sql::new(&format!("SELECT {select} FROM {join} WHERE 1=1"));
        case_filter(&mut s, area, period);
        s
    };
    // Decisions, measures and referrals by their own dates.
    let by_date = |select: &str, join: &str, col: &str| {
        let mut s = Sql::new(&format!("SELECT {select} FROM {join} WHERE 1=1"));
        decision_filter(&mut s, area, period);
        dated(&mut s, col, period);
        s
    };
    let decisions: Vec<DecisionRow> = by_date(
        &format!(
            "{group_col} AS k, c.id AS case_id, c.fine_fen, c.confiscation_fen, \
             CASE WHEN c.penalty_kinds LIKE '%no_penalty%' THEN 1 ELSE 0 END AS no_penalty"
        ),
        "cases c",
        "c.decided_on",
    )
    .fetch_all(db)
    .await?;
    let measures: Vec<MeasureRow> = by_date(
        &format!("{group_col} AS k, m.case_id, m.kind, m.amount_fen"),
        "measures m JOIN cases c ON c.id = m.case_id",
        "m.decided_on",
    )
    .fetch_all(db)
    .await?;
    let referrals: Vec<ReferralRow> = by_date(
        "r.case_id, r.kind, r.persons_detained, r.arrest_review_persons, r.arrest_approved_persons, \
         r.prosecution_persons, r.guilty_plea_persons",
        "referrals r JOIN cases c ON c.id = r.case_id",
        "r.referred_on",
    )
    .fetch_all(db)
    .await?;
    // Tags of the cases that may count, marked where the case is of the period.
    let mut tag_sql = Sql::new("SELECT t.case_id, t.tag, CASE WHEN 1=1");
    in_period(&mut tag_sql, period);
    tag_sql.push(
        " THEN 1 ELSE 0 END AS in_period FROM case_tags t JOIN cases c ON c.id = t.case_id WHERE 1=1",
    );
    decision_filter(&mut tag_sql, area, period);
    let tags: Vec<TagRow> = tag_sql.fetch_all(db).await?;
    // Typical cases by their batch's publication date.
    let typical: Vec<TypicalRow> = {
        let mut s = Sql::new(
            "SELECT tc.batch_id, b.theme, tc.case_id FROM typical_cases tc \
             JOIN typical_batches b ON b.id = tc.batch_id JOIN cases c ON c.id = tc.case_id WHERE 1=1",
        );
        dated(&mut s, "b.published_on", period);
        s.scope(area, "c");
        s.fetch_all(db).await?
    };
    // Cases that are tagged, referred, linked to a third party or a task force: their details.
    let mut detail = sparse(
        "c.id, c.fine_fen, c.third_party_subtype AS subtype, c.task_force_id",
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
        s.scope(area.scope(), "t");
        s.fetch_all(db).await?
    };

    // 3. Figures, counted from the rows.
    let fines = count::fines_by_region(&decisions, &measures);
    let figures = count::figures(&Rows {
        regions: &regions,
        decisions: &decisions,
        tags: &tags,
        measures: &measures,
        referrals: &referrals,
        typical: &typical,
        details: &details,
        task_forces: &task_forces,
    });

    let mut by_region: Vec<RegionRow> = regions
        .into_iter()
        .map(|r| RegionRow {
            name: org.breakdown_name(&r.k).to_owned(),
            fine_fen: fines.get(r.k.as_str()).copied().unwrap_or(0),
            region_code: r.k,
            cases: r.n,
            closed: r.closed,
        })
        .collect();
    by_region.sort_by(|a, b| a.region_code.cmp(&b.region_code));
    let (region_code, region_name) = (area.code(org).to_owned(), area.label(org));
    Ok(Stats {
        period,
        period_label: period.label(),
        region_code,
        region_name,
        figures,
        by_region,
    })
}
