//! Case files from the store, checked: reads what [`crate::checks`] needs of one case or of
//! every case in an area and year, in chunks of consecutive ids so a province-year of a
//! million cases is a few range scans per chunk rather than a query per case.

use chrono::NaiveDate;

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
use ecowarden_core::scan::{Cols, Scan};
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
    // The dates as columns of their own: reading 25 values is cheaper than having SQLite
    // build one text of them per case (measured: a tenth of a million-case scan).
    let dates: Vec<String> = DATE_COLUMNS.iter().map(|c| format!("c.{c}")).collect();
    format!(
        "c.id, c.case_no, c.region_code, c.city_code, c.status, c.penalty_kinds, c.fine_fen, \
         c.late_fee_fen, c.continuing + 2 * c.special_limitation + 4 * c.service_consent \
         + CASE WHEN c.hearing_host <> '' AND EXISTS (SELECT 1 FROM case_officers co \
           JOIN officers o ON o.id = co.officer_id WHERE co.case_id = c.id \
           AND (o.certificate_no = c.hearing_host OR o.name = c.hearing_host)) THEN 8 ELSE 0 END \
         + CASE WHEN c.legal_basis <> '' OR EXISTS (SELECT 1 FROM case_provisions p \
           WHERE p.case_id = c.id AND p.role = 'penalty') THEN 16 ELSE 0 END AS flags, \
         c.service_method || '|' || c.closure_type || '|' || c.notice_kind AS texts, c.year, {}",
        dates.join(", ")
    )
}

/// The column of [`case_columns`] where the dates begin, in [`DATE_COLUMNS`] order.
const FIRST_DATE: usize = 11;

/// Cases per chunk: large enough that the side tables are read by a few range scans, small
/// enough that a chunk's rows stay in cache.
const CHUNK: i64 = 20_000;

/// A case of the chunk being read and its file.
type Files = Vec<(Checked, Dossier)>;

