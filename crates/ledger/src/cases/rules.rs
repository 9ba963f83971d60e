//! The legal rules of the ledger as pure functions over a case's values: no store, no clock,
//! no parsing. Intake (forms, API, imports), the workflow (stage changes, measures, referrals)
//! and the dossier checks call the same functions, so a rule is written once and every path
//! that records a case keeps it. Each function returns every problem it finds, not the first.
//!
//! Sources: 行政处罚法 (2021) Art. 42 (two certified officers), Art. 44/62 (no decision
//! before the prior notice); dates of a case happen in the order of its lifecycle.

use chrono::NaiveDate;

use super::Status;
use super::fields::{Dates, header};
use super::vocab::{MeasureKind, PenaltyKind};
use ecowarden_core::ids::Money;

/// One rule a case breaks: the field it concerns (a [`super::fields::FIELDS`] key) and the
/// Chinese message shown to the officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub field: &'static str,
    pub message: String,
}

impl Breach {
    fn new(field: &'static str, message: impl Into<String>) -> Breach {
        Breach {
            field,
            message: message.into(),
        }
    }
}

/// What a recorded case is, for the rules: its typed values.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    pub status: Option<Status>,
    pub dates: Dates,
    pub penalty_kinds: &'a [PenaltyKind],
    pub fine: Money,
    /// The distinct certified officers named on the case; `None` where none were given (a
    /// required field, reported as missing by whoever parses it).
    pub officers: Option<usize>,
    /// (field key, decision date) of each supporting measure and referral.
    pub later_acts: Vec<(&'static str, NaiveDate)>,
}

/// Every rule a case as recorded must keep: the lifecycle dates in order, measures and
/// referrals not before discovery, a fine only with a decision, the dates its stage implies,
/// and two officers.
pub fn check(f: &Facts) -> Vec<Breach> {
    let mut out = dates_in_order(&f.dates);
    out.extend(not_before_discovery(f.dates.discovered_on, &f.later_acts));
    if f.fine > Money::ZERO && f.dates.decided_on.is_none() {
        out.push(Breach::new(
            "decided_on",
            "有罚款金额的案件须填写处罚决定日期",
        ));
    }
    if let Some(st) = f.status {
        out.extend(stage_dates(st, &f.dates, f.penalty_kinds));
    }
    out.extend(f.officers.and_then(two_officers));
    out
}

/// Each lifecycle date no earlier than the last one before it.
pub fn dates_in_order(dates: &Dates) -> Vec<Breach> {
    let mut out = Vec::new();
    let mut last: Option<(&str, NaiveDate)> = None;
    for (key, d) in dates.ordered() {
        if let Some(d) = d {
            if let Some((pk, pd)) = last
                && d < pd
            {
                out.push(Breach::new(
                    key,
                    format!(
                        "“{}”（{d}）早于“{}”（{pd}），日期顺序不合理",
                        header(key),
                        header(pk)
                    ),
                ));
            }
            last = Some((key, d));
        }
    }
    out
}

