//! Leads (线索): the findings of one outlet merged and ranked, so the first page of the
//! queue is worth an inspector's trip. A lead's score is the noisy-OR of its findings'
//! weighted scores, raised when signatures that reinforce each other occur together
//! (dilution with limit hugging; constant values with several flat channels).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::finding::{Finding, Signature};

/// An analyst's dismissal of a finding: findings of the same signature and factor on that
/// outlet whose window overlaps `[start, end)` are suppressed. Analysts dismiss for a known,
/// lasting cause (a plant's design, an instrument's habit), so `end` is `None` until the
/// dismissal is lifted and the same finding stays quiet in later periods too; a dismissal that
/// ends with the finding's own window only keeps re-screening that period quiet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dismissal {
    pub mn: String,
    pub signature: Signature,
    pub factor: Option<String>,
    pub start: i64,
    /// Exclusive; `None`: until lifted.
    pub end: Option<i64>,
}

/// The findings of one outlet, as a run produces them.
#[derive(Debug, Clone, PartialEq)]
pub struct OutletFindings {
    pub mn: String,
    pub outlet: String,
    pub industry: String,
    pub findings: Vec<Finding>,
}

/// One outlet's merged findings with a combined score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub mn: String,
    pub outlet: String,
    pub industry: String,
    /// 0 to 1.
    pub score: f64,
    pub start: i64,
    pub end: i64,
    /// Highest score first.
    pub findings: Vec<Finding>,
}

impl Lead {
    /// The distinct signatures of the lead, in catalogue order.
    pub fn signatures(&self) -> Vec<Signature> {
        let mut s: Vec<Signature> = self.findings.iter().map(|f| f.signature).collect();
        s.sort();
        s.dedup();
        s
    }
}

/// Merges findings per outlet (an outlet's minute and hourly series may both report the same
/// episode), drops dismissed ones and ranks the leads, highest score first.
pub fn rank(
    outlets: impl IntoIterator<Item = OutletFindings>,
    dismissed: &[Dismissal],
    config: &Config,
) -> Vec<Lead> {
    let mut by_mn: BTreeMap<String, OutletFindings> = BTreeMap::new();
    for o in outlets {
        match by_mn.get_mut(&o.mn) {
            Some(acc) => acc.findings.extend(o.findings),
            None => {
                by_mn.insert(o.mn.clone(), o);
            }
        }
    }
    let mut leads: Vec<Lead> = by_mn
        .into_values()
        .filter_map(|o| {
            let findings: Vec<Finding> = o
                .findings
                .into_iter()
                .filter(|f| {
                    !dismissed.iter().any(|d| {
                        d.mn == o.mn
                            && f.same_as(
                                d.signature,
                                d.factor.as_deref(),
                                d.start,
                                d.end.unwrap_or(i64::MAX),
                            )
                    })
                })
                .collect();
            let findings = merge(findings);
            if findings.is_empty() {
                return None;
            }
            let score = combined_score(&findings, config);
            let start = findings.iter().map(|f| f.start).min().unwrap_or_default();
            let end = findings.iter().map(|f| f.end).max().unwrap_or_default();
            Some(Lead {
                mn: o.mn,
                outlet: o.outlet,
                industry: o.industry,
                score,
                start,
                end,
                findings,
            })
        })
        .collect();
    leads.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.mn.cmp(&b.mn)));
    leads
}

