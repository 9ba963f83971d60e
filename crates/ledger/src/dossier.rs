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
use crate::cases::vocab::{
    ApprovalKind, MeasureKind, NoticeKind, PenaltyKind, ReferralKind, SuspensionKind, parse_list,
};
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
    /// The statistical year (立案 year, or discovery year when not filed).
    pub year: i64,
    pub findings: Vec<Finding>,
}

/// The date columns a check reads, in the order [`case_columns`] packs them.
const DATE_COLUMNS: [&str; 25] = [
    "discovered_on",
    "filed_on",
    "investigation_on",
    "prior_notice_on",
    "hearing_requested_on",
    "hearing_held_on",
    "decided_on",
    "served_on",
    "paid_on",
    "closed_on",
    "violation_ended_on",
    "filing_extended_on",
    "term_extended_on",
    "term_discussed_on",
    "statement_waived_on",
    "hearing_notice_on",
    "collective_discussion_on",
    "legal_review_on",
    "deferral_approved_on",
    "enforcement_applied_on",
    "disclosed_on",
    "preserved_on",
    "preservation_approved_on",
    "preservation_handled_on",
    "statement_on",
];

/// The case columns the checks read. The dates come packed into one text column
/// (`2023-03-01,,2023-03-05,…`): the `Any` driver turns every value of every row into an owned
/// value, and over a million cases the 24 mostly empty date columns cost more than the checks.
fn case_columns() -> String {
    let dates: Vec<String> = DATE_COLUMNS
        .iter()
        .map(|c| format!("COALESCE(c.{c}, '')"))
        .collect();
    format!(
        "c.id, c.case_no, c.region_code, c.city_code, c.status, c.penalty_kinds, c.fine_fen, \
         c.late_fee_fen, c.continuing + 2 * c.special_limitation + 4 * c.service_consent \
         + CASE WHEN c.hearing_host <> '' AND EXISTS (SELECT 1 FROM case_officers co \
           JOIN officers o ON o.id = co.officer_id WHERE co.case_id = c.id \
           AND (o.certificate_no = c.hearing_host OR o.name = c.hearing_host)) THEN 8 ELSE 0 END \
         + CASE WHEN c.legal_basis <> '' OR EXISTS (SELECT 1 FROM case_provisions p \
           WHERE p.case_id = c.id AND p.role = 'penalty') THEN 16 ELSE 0 END AS flags, \
         c.service_method || '|' || c.closure_type || '|' || c.notice_kind AS texts, {} AS dates, c.year",
        dates.join(" || ',' || ")
    )
}

/// Cases per chunk: large enough that the side tables are read by a few range scans, small
/// enough that a chunk's rows stay in cache.
const CHUNK: i64 = 20_000;

fn dossier_of(r: &AnyRow) -> (Checked, Dossier) {
    let checked = Checked {
        case_id: r.get(0),
        case_no: r.get(1),
        region_code: r.get(2),
        city_code: r.get(3),
        year: r.get(11),
        findings: Vec::new(),
    };
    let packed: String = r.get(10);
    let mut dates = [None; 25];
    for (slot, text) in dates.iter_mut().zip(packed.split(',')) {
        *slot = iso_date(text);
    }
    let [
        discovered_on,
        filed_on,
        investigation_on,
        prior_notice_on,
        hearing_requested_on,
        hearing_held_on,
        decided_on,
        served_on,
        paid_on,
        closed_on,
        violation_ended_on,
        filing_extended_on,
        term_extended_on,
        term_discussed_on,
        statement_waived_on,
        hearing_notice_on,
        collective_discussion_on,
        legal_review_on,
        deferral_approved_on,
        enforcement_applied_on,
        disclosed_on,
        preserved_on,
        preservation_approved_on,
        preservation_handled_on,
        statement_on,
    ] = dates;
    let flags: i64 = r.get(8);
    let texts: String = r.get(9);
    let mut texts = texts.split('|');
    let mut text = || texts.next().unwrap_or("").to_owned();
    let (service_method, closure_type, notice_kind) = (text(), text(), text());
    let d = Dossier {
        case_no: checked.case_no.clone(),
        status: Status::parse(&r.get::<String, _>(4)),
        dates: Dates {
            discovered_on,
            filed_on,
            investigation_on,
            prior_notice_on,
            hearing_requested_on,
            hearing_held_on,
            decided_on,
            served_on,
            paid_on,
            closed_on,
        },
        violation_ended_on,
        continuing: flags & 1 != 0,
        special_limitation: flags & 2 != 0,
        filing_extended_on,
        term_extended_on,
        term_discussed_on,
        penalty_kinds: parse_list(&r.get::<String, _>(5), PenaltyKind::parse).unwrap_or_default(),
        fine: Money::from_fen(r.get(6)),
        late_fee: Money::from_fen(r.get(7)),
        statement_waived_on,
        hearing_notice_on,
        collective_discussion_on,
        legal_review_on,
        service_method,
        service_consent: flags & 4 != 0,
        deferral_approved_on,
        enforcement_applied_on,
        disclosed_on,
        closure_type,
        notice_kind: NoticeKind::parse(&notice_kind),
        statement_on,
        hearing_host_investigates: flags & 8 != 0,
        legal_basis_given: flags & 16 != 0,
        preserved_on,
        preservation_approved_on,
        preservation_handled_on,
        ..Default::default()
    };
    (checked, d)
}

