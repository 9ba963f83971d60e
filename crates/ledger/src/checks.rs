//! The legal checks C1–C16 of a case file (案卷): pure functions over a [`Dossier`] and the
//! working-day [`Calendar`], each returning the problems it finds with its id, the article it
//! rests on, a severity, a Chinese message and the dates involved.
//!
//! Severity: `fail` where the rule is read in the law's text ([V] in assessment.md §2.3);
//! `advisory` where it rests on memory or local practice ([M]) or where the record cannot
//! tell whether the rule applies. Day counts follow [`crate::calendar`].
//!
//! The same functions serve the case page, `ecowarden dossier check`, the list of failed
//! checks and dossier review; they never read the store.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::calendar::Calendar;
use crate::cases::Status;
use crate::cases::fields::Dates;
use crate::cases::rules;
use crate::cases::vocab::{
    ApprovalKind, MeasureKind, NoticeKind, PenaltyKind, ReferralKind, SuspensionKind,
};
use ecowarden_core::ids::Money;

/// `fail`: the record shows the law was broken; `advisory`: look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Fail,
    Advisory,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fail => "fail",
            Severity::Advisory => "advisory",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Severity::Fail => "不合规",
            Severity::Advisory => "提示",
        }
    }
}

/// The checks, with the provision each rests on.
pub const CHECKS: [(&str, &str, &str); 16] = [
    ("C1", "立案期限", "《生态环境行政处罚办法》第十八条"),
    ("C2", "追责时效", "《行政处罚法》第三十六条"),
    ("C3", "办案期限", "《生态环境行政处罚办法》第五十七条"),
    ("C4", "执法人员", "《行政处罚法》第四十二条、第五十五条"),
    (
        "C5",
        "告知与听证",
        "《行政处罚法》第四十四条、第六十二条至第六十四条",
    ),
    (
        "C6",
        "集体讨论与法制审核",
        "《行政处罚法》第五十七条第二款、第五十八条",
    ),
    ("C7", "送达", "《行政处罚法》第六十一条"),
    (
        "C8",
        "缴款与加处罚款",
        "《行政处罚法》第六十六条、第六十七条、第七十二条",
    ),
    ("C9", "先行登记保存", "《行政处罚法》第五十六条"),
    (
        "C10",
        "查封扣押期限",
        "《行政强制法》第二十四条、第二十五条",
    ),
    (
        "C11",
        "限产停产期限",
        "《行政处罚法》第九条；《环境保护主管部门实施限制生产、停产整治办法》",
    ),
    (
        "C12",
        "按日连续处罚",
        "《环境保护主管部门实施按日连续处罚办法》第八条、第十七条、第十九条",
    ),
    (
        "C13",
        "涉嫌犯罪移送",
        "《行政执法机关移送涉嫌犯罪案件的规定》第五条、第十二条",
    ),
    (
        "C14",
        "处罚决定公开",
        "《行政处罚法》第四十八条；《生态环境行政处罚办法》第六十五条",
    ),
    (
        "C15",
        "案卷文书",
        "《环境行政处罚案卷评查指南》（环办〔2012〕98号）",
    ),
    (
        "C16",
        "日期逻辑",
        "《环境行政处罚案卷评查指南》（环办〔2012〕98号）",
    ),
];

/// The provision a check rests on.
pub fn article(check: &str) -> &'static str {
    CHECKS
        .iter()
        .find(|c| c.0 == check)
        .map(|c| c.2)
        .unwrap_or("")
}

/// A check's id as the static text of [`CHECKS`] (for findings read back from the store).
pub fn check_id(check: &str) -> Option<&'static str> {
    CHECKS.iter().find(|c| c.0 == check).map(|c| c.0)
}

/// The name of a check.
pub fn check_name(check: &str) -> &'static str {
    CHECKS
        .iter()
        .find(|c| c.0 == check)
        .map(|c| c.1)
        .unwrap_or("")
}

/// One problem a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub article: &'static str,
    pub message: String,
    /// The dates the finding rests on, by name.
    pub dates: BTreeMap<String, NaiveDate>,
}

impl Finding {
    /// C3's failure of a decision made after the term ran out, told by the dates it rests on
    /// (the decision and the deadline: C3's other failures concern the extensions).
    pub fn decided_past_term(&self) -> bool {
        self.check == "C3"
            && self.severity == Severity::Fail
            && self.dates.contains_key("decided_on")
            && self.dates.contains_key("deadline")
    }
}

pub use crate::cases::rules::Policy;

