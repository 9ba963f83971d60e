//! One lawful file that passes every check, and for each check a file that breaks exactly
//! that rule. Dates fall around the 2023 清明 and Labour Day holidays on purpose.

use proptest::prelude::*;

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn on(s: &str) -> Option<NaiveDate> {
    Some(d(s))
}

/// A closed case fined 100,000 yuan (hearing-eligible), with a seizure, a daily penalty, a
/// criminal referral and a 先行登记保存, every step in time.
fn lawful() -> Dossier {
    Dossier {
        case_no: "闽环罚〔2023〕1号".into(),
        status: Some(Status::Closed),
        dates: Dates {
            discovered_on: on("2023-03-01"),
            filed_on: on("2023-03-06"),
            investigation_on: on("2023-03-10"),
            // Monday; 清明 (4-05) falls inside the five working days, which end on 4-11.
            prior_notice_on: on("2023-04-03"),
            decided_on: on("2023-04-20"),
            // Seven working days after Thursday 4-20 run to 4-28 (Sunday 4-23 is worked).
            served_on: on("2023-04-21"),
            paid_on: on("2023-05-04"),
            closed_on: on("2023-05-10"),
            ..Default::default()
        },
        violation_ended_on: on("2023-02-20"),
        penalty_kinds: vec![PenaltyKind::Fine],
        fine: Money::from_yuan(100_000),
        certified_officers: 2,
        collective_discussion_on: on("2023-04-19"),
        legal_review_on: on("2023-04-18"),
        decision_no: "闽环罚决〔2023〕1号".into(),
        service_method: "直接送达".into(),
        disclosed_on: on("2023-04-25"),
        preserved_on: on("2023-03-08"),
        preservation_approved_on: on("2023-03-08"),
        preservation_handled_on: on("2023-03-14"),
        measures: vec![
            MeasureFacts {
                kind: MeasureKind::SealAndSeize,
                decided_on: d("2023-03-10"),
                extended_on: None,
                released_on: on("2023-04-05"),
                end_on: None,
                correction_served_on: None,
                reinspection_on: None,
                days: None,
                amount: Money::ZERO,
            },
            MeasureFacts {
                kind: MeasureKind::DailyPenalty,
                decided_on: d("2023-04-20"),
                extended_on: None,
                released_on: None,
                end_on: None,
                correction_served_on: on("2023-03-12"),
                reinspection_on: on("2023-03-30"),
                days: Some(10),
                amount: Money::from_yuan(1_000_000),
            },
        ],
        referrals: vec![ReferralFacts {
            kind: ReferralKind::Criminal,
            referred_on: d("2023-03-22"),
            report_on: on("2023-03-20"),
            approved_on: on("2023-03-21"),
        }],
        documents: vec![1, 10, 12, 17, 18, 20, 22, 23, 24],
        records: vec![RecordFacts {
            kind: "inspection".into(),
            started_at: Some(at("2023-03-01T09:30")),
            ended_at: Some(at("2023-03-01T11:05")),
            officers: 2,
        }],
        approvals: vec![(ApprovalKind::Filing, d("2023-03-06"))],
        last_evidence_on: on("2023-03-30"),
        notice_kind: Some(NoticeKind::Hearing),
        statement_on: on("2023-04-07"),
        legal_basis_given: true,
        ..Default::default()
    }
}

fn at(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
}

fn checks_of(d: &Dossier) -> Vec<&'static str> {
    let mut ids: Vec<&str> = run(d, &Calendar::builtin(), &Policy::default())
        .iter()
        .map(|f| f.check)
        .collect();
    ids.dedup();
    ids
}

/// Asserts the file breaks exactly `check`, with the given severity.
fn breaks_only(file: Dossier, check: &str, severity: Severity) {
    let found = run(&file, &Calendar::builtin(), &Policy::default());
    assert!(!found.is_empty(), "{check}: nothing found");
    for f in &found {
        assert_eq!(f.check, check, "{check}: also {f:?}");
        assert_eq!(f.severity, severity, "{f:?}");
        assert_eq!(f.article, article(check));
        assert!(!f.message.is_empty());
    }
}

#[test]
fn a_lawful_file_passes_every_check() {
    assert_eq!(checks_of(&lawful()), Vec::<&str>::new());
}

#[test]
fn c1_filing_late() {
    let mut f = lawful();
    f.dates.filed_on = on("2023-03-20");
    f.dates.investigation_on = on("2023-03-22");
    breaks_only(f.clone(), "C1", Severity::Fail);
    // An approved extension allows 30 days.
    f.filing_extended_on = on("2023-03-14");
    f.approvals
        .push((ApprovalKind::FilingExtension, d("2023-03-14")));
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    // Approved after the 15 days ran out (3-16): nothing left to extend.
    f.filing_extended_on = on("2023-03-17");
    breaks_only(f.clone(), "C1", Severity::Fail);
    // An extension date without a registered approval and approver: advisory.
    f.filing_extended_on = on("2023-03-14");
    f.approvals.clear();
    breaks_only(f, "C1", Severity::Advisory);
}