/// A date as the store writes it (`2023-03-01`) read by hand, anything else by chrono: a
/// million cases carry 24 million date slots, most of them empty.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return s.parse().ok();
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// A date column of a side-table row.
fn date(r: &AnyRow, col: &str) -> Option<NaiveDate> {
    r.get::<Option<String>, _>(col).and_then(|s| iso_date(&s))
}

/// Fills the side tables (measures, referrals, excluded periods, records, documents, certified
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
    let rows: Vec<AnyRow> =
        range("SELECT case_id, kind, approved_on FROM case_approvals WHERE case_id BETWEEN ")
            .fetch_rows(db)
            .await?;
    for r in &rows {
        if let (Some(d), Some(kind), Some(on)) = (
            files.get_mut(&r.get::<i64, _>("case_id")),
            ApprovalKind::parse(&r.get::<String, _>("kind")),
            date(r, "approved_on"),
        ) {
            d.approvals.push((kind, on));
        }
    }
    let mut evidence = range(
        "SELECT case_id, MAX(collected_on) AS last_on FROM case_evidence WHERE case_id BETWEEN ",
    );
    evidence.push(" GROUP BY case_id");
    for r in &evidence.fetch_rows(db).await? {
        if let Some(d) = files.get_mut(&r.get::<i64, _>(0)) {
            d.last_evidence_on = date(r, "last_on");
        }
    }
    // One row a case: the templates present as bits (numbers 1–62), not a row a document.
    let mut docs = range(
        "SELECT case_id, CAST(SUM(DISTINCT CAST(1 AS BIGINT) << CAST(doc_type AS INTEGER)) AS BIGINT) AS mask \
         FROM case_documents WHERE doc_type BETWEEN 1 AND 62 AND case_id BETWEEN ",
    );
    docs.push(" GROUP BY case_id");
    for r in &docs.fetch_rows(db).await? {
        if let Some(d) = files.get_mut(&r.get::<i64, _>(0)) {
            let mask: i64 = r.get(1);
            d.documents = (1..=62).filter(|n| mask & (1 << n) != 0).collect();
        }
    }
    // Certified on the day of the decision (or of filing, before one): an officer who has
    // left since still acted lawfully then.
    let mut officers = range(&format!(
        "SELECT co.case_id, COUNT(*) AS n FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         JOIN cases c ON c.id = co.case_id WHERE {} AND co.case_id BETWEEN ",
        crate::cases::certified_on("COALESCE(c.decided_on, c.filed_on, c.discovered_on)")
    ));
    officers.push(" GROUP BY co.case_id");
    for r in &officers.fetch_rows(db).await? {
        if let Some(d) = files.get_mut(&r.get::<i64, _>(0)) {
            d.certified_officers = r.get::<i64, _>(1) as usize;
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
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM cases c WHERE c.id = ",
        case_columns()
    ));
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
    let Some((order, files)) = files_of(db, &rows).await? else {
        return Ok(None);
    };
    let last = order.last().map(|c| c.case_id);
    for mut c in order {
        c.findings = checks::run(&files[&c.case_id], cal, policy);
        each(c);
    }
    Ok(last)
}

