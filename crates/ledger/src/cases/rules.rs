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
use crate::calendar::Calendar;
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
    /// (field key, decision date) of each supporting measure and referral.
    pub later_acts: Vec<(&'static str, NaiveDate)>,
}

/// Every rule a case as recorded must keep, whoever records it: the lifecycle dates in
/// order, measures and referrals not before discovery, a fine only with a decision, and the
/// dates its stage implies. Procedural defects (a decision without notice, one officer, late
/// steps) are recorded as they happened and flagged by the legal checks
/// ([`crate::checks`]); the workflow refuses them going forward ([`transition`]).
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

/// What an officer records with a stage change beyond its date.
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// With 处罚决定: what was decided.
    pub decision: Option<Decision>,
    /// The party's written waiver of 陈述、申辩 and hearing, if any.
    pub waived_on: Option<NaiveDate>,
    /// With 处罚决定 after a hearing: the day it was held.
    pub hearing_held_on: Option<NaiveDate>,
    /// With 结案: the day the fine was paid, or how the case ended without payment.
    pub paid_on: Option<NaiveDate>,
    pub closure_type: String,
}

/// A penalty decision (行政处罚决定书).
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub penalty_kinds: Vec<PenaltyKind>,
    pub fine: Money,
    pub legal_basis: String,
    pub decision_no: String,
}

/// Whether the party may ask for a hearing before a penalty (处罚法 Art 63): 责令停产停业,
/// 责令关闭, 暂扣许可证件, or a fine of 较大数额.
pub fn hearing_eligible(kinds: &[PenaltyKind], fine: Money, policy: &Policy) -> bool {
    kinds.iter().any(|k| {
        matches!(
            k,
            PenaltyKind::ProductionSuspension
                | PenaltyKind::Closure
                | PenaltyKind::PermitSuspension
        )
    }) || fine >= policy.large_fine
}

/// What the law leaves to the province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A fine of at least this makes the penalty hearing-eligible (较大数额, 处罚法 Art 63).
    /// Default 50,000 yuan: the amount for organisations in most provinces' hearing rules;
    /// an assumption until Fujian's figure is confirmed.
    pub large_fine: Money,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            large_fine: Money::from_yuan(50_000),
        }
    }
}

/// The case as the workflow sees it when a stage changes.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    pub dates: &'a Dates,
    pub certified_officers: usize,
    /// The fine already decided (closing needs payment or a closure type).
    pub fine: Money,
    /// The case went through 强制执行.
    pub enforced: bool,
    /// A written waiver already on record.
    pub waived_on: Option<NaiveDate>,
}

/// Where a resumed case goes back to: the stage its latest date shows.
pub fn resume_stage(dates: &Dates) -> Status {
    if dates.hearing_requested_on.is_some() {
        Status::Hearing
    } else if dates.prior_notice_on.is_some() {
        Status::PriorNotice
    } else {
        Status::Investigation
    }
}

/// A stage change on a date: allowed from the current stage (a resumed case goes back to the
/// stage it left), not before the latest stage date already recorded, and keeping the law:
/// - 处罚决定 (处罚法 Arts 42, 44, 62–64): two certified officers; the prior notice first
///   (不予处罚 aside); the penalty kinds, the fine (with 罚款), the legal basis and the
///   decision number recorded; a requested hearing held first; a hearing-eligible penalty not
///   decided inside the five working days after the notice unless a hearing was held or the
///   party waived it in writing;
/// - 结案 of a fined case: paid, enforced, or a closure type recorded.
pub fn transition(
    from: Status,
    to: Status,
    on: NaiveDate,
    case: &Case,
    step: &Step,
    cal: &Calendar,
    policy: &Policy,
) -> Result<(), Refusal> {
    let dates = case.dates;
    if !next_stages(from).contains(&to) || (from == Status::Suspended && to != resume_stage(dates))
    {
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
        out.extend(decision(on, case, step, cal, policy));
    }
    if to == Status::Closed && case.fine > Money::ZERO && !case.enforced {
        match step.paid_on {
            Some(paid) if paid > on => out.push(Breach::new(
                "paid_on",
                format!("缴款日期{paid}晚于结案日期{on}"),
            )),
            Some(_) => {}
            None if step.closure_type.trim().is_empty() => out.push(Breach::new(
                "paid_on",
                "罚款案件结案前须登记缴款日期，或经强制执行，或注明结案类型（如终结执行）",
            )),
            None => {}
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Breaches(out))
    }
}

