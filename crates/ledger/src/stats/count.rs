//! The arithmetic of the statistics: pure functions from the rows [`super::compute`] fetches
//! to the figures, so every count can be checked on a constructed ledger without a database.
//!
//! Counted as the corps' reports count (the 2024 article): a 件 of enforcement is a decision.
//! Each penalty decision (不予处罚 aside), each supporting-measure decision and each referral
//! is one, counted by its own date; the 清水蓝天 total is their sum (831 = 734 + 48 + 4 +
//! 36 + 9). 罚没金额 is fines and confiscations decided in the period plus the daily-penalty
//! amounts (also a figure of its own). 立案 cases exclude the withdrawn and the unfiled.
//! Typical cases count by their batch's publication date.

use std::collections::{BTreeSet, HashMap};

use crate::cases::vocab::{MeasureKind, ReferralKind, Tag, ThirdPartySubtype};

use super::Figure;

/// 立案 cases of the period by region (the withdrawn and unfiled left out) and how many closed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegionAgg {
    pub k: String,
    pub n: i64,
    pub closed: i64,
}

/// A decision (行政处罚决定书) dated in the period, with the region it is counted in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DecisionRow {
    pub k: String,
    pub case_id: i64,
    pub fine_fen: i64,
    pub confiscation_fen: i64,
    /// 1 for 不予处罚: a decision, but not a penalty.
    pub no_penalty: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub fine_fen: i64,
    pub subtype: Option<String>,
    pub task_force_id: Option<i64>,
}

/// A campaign tag of a case that is of the period (`in_period` 1) or has a decision, measure
/// or referral in it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub case_id: i64,
    pub tag: String,
    pub in_period: i64,
}