/// A supporting measure as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureFacts {
    pub kind: MeasureKind,
    pub decided_on: NaiveDate,
    /// Seizure or restriction extended, with the head's approval.
    pub extended_on: Option<NaiveDate>,
    pub released_on: Option<NaiveDate>,
    /// Restriction: last day.
    pub end_on: Option<NaiveDate>,
    /// Daily penalty: the order to correct served, and the re-inspection (复查).
    pub correction_served_on: Option<NaiveDate>,
    pub reinspection_on: Option<NaiveDate>,
    pub days: Option<i64>,
    pub amount: Money,
}

/// A referral as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    pub kind: ReferralKind,
    pub referred_on: NaiveDate,
    /// Criminal referral: the case group's report and the head's approval.
    pub report_on: Option<NaiveDate>,
    pub approved_on: Option<NaiveDate>,
}

/// An inspection or interview record (笔录) as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    /// inspection | interview
    pub kind: String,
    pub started_at: Option<chrono::NaiveDateTime>,
    pub ended_at: Option<chrono::NaiveDateTime>,
    /// Distinct officers present.
    pub officers: usize,
}

/// A period that does not count towards the decision deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub kind: SuspensionKind,
    pub start_on: NaiveDate,
    pub end_on: Option<NaiveDate>,
}

/// Everything the checks read of one case file.
#[derive(Debug, Clone, Default)]
pub struct Dossier {
    pub case_no: String,
    pub status: Option<Status>,
    pub dates: Dates,
    pub violation_ended_on: Option<NaiveDate>,
    /// The violation continues (连续或者继续状态): the limitation runs from its end.
    pub continuing: bool,
    /// Life, health or financial safety with harmful consequences: 5 years, not 2.
    pub special_limitation: bool,
    pub filing_extended_on: Option<NaiveDate>,
    pub term_extended_on: Option<NaiveDate>,
    pub term_discussed_on: Option<NaiveDate>,
    pub excluded: Vec<Excluded>,
    pub penalty_kinds: Vec<PenaltyKind>,
    pub fine: Money,
    pub late_fee: Money,
    /// Distinct officers on the case whose certificate was valid on the day of the decision
    /// (of filing, before one).
    pub certified_officers: usize,
    pub statement_waived_on: Option<NaiveDate>,
    pub hearing_notice_on: Option<NaiveDate>,
    pub collective_discussion_on: Option<NaiveDate>,
    pub legal_review_on: Option<NaiveDate>,
    pub decision_no: String,
    /// 直接送达, 留置送达, 邮寄送达, 公告送达, 电子送达 …
    pub service_method: String,
    pub service_consent: bool,
    pub deferral_approved_on: Option<NaiveDate>,
    pub enforcement_applied_on: Option<NaiveDate>,
    pub disclosed_on: Option<NaiveDate>,
    pub closure_type: String,
    pub preserved_on: Option<NaiveDate>,
    pub preservation_approved_on: Option<NaiveDate>,
    pub preservation_handled_on: Option<NaiveDate>,
    pub measures: Vec<MeasureFacts>,
    pub referrals: Vec<ReferralFacts>,
    /// The MEE 2016 template numbers of the documents in the file (1 立案审批表 … 33).
    pub documents: Vec<i64>,
    /// Inspection and interview records.
    pub records: Vec<RecordFacts>,
    /// Approvals registered with their approver: kind and date.
    pub approvals: Vec<(ApprovalKind, NaiveDate)>,
    /// The latest day an evidence item was collected.
    pub last_evidence_on: Option<NaiveDate>,
    pub notice_kind: Option<NoticeKind>,
    /// The party's statement (陈述申辩) heard.
    pub statement_on: Option<NaiveDate>,
    /// The hearing's host is one of the case's officers (处罚法 Art 64(4) forbids it).
    pub hearing_host_investigates: bool,
    /// The decision's basis: a text on the case, or a penalty provision cited.
    pub legal_basis_given: bool,
}

impl Dossier {
    /// Whether an approval of this kind is registered with its approver.
    pub fn approved(&self, kind: ApprovalKind) -> bool {
        self.approvals.iter().any(|a| a.0 == kind)
    }

    /// A penalty was decided (不予处罚 is a decision, but not a penalty).
    fn penalised(&self) -> bool {
        self.dates.decided_on.is_some() && !self.penalty_kinds.contains(&PenaltyKind::NoPenalty)
    }

    /// Whether the party may ask for a hearing (处罚法 Art 63).
    pub fn hearing_eligible(&self, policy: &Policy) -> bool {
        crate::cases::rules::hearing_eligible(&self.penalty_kinds, self.fine, policy)
    }
}

struct Out<'a>(&'a mut Vec<Finding>);

