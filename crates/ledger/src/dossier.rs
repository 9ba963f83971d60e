//! Case files from the store, checked: reads what [`crate::checks`] needs of one case or of
//! every case in an area and year, in chunks of consecutive ids so a province-year of a
//! million cases is a few range scans per chunk rather than a query per case.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::calendar::Calendar;
use crate::cases::Status;
use crate::cases::fields::Dates;
use crate::cases::records;
use crate::cases::vocab::{MeasureKind, PenaltyKind, ReferralKind, SuspensionKind, parse_list};
use crate::checks::{
    self, Dossier, Excluded, Finding, MeasureFacts, Policy, RecordFacts, ReferralFacts,
};
use ecowarden_core::config::LegalSettings;
use ecowarden_core::ids::Money;
use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Result, Sql};

impl From<&LegalSettings> for Policy {
    fn from(s: &LegalSettings) -> Policy {
        Policy {
            large_fine: Money::from_yuan(s.large_fine_yuan),
        }
    }
}

/// One case's findings, with where it belongs.
#[derive(Debug, Clone)]
pub struct Checked {
    pub case_id: i64,
    pub case_no: String,
    pub region_code: String,
    pub city_code: String,
    pub findings: Vec<Finding>,
}

const CASE_COLUMNS: &str = "c.id, c.case_no, c.region_code, c.city_code, c.status, c.discovered_on, \
     c.filed_on, c.investigation_on, c.prior_notice_on, c.hearing_requested_on, c.hearing_held_on, \
     c.decided_on, c.served_on, c.paid_on, c.closed_on, c.violation_ended_on, c.continuing, \
     c.special_limitation, c.filing_extended_on, c.term_extended_on, c.term_discussed_on, \
     c.penalty_kinds, c.fine_fen, c.late_fee_fen, c.statement_waived_on, c.hearing_notice_on, \
     c.collective_discussion_on, c.legal_review_on, c.decision_no, c.service_method, \
     c.service_consent, c.deferral_approved_on, c.enforcement_applied_on, c.disclosed_on, \
     c.closure_type, c.preserved_on, c.preservation_approved_on, c.preservation_handled_on";

/// Cases per chunk: large enough that the side tables are read by a few range scans, small
/// enough that a chunk's rows stay in cache.
const CHUNK: i64 = 20_000;

fn date(r: &AnyRow, col: &str) -> Option<NaiveDate> {
    r.get::<Option<String>, _>(col).and_then(|s| s.parse().ok())
}

fn dossier_of(r: &AnyRow) -> (Checked, Dossier) {
    let checked = Checked {
        case_id: r.get("id"),
        case_no: r.get("case_no"),
        region_code: r.get("region_code"),
        city_code: r.get("city_code"),
        findings: Vec::new(),
    };
    let d = Dossier {
        case_no: checked.case_no.clone(),
        status: Status::parse(&r.get::<String, _>("status")),
        dates: Dates {
            discovered_on: r.get::<String, _>("discovered_on").parse().ok(),
            filed_on: date(r, "filed_on"),
            investigation_on: date(r, "investigation_on"),
            prior_notice_on: date(r, "prior_notice_on"),
            hearing_requested_on: date(r, "hearing_requested_on"),
            hearing_held_on: date(r, "hearing_held_on"),
            decided_on: date(r, "decided_on"),
            served_on: date(r, "served_on"),
            paid_on: date(r, "paid_on"),
            closed_on: date(r, "closed_on"),
        },
        violation_ended_on: date(r, "violation_ended_on"),
        continuing: r.get::<i64, _>("continuing") != 0,
        special_limitation: r.get::<i64, _>("special_limitation") != 0,
        filing_extended_on: date(r, "filing_extended_on"),
        term_extended_on: date(r, "term_extended_on"),
        term_discussed_on: date(r, "term_discussed_on"),
        penalty_kinds: parse_list(&r.get::<String, _>("penalty_kinds"), PenaltyKind::parse)
            .unwrap_or_default(),
        fine: Money::from_fen(r.get("fine_fen")),
        late_fee: Money::from_fen(r.get("late_fee_fen")),
        statement_waived_on: date(r, "statement_waived_on"),
        hearing_notice_on: date(r, "hearing_notice_on"),
        collective_discussion_on: date(r, "collective_discussion_on"),
        legal_review_on: date(r, "legal_review_on"),
        decision_no: r.get("decision_no"),
        service_method: r.get("service_method"),
        service_consent: r.get::<i64, _>("service_consent") != 0,
        deferral_approved_on: date(r, "deferral_approved_on"),
        enforcement_applied_on: date(r, "enforcement_applied_on"),
        disclosed_on: date(r, "disclosed_on"),
        closure_type: r.get("closure_type"),
        preserved_on: date(r, "preserved_on"),
        preservation_approved_on: date(r, "preservation_approved_on"),
        preservation_handled_on: date(r, "preservation_handled_on"),
        ..Default::default()
    };
    (checked, d)
}

