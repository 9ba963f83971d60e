//! Two stored runs side by side: per unit both scores, both ranks and the change, per
//! indicator too. Pure: it reads the runs' printed results only, so a comparison shows what
//! each run said the day it was made.

use serde_json::Value;

/// A comparison of run `b` (usually the later) against run `a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The indicators of either run, `id name`, in the order they first appear.
    pub indicators: Vec<(String, String)>,
    /// Units by their rank in `b`, then those only in `a`.
    pub rows: Vec<UnitChange>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitChange {
    pub region_code: String,
    pub name: String,
    pub a: Option<Side>,
    pub b: Option<Side>,
}

/// One unit in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub score: f64,
    pub rank: u64,
    /// The score of each of [`Comparison::indicators`] (`None`: not in this run).
    pub indicators: Vec<Option<f64>>,
}

impl UnitChange {
    /// `b − a`, rounded to 0.01, when the unit is in both.
    pub fn change(&self) -> Option<f64> {
        Some(ecowarden_scoring::round2(
            self.b.as_ref()?.score - self.a.as_ref()?.score,
        ))
    }

    /// Places gained from `a` to `b` (positive: moved up).
    pub fn rank_change(&self) -> Option<i64> {
        Some(self.a.as_ref()?.rank as i64 - self.b.as_ref()?.rank as i64)
    }

    /// `b − a` of the i-th indicator, when both runs have it for the unit.
    pub fn indicator_change(&self, i: usize) -> Option<f64> {
        let (a, b) = (self.a.as_ref()?, self.b.as_ref()?);
        Some(ecowarden_scoring::round2(
            (*b.indicators.get(i)?)? - (*a.indicators.get(i)?)?,
        ))
    }
}

fn units(run: &Value) -> &[Value] {
    run["units"].as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Compares two results; runs of different levels rank different units and are refused.
pub fn compare(a: &Value, b: &Value) -> Result<Comparison, String> {
    if a["level"] != b["level"] || a["subject"] != b["subject"] {
        return Err(format!(
            "只能比较同一层级的考核结果：考核 {} 为 {}，考核 {} 为 {}",
            text(&a["run"]),
            text(&a["level"]),
            text(&b["run"]),
            text(&b["level"]),
        ));
    }
    let mut indicators: Vec<(String, String)> = Vec::new();
    for u in units(b).iter().chain(units(a)) {
        for i in u["indicators"].as_array().into_iter().flatten() {
            let id = text(&i["id"]);
            if !indicators.iter().any(|(x, _)| *x == id) {
                indicators.push((id, text(&i["name"])));
            }
        }
    }
    let side = |run: &Value, code: &str| {
        units(run)
            .iter()
            .find(|u| u["region_code"] == code)
            .map(|u| Side {
                score: u["score"].as_f64().unwrap_or_default(),
                rank: u["rank"].as_u64().unwrap_or_default(),
                indicators: indicators
                    .iter()
                    .map(|(id, _)| {
                        u["indicators"]
                            .as_array()?
                            .iter()
                            .find(|i| i["id"] == id.as_str())?["score"]
                            .as_f64()
                    })
                    .collect(),
            })
    };
    let mut rows: Vec<UnitChange> = Vec::new();
    for u in units(b).iter().chain(units(a)) {
        let code = text(&u["region_code"]);
        if rows.iter().any(|r| r.region_code == code) {
            continue;
        }
        rows.push(UnitChange {
            name: text(&u["name"]),
            a: side(a, &code),
            b: side(b, &code),
            region_code: code,
        });
    }
    Ok(Comparison { indicators, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(id: &str, level: &str, units: Value) -> Value {
        json!({"run": id, "level": level, "subject": "collective", "units": units})
    }

    #[test]
    fn scores_ranks_and_changes_per_unit_and_indicator() {
        let a = run(
            "1",
            "county",
            json!([
                {"region_code": "350102", "name": "鼓楼区", "score": 50.0, "rank": 1,
                 "indicators": [{"id": "1", "name": "案件查办", "score": 30.0}, {"id": "2", "name": "科技", "score": 20.0}]},
                {"region_code": "350103", "name": "台江区", "score": 40.5, "rank": 2,
                 "indicators": [{"id": "1", "name": "案件查办", "score": 40.5}, {"id": "2", "name": "科技", "score": 0.0}]},
                {"region_code": "350104", "name": "仓山区", "score": 1.0, "rank": 3,
                 "indicators": [{"id": "1", "name": "案件查办", "score": 1.0}]},
            ]),
        );
        let b = run(
            "2",
            "county",
            json!([
                {"region_code": "350103", "name": "台江区", "score": 60.25, "rank": 1,
                 "indicators": [{"id": "1", "name": "案件查办", "score": 50.25}, {"id": "2", "name": "科技", "score": 10.0}]},
                {"region_code": "350102", "name": "鼓楼区", "score": 45.0, "rank": 2,
                 "indicators": [{"id": "1", "name": "案件查办", "score": 25.0}, {"id": "2", "name": "科技", "score": 20.0}]},
            ]),
        );
        let c = compare(&a, &b).unwrap();
        assert_eq!(
            c.indicators,
            [("1".into(), "案件查办".into()), ("2".into(), "科技".into())]
        );
        let codes: Vec<&str> = c.rows.iter().map(|r| r.region_code.as_str()).collect();
        assert_eq!(codes, ["350103", "350102", "350104"]);
        let taijiang = &c.rows[0];
        assert_eq!(taijiang.change(), Some(19.75));
        assert_eq!(taijiang.rank_change(), Some(1));
        assert_eq!(taijiang.indicator_change(0), Some(9.75));
        assert_eq!(taijiang.indicator_change(1), Some(10.0));
        assert_eq!(c.rows[1].change(), Some(-5.0));
        assert_eq!(c.rows[1].rank_change(), Some(-1));
        let cangshan = &c.rows[2];
        assert!(cangshan.b.is_none());
        assert_eq!((cangshan.change(), cangshan.rank_change()), (None, None));
        assert_eq!(cangshan.a.as_ref().unwrap().indicators, [Some(1.0), None]);
    }

    #[test]
    fn runs_of_different_levels_are_refused() {
        let e = compare(&run("1", "county", json!([])), &run("2", "city", json!([]))).unwrap_err();
        assert!(e.contains("同一层级"), "{e}");
    }
}