/// A supporting-measure decision dated in the period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MeasureRow {
    pub k: String,
    pub case_id: i64,
    pub kind: String,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferralRow {
    pub case_id: i64,
    pub kind: String,
    pub persons_detained: i64,
    pub arrest_review_persons: i64,
    pub arrest_approved_persons: i64,
    pub prosecution_persons: i64,
    pub guilty_plea_persons: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TypicalRow {
    pub batch_id: i64,
    pub theme: String,
    pub case_id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskForceRow {
    pub id: i64,
    pub theme: String,
}

/// Everything the figures are counted from: the period's cases in the area, by region, and
/// the sparse tables joined to the same cases.
pub struct Rows<'a> {
    pub regions: &'a [RegionAgg],
    pub decisions: &'a [DecisionRow],
    pub tags: &'a [TagRow],
    pub measures: &'a [MeasureRow],
    pub referrals: &'a [ReferralRow],
    pub typical: &'a [TypicalRow],
    /// Cases that are tagged, linked to a third party or a task force, by id.
    pub details: &'a HashMap<i64, CaseRow>,
    /// Task forces established in the period.
    pub task_forces: &'a [TaskForceRow],
}

/// 罚没金额 by region: fines and confiscations of the period's penalty decisions, and its
/// daily-penalty amounts. Sums saturate rather than wrap.
pub fn fines_by_region(decisions: &[DecisionRow], measures: &[MeasureRow]) -> HashMap<String, i64> {
    let mut out: HashMap<String, i64> = HashMap::new();
    for d in decisions.iter().filter(|d| d.no_penalty == 0) {
        let e = out.entry(d.k.clone()).or_default();
        *e = e
            .saturating_add(d.fine_fen)
            .saturating_add(d.confiscation_fen);
    }
    for m in measures
        .iter()
        .filter(|m| m.kind == MeasureKind::DailyPenalty.as_str())
    {
        let e = out.entry(m.k.clone()).or_default();
        *e = e.saturating_add(m.amount_fen);
    }
    out
}

/// Every figure of the rows, in the order the statistics page shows them.
/// A sum that cannot overflow: it stops at `i64::MAX` (stored amounts are bounded, so only
/// data from before the bounds could reach it).
fn sum(values: impl Iterator<Item = i64>) -> i64 {
    values.fold(0, i64::saturating_add)
}

pub fn figures(rows: &Rows) -> Vec<Figure> {
    let Rows {
        regions,
        decisions,
        tags,
        measures,
        referrals,
        typical,
        details,
        task_forces,
    } = *rows;
    let mut f = Figures::default();
    let total = sum(regions.iter().map(|r| r.n));
    let closed = sum(regions.iter().map(|r| r.closed));
    let penalties: Vec<&DecisionRow> = decisions.iter().filter(|d| d.no_penalty == 0).collect();
    let daily: Vec<&MeasureRow> = measures
        .iter()
        .filter(|m| m.kind == MeasureKind::DailyPenalty.as_str())
        .collect();
    let daily_amount = sum(daily.iter().map(|m| m.amount_fen));
    let fine = sum(fines_by_region(decisions, measures).values().copied());
    f.push_all("cases.total", "案件", "立案查处案件", total, "件");
    f.decisions(
        "cases.penalty_decisions",
        "案件",
        "行政处罚决定",
        penalties.iter().map(|d| d.case_id).collect(),
    );
    f.push(
        "cases.fine",
        "案件",
        "罚没金额",
        fine,
        "元",
        dedup(
            penalties
                .iter()
                .map(|d| d.case_id)
                .chain(daily.iter().map(|m| m.case_id))
                .collect(),
        ),
    );
    f.push(
        "cases.daily_penalty_amount",
        "案件",
        "按日连续处罚金额",
        daily_amount,
        "元",
        dedup(daily.iter().map(|m| m.case_id).collect()),
    );
    f.push_all("cases.closed", "案件", "已结案", closed, "件");

    // Tags of the period's cases (for counts of cases), and of every case with a decision in
    // the period (for counts of decisions).
    let tagged = |tag: Tag| -> BTreeSet<i64> {
        tags.iter()
            .filter(|t| t.tag == tag.as_str() && t.in_period == 1)
            .map(|t| t.case_id)
            .collect()
    };
    let tagged_any = |tag: Tag| -> BTreeSet<i64> {
        tags.iter()
            .filter(|t| t.tag == tag.as_str())
            .map(|t| t.case_id)
            .collect()
    };
    let with_measure = |kind: MeasureKind| -> Vec<i64> {
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
        f.decisions(
            &format!("measures.{}", kind.as_str()),
            "配套办法",
            kind.label(),
            with_measure(*kind),
        );
    }
    for kind in ReferralKind::ALL {
        f.decisions(
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
    let tp_fine = sum(tp
        .iter()
        .filter_map(|id| details.get(id))
        .map(|d| d.fine_fen));
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
    referral_figures(&mut f, "third_party", "第三方弄虚作假", referrals, &tp);
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

    // 清水蓝天: decisions of the period on the campaign's cases; the total is their sum.
    let cw = tagged_any(Tag::ClearWaterBlueSky);
    let mut parts: Vec<(String, &str, Vec<i64>)> = vec![(
        "clear_water.ordinary_penalty".into(),
        "行政处罚",
        penalties
            .iter()
            .map(|d| d.case_id)
            .filter(|id| cw.contains(id))
            .collect(),
    )];
    for kind in MeasureKind::ALL {
        parts.push((
            format!("clear_water.{}", kind.as_str()),
            kind.label(),
            with_measure(*kind)
                .into_iter()
                .filter(|id| cw.contains(id))
                .collect(),
        ));
    }
    for kind in [ReferralKind::Detention, ReferralKind::Criminal] {
        parts.push((
            format!("clear_water.{}", kind.as_str()),
            kind.label(),
            referred(kind)
                .iter()
                .map(|r| r.case_id)
                .filter(|id| cw.contains(id))
                .collect(),
        ));
    }
    let all: Vec<i64> = parts.iter().flat_map(|p| p.2.iter().copied()).collect();
    f.push(
        "clear_water.cases",
        "清水蓝天",
        "“清水蓝天”办理案件",
        all.len() as i64,
        "件",
        dedup(all),
    );
    for (key, label, ids) in parts {
        f.decisions(&key, "清水蓝天", label, ids);
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

    f.0
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
            sum(hits.iter().map(|r| persons(r))),
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

/// Ids in order, each once.
fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
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
    /// A count of decisions: the value is the number of ids given (a case may have several),
    /// the drill-down lists each case once.
    fn decisions(&mut self, key: &str, group: &'static str, label: &str, ids: Vec<i64>) {
        let n = ids.len() as i64;
        self.push(key, group, label, n, "件", dedup(ids));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn value(figures: &[Figure], key: &str) -> (i64, Vec<i64>) {
        let f = figures
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| panic!("no figure {key}"));
        (f.value, f.case_ids.clone())
    }

    fn detail(id: i64, fine_fen: i64, subtype: Option<&str>) -> CaseRow {
        CaseRow {
            id,
            fine_fen,
            subtype: subtype.map(str::to_owned),
            task_force_id: None,
        }
    }

    fn referral(case_id: i64, kind: &str, persons: [i64; 5]) -> ReferralRow {
        ReferralRow {
            case_id,
            kind: kind.into(),
            persons_detained: persons[0],
            arrest_review_persons: persons[1],
            arrest_approved_persons: persons[2],
            prosecution_persons: persons[3],
            guilty_plea_persons: persons[4],
        }
    }

    fn decision(k: &str, case_id: i64, fine_yuan: i64, no_penalty: bool) -> DecisionRow {
        DecisionRow {
            k: k.into(),
            case_id,
            fine_fen: fine_yuan * 100,
            confiscation_fen: 0,
            no_penalty: no_penalty as i64,
        }
    }

    fn measure(k: &str, case_id: i64, kind: MeasureKind, amount_yuan: i64) -> MeasureRow {
        MeasureRow {
            k: k.into(),
            case_id,
            kind: kind.as_str().into(),
            amount_fen: amount_yuan * 100,
        }
    }

    /// Seven cases in two cities. 清水蓝天: 1 and 2 decided (1万, 2万), 2 with two seizure
    /// decisions, 3 referred for detention, 7 filed the year before but decided in this one
    /// (5,000) and 8 given 不予处罚. Third-party fraud: 4 (3万, 检测, typical) and 5 (5万, 环评,
    /// a criminal referral with 2 persons arrested). 6: a task force of 自动监测数据造假 with a
    /// criminal referral and a daily penalty of 12 days × 1,000.
    ///
    /// By hand: penalty decisions 1, 2, 4, 5, 6?, 7 — 6 has no decision row, so five: 1, 2, 4,
    /// 5, 7; 罚没 = 1万 + 2万 + 3万 + 5万 + 5千 + daily 1.2万 = 12.7万; 清水蓝天 = 3 penalties
    /// (1, 2, 7) + 2 seizures + 1 detention = 6 decisions on 4 cases.
    #[test]
    fn figures_of_a_constructed_ledger() {
        let regions = [
            RegionAgg {
                k: "350100".into(),
                n: 4,
                closed: 2,
            },
            RegionAgg {
                k: "350200".into(),
                n: 2,
                closed: 1,
            },
        ];
        let tag = |case_id: i64, tag: Tag, in_period: bool| TagRow {
            case_id,
            tag: tag.as_str().into(),
            in_period: in_period as i64,
        };
        let tags = [
            tag(1, Tag::ClearWaterBlueSky, true),
            tag(2, Tag::ClearWaterBlueSky, true),
            tag(3, Tag::ClearWaterBlueSky, true),
            tag(7, Tag::ClearWaterBlueSky, false),
            tag(8, Tag::ClearWaterBlueSky, true),
            tag(4, Tag::ThirdPartyFraud, true),
            tag(5, Tag::ThirdPartyFraud, true),
            tag(6, Tag::MonitoringFraud, true),
        ];
        let decisions = [
            decision("350100", 1, 10_000, false),
            decision("350100", 2, 20_000, false),
            decision("350200", 4, 30_000, false),
            decision("350200", 5, 50_000, false),
            decision("350100", 7, 5_000, false),
            decision("350100", 8, 0, true),
        ];
        let measures = [
            measure("350100", 2, MeasureKind::SealAndSeize, 0),
            measure("350100", 2, MeasureKind::SealAndSeize, 0),
            measure("350200", 6, MeasureKind::DailyPenalty, 12_000),
        ];
        let referrals = [
            referral(3, "detention", [1, 0, 0, 0, 0]),
            referral(5, "criminal", [0, 2, 2, 1, 1]),
            referral(6, "criminal", [0, 3, 3, 3, 2]),
        ];
        let typical = [TypicalRow {
            batch_id: 9,
            theme: Tag::ThirdPartyFraud.as_str().into(),
            case_id: 4,
        }];
        let mut details: HashMap<i64, CaseRow> = [
            detail(1, 1_000_000, None),
            detail(2, 2_000_000, None),
            detail(3, 0, None),
            detail(4, 3_000_000, Some("testing")),
            detail(5, 5_000_000, Some("eia")),
            detail(6, 0, None),
        ]
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
        details.get_mut(&6).unwrap().task_force_id = Some(70);
        let task_forces = [TaskForceRow {
            id: 70,
            theme: Tag::MonitoringFraud.as_str().into(),
        }];
        let figures = figures(&Rows {
            regions: &regions,
            decisions: &decisions,
            tags: &tags,
            measures: &measures,
            referrals: &referrals,
            typical: &typical,
            details: &details,
            task_forces: &task_forces,
        });
        assert_eq!(value(&figures, "cases.total").0, 6);
        assert_eq!(
            value(&figures, "cases.penalty_decisions"),
            (5, vec![1, 2, 4, 5, 7])
        );
        assert_eq!(value(&figures, "cases.fine").0, 12_700_000);
        assert_eq!(
            value(&figures, "cases.daily_penalty_amount"),
            (1_200_000, vec![6])
        );
        assert_eq!(value(&figures, "cases.closed").0, 3);
        // Two seizure decisions on one case are two 件.
        assert_eq!(value(&figures, "measures.seal_and_seize"), (2, vec![2]));
        assert_eq!(value(&figures, "referrals.criminal"), (2, vec![5, 6]));
        assert_eq!(
            value(&figures, "clear_water.ordinary_penalty"),
            (3, vec![1, 2, 7])
        );
        assert_eq!(value(&figures, "clear_water.seal_and_seize"), (2, vec![2]));
        assert_eq!(value(&figures, "clear_water.detention"), (1, vec![3]));
        assert_eq!(value(&figures, "clear_water.cases"), (6, vec![1, 2, 3, 7]));
        let cw_sum: i64 = [
            "clear_water.ordinary_penalty",
            "clear_water.seal_and_seize",
            "clear_water.production_restriction",
            "clear_water.daily_penalty",
            "clear_water.detention",
            "clear_water.criminal",
        ]
        .iter()
        .map(|k| value(&figures, k).0)
        .sum();
        assert_eq!(cw_sum, value(&figures, "clear_water.cases").0);
        assert_eq!(value(&figures, "third_party.cases"), (2, vec![4, 5]));
        assert_eq!(value(&figures, "third_party.fine").0, 8_000_000);
        assert_eq!(value(&figures, "third_party.testing"), (1, vec![4]));
        assert_eq!(value(&figures, "third_party.eia"), (1, vec![5]));
        assert_eq!(value(&figures, "third_party.criminal"), (1, vec![5]));
        assert_eq!(
            value(&figures, "third_party.arrest_approved.persons"),
            (2, vec![5])
        );
        assert_eq!(value(&figures, "third_party.typical_batches"), (1, vec![4]));
        assert_eq!(
            value(&figures, "dual_crackdown.monitoring_fraud.task_forces"),
            (1, vec![6])
        );
        assert_eq!(
            value(&figures, "dual_crackdown.monitoring_fraud.criminal"),
            (1, vec![6])
        );
        assert_eq!(value(&figures, "dual_crackdown.hazardous_waste.cases").0, 0);
        let by_region = fines_by_region(&decisions, &measures);
        assert_eq!(by_region["350100"], 3_500_000);
        assert_eq!(by_region["350200"], 9_200_000);
    }
}