/// Fills the side tables (measures, referrals, excluded periods, documents, certified
/// officers) of the cases with ids in `first..=last`.
async fn fill(db: &Db, files: &mut HashMap<i64, Dossier>, first: i64, last: i64) -> Result<()> {
    let range = |select: &str| {
        let mut s = Sql::new(select);
        s.bind(first).push(" AND ").bind(last);
        s
    };
    let rows: Vec<AnyRow> = range(
        "SELECT case_id, kind, decided_on, extended_on, released_on, end_on, correction_served_on, \
         reinspection_on, days, amount_fen FROM measures WHERE case_id BETWEEN ",
    )
    .fetch_rows(db)
    .await?;
    for r in &rows {
        let (Some(d), Some(kind), Some(decided_on)) = (
            files.get_mut(&r.get::<i64, _>("case_id")),
            MeasureKind::parse(&r.get::<String, _>("kind")),
            date(r, "decided_on"),
        ) else {
            continue;
        };
        d.measures.push(MeasureFacts {
            kind,
            decided_on,
            extended_on: date(r, "extended_on"),
            released_on: date(r, "released_on"),
            end_on: date(r, "end_on"),
            correction_served_on: date(r, "correction_served_on"),
            reinspection_on: date(r, "reinspection_on"),
            days: r.get("days"),
            amount: Money::from_fen(r.get("amount_fen")),
        });
    }
    let rows: Vec<AnyRow> = range(
        "SELECT case_id, kind, referred_on, report_on, approved_on FROM referrals WHERE case_id BETWEEN ",
    )
    .fetch_rows(db)
    .await?;
    for r in &rows {
        let (Some(d), Some(kind), Some(referred_on)) = (
            files.get_mut(&r.get::<i64, _>("case_id")),
            ReferralKind::parse(&r.get::<String, _>("kind")),
            date(r, "referred_on"),
        ) else {
            continue;
        };
        d.referrals.push(ReferralFacts {
            kind,
            referred_on,
            report_on: date(r, "report_on"),
            approved_on: date(r, "approved_on"),
        });
    }
    let rows: Vec<AnyRow> = range(
        "SELECT case_id, kind, start_on, end_on FROM case_suspensions WHERE case_id BETWEEN ",
    )
    .fetch_rows(db)
    .await?;
    for r in &rows {
        let (Some(d), Some(kind), Some(start_on)) = (
            files.get_mut(&r.get::<i64, _>("case_id")),
            SuspensionKind::parse(&r.get::<String, _>("kind")),
            date(r, "start_on"),
        ) else {
            continue;
        };
        d.excluded.push(Excluded {
            kind,
            start_on,
            end_on: date(r, "end_on"),
        });
    }
    let rows: Vec<AnyRow> =
        range("SELECT case_id, doc_type FROM case_documents WHERE case_id BETWEEN ")
            .fetch_rows(db)
            .await?;
    for r in &rows {
        if let Some(d) = files.get_mut(&r.get::<i64, _>("case_id")) {
            d.documents.push(r.get("doc_type"));
        }
    }
    // Certified on the day of the decision (or of filing, before one): an officer who has
    // left since still acted lawfully then.
    let rows: Vec<AnyRow> = range(
        "SELECT case_id, kind, started_at, ended_at, officers FROM case_records WHERE case_id BETWEEN ",
    )
    .fetch_rows(db)
    .await?;
    for r in &rows {
        if let Some(d) = files.get_mut(&r.get::<i64, _>("case_id")) {
            let time = |col: &str| {
                chrono::NaiveDateTime::parse_from_str(
                    &r.get::<String, _>(col),
                    records::TIME_FORMAT,
                )
                .ok()
            };
            d.records.push(RecordFacts {
                kind: r.get("kind"),
                started_at: time("started_at"),
                ended_at: time("ended_at"),
                officers: records::officers_of(&r.get::<String, _>("officers")),
            });
        }
    }
    let mut officers = range(&format!(
        "SELECT co.case_id, COUNT(*) AS n FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         JOIN cases c ON c.id = co.case_id WHERE {} AND co.case_id BETWEEN ",
        crate::cases::certified_on("COALESCE(c.decided_on, c.filed_on, c.discovered_on)")
    ));
    officers.push(" GROUP BY co.case_id");
    let rows = officers.fetch_rows(db).await?;
    for r in &rows {
        if let Some(d) = files.get_mut(&r.get::<i64, _>("case_id")) {
            d.certified_officers = r.get::<i64, _>("n") as usize;
        }
    }
    Ok(())
}

