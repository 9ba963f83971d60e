//! A stored case as it would be typed ([`NewCase`]): the inverse of intake, field by field,
//! for every column of the import template. The correction form shows what is recorded
//! through it, and the ledger export writes it, so an exported case imports again as the
//! same case (issue #16).

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::fields::NewCase;
use super::procedure::Provision;
use super::vocab::{
    MeasureKind, NoticeKind, PenaltyKind, ProvisionRole, ReferralKind, Tag, ThirdPartySubtype,
};
use super::{CaseSource, Status};
use ecowarden_core::ids::Money;
use ecowarden_core::store::{Db, Sql, StoreError};

/// Fields stored as text in a column of their own name: the case's (`c.`) and its party's
/// (`f.`, aliased to the field's key).
const TEXT_COLUMNS: &[&str] = &[
    "c.case_no",
    "c.region_code",
    "f.name AS facility_name",
    "f.credit_code",
    "f.industry",
    "c.violation",
    "c.legal_basis",
    "c.discovered_on",
    "c.filed_on",
    "c.investigation_on",
    "c.prior_notice_on",
    "c.hearing_requested_on",
    "c.hearing_held_on",
    "c.decided_on",
    "c.served_on",
    "c.paid_on",
    "c.closed_on",
    "tp.name AS third_party_name",
    "tp.credit_code AS third_party_credit_code",
    "c.violation_ended_on",
    "c.filing_extended_on",
    "c.term_extended_on",
    "c.term_discussed_on",
    "c.statement_waived_on",
    "c.hearing_notice_on",
    "c.legal_review_on",
    "c.collective_discussion_on",
    "c.decision_no",
    "c.service_method",
    "c.disclosed_on",
    "c.closure_type",
    "c.statement_on",
    "c.hearing_host",
    "c.discretion_item",
    "c.discretion_factors",
];

/// The field key a select expression fills (`f.name AS facility_name` → `facility_name`).
fn key_of(column: &str) -> &str {
    column
        .rsplit_once(" AS ")
        .map_or(column, |(_, k)| k)
        .trim_start_matches("c.")
        .trim_start_matches("f.")
}

/// Rows of `select` for many case ids (`select` ends in `IN (`, `tail` closes it), queried in
/// chunks so a statement stays within every backend's limit on bound parameters.
pub(crate) async fn by_case_ids(
    db: &Db,
    select: &str,
    ids: &[i64],
    tail: &str,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(select);
        for (k, id) in chunk.iter().enumerate() {
            sql.push(if k == 0 { "" } else { "," }).bind(*id);
        }
        sql.push(tail);
        out.extend(sql.fetch_rows(db).await?);
    }
    Ok(out)
}

/// Labels for stored codes (comma-separated), joined with 、 as a list is typed.
fn labels(codes: &str, label: impl Fn(&str) -> Option<&'static str>) -> String {
    codes
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| label(s).unwrap_or(s))
        .collect::<Vec<_>>()
        .join("、")
}

/// An amount as typed: empty for none.
fn amount(fen: i64) -> String {
    match fen {
        0 => String::new(),
        f => Money::from_fen(f).to_string(),
    }
}

/// The stored cases `ids` (those that exist) as typed, by id.
pub async fn typed(db: &Db, ids: &[i64]) -> Result<HashMap<i64, NewCase>, StoreError> {
    let select = format!(
        "SELECT c.id, {}, c.source, c.status, c.penalty_kinds, c.fine_fen, c.third_party_subtype, \
         c.continuing, c.special_limitation, c.notice_kind \
         FROM cases c JOIN facilities f ON f.id = c.facility_id \
         LEFT JOIN third_parties tp ON tp.id = c.third_party_id WHERE c.id IN (",
        TEXT_COLUMNS.join(", ")
    );
    let mut out = HashMap::with_capacity(ids.len());
    for row in by_case_ids(db, &select, ids, ")").await? {
        let mut v = NewCase::default();
        for column in TEXT_COLUMNS {
            let key = key_of(column);
            v.set(
                key,
                row.try_get::<Option<String>, _>(key)?.unwrap_or_default(),
            );
        }
        let text = |col: &str| -> Result<String, sqlx::Error> {
            Ok(row.try_get::<Option<String>, _>(col)?.unwrap_or_default())
        };
        let source = text("source")?;
        v.source = CaseSource::parse(&source).map_or(source, |s| s.label().to_owned());
        let status = text("status")?;
        v.status = Status::parse(&status).map_or(status, |s| s.label().to_owned());
        v.penalty_kinds = labels(&text("penalty_kinds")?, |s| {
            PenaltyKind::parse(s).map(PenaltyKind::label)
        });
        v.fine = amount(row.try_get("fine_fen")?);
        v.third_party_subtype = labels(&text("third_party_subtype")?, |s| {
            ThirdPartySubtype::parse(s).map(ThirdPartySubtype::label)
        });
        v.notice_kind = labels(&text("notice_kind")?, |s| {
            NoticeKind::parse(s).map(NoticeKind::label)
        });
        for key in ["continuing", "special_limitation"] {
            let yes = row.try_get::<i64, _>(key)? != 0;
            v.set(key, (if yes { "是" } else { "否" }).to_owned());
        }
        out.insert(row.try_get::<i64, _>("id")?, v);
    }
    let ids: Vec<i64> = out.keys().copied().collect();
    for (select, tail, filler) in SIDE_RECORDS {
        for r in by_case_ids(db, select, &ids, tail).await? {
            if let Some(v) = out.get_mut(&r.try_get::<i64, _>(0)?) {
                filler(v, &r)?;
            }
        }
    }
    Ok(out)
}