impl Out<'_> {
    fn push(
        &mut self,
        check: &'static str,
        severity: Severity,
        message: String,
        dates: &[(&'static str, NaiveDate)],
    ) {
        self.0.push(Finding {
            check,
            severity,
            article: article(check),
            message,
            dates: dates.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        });
    }
}

/// Runs every check; returns what did not pass, in check order.
pub fn run(d: &Dossier, cal: &Calendar, policy: &Policy) -> Vec<Finding> {
    let mut v = Vec::new();
    let mut o = Out(&mut v);
    c1_filing(d, cal, &mut o);
    c2_limitation(d, &mut o);
    c3_term(d, cal, &mut o);
    c4_officers(d, &mut o);
    c5_notice_and_hearing(d, cal, policy, &mut o);
    c6_discussion_and_review(d, policy, &mut o);
    c7_service(d, cal, &mut o);
    c8_payment(d, cal, &mut o);
    c9_preservation(d, cal, &mut o);
    c10_seizure(d, cal, &mut o);
    c11_restriction(d, &mut o);
    c12_daily_penalty(d, cal, &mut o);
    c13_criminal_referral(d, cal, &mut o);
    c14_disclosure(d, cal, &mut o);
    c15_documents(d, &mut o);
    c16_dates(d, &mut o);
    v
}

/// C1: the decision to open a case within 15 days of discovery, 30 with an approved extension.
fn c1_filing(d: &Dossier, cal: &Calendar, o: &mut Out) {
    if let (Some(found), Some(ext)) = (d.dates.discovered_on, d.filing_extended_on) {
        extension(
            d,
            cal,
            o,
            ("C1", ApprovalKind::FilingExtension, "filing_extended_on"),
            (found, 15),
            ext,
        );
    }
    let (Some(found), Some(filed)) = (d.dates.discovered_on, d.dates.filed_on) else {
        return;
    };
    let (days, how) = match d.filing_extended_on {
        Some(_) => (30, "经批准延长后30日"),
        None => (15, "15日"),
    };
    let deadline = cal.calendar_deadline(found, days);
    if filed > deadline {
        o.push(
            "C1",
            Severity::Fail,
            format!("发现后{how}内应决定是否立案，立案日期{filed}已超过期限{deadline}"),
            &[
                ("discovered_on", found),
                ("filed_on", filed),
                ("deadline", deadline),
            ],
        );
    }
}

/// An extension approved with its approver on file (advisory when the register lacks it,
/// as import records only the date) and before the period it extends ran out: an expired
/// period cannot be extended (办法 Arts 18, 57 "可以延长"; assumed, the text sets no day).
fn extension(
    d: &Dossier,
    cal: &Calendar,
    o: &mut Out,
    (check, kind, key): (&'static str, ApprovalKind, &'static str),
    (from, days): (NaiveDate, u64),
    on: NaiveDate,
) {
    let due = cal.calendar_deadline(from, days);
    if on > due {
        o.push(
            check,
            Severity::Fail,
            format!(
                "{}批准（{on}）晚于原期限届满之日（{due}），期限届满后不能延长",
                kind.label()
            ),
            &[(key, on), ("deadline", due)],
        );
    }
    if !d.approved(kind) {
        o.push(
            check,
            Severity::Advisory,
            format!("{}（{on}）未登记审批表及批准人", kind.label()),
            &[(key, on)],
        );
    }
}

/// C2: discovered within 2 years of the violation's end (5 for the special category).
fn c2_limitation(d: &Dossier, o: &mut Out) {
    let Some(found) = d.dates.discovered_on else {
        return;
    };
    let Some(ended) = d.violation_ended_on else {
        if !d.continuing && d.dates.filed_on.is_some() {
            o.push(
                "C2",
                Severity::Advisory,
                "未记录违法行为终了日期，无法核对追责时效".into(),
                &[("discovered_on", found)],
            );
        }
        return;
    };
    let years = if d.special_limitation { 5 } else { 2 };
    let limit = ended
        .checked_add_months(chrono::Months::new(12 * years))
        .unwrap_or(ended);
    if found > limit {
        o.push(
            "C2",
            Severity::Fail,
            format!("违法行为于{ended}终了，{years}年内未被发现（{found}发现），不再给予行政处罚"),
            &[
                ("violation_ended_on", ended),
                ("discovered_on", found),
                ("limit", limit),
            ],
        );
    }
}

/// The days of excluded periods inside (from, to]; overlapping periods count once.
pub fn excluded_days(excluded: &[Excluded], from: NaiveDate, to: NaiveDate) -> i64 {
    let mut spans: Vec<(NaiveDate, NaiveDate)> = excluded
        .iter()
        .map(|e| {
            let start = e.start_on.max(from);
            let end = e.end_on.unwrap_or(to).min(to);
            (start, end)
        })
        .filter(|(s, e)| s < e)
        .collect();
    spans.sort();
    let mut total = 0;
    let mut reach = from;
    for (s, e) in spans {
        let s = s.max(reach);
        if e > s {
            total += (e - s).num_days();
            reach = e;
        }
    }
    total
}

/// The shortest 办案期限 (C3): no case is past its term sooner after 立案.
pub const TERM_DAYS: u64 = 90;

/// A filed case's 办案期限 (C3) as it stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// 90, 120 with the extension, 150 with the collective second extension.
    pub limit: i64,
    /// Days of excluded periods (中止, 听证 …) from 立案 to the day.
    pub excluded: i64,
    /// The last day for the decision.
    pub deadline: NaiveDate,
}