#[test]
fn c2_limitation() {
    let mut f = lawful();
    f.violation_ended_on = on("2021-01-15");
    breaks_only(f.clone(), "C2", Severity::Fail);
    f.special_limitation = true;
    assert_eq!(checks_of(&f), Vec::<&str>::new());
}

/// An open case is past its term from the day after the one C3 would accept a decision on;
/// an extension or a 中止 still running moves that day; a decided case is C3's alone.
#[test]
fn open_cases_past_their_term() {
    let cal = Calendar::builtin();
    let mut f = lawful();
    f.dates.decided_on = None;
    // Filed Monday 2023-03-06: 90 days end on Sunday 6-04, so the term runs to Monday 6-05.
    let t = term(&f, &cal, d("2023-06-05")).unwrap();
    assert_eq!((t.limit, t.excluded, t.deadline), (90, 0, d("2023-06-05")));
    assert_eq!(past_term(&f, &cal, d("2023-06-05")), None);
    assert_eq!(
        past_term(&f, &cal, d("2023-06-06")).map(|t| t.deadline),
        on("2023-06-05")
    );
    // The first extension: 120 days, to Tuesday 7-04.
    f.term_extended_on = on("2023-05-30");
    assert_eq!(past_term(&f, &cal, d("2023-07-04")), None);
    assert_eq!(
        past_term(&f, &cal, d("2023-07-05")).map(|t| t.limit),
        Some(120)
    );
    // A suspension still running on the day counts out up to that day: never past.
    f.excluded = vec![Excluded {
        kind: SuspensionKind::Suspension,
        start_on: d("2023-04-01"),
        end_on: None,
    }];
    assert_eq!(past_term(&f, &cal, d("2024-01-01")), None);
    // Decided: C3 judges it, past_term does not.
    let decided = lawful();
    assert_eq!(past_term(&decided, &cal, d("2030-01-01")), None);
    // No 立案, no term.
    let mut unfiled = lawful();
    unfiled.dates.filed_on = None;
    unfiled.dates.decided_on = None;
    assert_eq!(term(&unfiled, &cal, d("2030-01-01")), None);
}

/// The decision-late failure of C3 is told from its other failures.
#[test]
fn decided_past_term_names_only_the_late_decision() {
    let mut f = lawful();
    f.dates.decided_on = on("2023-07-10");
    let late = run(&f, &Calendar::builtin(), &Policy::default());
    assert!(late.iter().any(Finding::decided_past_term));
    let mut g = lawful();
    g.term_discussed_on = on("2023-04-10");
    let out_of_order = run(&g, &Calendar::builtin(), &Policy::default());
    assert!(
        out_of_order
            .iter()
            .any(|x| x.check == "C3" && x.severity == Severity::Fail)
    );
    assert!(!out_of_order.iter().any(Finding::decided_past_term));
}

#[test]
fn c3_term() {
    let mut f = lawful();
    f.dates.decided_on = on("2023-07-10");
    f.legal_review_on = on("2023-07-06");
    f.collective_discussion_on = on("2023-07-07");
    f.dates.served_on = on("2023-07-11");
    f.dates.paid_on = on("2023-07-20");
    f.disclosed_on = on("2023-07-12");
    f.dates.closed_on = on("2023-07-25");
    breaks_only(f.clone(), "C3", Severity::Fail);
    // 126 days: the first extension is not enough, the collective second one is.
    f.term_extended_on = on("2023-05-30");
    f.approvals
        .push((ApprovalKind::TermExtension, d("2023-05-30")));
    breaks_only(f.clone(), "C3", Severity::Fail);
    f.term_discussed_on = on("2023-07-01");
    f.approvals
        .push((ApprovalKind::TermCollective, d("2023-07-01")));
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    // The collective decision after the 120 days (7-04) ran out cannot extend them.
    let mut late = f.clone();
    late.term_discussed_on = on("2023-07-05");
    breaks_only(late, "C3", Severity::Fail);
    // Without extensions, an excluded hearing and appraisal of 40 days count out.
    let mut g = f.clone();
    g.term_extended_on = None;
    g.term_discussed_on = None;
    g.excluded = vec![Excluded {
        kind: SuspensionKind::Appraisal,
        start_on: d("2023-04-01"),
        end_on: on("2023-05-11"),
    }];
    assert_eq!(checks_of(&g), Vec::<&str>::new());
}

#[test]
fn c4_officers() {
    let mut f = lawful();
    f.certified_officers = 1;
    breaks_only(f, "C4", Severity::Fail);
}