fn dossier_of(r: &dyn Cols) -> (Checked, Dossier) {
    let case_no = r.text(1).to_owned();
    let mut dates = [None; 25];
    for (i, slot) in dates.iter_mut().enumerate() {
        *slot = iso_date(r.text(FIRST_DATE + i));
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
    let flags = r.int(8).unwrap_or(0);
    let mut texts = r.text(9).split('|');
    let mut text = || texts.next().unwrap_or("");
    let (service_method, closure_type, notice_kind) = (text(), text(), text());
    let d = Dossier {
        case_no: case_no.clone(),
        status: Status::parse(r.text(4)),
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
        penalty_kinds: parse_list(r.text(5), PenaltyKind::parse).unwrap_or_default(),
        fine: Money::from_fen(r.int(6).unwrap_or(0)),
        late_fee: Money::from_fen(r.int(7).unwrap_or(0)),
        statement_waived_on,
        hearing_notice_on,
        collective_discussion_on,
        legal_review_on,
        service_method: service_method.to_owned(),
        service_consent: flags & 4 != 0,
        deferral_approved_on,
        enforcement_applied_on,
        disclosed_on,
        closure_type: closure_type.to_owned(),
        notice_kind: NoticeKind::parse(notice_kind),
        statement_on,
        hearing_host_investigates: flags & 8 != 0,
        legal_basis_given: flags & 16 != 0,
        preserved_on,
        preservation_approved_on,
        preservation_handled_on,
        ..Default::default()
    };
    let checked = Checked {
        case_id: r.int(0).unwrap_or(0),
        case_no,
        region_code: r.text(2).to_owned(),
        city_code: r.text(3).to_owned(),
        year: r.int(10).unwrap_or(0),
        findings: Vec::new(),
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

/// How a side table's row (case id first) adds to its case's file.
type Fill = fn(&mut Dossier, &dyn Cols);

/// The side tables (measures, referrals, excluded periods, records, approvals, evidence,
/// documents, certified officers) of the cases with ids in `first..=last`: each query with how
/// its rows fill the files.
fn side_queries(first: i64, last: i64) -> [(Sql, Fill); 8] {
    let range = |select: &str, tail: &str| {
        let mut s = Sql::new(select);
        s.bind(first).push(" AND ").bind(last).push(tail);
        s
    };
    // Certified on the day of the decision (or of filing, before one): an officer who has
    // left since still acted lawfully then.
    let officers = format!(
        "SELECT co.case_id, COUNT(*) FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         JOIN cases c ON c.id = co.case_id WHERE {} AND co.case_id BETWEEN ",
        crate::cases::certified_on("COALESCE(c.decided_on, c.filed_on, c.discovered_on)")
    );
    [
        (
            range(
                "SELECT case_id, kind, decided_on, extended_on, released_on, end_on, \
                 correction_served_on, reinspection_on, days, amount_fen FROM measures \
                 WHERE case_id BETWEEN ",
                "",
            ),
            |d, r| {
                if let (Some(kind), Some(decided_on)) =
                    (MeasureKind::parse(r.text(1)), iso_date(r.text(2)))
                {
                    d.measures.push(MeasureFacts {
                        kind,
                        decided_on,
                        extended_on: iso_date(r.text(3)),
                        released_on: iso_date(r.text(4)),
                        end_on: iso_date(r.text(5)),
                        correction_served_on: iso_date(r.text(6)),
                        reinspection_on: iso_date(r.text(7)),
                        days: r.int(8),
                        amount: Money::from_fen(r.int(9).unwrap_or(0)),
                    });
                }
            },
        ),
        (
            range(
                "SELECT case_id, kind, referred_on, report_on, approved_on FROM referrals \
                 WHERE case_id BETWEEN ",
                "",
            ),
            |d, r| {
                if let (Some(kind), Some(referred_on)) =
                    (ReferralKind::parse(r.text(1)), iso_date(r.text(2)))
                {
                    d.referrals.push(ReferralFacts {
                        kind,
                        referred_on,
                        report_on: iso_date(r.text(3)),
                        approved_on: iso_date(r.text(4)),
                    });
                }
            },
        ),
        (
            range(
                "SELECT case_id, kind, start_on, end_on FROM case_suspensions WHERE case_id BETWEEN ",
                "",
            ),
            |d, r| {
                if let (Some(kind), Some(start_on)) =
                    (SuspensionKind::parse(r.text(1)), iso_date(r.text(2)))
                {
                    d.excluded.push(Excluded {
                        kind,
                        start_on,
                        end_on: iso_date(r.text(3)),
                    });
                }
            },
        ),
        (
            range(
                "SELECT case_id, kind, started_at, ended_at, officers FROM case_records \
                 WHERE case_id BETWEEN ",
                "",
            ),
            |d, r| {
                let time =
                    |i| chrono::NaiveDateTime::parse_from_str(r.text(i), records::TIME_FORMAT).ok();
                d.records.push(RecordFacts {
                    kind: r.text(1).to_owned(),
                    started_at: time(2),
                    ended_at: time(3),
                    officers: records::officers_of(r.text(4)),
                });
            },
        ),
        (
            range(
                "SELECT case_id, kind, approved_on FROM case_approvals WHERE case_id BETWEEN ",
                "",
            ),
            |d, r| {
                if let (Some(kind), Some(on)) =
                    (ApprovalKind::parse(r.text(1)), iso_date(r.text(2)))
                {
                    d.approvals.push((kind, on));
                }
            },
        ),
        (
            range(
                "SELECT case_id, MAX(collected_on) FROM case_evidence WHERE case_id BETWEEN ",
                " GROUP BY case_id",
            ),
            |d, r| d.last_evidence_on = iso_date(r.text(1)),
        ),
        // One row a case: the templates present as bits (numbers 1–62), not a row a document.
        (
            range(
                "SELECT case_id, CAST(SUM(DISTINCT CAST(1 AS BIGINT) << CAST(doc_type AS INTEGER)) AS BIGINT) \
                 FROM case_documents WHERE doc_type BETWEEN 1 AND 62 AND case_id BETWEEN ",
                " GROUP BY case_id",
            ),
            |d, r| {
                let mask = r.int(1).unwrap_or(0);
                d.documents = (1..=62).filter(|n| mask & (1 << n) != 0).collect();
            },
        ),
        (range(&officers, " GROUP BY co.case_id"), |d, r| {
            d.certified_officers = r.int(1).unwrap_or(0) as usize
        }),
    ]
}

/// Adds a side table's row to the file of its case, if the case is in the chunk.
fn fill(files: &mut Files, fill: Fill, r: &dyn Cols) {
    let id = r.int(0).unwrap_or(0);
    if let Ok(i) = files.binary_search_by_key(&id, |(c, _)| c.case_id) {
        fill(&mut files[i].1, r);
    }
}

/// The files of the cases `sql` selects (in id order), read through the pool.
async fn files_of(db: &Db, sql: Sql) -> Result<Files> {
    let mut files: Files = sql
        .fetch_rows(db)
        .await?
        .iter()
        .map(|r| dossier_of(r))
        .collect();
    let (Some(first), Some(last)) = (files.first(), files.last()) else {
        return Ok(files);
    };
    for (sql, f) in side_queries(first.0.case_id, last.0.case_id) {
        for r in &sql.fetch_rows(db).await? {
            fill(&mut files, f, r);
        }
    }
    Ok(files)
}

/// [`files_of`], through a [`Scan`] on a blocking thread when the store is a SQLite file: the
/// dashboards' past-term list reads every open case of a scope at each refresh, and the pool's
/// driver copies every value (the load test over a million old cases spent its time there).
async fn read_files(db: &Db, sql: Sql) -> Result<Files> {
    match Scan::open(db)? {
        Some(scan) => tokio::task::spawn_blocking(move || scanned_files(&scan, &sql))
            .await
            .expect("a chunk reader does not panic"),
        None => files_of(db, sql).await,
    }
}

/// [`files_of`], read by a [`Scan`].
fn scanned_files(scan: &Scan, sql: &Sql) -> Result<Files> {
    let mut files = Files::new();
    scan.each(sql, |r| files.push(dossier_of(r)))?;
    let (Some(first), Some(last)) = (files.first(), files.last()) else {
        return Ok(files);
    };
    for (sql, f) in side_queries(first.0.case_id, last.0.case_id) {
        scan.each(&sql, |r| fill(&mut files, f, r))?;
    }
    Ok(files)
}

/// Checks the files and hands each case's findings to `each`.
fn check_files(files: Files, cal: &Calendar, policy: &Policy, each: &mut impl FnMut(Checked)) {
    for (mut c, d) in files {
        c.findings = checks::run(&d, cal, policy);
        each(c);
    }
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
    let mut out = None;
    check_files(files_of(db, sql).await?, cal, policy, &mut |c| {
        out = Some(c)
    });
    Ok(out)
}

/// The id of a case by its number, inside an area.
pub async fn case_id(db: &Db, area: &Area, case_no: &str) -> Result<Option<i64>> {
    let mut sql = Sql::new("SELECT c.id FROM cases c WHERE c.case_no = ");
    sql.bind(case_no.trim());
    sql.scope(area, "c");
    let ids: Vec<(i64,)> = sql.fetch_all(db).await?;
    Ok(ids.first().map(|r| r.0))
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
        let files = read_files(db, sql).await?;
        let Some(last) = files.last().map(|(c, _)| c.case_id) else {
            break;
        };
        after = last;
        for (c, d) in files {
            if let (Some(t), Some(filed_on)) = (checks::past_term(&d, cal, today), d.dates.filed_on)
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

/// The next chunk of an area's cases after id `after`.
/// The cases after id `after`: those up to `upto`, or the next [`CHUNK`] of them.
fn chunk_query(area: &Area, year: Option<i32>, after: i64, upto: Option<i64>) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM cases c WHERE c.id > ",
        case_columns()
    ));
    sql.bind(after);
    if let Some(u) = upto {
        sql.push(" AND c.id <= ").bind(u);
    }
    sql.scope(area, "c");
    if let Some(y) = year {
        sql.push(" AND c.year = ").bind(y as i64);
    }
    sql.push(" ORDER BY c.id");
    if upto.is_none() {
        sql.push(" LIMIT ").bind(CHUNK);
    }
    sql
}

/// Threads reading SQLite for [`check_all`]: reading is most of its time (the checks about a
/// tenth), so each core reads.
const READERS: usize = 2;

/// Checks every case of an area (and of a statistical year: filed in it, or discovered in
/// it when not filed), in id order, handing each case's findings to `each`. Reading overlaps
/// the checks: on SQLite [`READERS`] threads, each with its own [`Scan`], take windows of
/// [`CHUNK`] ids in turn and the windows are checked here in order; on PostgreSQL the next
/// chunk is read through the pool while this one is checked.
pub async fn check_all(
    db: &Db,
    area: &Area,
    year: Option<i32>,
    cal: &Calendar,
    policy: &Policy,
    mut each: impl FnMut(Checked),
) -> Result<usize> {
    let mut n = 0;
    if let Some(scan) = Scan::open(db)? {
        let (lo, hi): (i64, i64) =
            Sql::new("SELECT COALESCE(MIN(id), 1), COALESCE(MAX(id), 0) FROM cases")
                .fetch_all(db)
                .await?
                .pop()
                .unwrap_or((1, 0));
        if hi < lo {
            return Ok(0);
        }
        let windows = (hi - lo) / CHUNK + 1;
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(i64, Result<Files>)>(READERS);
        let mut scans = vec![scan];
        for _ in 1..READERS {
            scans.extend(Scan::open(db)?);
        }
        let readers: Vec<_> = scans
            .into_iter()
            .map(|scan| {
                let (tx, taken, area) = (tx.clone(), taken.clone(), area.clone());
                tokio::task::spawn_blocking(move || {
                    loop {
                        let w = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if w >= windows {
                            return;
                        }
                        let after = lo - 1 + w * CHUNK;
                        let sql = chunk_query(&area, year, after, Some(after + CHUNK));
                        let files = scanned_files(&scan, &sql);
                        let failed = files.is_err();
                        if tx.blocking_send((w, files)).is_err() || failed {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        // Windows arrive in any order; they are checked in id order. A reader is at most a
        // window or two ahead of the other, so few wait here.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0;
        while let Some((w, files)) = rx.recv().await {
            waiting.insert(w, files?);
            while let Some(files) = waiting.remove(&next) {
                n += files.len();
                check_files(files, cal, policy, &mut each);
                next += 1;
            }
        }
        for r in readers {
            r.await.expect("a chunk reader does not panic");
        }
        return Ok(n);
    }
    let mut files = files_of(db, chunk_query(area, year, 0, None)).await?;
    loop {
        let Some(last) = files.last().map(|(c, _)| c.case_id) else {
            return Ok(n);
        };
        n += files.len();
        let (reader, sql) = (db.clone(), chunk_query(area, year, last, None));
        let next = tokio::spawn(async move { files_of(&reader, sql).await });
        check_files(files, cal, policy, &mut each);
        files = next.await.expect("the chunk reader does not panic")?;
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