/// The file of one case in an area, checked; `None` if there is no such case in it.
pub async fn check_case(
    db: &Db,
    area: &Area,
    case_id: i64,
    cal: &Calendar,
    policy: &Policy,
) -> Result<Option<Checked>> {
    let mut sql = Sql::new(&format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = "));
    sql.bind(case_id);
    sql.scope(area, "c");
    let mut out = Vec::new();
    checked_rows(db, sql.fetch_rows(db).await?, cal, policy, &mut |c| {
        out.push(c)
    })
    .await?;
    Ok(out.pop())
}

/// The id of a case by its number, inside an area.
pub async fn case_id(db: &Db, area: &Area, case_no: &str) -> Result<Option<i64>> {
    let mut sql = Sql::new("SELECT c.id FROM cases c WHERE c.case_no = ");
    sql.bind(case_no.trim());
    sql.scope(area, "c");
    let ids: Vec<(i64,)> = sql.fetch_all(db).await?;
    Ok(ids.first().map(|r| r.0))
}

async fn checked_rows(
    db: &Db,
    rows: Vec<AnyRow>,
    cal: &Calendar,
    policy: &Policy,
    each: &mut impl FnMut(Checked),
) -> Result<Option<i64>> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    let (first, last): (i64, i64) = (first.get("id"), last.get("id"));
    let mut order = Vec::with_capacity(rows.len());
    let mut files = HashMap::with_capacity(rows.len());
    for r in &rows {
        let (c, d) = dossier_of(r);
        files.insert(c.case_id, d);
        order.push(c);
    }
    fill(db, &mut files, first, last).await?;
    for mut c in order {
        c.findings = checks::run(&files[&c.case_id], cal, policy);
        each(c);
    }
    Ok(Some(last))
}

/// Checks every case of an area (and of a statistical year: filed in it, or discovered in
/// it when not filed), in id order, handing each case's findings to `each`.
pub async fn check_all(
    db: &Db,
    area: &Area,
    year: Option<i32>,
    cal: &Calendar,
    policy: &Policy,
    mut each: impl FnMut(Checked),
) -> Result<usize> {
    let mut after = 0i64;
    let mut n = 0;
    loop {
        let mut sql = Sql::new(&format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id > "));
        sql.bind(after);
        sql.scope(area, "c");
        if let Some(y) = year {
            sql.push(" AND c.year = ").bind(y as i64);
        }
        sql.push(" ORDER BY c.id LIMIT ").bind(CHUNK);
        let rows = sql.fetch_rows(db).await?;
        n += rows.len();
        match checked_rows(db, rows, cal, policy, &mut each).await? {
            Some(last) => after = last,
            None => return Ok(n),
        }
    }
}