#[test]
fn c5_without_notice() {
    let mut f = lawful();
    f.dates.prior_notice_on = None;
    breaks_only(f, "C5", Severity::Fail);
}

#[test]
fn c5_hearing_requested_not_held() {
    let mut f = lawful();
    f.dates.hearing_requested_on = on("2023-04-06");
    f.documents.extend([13, 14]);
    breaks_only(f.clone(), "C5", Severity::Fail);
    // Held in time, notified seven working days ahead: lawful.
    f.hearing_notice_on = on("2023-04-07");
    f.dates.hearing_held_on = on("2023-04-18");
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    // Notified too late: 4-12 → 4-18 is four working days.
    f.hearing_notice_on = on("2023-04-12");
    breaks_only(f, "C5", Severity::Fail);
}

#[test]
fn c5_decided_inside_the_hearing_window() {
    let mut f = lawful();
    // Five working days after Monday 4-03 end on 4-11 (清明 4-05 is off).
    f.dates.decided_on = on("2023-04-11");
    f.legal_review_on = on("2023-04-10");
    f.collective_discussion_on = on("2023-04-10");
    f.measures[1].decided_on = d("2023-04-11");
    f.dates.served_on = on("2023-04-12");
    f.dates.paid_on = on("2023-04-20");
    f.disclosed_on = on("2023-04-14");
    breaks_only(f.clone(), "C5", Severity::Fail);
    // The day after the window is lawful, and so is a written waiver.
    let mut g = f.clone();
    g.dates.decided_on = on("2023-04-12");
    assert_eq!(checks_of(&g), Vec::<&str>::new());
    f.statement_waived_on = on("2023-04-04");
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    // A small fine with no hearing right may be decided at once.
    let mut h = lawful();
    h.fine = Money::from_yuan(20_000);
    h.measures[1].amount = Money::from_yuan(200_000);
    h.dates.decided_on = on("2023-04-06");
    h.statement_on = None;
    h.legal_review_on = None;
    h.collective_discussion_on = None;
    h.measures[1].decided_on = d("2023-04-06");
    h.dates.served_on = on("2023-04-07");
    h.dates.paid_on = on("2023-04-20");
    h.disclosed_on = on("2023-04-10");
    assert_eq!(checks_of(&h), Vec::<&str>::new());
}

#[test]
fn c6_review_after_decision() {
    let mut f = lawful();
    f.legal_review_on = on("2023-04-22");
    breaks_only(f, "C6", Severity::Fail);
}

#[test]
fn c7_service_late_and_electronic_without_consent() {
    let mut f = lawful();
    f.dates.served_on = on("2023-05-04");
    breaks_only(f, "C7", Severity::Fail);
    let mut g = lawful();
    g.service_method = "电子送达".into();
    breaks_only(g.clone(), "C7", Severity::Fail);
    g.service_consent = true;
    assert_eq!(checks_of(&g), Vec::<&str>::new());
}

#[test]
fn c8_paid_late_without_late_fee() {
    let mut f = lawful();
    f.dates.paid_on = on("2023-05-20");
    f.dates.closed_on = on("2023-05-25");
    breaks_only(f.clone(), "C8", Severity::Advisory);
    f.late_fee = Money::from_yuan(42_000);
    assert_eq!(checks_of(&f), Vec::<&str>::new());
}

#[test]
fn c8_closed_without_payment_or_closure_type() {
    let mut f = lawful();
    f.dates.paid_on = None;
    breaks_only(f.clone(), "C8", Severity::Fail);
    f.enforcement_applied_on = on("2023-05-08");
    assert_eq!(checks_of(&f), Vec::<&str>::new());
}

#[test]
fn c9_preservation_handled_late() {
    let mut f = lawful();
    f.preservation_handled_on = on("2023-03-20");
    breaks_only(f, "C9", Severity::Fail);
}

#[test]
fn c10_seizure_too_long() {
    let mut f = lawful();
    f.measures[0].released_on = on("2023-04-20");
    breaks_only(f.clone(), "C10", Severity::Fail);
    f.measures[0].extended_on = on("2023-04-01");
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    // Never released on a closed case.
    let mut g = lawful();
    g.measures[0].released_on = None;
    g.measures[0].decided_on = d("2023-04-20");
    assert_eq!(checks_of(&g), ["C10"]);
}

#[test]
fn c11_restriction_too_long() {
    let mut f = lawful();
    f.measures.push(MeasureFacts {
        kind: MeasureKind::ProductionRestriction,
        decided_on: d("2023-03-10"),
        extended_on: None,
        released_on: None,
        end_on: on("2023-07-15"),
        correction_served_on: None,
        reinspection_on: None,
        days: None,
        amount: Money::ZERO,
    });
    breaks_only(f, "C11", Severity::Advisory);
}