/// The case files of rows in id order, with their side records; `None` for no rows.
async fn files_of(
    db: &Db,
    rows: &[AnyRow],
) -> Result<Option<(Vec<Checked>, HashMap<i64, Dossier>)>> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    let (first, last): (i64, i64) = (first.get("id"), last.get("id"));
    let mut order = Vec::with_capacity(rows.len());
    let mut files = HashMap::with_capacity(rows.len());
    for r in rows {
        let (c, d) = dossier_of(r);
        files.insert(c.case_id, d);
        order.push(c);
    }
    fill(db, &mut files, first, last).await?;
    Ok(Some((order, files)))
}

/// An open case past its 办案期限 (C3's term, [`checks::past_term`]).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PastTerm {
    pub case_id: i64,
    pub case_no: String,
    pub region_code: String,
    #[schema(value_type = String, format = Date)]
    pub filed_on: NaiveDate,
    /// The last day the decision was due.
    #[schema(value_type = String, format = Date)]
    pub deadline: NaiveDate,
}

/// The cases of an area and statistical year filed, not decided, closed or withdrawn, and past
/// their 办案期限 on `today`, the longest overdue first. Only cases filed more than
/// [`checks::TERM_DAYS`] before today can be; their files are read and judged by C3's term.
pub async fn past_term(
    db: &Db,
    area: &Area,
    year: i32,
    cal: &Calendar,
    today: NaiveDate,
) -> Result<Vec<PastTerm>> {
    let earliest = today - chrono::Days::new(checks::TERM_DAYS);
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM cases c WHERE c.decided_on IS NULL \
             AND c.status NOT IN ('closed', 'withdrawn') AND c.filed_on < ",
            case_columns()
        ));
        sql.bind(earliest.to_string());
        sql.push(" AND c.id > ").bind(after);
        sql.scope(area, "c");
        sql.push(" AND c.year = ").bind(year as i64);
        sql.push(" ORDER BY c.id LIMIT ").bind(CHUNK);
        let rows = sql.fetch_rows(db).await?;
        let Some((order, files)) = files_of(db, &rows).await? else {
            break;
        };
        after = order.last().map_or(after, |c| c.case_id);
        for c in order {
            let d = &files[&c.case_id];
            if let (Some(t), Some(filed_on)) = (checks::past_term(d, cal, today), d.dates.filed_on)
            {
                out.push(PastTerm {
                    case_id: c.case_id,
                    case_no: c.case_no,
                    region_code: c.region_code,
                    filed_on,
                    deadline: t.deadline,
                });
            }
        }
    }
    out.sort_by(|a, b| a.deadline.cmp(&b.deadline).then(a.case_id.cmp(&b.case_id)));
    Ok(out)
}

/// The next chunk of an area's cases after id `after`, as the driver returns them.
fn chunk_query(area: &Area, year: Option<i32>, after: i64) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM cases c WHERE c.id > ",
        case_columns()
    ));
    sql.bind(after);
    sql.scope(area, "c");
    if let Some(y) = year {
        sql.push(" AND c.year = ").bind(y as i64);
    }
    sql.push(" ORDER BY c.id LIMIT ").bind(CHUNK);
    sql
}

/// Checks every case of an area (and of a statistical year: filed in it, or discovered in
/// it when not filed), in id order, handing each case's findings to `each`. The next chunk
/// is read while this one is checked: reading is the driver's threads' work, checking this
/// one's, so on two cores the two overlap.
pub async fn check_all(
    db: &Db,
    area: &Area,
    year: Option<i32>,
    cal: &Calendar,
    policy: &Policy,
    mut each: impl FnMut(Checked),
) -> Result<usize> {
    let mut n = 0;
    let mut rows = chunk_query(area, year, 0).fetch_rows(db).await?;
    loop {
        let Some(last) = rows.last().map(|r| r.get::<i64, _>(0)) else {
            return Ok(n);
        };
        n += rows.len();
        let (reader, sql) = (db.clone(), chunk_query(area, year, last));
        let next = tokio::spawn(async move { sql.fetch_rows(&reader).await });
        checked_rows(db, rows, cal, policy, &mut each).await?;
        rows = next.await.expect("the chunk reader does not panic")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_read_by_hand_as_chrono_reads_them() {
        for s in [
            "2023-03-01",
            "2024-02-29",
            "2023-02-29",
            "2023-13-01",
            "",
            "2023-3-01",
            "20230301xx",
            "２０２３-03-01",
        ] {
            assert_eq!(iso_date(s), s.parse::<NaiveDate>().ok(), "{s}");
        }
    }
}