/// Measures and referrals are decided after the violation was discovered.
pub fn not_before_discovery(
    discovered: Option<NaiveDate>,
    acts: &[(&'static str, NaiveDate)],
) -> Vec<Breach> {
    let Some(disc) = discovered else {
        return Vec::new();
    };
    acts.iter()
        .filter(|(_, d)| *d < disc)
        .map(|(key, d)| {
            Breach::new(
                key,
                format!("“{}”（{d}）早于发现日期（{disc}）", header(key)),
            )
        })
        .collect()
}

/// The dates a stage implies: a decided (served, enforced, closed) case has its decision
/// date unless nothing was imposed (不予处罚); a closed one its closing date.
pub fn stage_dates(status: Status, dates: &Dates, penalty_kinds: &[PenaltyKind]) -> Vec<Breach> {
    let mut out = Vec::new();
    if matches!(
        status,
        Status::Decided | Status::Served | Status::Enforcement | Status::Closed
    ) && dates.decided_on.is_none()
        && !penalty_kinds.contains(&PenaltyKind::NoPenalty)
    {
        out.push(Breach::new(
            "decided_on",
            format!("状态为“{}”的案件须填写处罚决定日期", status.label()),
        ));
    }
    if status == Status::Closed && dates.closed_on.is_none() {
        out.push(Breach::new(
            "closed_on",
            "状态为“已结案”的案件须填写结案日期",
        ));
    }
    out
}

/// 行政处罚法 Art. 42: a case is handled by at least two certified officers.
pub fn two_officers(distinct: usize) -> Option<Breach> {
    (distinct < 2).then(|| Breach::new("officers", "至少需要两名不同的持证执法人员"))
}

/// Where a case may go next from each stage.
pub fn next_stages(from: Status) -> &'static [Status] {
    use Status::*;
    match from {
        Filed => &[Investigation, Suspended, Withdrawn],
        Investigation => &[PriorNotice, Closed, Suspended, Withdrawn],
        PriorNotice => &[Hearing, Decided, Suspended],
        Hearing => &[Decided, Suspended],
        Decided => &[Served],
        Served => &[Enforcement, Closed],
        Enforcement => &[Closed],
        // Resuming returns to the stage the dates say it was in.
        Suspended => &[Investigation, PriorNotice, Hearing],
        Closed | Withdrawn => &[],
    }
}

/// Why a stage change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The stage cannot follow the current one at all.
    NotAllowed { from: Status, to: Status },
    /// The change is allowed in principle, but these rules are broken.
    Breaches(Vec<Breach>),
}