/// Fills a typed case from one row of a side table.
type Filler = fn(&mut NewCase, &AnyRow) -> Result<(), sqlx::Error>;

/// The side tables a case's template columns come from: a select over case ids (its first
/// column the case id, ending in `IN (`), what closes it, and what a row fills.
const SIDE_RECORDS: [(&str, &str, Filler); 5] = [
    // The lead officer first, as intake records the first one given as lead.
    (
        "SELECT co.case_id, o.certificate_no FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         WHERE o.certificate_no IS NOT NULL AND co.case_id IN (",
        ") ORDER BY co.case_id, co.lead DESC, o.id",
        |v, r| {
            push_item(&mut v.officers, &r.try_get::<String, _>(1)?);
            Ok(())
        },
    ),
    (
        "SELECT case_id, tag FROM case_tags WHERE case_id IN (",
        ") ORDER BY case_id, tag",
        |v, r| {
            let tag: String = r.try_get(1)?;
            push_item(&mut v.tags, Tag::parse(&tag).map_or(&tag, |t| t.label()));
            Ok(())
        },
    ),
    // Latest first, so the earliest of a kind is written last.
    (
        "SELECT case_id, kind, decided_on, items, restriction, days, amount_fen, extended_on, released_on \
         FROM measures WHERE case_id IN (",
        ") ORDER BY case_id, decided_on DESC, id DESC",
        measure,
    ),
    (
        "SELECT case_id, kind, agency, referred_on FROM referrals WHERE case_id IN (",
        ") ORDER BY case_id, referred_on DESC, id DESC",
        referral,
    ),
    (
        "SELECT case_id, role, law, article, paragraph, item FROM case_provisions WHERE case_id IN (",
        ") ORDER BY case_id, id",
        provision,
    ),
];

/// Appends an item to a 、-separated list as typed.
fn push_item(list: &mut String, item: &str) {
    if !list.is_empty() {
        list.push('、');
    }
    list.push_str(item);
}

/// The template holds one measure of each kind: the earliest decided.
fn measure(v: &mut NewCase, r: &AnyRow) -> Result<(), sqlx::Error> {
    let text = |col: &str| -> Result<String, sqlx::Error> {
        Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
    };
    let on = text("decided_on")?;
    match MeasureKind::parse(&text("kind")?) {
        Some(MeasureKind::SealAndSeize) => {
            v.seal_and_seize_on = on;
            v.seal_and_seize_items = text("items")?;
            v.seal_and_seize_extended_on = text("extended_on")?;
            v.seal_and_seize_released_on = text("released_on")?;
        }
        Some(MeasureKind::ProductionRestriction) => {
            v.production_restriction_on = on;
            v.production_restriction_kind = match text("restriction")?.as_str() {
                "suspension" => "停产",
                _ => "限产",
            }
            .to_owned();
        }
        Some(MeasureKind::DailyPenalty) => {
            v.daily_penalty_on = on;
            v.daily_penalty_days = r
                .try_get::<Option<i64>, _>("days")?
                .map_or(String::new(), |d| d.to_string());
            v.daily_penalty_amount = amount(r.try_get("amount_fen")?);
        }
        _ => {}
    }
    Ok(())
}

/// Each kind's earliest referral date; the receiving agency only when one is not the kind's
/// default (intake gives every referral of a case the agency typed, or its default).
fn referral(v: &mut NewCase, r: &AnyRow) -> Result<(), sqlx::Error> {
    let Some(kind) = ReferralKind::parse(&r.try_get::<String, _>(1)?) else {
        return Ok(());
    };
    let key = match kind {
        ReferralKind::Detention => "detention_referral_on",
        ReferralKind::Criminal => "criminal_referral_on",
        ReferralKind::MarketRegulator => "market_referral_on",
    };
    v.set(key, r.try_get(3)?);
    let agency: String = r.try_get(2)?;
    if agency != super::intake::default_agency(kind) {
        v.referral_agency = agency;
    }
    Ok(())
}

/// The provisions violated and the penalty provisions, in the order recorded, as typed.
fn provision(v: &mut NewCase, r: &AnyRow) -> Result<(), sqlx::Error> {
    let number = |i: usize| -> Result<Option<u32>, sqlx::Error> {
        Ok(r.try_get::<Option<i64>, _>(i)?
            .and_then(|n| u32::try_from(n).ok()))
    };
    let p = Provision {
        law: r.try_get(2)?,
        article: number(3)?.unwrap_or_default(),
        paragraph: number(4)?,
        item: number(5)?,
    };
    let list = match ProvisionRole::parse(&r.try_get::<String, _>(1)?) {
        Some(ProvisionRole::Violated) => &mut v.violated_provisions,
        Some(ProvisionRole::Penalty) => &mut v.penalty_provisions,
        None => return Ok(()),
    };
    if !list.is_empty() {
        list.push('；');
    }
    list.push_str(&p.to_string());
    Ok(())
}