/// C3's term of a filed case, counting the excluded periods up to `until` (the decision, or
/// today for a case not yet decided); `None` before 立案.
pub fn term(d: &Dossier, cal: &Calendar, until: NaiveDate) -> Option<Term> {
    let filed = d.dates.filed_on?;
    let limit = match (d.term_extended_on, d.term_discussed_on) {
        (Some(_), Some(_)) => 150,
        (Some(_), None) => 120,
        _ => TERM_DAYS as i64,
    };
    let excluded = excluded_days(&d.excluded, filed, until);
    Some(Term {
        limit,
        excluded,
        deadline: cal.calendar_deadline(filed, (limit + excluded) as u64),
    })
}

/// A case filed and not decided that is past its 办案期限 on `today`: its term, which C3 will
/// fail whatever day the decision comes.
pub fn past_term(d: &Dossier, cal: &Calendar, today: NaiveDate) -> Option<Term> {
    if d.dates.decided_on.is_some() {
        return None;
    }
    term(d, cal, today).filter(|t| today > t.deadline)
}

/// C3: the decision within 90 days of 立案, 120 with an approved extension, 150 with the
/// collective decision on a second one, not counting the excluded periods.
fn c3_term(d: &Dossier, cal: &Calendar, o: &mut Out) {
    let (Some(filed), Some(decided)) = (d.dates.filed_on, d.dates.decided_on) else {
        return;
    };
    let Term {
        limit,
        excluded,
        deadline,
    } = term(d, cal, decided).expect("a filed case has a term");
    for (kind, key, on, days) in [
        (
            ApprovalKind::TermExtension,
            "term_extended_on",
            d.term_extended_on,
            90,
        ),
        (
            ApprovalKind::TermCollective,
            "term_discussed_on",
            d.term_discussed_on,
            120,
        ),
    ] {
        if let Some(on) = on {
            let net = days + excluded_days(&d.excluded, filed, on) as u64;
            extension(d, cal, o, ("C3", kind, key), (filed, net), on);
        }
    }
    for e in d
        .excluded
        .iter()
        .filter(|e| e.kind == SuspensionKind::Suspension)
    {
        if !d
            .approvals
            .iter()
            .any(|a| a.0 == ApprovalKind::Suspension && a.1 <= e.start_on)
        {
            o.push(
                "C3",
                Severity::Advisory,
                format!(
                    "中止调查（{}起）未登记负责人批准（办法第三十五条）",
                    e.start_on
                ),
                &[("suspended_on", e.start_on)],
            );
        }
    }
    if decided > deadline {
        let used = (decided - filed).num_days() - excluded;
        o.push(
            "C3",
            Severity::Fail,
            format!(
                "立案至处罚决定用时{used}日（已扣除不计入期间{excluded}日），超过{limit}日办案期限"
            ),
            &[
                ("filed_on", filed),
                ("decided_on", decided),
                ("deadline", deadline),
            ],
        );
    }
    if let Some(second) = d.term_discussed_on
        && d.term_extended_on.is_none()
    {
        o.push(
            "C3",
            Severity::Fail,
            "继续延期须在办案期限延长批准之后，由负责人集体讨论决定".into(),
            &[("term_discussed_on", second)],
        );
    }
}