/// Findings of the same signature and factor with overlapping windows become one: the
/// union of the windows, the explanation and evidence of the highest-scoring one.
pub fn merge(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings
        .sort_by(|a, b| (a.signature, &a.factor, a.start).cmp(&(b.signature, &b.factor, b.start)));
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        match out.last_mut() {
            Some(last) if last.same_as(f.signature, f.factor.as_deref(), f.start, f.end) => {
                let (start, end) = (last.start.min(f.start), last.end.max(f.end));
                if f.score > last.score {
                    *last = f;
                }
                last.start = start;
                last.end = end;
            }
            _ => out.push(f),
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Noisy-OR of weight × score over the findings, then the boosts of co-occurring
/// signatures.
pub fn combined_score(findings: &[Finding], config: &Config) -> f64 {
    let mut miss = 1.0;
    for f in findings {
        miss *= 1.0 - (config.weight(f.signature) * f.score).clamp(0.0, 1.0);
    }
    for b in &config.boost {
        if b.signatures
            .iter()
            .all(|s| findings.iter().any(|f| f.signature == *s))
        {
            miss *= 1.0 - b.value.value.clamp(0.0, 1.0);
        }
    }
    (1.0 - miss).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(
        signature: Signature,
        factor: Option<&str>,
        start: i64,
        end: i64,
        score: f64,
    ) -> Finding {
        Finding {
            signature,
            factor: factor.map(str::to_owned),
            start,
            end,
            score,
            explanation: String::new(),
            evidence: Default::default(),
        }
    }

    fn outlet(mn: &str, findings: Vec<Finding>) -> OutletFindings {
        OutletFindings {
            mn: mn.into(),
            outlet: "1号排口".into(),
            industry: "thermal_power".into(),
            findings,
        }
    }

    #[test]
    fn overlapping_findings_merge_and_leads_rank() {
        let c = Config::default();
        let leads = rank(
            [
                outlet(
                    "A",
                    vec![finding(
                        Signature::ConstantValue,
                        Some("a21026"),
                        0,
                        100,
                        0.6,
                    )],
                ),
                outlet(
                    "B",
                    vec![
                        finding(Signature::Dilution, None, 0, 100, 0.9),
                        finding(Signature::LimitHugging, Some("a21026"), 50, 500, 0.6),
                    ],
                ),
                outlet(
                    "A",
                    vec![finding(
                        Signature::ConstantValue,
                        Some("a21026"),
                        50,
                        200,
                        0.7,
                    )],
                ),
            ],
            &[],
            &c,
        );
        assert_eq!(leads.len(), 2);
        assert_eq!(leads[0].mn, "B");
        let a = &leads[1];
        assert_eq!(a.findings.len(), 1);
        assert_eq!(
            (a.findings[0].start, a.findings[0].end, a.findings[0].score),
            (0, 200, 0.7)
        );
        assert!(leads.iter().all(|l| (0.0..=1.0).contains(&l.score)));
    }

    #[test]
    fn a_dismissal_suppresses_the_same_finding_only() {
        let c = Config::default();
        let d = Dismissal {
            mn: "A".into(),
            signature: Signature::ConstantValue,
            factor: Some("a21026".into()),
            start: 0,
            end: Some(100),
        };
        let findings = vec![
            finding(Signature::ConstantValue, Some("a21026"), 10, 20, 0.6),
            finding(Signature::ConstantValue, Some("a21026"), 1000, 1100, 0.6),
            finding(Signature::ConstantValue, Some("a21002"), 10, 20, 0.6),
        ];
        let leads = rank([outlet("A", findings)], &[d], &c);
        assert_eq!(leads[0].findings.len(), 2);
        assert!(
            !leads[0]
                .findings
                .iter()
                .any(|f| f.start == 10 && f.factor.as_deref() == Some("a21026"))
        );
    }

    #[test]
    fn a_lasting_dismissal_suppresses_the_same_finding_in_later_periods() {
        let c = Config::default();
        let d = Dismissal {
            mn: "A".into(),
            signature: Signature::ConstantValue,
            factor: Some("a21026".into()),
            start: 100,
            end: None,
        };
        let findings = vec![
            finding(Signature::ConstantValue, Some("a21026"), 10, 50, 0.6),
            finding(Signature::ConstantValue, Some("a21026"), 1000, 1100, 0.6),
            finding(
                Signature::ConstantValue,
                Some("a21026"),
                90_000_000,
                90_000_600,
                0.6,
            ),
            finding(Signature::ConstantValue, None, 1000, 1100, 0.6),
        ];
        let leads = rank([outlet("A", findings)], &[d], &c);
        let left: Vec<(Option<&str>, i64)> = leads[0]
            .findings
            .iter()
            .map(|f| (f.factor.as_deref(), f.start))
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(
            left.contains(&(Some("a21026"), 10)),
            "an earlier episode stays"
        );
        assert!(left.contains(&(None, 1000)), "another factor stays");
    }
}
