//! Drawing case files for dossier review (案卷评查抽查): a seeded, reproducible random draw
//! with minimum numbers per case type and per unit. The draw is a pure function of the
//! candidates (in id order), the size and the seed, so the same arguments on the same ledger
//! always give the same list; the seed is kept with the plan.

use serde::Serialize;

use ecowarden_core::scope::Area;
use ecowarden_core::store::{Db, Result, Sql};

/// The kinds of case file a review samples separately (the MEE review plans' categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseType {
    General,
    DailyPenalty,
    SealAndSeize,
    ProductionRestriction,
    DetentionReferral,
    CriminalReferral,
}

impl CaseType {
    pub const ALL: [CaseType; 6] = [
        CaseType::General,
        CaseType::DailyPenalty,
        CaseType::SealAndSeize,
        CaseType::ProductionRestriction,
        CaseType::DetentionReferral,
        CaseType::CriminalReferral,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CaseType::General => "一般处罚",
            CaseType::DailyPenalty => "按日连续处罚",
            CaseType::SealAndSeize => "查封扣押",
            CaseType::ProductionRestriction => "限产停产",
            CaseType::DetentionReferral => "移送拘留",
            CaseType::CriminalReferral => "移送犯罪",
        }
    }
}

/// A case file that may be drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub case_id: i64,
    pub case_no: String,
    pub unit: String,
    pub case_type: CaseType,
}

/// How many to draw and the least of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub size: usize,
    pub seed: u64,
    /// At least this many of each case type present (fewer where fewer exist).
    pub min_per_type: usize,
    /// At least this many of each unit present.
    pub min_per_unit: usize,
}

/// SplitMix64: a small generator whose sequence is fixed by its definition, so a stored seed
/// reproduces a draw whatever library versions the platform is built with.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), by rejection so no index is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Draws `plan.size` files (all when fewer exist): first the minimum of each case type, then
/// of each unit, then the rest, each in the seeded random order of the candidates sorted by id.
pub fn draw(candidates: &[Candidate], plan: &Plan) -> Vec<Candidate> {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by_key(|c| c.case_id);
    let mut rng = SplitMix(plan.seed);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut taken = vec![false; order.len()];
    let mut out: Vec<Candidate> = Vec::new();
    let mut take = |pick: &dyn Fn(&Candidate) -> bool, n: usize, out: &mut Vec<Candidate>| {
        let mut got = 0;
        for (i, c) in order.iter().enumerate() {
            if got == n || out.len() == plan.size {
                break;
            }
            if !taken[i] && pick(c) {
                taken[i] = true;
                out.push((*c).clone());
                got += 1;
            }
        }
    };
    for t in CaseType::ALL {
        take(&|c| c.case_type == t, plan.min_per_type, &mut out);
    }
    let mut units: Vec<&str> = order.iter().map(|c| c.unit.as_str()).collect();
    units.sort_unstable();
    units.dedup();
    for u in units {
        take(&|c| c.unit == u, plan.min_per_unit, &mut out);
    }
    take(&|_| true, plan.size, &mut out);
    out
}

/// The files of an area's statistical year that a review may draw: cases with a decision,
/// each of the type its gravest act gives it (a criminal referral over a detention referral
/// over the measures over a plain penalty).
pub async fn candidates(db: &Db, area: &Area, year: i32) -> Result<Vec<Candidate>> {
    let mut sql = Sql::new(
        "SELECT c.id, c.case_no, u.name AS unit, \
         CASE WHEN EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.kind = 'criminal') THEN 5 \
              WHEN EXISTS (SELECT 1 FROM referrals r WHERE r.case_id = c.id AND r.kind = 'detention') THEN 4 \
              WHEN EXISTS (SELECT 1 FROM measures m WHERE m.case_id = c.id AND m.kind = 'daily_penalty') THEN 1 \
              WHEN EXISTS (SELECT 1 FROM measures m WHERE m.case_id = c.id AND m.kind = 'seal_and_seize') THEN 2 \
              WHEN EXISTS (SELECT 1 FROM measures m WHERE m.case_id = c.id AND m.kind = 'production_restriction') THEN 3 \
              ELSE 0 END AS kind \
         FROM cases c JOIN units u ON u.id = c.unit_id WHERE c.decided_on IS NOT NULL AND c.year = ",
    );
    sql.bind(year as i64);
    sql.scope(area, "c");
    sql.push(" ORDER BY c.id");
    let rows: Vec<(i64, String, String, i64)> = sql.fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(case_id, case_no, unit, kind)| Candidate {
            case_id,
            case_no,
            unit,
            case_type: CaseType::ALL[kind.clamp(0, 5) as usize],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pool(n: i64) -> Vec<Candidate> {
        (1..=n)
            .map(|i| Candidate {
                case_id: i,
                case_no: format!("闽环罚〔2023〕{i}号"),
                unit: format!("单位{}", i % 7),
                case_type: match i % 50 {
                    0 => CaseType::CriminalReferral,
                    7 => CaseType::SealAndSeize,
                    13 => CaseType::DailyPenalty,
                    _ => CaseType::General,
                },
            })
            .collect()
    }

    fn plan(size: usize, seed: u64) -> Plan {
        Plan {
            size,
            seed,
            min_per_type: 1,
            min_per_unit: 1,
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_list_another_seed_another() {
        let p = pool(400);
        let a = draw(&p, &plan(20, 7));
        assert_eq!(a, draw(&p, &plan(20, 7)));
        assert_ne!(a, draw(&p, &plan(20, 8)));
        // The input order does not matter: candidates are taken in id order.
        let mut reversed = p.clone();
        reversed.reverse();
        assert_eq!(a, draw(&reversed, &plan(20, 7)));
    }

    #[test]
    fn minimums_per_type_and_unit_are_met() {
        let p = pool(400);
        let d = draw(&p, &plan(12, 3));
        assert_eq!(d.len(), 12);
        for t in [
            CaseType::General,
            CaseType::CriminalReferral,
            CaseType::SealAndSeize,
            CaseType::DailyPenalty,
        ] {
            assert!(d.iter().any(|c| c.case_type == t), "{t:?}");
        }
        for u in 0..7 {
            assert!(d.iter().any(|c| c.unit == format!("单位{u}")), "unit {u}");
        }
    }

    proptest! {
        #[test]
        fn a_draw_is_distinct_bounded_and_from_the_pool(n in 0i64..300, size in 0usize..80, seed in any::<u64>()) {
            let p = pool(n);
            let d = draw(&p, &plan(size, seed));
            prop_assert_eq!(d.len(), size.min(p.len()));
            let mut ids: Vec<i64> = d.iter().map(|c| c.case_id).collect();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), d.len());
            prop_assert!(ids.iter().all(|i| *i >= 1 && *i <= n));
        }
    }
}
