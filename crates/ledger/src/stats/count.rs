//! The arithmetic of the statistics: pure functions from the rows [`super::compute`] fetches
//! to the figures, so every count can be checked on a constructed ledger without a database.

use std::collections::{BTreeSet, HashMap};

use crate::cases::vocab::{MeasureKind, ReferralKind, Tag, ThirdPartySubtype};

use super::Figure;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegionAgg {
    pub k: String,
    pub n: i64,
    pub fine: i64,
    pub closed: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub fine_fen: i64,
    pub decided: i64,
    pub subtype: Option<String>,
    pub task_force_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub case_id: i64,
    pub tag: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MeasureRow {
    pub case_id: i64,
    pub kind: String,
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
    pub tags: &'a [TagRow],
    pub measures: &'a [MeasureRow],
    pub referrals: &'a [ReferralRow],
    pub typical: &'a [TypicalRow],
    /// Cases that are tagged, linked to a third party or a task force, by id.
    pub details: &'a HashMap<i64, CaseRow>,
    /// Task forces established in the period.
    pub task_forces: &'a [TaskForceRow],
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
        tags,
        measures,
        referrals,
        typical,
        details,
        task_forces,
    } = *rows;
    let mut f = Figures::default();
    let total = sum(regions.iter().map(|r| r.n));
    let fine = sum(regions.iter().map(|r| r.fine));
    let closed = sum(regions.iter().map(|r| r.closed));
    f.push_all("cases.total", "案件", "查处案件", total, "件");
    f.push_all("cases.fine", "案件", "罚没金额", fine, "元");
    f.push_all("cases.closed", "案件", "已结案", closed, "件");

    let tagged = |tag: Tag| -> BTreeSet<i64> {
        tags.iter()
            .filter(|t| t.tag == tag.as_str())
            .map(|t| t.case_id)
            .collect()
    };
    let with_measure = |kind: MeasureKind| -> BTreeSet<i64> {
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
        f.cases(
            &format!("measures.{}", kind.as_str()),
            "配套办法",
            kind.label(),
            with_measure(*kind),
        );
    }
    for kind in ReferralKind::ALL {
        f.cases(
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

    // 清水蓝天.
    let cw = tagged(Tag::ClearWaterBlueSky);
    f.cases(
        "clear_water.cases",
        "清水蓝天",
        "“清水蓝天”办理案件",
        cw.clone(),
    );
    f.cases(
        "clear_water.ordinary_penalty",
        "清水蓝天",
        "行政处罚",
        cw.iter()
            .filter(|id| details.get(id).is_some_and(|d| d.decided == 1))
            .copied()
            .collect(),
    );
    for kind in MeasureKind::ALL {
        f.cases(
            &format!("clear_water.{}", kind.as_str()),
            "清水蓝天",
            kind.label(),
            with_measure(*kind).intersection(&cw).copied().collect(),
        );
    }
    for kind in [ReferralKind::Detention, ReferralKind::Criminal] {
        let ids = referred(kind)
            .iter()
            .map(|r| r.case_id)
            .filter(|id| cw.contains(id))
            .collect();
        f.cases(
            &format!("clear_water.{}", kind.as_str()),
            "清水蓝天",
            kind.label(),
            ids,
        );
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

    fn detail(id: i64, fine_fen: i64, decided: bool, subtype: Option<&str>) -> CaseRow {
        CaseRow {
            id,
            fine_fen,
            decided: decided as i64,
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

    /// Six cases in two cities: 1–3 清水蓝天 (1 and 2 decided, 2 with a seizure, 3 referred
    /// for detention), 4–5 third-party fraud (testing 3万元, EIA 5万元, 5 referred as a crime
    /// with 2 persons arrested), 6 in a task force of 自动监测数据造假 that was referred too.
    #[test]
    fn figures_of_a_constructed_ledger() {
        let regions = [
            RegionAgg {
                k: "350100".into(),
                n: 4,
                fine: 1_000_000,
                closed: 2,
            },
            RegionAgg {
                k: "350200".into(),
                n: 2,
                fine: 8_000_000,
                closed: 1,
            },
        ];
        let tag = |case_id: i64, tag: Tag| TagRow {
            case_id,
            tag: tag.as_str().into(),
        };
        let tags = [
            tag(1, Tag::ClearWaterBlueSky),
            tag(2, Tag::ClearWaterBlueSky),
            tag(3, Tag::ClearWaterBlueSky),
            tag(4, Tag::ThirdPartyFraud),
            tag(5, Tag::ThirdPartyFraud),
            tag(6, Tag::MonitoringFraud),
        ];
        let measures = [MeasureRow {
            case_id: 2,
            kind: "seal_and_seize".into(),
        }];
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
            detail(1, 100_000, true, None),
            detail(2, 200_000, true, None),
            detail(3, 0, false, None),
            detail(4, 3_000_000, true, Some("testing")),
            detail(5, 5_000_000, true, Some("eia")),
            detail(6, 0, true, None),
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
            tags: &tags,
            measures: &measures,
            referrals: &referrals,
            typical: &typical,
            details: &details,
            task_forces: &task_forces,
        });
        assert_eq!(value(&figures, "cases.total").0, 6);
        assert_eq!(value(&figures, "cases.fine").0, 9_000_000);
        assert_eq!(value(&figures, "cases.closed").0, 3);
        assert_eq!(value(&figures, "measures.seal_and_seize"), (1, vec![2]));
        assert_eq!(value(&figures, "referrals.criminal"), (2, vec![5, 6]));
        assert_eq!(value(&figures, "clear_water.cases"), (3, vec![1, 2, 3]));
        assert_eq!(
            value(&figures, "clear_water.ordinary_penalty"),
            (2, vec![1, 2])
        );
        assert_eq!(value(&figures, "clear_water.seal_and_seize"), (1, vec![2]));
        assert_eq!(value(&figures, "clear_water.detention"), (1, vec![3]));
        assert_eq!(value(&figures, "third_party.cases"), (2, vec![4, 5]));
        assert_eq!(value(&figures, "third_party.fine").0, 8_000_000);
        assert_eq!(value(&figures, "third_party.testing"), (1, vec![4]));
        assert_eq!(value(&figures, "third_party.eia"), (1, vec![5]));
        assert_eq!(value(&figures, "third_party.other").0, 0);
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
    }
}