/// C4: at least two officers with enforcement certificates, on the case and at each
/// inspection and interview.
fn c4_officers(d: &Dossier, o: &mut Out) {
    for r in d.records.iter().filter(|r| r.officers < 2) {
        let on: Vec<(&'static str, NaiveDate)> = r
            .started_at
            .map(|t| ("started_at", t.date()))
            .into_iter()
            .collect();
        o.push(
            "C4",
            Severity::Fail,
            format!(
                "{}仅有{}名执法人员在场，应不少于两人",
                crate::cases::records::kind_label(&r.kind),
                r.officers
            ),
            &on,
        );
    }
    if d.dates.filed_on.is_some() && d.certified_officers < 2 {
        o.push(
            "C4",
            Severity::Fail,
            format!(
                "案件仅有{}名在行为之日持有有效执法证的执法人员，应不少于两人",
                d.certified_officers
            ),
            &[],
        );
    }
}

/// C5: no decision without the prior notice; a requested hearing held before the decision,
/// notified 7 working days ahead; a hearing-eligible penalty not decided inside the 5 working
/// days after the notice unless a hearing was held or the party waived it in writing.
fn c5_notice_and_hearing(d: &Dossier, cal: &Calendar, policy: &Policy, o: &mut Out) {
    let Some(decided) = d.dates.decided_on else {
        return;
    };
    if !d.penalised() {
        return;
    }
    let Some(notice) = d.dates.prior_notice_on else {
        o.push(
            "C5",
            Severity::Fail,
            "未经行政处罚事先告知即作出处罚决定".into(),
            &[("decided_on", decided)],
        );
        return;
    };
    if let Some(heard) = d.statement_on
        && heard > decided
    {
        o.push(
            "C5",
            Severity::Fail,
            format!("当事人陈述申辩（{heard}）在处罚决定（{decided}）之后，决定前未听取陈述申辩（第七条、第六十二条）"),
            &[("statement_on", heard), ("decided_on", decided)],
        );
    }
    if d.hearing_host_investigates && d.dates.hearing_held_on.is_some() {
        o.push(
            "C5",
            Severity::Fail,
            "听证由本案调查人员主持；听证应由行政机关指定的非本案调查人员主持（第六十四条第四项）"
                .into(),
            &d.dates
                .hearing_held_on
                .map(|h| ("hearing_held_on", h))
                .into_iter()
                .collect::<Vec<_>>(),
        );
    }
    if d.notice_kind == Some(NoticeKind::Penalty)
        && d.hearing_eligible(policy)
        && d.dates.hearing_requested_on.is_none()
    {
        o.push(
            "C5",
            Severity::Fail,
            "可申请听证的处罚，事先告知未告知当事人有要求听证的权利（第六十三条、第六十四条）"
                .into(),
            &[("prior_notice_on", notice)],
        );
    }
    if let Some(asked) = d.dates.hearing_requested_on {
        match d.dates.hearing_held_on {
            Some(held) if held <= decided => {
                if let Some(n) = d.hearing_notice_on {
                    let due = cal.working_deadline(n, 7);
                    if held < due {
                        o.push(
                            "C5",
                            Severity::Fail,
                            format!("听证通知（{n}）距听证（{held}）不足七个工作日"),
                            &[("hearing_notice_on", n), ("hearing_held_on", held)],
                        );
                    }
                }
            }
            _ => o.push(
                "C5",
                Severity::Fail,
                format!("当事人于{asked}申请听证，处罚决定（{decided}）前未举行听证"),
                &[("hearing_requested_on", asked), ("decided_on", decided)],
            ),
        }
    } else if d.hearing_eligible(policy) && d.statement_waived_on.is_none() {
        let window = cal.working_deadline(notice, 5);
        if decided <= window {
            o.push(
                "C5",
                Severity::Fail,
                format!(
                    "可申请听证的处罚，告知（{notice}）后五个工作日（至{window}）内即作出决定，且无书面放弃听证记录"
                ),
                &[("prior_notice_on", notice), ("decided_on", decided), ("window_end", window)],
            );
        }
    }
}

/// C6: a review of legality (法制审核) dated before the decision; for hearing-eligible
/// penalties it is expected, and a collective discussion where the case went to a hearing.
fn c6_discussion_and_review(d: &Dossier, policy: &Policy, o: &mut Out) {
    let Some(decided) = d.dates.decided_on else {
        return;
    };
    if !d.penalised() {
        return;
    }
    for (key, label, on) in [
        ("legal_review_on", "法制审核", d.legal_review_on),
        (
            "collective_discussion_on",
            "集体讨论",
            d.collective_discussion_on,
        ),
    ] {
        if let Some(on) = on
            && on > decided
        {
            o.push(
                "C6",
                Severity::Fail,
                format!("{label}（{on}）晚于处罚决定（{decided}）"),
                &[(key, on), ("decided_on", decided)],
            );
        }
    }
    if d.dates.hearing_held_on.is_some() && d.legal_review_on.is_none() {
        o.push(
            "C6",
            Severity::Fail,
            "经过听证程序的案件，作出决定前应当进行法制审核".into(),
            &[("decided_on", decided)],
        );
    } else if d.hearing_eligible(policy)
        && (d.legal_review_on.is_none() || d.collective_discussion_on.is_none())
    {
        o.push(
            "C6",
            Severity::Advisory,
            "重大处罚未见法制审核或集体讨论记录，请核对是否属于应当审核、讨论的情形".into(),
            &[("decided_on", decided)],
        );
    }
}

/// C7: the decision served within 7 working days; electronic service only with consent.
fn c7_service(d: &Dossier, cal: &Calendar, o: &mut Out) {
    let Some(decided) = d.dates.decided_on else {
        return;
    };
    match d.dates.served_on {
        Some(served) => {
            let due = cal.working_deadline(decided, 7);
            if served > due {
                o.push(
                    "C7",
                    Severity::Fail,
                    format!(
                        "处罚决定（{decided}）应在七个工作日内（至{due}）送达，实际{served}送达"
                    ),
                    &[
                        ("decided_on", decided),
                        ("served_on", served),
                        ("deadline", due),
                    ],
                );
            }
            if d.service_method.contains("电子") && !d.service_consent {
                o.push(
                    "C7",
                    Severity::Fail,
                    "采用电子送达，但无当事人同意电子送达的确认书".into(),
                    &[("served_on", served)],
                );
            }
        }
        None if matches!(d.status, Some(Status::Closed | Status::Enforcement)) => o.push(
            "C7",
            Severity::Fail,
            "已作出处罚决定但无送达记录".into(),
            &[("decided_on", decided)],
        ),
        None => {}
    }
}

/// C8: the fine paid within 15 days of service, or a late fee (3% a day, at most the fine)
/// or an approved deferral on file; a closed fined case was paid, enforced or closed by type.
fn c8_payment(d: &Dossier, cal: &Calendar, o: &mut Out) {
    if d.fine == Money::ZERO || !d.penalised() {
        return;
    }
    if let (Some(served), Some(paid)) = (d.dates.served_on, d.dates.paid_on) {
        let due = cal.calendar_deadline(served, 15);
        if paid > due && d.deferral_approved_on.is_none() && d.late_fee == Money::ZERO {
            o.push(
                "C8",
                Severity::Advisory,
                format!("罚款应于{due}前缴纳，实际{paid}缴纳，未见加处罚款或延期缴纳批准"),
                &[("served_on", served), ("paid_on", paid), ("deadline", due)],
            );
        }
    }
    if d.late_fee > d.fine {
        o.push(
            "C8",
            Severity::Fail,
            format!("加处罚款{}元超过罚款数额{}元", d.late_fee, d.fine),
            &[],
        );
    }
    if d.status == Some(Status::Closed)
        && d.dates.paid_on.is_none()
        && d.enforcement_applied_on.is_none()
        && d.closure_type.is_empty()
    {
        let closed = d.dates.closed_on.into_iter().map(|c| ("closed_on", c));
        o.push(
            "C8",
            Severity::Fail,
            "罚款案件结案，但无缴款、申请强制执行或结案类型记录".into(),
            &closed.collect::<Vec<_>>(),
        );
    }
}

/// C9: 先行登记保存 only with the head's approval, handled within 7 working days.
fn c9_preservation(d: &Dossier, cal: &Calendar, o: &mut Out) {
    let Some(kept) = d.preserved_on else {
        return;
    };
    if d.preservation_approved_on.is_none() {
        o.push(
            "C9",
            Severity::Fail,
            "先行登记保存证据未经行政机关负责人批准".into(),
            &[("preserved_on", kept)],
        );
    }
    let due = cal.working_deadline(kept, 7);
    match d.preservation_handled_on {
        Some(h) if h <= due => {}
        Some(h) => o.push(
            "C9",
            Severity::Fail,
            format!("先行登记保存（{kept}）应在七个工作日内（至{due}）作出处理决定，实际{h}"),
            &[("preserved_on", kept), ("handled_on", h), ("deadline", due)],
        ),
        None if d.status == Some(Status::Closed) => o.push(
            "C9",
            Severity::Fail,
            "先行登记保存的证据未见处理决定".into(),
            &[("preserved_on", kept)],
        ),
        None => {}
    }
}

/// C10: a seizure lasts at most 30 days, 60 with an approved extension, and is released or
/// handled before the case closes.
fn c10_seizure(d: &Dossier, cal: &Calendar, o: &mut Out) {
    for m in d
        .measures
        .iter()
        .filter(|m| m.kind == MeasureKind::SealAndSeize)
    {
        let (limit, how) = match m.extended_on {
            Some(_) => (60, "经批准延长后60日"),
            None => (30, "30日"),
        };
        let deadline = cal.calendar_deadline(m.decided_on, limit);
        let end = m.released_on.or(d.dates.closed_on);
        match end {
            Some(end) if end > deadline => o.push(
                "C10",
                Severity::Fail,
                format!(
                    "查封扣押（{}）期限{how}，至{deadline}，实际持续至{end}",
                    m.decided_on
                ),
                &[
                    ("decided_on", m.decided_on),
                    ("released_on", end),
                    ("deadline", deadline),
                ],
            ),
            _ => {}
        }
        if let Some(ext) = m.extended_on
            && ext > cal.calendar_deadline(m.decided_on, 30)
        {
            o.push(
                "C10",
                Severity::Fail,
                format!("查封扣押延长批准（{ext}）晚于原30日期限"),
                &[("decided_on", m.decided_on), ("extended_on", ext)],
            );
        }
        if m.released_on.is_none() && d.status == Some(Status::Closed) {
            o.push(
                "C10",
                Severity::Fail,
                format!("已结案，但{}的查封扣押未见解除或处理", m.decided_on),
                &[("decided_on", m.decided_on)],
            );
        }
    }
}

/// C11 (advisory, the 3 + 3 months are read only in the 2014 draft): a production
/// restriction lasts at most 3 months, 6 with an extension.
fn c11_restriction(d: &Dossier, o: &mut Out) {
    for m in d
        .measures
        .iter()
        .filter(|m| m.kind == MeasureKind::ProductionRestriction)
    {
        let Some(end) = m.end_on else { continue };
        let months = if m.extended_on.is_some() { 6 } else { 3 };
        let limit = m
            .decided_on
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(m.decided_on);
        if end > limit {
            o.push(
                "C11",
                Severity::Advisory,
                format!("限制生产（{}起）超过{months}个月，至{end}", m.decided_on),
                &[("decided_on", m.decided_on), ("end_on", end)],
            );
        }
    }
}

/// C12: a daily penalty's amount is the original fine × the days counted; the days run
/// from the day after the order to correct was served to the re-inspection; the
/// re-inspection within 30 days of service is advisory ([M]).
fn c12_daily_penalty(d: &Dossier, cal: &Calendar, o: &mut Out) {
    for m in d
        .measures
        .iter()
        .filter(|m| m.kind == MeasureKind::DailyPenalty)
    {
        if let Some(days) = m.days {
            let expected = d.fine.fen().checked_mul(days).map(Money::from_fen);
            if expected != Some(m.amount) {
                o.push(
                    "C12",
                    Severity::Fail,
                    format!(
                        "按日连续处罚金额{}元，应为原处罚决定罚款{}元×{days}日",
                        m.amount, d.fine
                    ),
                    &[("decided_on", m.decided_on)],
                );
            }
            if let (Some(served), Some(re)) = (m.correction_served_on, m.reinspection_on) {
                let counted = (re - served).num_days();
                if days > counted {
                    o.push(
                        "C12",
                        Severity::Fail,
                        format!("计罚{days}日，多于责令改正送达次日至复查之日的{counted}日"),
                        &[("correction_served_on", served), ("reinspection_on", re)],
                    );
                }
            }
        }
        match (m.correction_served_on, m.reinspection_on) {
            (Some(served), Some(re)) if re > cal.calendar_deadline(served, 30) => o.push(
                "C12",
                Severity::Advisory,
                format!("复查（{re}）晚于责令改正决定送达（{served}）后30日"),
                &[("correction_served_on", served), ("reinspection_on", re)],
            ),
            (None, _) => o.push(
                "C12",
                Severity::Advisory,
                "按日连续处罚未记录责令改正决定书送达日期".into(),
                &[("decided_on", m.decided_on)],
            ),
            _ => {}
        }
    }
}

/// C13: a criminal referral approved within 3 days of the report and transferred within
/// 24 hours of the approval.
fn c13_criminal_referral(d: &Dossier, cal: &Calendar, o: &mut Out) {
    for r in d
        .referrals
        .iter()
        .filter(|r| r.kind == ReferralKind::Criminal)
    {
        if let (Some(report), Some(approved)) = (r.report_on, r.approved_on)
            && approved > cal.calendar_deadline(report, 3)
        {
            o.push(
                "C13",
                Severity::Fail,
                format!("移送报告（{report}）后3日内应作出批准与否的决定，实际{approved}"),
                &[("report_on", report), ("approved_on", approved)],
            );
        }
        match r.approved_on {
            Some(approved) if r.referred_on > approved + chrono::Days::new(1) => o.push(
                "C13",
                Severity::Fail,
                format!(
                    "批准移送（{approved}）后24小时内应移送公安机关，实际{}",
                    r.referred_on
                ),
                &[("approved_on", approved), ("referred_on", r.referred_on)],
            ),
            Some(_) => {}
            None => o.push(
                "C13",
                Severity::Advisory,
                "涉嫌犯罪移送未记录负责人批准日期".into(),
                &[("referred_on", r.referred_on)],
            ),
        }
    }
}

/// C14 (advisory, the 7 working days are local practice): a penalty decision disclosed
/// within 7 working days.
fn c14_disclosure(d: &Dossier, cal: &Calendar, o: &mut Out) {
    let Some(decided) = d.dates.decided_on else {
        return;
    };
    if !d.penalised() {
        return;
    }
    let due = cal.working_deadline(decided, 7);
    match d.disclosed_on {
        Some(on) if on > due => o.push(
            "C14",
            Severity::Advisory,
            format!("处罚决定（{decided}）于{on}公开，晚于七个工作日（{due}）"),
            &[("decided_on", decided), ("disclosed_on", on)],
        ),
        Some(_) => {}
        None if d.status == Some(Status::Closed) => o.push(
            "C14",
            Severity::Advisory,
            "未记录处罚决定公开日期".into(),
            &[("decided_on", decided)],
        ),
        None => {}
    }
}

/// The MEE 2016 templates a file of this kind must hold (§2.1): (number, name).
pub fn required_documents(d: &Dossier) -> Vec<(i64, &'static str)> {
    let mut need = Vec::new();
    if d.dates.filed_on.is_some() {
        need.push((1, "立案审批表"));
    }
    if d.penalised() {
        need.extend([(12, "行政处罚事先（听证）告知书"), (17, "行政处罚决定书")]);
    }
    if d.dates.served_on.is_some() {
        need.push((18, "送达回证"));
    }
    if d.dates.hearing_held_on.is_some() {
        need.extend([(13, "听证通知书"), (14, "听证笔录")]);
    }
    if d.measures
        .iter()
        .any(|m| m.kind == MeasureKind::SealAndSeize)
    {
        need.extend([(23, "查封（扣押）决定书"), (24, "查封扣押清单")]);
    }
    if d.measures
        .iter()
        .any(|m| m.kind == MeasureKind::DailyPenalty)
    {
        need.extend([(10, "责令改正违法行为决定书"), (22, "按日连续处罚决定书")]);
    }
    if d.status == Some(Status::Closed) {
        need.push((20, "结案审批表"));
    }
    need
}

/// C15 (advisory): the documents the case type requires are in the file.
fn c15_documents(d: &Dossier, o: &mut Out) {
    let missing: Vec<&str> = required_documents(d)
        .into_iter()
        .filter(|(n, _)| !d.documents.contains(n))
        .map(|(_, name)| name)
        .collect();
    if d.penalised() && !d.legal_basis_given {
        o.push(
            "C15",
            Severity::Advisory,
            "处罚决定未载明处罚依据（处罚法第五十九条）：请登记违反条款和处罚依据条款".into(),
            &d.dates
                .decided_on
                .map(|x| ("decided_on", x))
                .into_iter()
                .collect::<Vec<_>>(),
        );
    }
    if !missing.is_empty() {
        o.push(
            "C15",
            Severity::Advisory,
            format!("案卷缺少：{}", missing.join("、")),
            &[],
        );
    }
}

/// C16: the lifecycle dates in order, measures and referrals not before discovery, and the
/// dates the stage implies.
fn c16_dates(d: &Dossier, o: &mut Out) {
    let acts: Vec<(&'static str, NaiveDate)> = d
        .measures
        .iter()
        .map(|m| (measure_field(m.kind), m.decided_on))
        .chain(
            d.referrals
                .iter()
                .map(|r| (referral_field(r.kind), r.referred_on)),
        )
        .collect();
    let mut breaches = rules::dates_in_order(&d.dates);
    breaches.extend(rules::not_before_discovery(d.dates.discovered_on, &acts));
    if let Some(st) = d.status {
        breaches.extend(rules::stage_dates(st, &d.dates, &d.penalty_kinds));
    }
    for b in breaches {
        o.push("C16", Severity::Fail, b.message, &[]);
    }
    if let (Some(last), Some(decided)) = (d.last_evidence_on, d.dates.decided_on)
        && last > decided
    {
        o.push(
            "C16",
            Severity::Fail,
            format!("证据于{last}收集，晚于处罚决定（{decided}）：应先调查取证、后作出决定（处罚法第四十条、第五十四条）"),
            &[("collected_on", last), ("decided_on", decided)],
        );
    }
    for r in &d.records {
        let label = crate::cases::records::kind_label(&r.kind);
        match (r.started_at, r.ended_at) {
            (Some(s), Some(e)) if e > s => {}
            (Some(s), Some(_)) => o.push(
                "C16",
                Severity::Fail,
                format!("{label}的结束时间不晚于开始时间"),
                &[("started_at", s.date())],
            ),
            _ => o.push(
                "C16",
                Severity::Fail,
                format!("{label}未记录精确到分钟的起止时间"),
                &[],
            ),
        }
    }
}

/// The case field that holds a measure's decision date.
pub fn measure_field(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::SealAndSeize => "seal_and_seize_on",
        MeasureKind::ProductionRestriction => "production_restriction_on",
        MeasureKind::DailyPenalty => "daily_penalty_on",
    }
}

/// The case field that holds a referral's date.
pub fn referral_field(kind: ReferralKind) -> &'static str {
    match kind {
        ReferralKind::Detention => "detention_referral_on",
        ReferralKind::Criminal => "criminal_referral_on",
        ReferralKind::MarketRegulator => "market_referral_on",
    }
}

#[cfg(test)]
mod tests;