fn decision(
    on: NaiveDate,
    case: &Case,
    step: &Step,
    cal: &Calendar,
    policy: &Policy,
) -> Vec<Breach> {
    let dates = case.dates;
    let mut out = Vec::new();
    if case.certified_officers < 2 {
        out.push(Breach::new(
            "officers",
            "作出处罚决定前，案件须有至少两名持证执法人员",
        ));
    }
    let Some(d) = &step.decision else {
        out.push(Breach::new(
            "penalty_kinds",
            "作出处罚决定须填写处罚种类、处罚依据和决定书文号",
        ));
        return out;
    };
    let no_penalty = d.penalty_kinds.contains(&PenaltyKind::NoPenalty);
    if d.penalty_kinds.is_empty() {
        out.push(Breach::new("penalty_kinds", "请选择处罚种类（或不予处罚）"));
    }
    if d.penalty_kinds.contains(&PenaltyKind::Fine) != (d.fine > Money::ZERO) {
        out.push(Breach::new(
            "fine",
            "处罚种类含罚款时须填写罚款金额，否则罚款金额应为0",
        ));
    }
    if d.legal_basis.trim().is_empty() {
        out.push(Breach::new("legal_basis", "请填写处罚依据（法律条款）"));
    }
    if d.decision_no.trim().is_empty() {
        out.push(Breach::new("decision_no", "请填写处罚决定书文号"));
    }
    if no_penalty {
        return out;
    }
    let Some(notice) = dates.prior_notice_on else {
        out.push(Breach::new(
            "prior_notice_on",
            "未经行政处罚事先告知，不得作出处罚决定",
        ));
        return out;
    };
    let held = step.hearing_held_on.or(dates.hearing_held_on);
    if let Some(held) = held
        && held > on
    {
        out.push(Breach::new(
            "hearing_held_on",
            format!("听证日期{held}晚于决定日期{on}"),
        ));
    }
    if dates.hearing_requested_on.is_some() && held.is_none() {
        out.push(Breach::new(
            "hearing_held_on",
            "当事人已申请听证，须举行听证后方可作出处罚决定",
        ));
    } else if held.is_none()
        && step.waived_on.or(case.waived_on).is_none()
        && hearing_eligible(&d.penalty_kinds, d.fine, policy)
    {
        let window = cal.working_deadline(notice, 5);
        if on <= window {
            out.push(Breach::new(
                "decided_on",
                format!(
                    "该处罚可申请听证：告知（{notice}）后五个工作日内（至{window}）不得作出决定，除非当事人书面放弃"
                ),
            ));
        }
    }
    out
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

/// What the police and the procuratorate report for a referral, in persons (detained, arrest
/// reviewed, arrest approved, prosecuted, guilty pleas): never negative, approvals never more
/// than reviews, accepted no earlier than referred.
pub fn referral_outcome(
    persons: [i64; 5],
    accepted_on: Option<NaiveDate>,
    referred_on: NaiveDate,
) -> Vec<Breach> {
    let mut out = Vec::new();
    if persons.iter().any(|n| *n < 0) {
        out.push(Breach::new("referral_agency", "人数不能为负数"));
    }
    let [_, arrest_review, arrest_approved, _, _] = persons;
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

    fn decided(kinds: &[PenaltyKind], fine: i64) -> Step {
        Step {
            decision: Some(Decision {
                penalty_kinds: kinds.to_vec(),
                fine: Money::from_yuan(fine),
                legal_basis: "《大气污染防治法》第九十九条".into(),
                decision_no: "榕环罚决〔2023〕1号".into(),
            }),
            ..Default::default()
        }
    }

    fn step(
        from: Status,
        to: Status,
        on: &str,
        dates: &Dates,
        officers: usize,
        step: &Step,
    ) -> Result<(), Refusal> {
        let case = Case {
            dates,
            certified_officers: officers,
            fine: Money::ZERO,
            enforced: false,
            waived_on: None,
        };
        transition(
            from,
            to,
            d(on),
            &case,
            step,
            &Calendar::builtin(),
            &Policy::default(),
        )
    }

    fn breaches(r: Result<(), Refusal>) -> Vec<&'static str> {
        match r {
            Err(Refusal::Breaches(b)) => b.iter().map(|b| b.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_decision_needs_the_notice_two_officers_and_its_contents() {
        let dates = Dates {
            filed_on: Some(d("2023-03-05")),
            ..Default::default()
        };
        let fine = decided(&[PenaltyKind::Fine], 20_000);
        let r = step(
            Status::PriorNotice,
            Status::Decided,
            "2023-04-01",
            &dates,
            1,
            &fine,
        );
        assert_eq!(breaches(r), ["officers", "prior_notice_on"]);
        let r = step(
            Status::PriorNotice,
            Status::Decided,
            "2023-04-01",
            &dates,
            2,
            &Step::default(),
        );
        assert_eq!(breaches(r), ["penalty_kinds"]);
        let mut bad = decided(&[PenaltyKind::Fine], 0);
        bad.decision.as_mut().unwrap().decision_no.clear();
        let notified = Dates {
            prior_notice_on: Some(d("2023-03-20")),
            ..dates.clone()
        };
        let r = step(
            Status::PriorNotice,
            Status::Decided,
            "2023-04-01",
            &notified,
            2,
            &bad,
        );
        assert_eq!(breaches(r), ["fine", "decision_no"]);
        assert_eq!(
            step(
                Status::Filed,
                Status::Decided,
                "2023-04-01",
                &dates,
                2,
                &fine
            ),
            Err(Refusal::NotAllowed {
                from: Status::Filed,
                to: Status::Decided
            })
        );
        let early = step(
            Status::Filed,
            Status::Investigation,
            "2023-03-01",
            &dates,
            2,
            &Step::default(),
        );
        assert_eq!(breaches(early), ["status"]);
        assert_eq!(
            step(
                Status::PriorNotice,
                Status::Decided,
                "2023-04-01",
                &notified,
                2,
                &fine
            ),
            Ok(())
        );
        // 不予处罚 needs no notice.
        let none = decided(&[PenaltyKind::NoPenalty], 0);
        assert_eq!(
            step(
                Status::PriorNotice,
                Status::Decided,
                "2023-04-01",
                &dates,
                2,
                &none
            ),
            Ok(())
        );
    }

    /// A fine of 10万 may be heard: not decided in the five working days after the notice
    /// (Monday 4-03, 清明 4-05 off: the window ends 4-11) unless waived in writing or heard.
    #[test]
    fn the_hearing_window_and_a_requested_hearing() {
        let dates = Dates {
            filed_on: Some(d("2023-03-05")),
            prior_notice_on: Some(d("2023-04-03")),
            ..Default::default()
        };
        let big = decided(&[PenaltyKind::Fine], 100_000);
        let r = step(
            Status::PriorNotice,
            Status::Decided,
            "2023-04-11",
            &dates,
            2,
            &big,
        );
        assert_eq!(breaches(r), ["decided_on"]);
        assert_eq!(
            step(
                Status::PriorNotice,
                Status::Decided,
                "2023-04-12",
                &dates,
                2,
                &big
            ),
            Ok(())
        );
        let waived = Step {
            waived_on: Some(d("2023-04-04")),
            ..big.clone()
        };
        assert_eq!(
            step(
                Status::PriorNotice,
                Status::Decided,
                "2023-04-06",
                &dates,
                2,
                &waived
            ),
            Ok(())
        );
        let small = decided(&[PenaltyKind::Fine], 20_000);
        assert_eq!(
            step(
                Status::PriorNotice,
                Status::Decided,
                "2023-04-06",
                &dates,
                2,
                &small
            ),
            Ok(())
        );
        // Asked for a hearing: no decision until it is held.
        let asked = Dates {
            hearing_requested_on: Some(d("2023-04-06")),
            ..dates
        };
        let r = step(
            Status::Hearing,
            Status::Decided,
            "2023-04-20",
            &asked,
            2,
            &big,
        );
        assert_eq!(breaches(r), ["hearing_held_on"]);
        let heard = Step {
            hearing_held_on: Some(d("2023-04-18")),
            ..big.clone()
        };
        assert_eq!(
            step(
                Status::Hearing,
                Status::Decided,
                "2023-04-20",
                &asked,
                2,
                &heard
            ),
            Ok(())
        );
    }

    #[test]
    fn a_fined_case_closes_only_paid_enforced_or_with_a_closure_type() {
        let dates = Dates {
            filed_on: Some(d("2023-03-05")),
            decided_on: Some(d("2023-04-20")),
            served_on: Some(d("2023-04-21")),
            ..Default::default()
        };
        let case = |enforced| Case {
            dates: &dates,
            certified_officers: 2,
            fine: Money::from_yuan(50_000),
            enforced,
            waived_on: None,
        };
        let close = |c: &Case, s: &Step| {
            transition(
                Status::Served,
                Status::Closed,
                d("2023-05-30"),
                c,
                s,
                &Calendar::builtin(),
                &Policy::default(),
            )
        };
        assert_eq!(breaches(close(&case(false), &Step::default())), ["paid_on"]);
        let paid = Step {
            paid_on: Some(d("2023-05-04")),
            ..Default::default()
        };
        assert_eq!(close(&case(false), &paid), Ok(()));
        let ended = Step {
            closure_type: "终结执行".into(),
            ..Default::default()
        };
        assert_eq!(close(&case(false), &ended), Ok(()));
        assert_eq!(close(&case(true), &Step::default()), Ok(()));
    }

    #[test]
    fn a_resumed_case_returns_to_the_stage_it_left() {
        let dates = Dates {
            filed_on: Some(d("2023-03-05")),
            investigation_on: Some(d("2023-03-10")),
            prior_notice_on: Some(d("2023-04-03")),
            ..Default::default()
        };
        assert_eq!(resume_stage(&dates), Status::PriorNotice);
        let r = step(
            Status::Suspended,
            Status::Investigation,
            "2023-05-01",
            &dates,
            2,
            &Step::default(),
        );
        assert!(matches!(r, Err(Refusal::NotAllowed { .. })));
        assert_eq!(
            step(
                Status::Suspended,
                Status::PriorNotice,
                "2023-05-01",
                &dates,
                2,
                &Step::default()
            ),
            Ok(())
        );
    }

    #[test]
    fn referral_outcomes_are_consistent() {
        let on = d("2023-05-01");
        assert!(referral_outcome([0, 2, 1, 0, 0], Some(on), on).is_empty());
        assert_eq!(
            referral_outcome([-1, 1, 2, 0, 0], Some(d("2023-04-30")), on).len(),
            3
        );
    }
}