#[test]
fn c12_daily_penalty_amount() {
    let mut f = lawful();
    f.measures[1].amount = Money::from_yuan(900_000);
    breaks_only(f, "C12", Severity::Fail);
}

#[test]
fn c13_referral_approved_late() {
    let mut f = lawful();
    f.referrals[0].approved_on = on("2023-03-25");
    f.referrals[0].referred_on = d("2023-03-26");
    breaks_only(f, "C13", Severity::Fail);
}

#[test]
fn c14_disclosed_late() {
    let mut f = lawful();
    f.disclosed_on = on("2023-05-15");
    breaks_only(f, "C14", Severity::Advisory);
}

#[test]
fn c15_document_missing() {
    let mut f = lawful();
    f.documents.retain(|n| *n != 18);
    breaks_only(f, "C15", Severity::Advisory);
}

#[test]
fn c16_dates_out_of_order() {
    let mut f = lawful();
    f.dates.investigation_on = on("2023-03-04");
    breaks_only(f, "C16", Severity::Fail);
}

#[test]
fn c4_an_inspection_with_one_officer() {
    let mut f = lawful();
    f.records[0].officers = 1;
    breaks_only(f, "C4", Severity::Fail);
}

#[test]
fn c16_a_record_ending_before_it_starts() {
    let mut f = lawful();
    f.records[0].ended_at = Some(at("2023-03-01T09:00"));
    breaks_only(f, "C16", Severity::Fail);
}

#[test]
fn every_check_has_a_name_and_an_article() {
    for (id, name, art) in CHECKS {
        assert!(id.starts_with('C') && !name.is_empty() && art.contains('《'));
    }
}

#[test]
fn c3_suspension_without_approval() {
    let mut f = lawful();
    f.excluded.push(Excluded {
        kind: SuspensionKind::Suspension,
        start_on: d("2023-03-15"),
        end_on: on("2023-03-25"),
    });
    breaks_only(f.clone(), "C3", Severity::Advisory);
    f.approvals
        .push((ApprovalKind::Suspension, d("2023-03-15")));
    assert_eq!(checks_of(&f), Vec::<&str>::new());
}

#[test]
fn c5_statement_heard_after_the_decision() {
    let mut f = lawful();
    f.statement_on = on("2023-04-21");
    breaks_only(f, "C5", Severity::Fail);
}

#[test]
fn c5_hearing_hosted_by_an_investigator() {
    let mut f = lawful();
    f.dates.hearing_requested_on = on("2023-04-06");
    f.hearing_notice_on = on("2023-04-07");
    f.dates.hearing_held_on = on("2023-04-18");
    f.documents.extend([13, 14]);
    assert_eq!(checks_of(&f), Vec::<&str>::new());
    f.hearing_host_investigates = true;
    breaks_only(f, "C5", Severity::Fail);
}

#[test]
fn c5_notice_without_the_right_to_a_hearing() {
    let mut f = lawful();
    f.notice_kind = Some(NoticeKind::Penalty);
    breaks_only(f.clone(), "C5", Severity::Fail);
    // A fine below the 较大数额 needs no hearing notice.
    f.fine = Money::from_yuan(10_000);
    f.measures[1].amount = Money::from_yuan(100_000);
    assert_eq!(checks_of(&f), Vec::<&str>::new());
}

#[test]
fn c15_decision_without_legal_basis() {
    let mut f = lawful();
    f.legal_basis_given = false;
    breaks_only(f, "C15", Severity::Advisory);
}

#[test]
fn c16_evidence_collected_after_the_decision() {
    let mut f = lawful();
    f.last_evidence_on = on("2023-04-25");
    breaks_only(f, "C16", Severity::Fail);
}

proptest! {
    /// Adding an excluded period never creates a C3 failure: excluded time only lengthens
    /// the term.
    #[test]
    fn excluded_periods_never_create_a_c3_failure(
        term in 1i64..200,
        start in 0i64..200,
        len in 0i64..100,
        open in any::<bool>(),
        extended in any::<bool>(),
    ) {
        let cal = Calendar::builtin();
        let mut f = lawful();
        let filed = d("2023-03-06");
        f.dates.decided_on = Some(filed + chrono::Days::new(term as u64));
        f.term_extended_on = extended.then_some(filed);
        let fails = |f: &Dossier| {
            run(f, &cal, &Policy::default())
                .iter()
                .any(|x| x.check == "C3" && x.severity == Severity::Fail)
        };
        let before = fails(&f);
        let s = filed + chrono::Days::new(start as u64);
        f.excluded.push(Excluded {
            kind: SuspensionKind::Suspension,
            start_on: s,
            end_on: (!open).then(|| s + chrono::Days::new(len as u64)),
        });
        let after = fails(&f);
        prop_assert!(!after || before, "a C3 failure appeared");
    }
}