/// A stage change on a date: allowed from the current stage, not before the latest stage
/// date already recorded, and a decision only with two certified officers and after the
/// prior notice (行政处罚法 Art. 42, 44, 62).
pub fn transition(
    from: Status,
    to: Status,
    on: NaiveDate,
    dates: &Dates,
    certified_officers: usize,
) -> Result<(), Refusal> {
    if !next_stages(from).contains(&to) {
        return Err(Refusal::NotAllowed { from, to });
    }
    let mut out = Vec::new();
    let latest = [
        dates.filed_on,
        dates.investigation_on,
        dates.prior_notice_on,
        dates.hearing_requested_on,
        dates.hearing_held_on,
        dates.decided_on,
        dates.served_on,
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(latest) = latest
        && on < latest
    {
        out.push(Breach::new(
            "status",
            format!("日期{on}早于案件已有的最近节点日期{latest}"),
        ));
    }
    if to == Status::Decided {
        if certified_officers < 2 {
            out.push(Breach::new(
                "officers",
                "作出处罚决定前，案件须有至少两名持证执法人员",
            ));
        }
        if dates.prior_notice_on.is_none() {
            out.push(Breach::new(
                "prior_notice_on",
                "未经行政处罚事先告知，不得作出处罚决定",
            ));
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Breaches(out))
    }
}

/// A supporting measure is decided after the violation was discovered.
pub fn measure(kind: MeasureKind, decided_on: NaiveDate, discovered: NaiveDate) -> Vec<Breach> {
    if decided_on < discovered {
        vec![Breach::new(
            "status",
            format!("{}决定日期不能早于发现日期{discovered}", kind.label()),
        )]
    } else {
        Vec::new()
    }
}

/// A referral names the agency it goes to and is made after discovery.
pub fn referral(on: NaiveDate, discovered: NaiveDate, agency: &str) -> Vec<Breach> {
    let mut out = Vec::new();
    if on < discovered {
        out.push(Breach::new(
            "referral_agency",
            format!("移送日期不能早于发现日期{discovered}"),
        ));
    }
    if agency.trim().is_empty() {
        out.push(Breach::new("referral_agency", "请填写接收机关"));
    }
    out
}

/// What the police and the procuratorate report for a referral, in persons: never negative,
/// approvals never more than reviews, accepted no earlier than referred.
pub fn referral_outcome(
    persons: [i64; 5],
    arrest_review: i64,
    arrest_approved: i64,
    accepted_on: Option<NaiveDate>,
    referred_on: NaiveDate,
) -> Vec<Breach> {
    let mut out = Vec::new();
    if persons.iter().any(|n| *n < 0) {
        out.push(Breach::new("referral_agency", "人数不能为负数"));
    }
    if arrest_approved > arrest_review {
        out.push(Breach::new(
            "referral_agency",
            "批准逮捕人数不能多于审查逮捕人数",
        ));
    }
    if accepted_on.is_some_and(|a| a < referred_on) {
        out.push(Breach::new("referral_agency", "受理日期不能早于移送日期"));
    }
    out
}

/// The messages of several breaches as one sentence for a form.
pub fn sentence(breaches: &[Breach]) -> String {
    breaches
        .iter()
        .map(|b| b.message.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_breach_is_found_not_only_the_first() {
        let dates = Dates {
            discovered_on: Some(d("2023-05-10")),
            filed_on: Some(d("2023-05-01")),
            closed_on: None,
            ..Default::default()
        };
        let f = Facts {
            status: Some(Status::Closed),
            dates,
            penalty_kinds: &[],
            fine: Money::from_yuan(1000),
            officers: Some(1),
            later_acts: vec![("seal_and_seize_on", d("2023-05-01"))],
        };
        let fields: Vec<&str> = check(&f).iter().map(|b| b.field).collect();
        assert_eq!(
            fields,
            [
                "filed_on",
                "seal_and_seize_on",
                "decided_on",
                "decided_on",
                "closed_on",
                "officers"
            ]
        );
    }

    #[test]
    fn a_lawful_case_has_no_breach() {
        let dates = Dates {
            discovered_on: Some(d("2023-03-01")),
            filed_on: Some(d("2023-03-05")),
            prior_notice_on: Some(d("2023-04-01")),
            decided_on: Some(d("2023-04-20")),
            closed_on: Some(d("2023-06-01")),
            ..Default::default()
        };
        let f = Facts {
            status: Some(Status::Closed),
            dates,
            penalty_kinds: &[PenaltyKind::Fine],
            fine: Money::from_yuan(50_000),
            officers: Some(2),
            later_acts: vec![],
        };
        assert_eq!(check(&f), vec![]);
    }

    #[test]
    fn no_penalty_needs_no_decision_date() {
        let dates = Dates {
            closed_on: Some(d("2023-06-01")),
            ..Default::default()
        };
        assert!(stage_dates(Status::Closed, &dates, &[PenaltyKind::NoPenalty]).is_empty());
        assert_eq!(stage_dates(Status::Closed, &dates, &[]).len(), 1);
    }

    #[test]
    fn a_decision_needs_the_notice_and_two_officers() {
        let dates = Dates {
            filed_on: Some(d("2023-03-05")),
            ..Default::default()
        };
        let r = transition(
            Status::PriorNotice,
            Status::Decided,
            d("2023-04-01"),
            &dates,
            1,
        );
        let Err(Refusal::Breaches(b)) = r else {
            panic!("{r:?}")
        };
        assert_eq!(b.len(), 2);
        assert_eq!(
            transition(Status::Filed, Status::Decided, d("2023-04-01"), &dates, 2),
            Err(Refusal::NotAllowed {
                from: Status::Filed,
                to: Status::Decided
            })
        );
        let early = transition(
            Status::Filed,
            Status::Investigation,
            d("2023-03-01"),
            &dates,
            2,
        );
        assert!(matches!(early, Err(Refusal::Breaches(b)) if b[0].message.contains("早于")));
        let notified = Dates {
            prior_notice_on: Some(d("2023-03-20")),
            ..dates
        };
        assert_eq!(
            transition(
                Status::PriorNotice,
                Status::Decided,
                d("2023-04-01"),
                &notified,
                2
            ),
            Ok(())
        );
    }

    #[test]
    fn referral_outcomes_are_consistent() {
        let on = d("2023-05-01");
        assert!(referral_outcome([0, 2, 1, 0, 0], 2, 1, Some(on), on).is_empty());
        assert_eq!(
            referral_outcome([-1, 1, 2, 0, 0], 1, 2, Some(d("2023-04-30")), on).len(),
            3
        );
    }
}
