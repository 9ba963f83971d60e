use proptest::prelude::*;

use super::*;

/// The rule file of the contract (issue #14), verbatim.
const CONTRACT: &str = r#"
name = "2022年度县级执法机构执法效能评估细则"
year = 2022
subject = "collective"          # collective | individual
level = "county"                # province | city | county: the units scored and ranked
[[indicator]]
id = "1"
name = "案件查办"
max = 30                        # the indicator's score is the sum of its rules, capped at max
  [[indicator.rule]]
  id = "1.1"
  name = "立案数"
  metric = "cases"
  kind = "linear"               # min(max, per × value)
  per = 0.5
  max = 10
  [[indicator.rule]]
  id = "1.2"
  metric = "fines_yuan"
  kind = "thresholds"           # the points of the highest threshold reached (0 below all), capped at max
  thresholds = [[200000, 3], [500000, 6], [1000000, 10]]
  max = 10
  [[indicator.rule]]
  id = "1.3"
  metric = "penalty_cases"
  kind = "rank"                 # rank among the scored units, largest value first; equal values share the
  points = [10, 8, 6, 4, 2]     # better rank (1, 1, 3); points[rank-1], 0 beyond the list; capped at max
  max = 10
  [[indicator.rule]]
  id = "3.1"
  metric = "share.source.非现场筛查线索"
  kind = "ratio"                # max × min(1, value / target)
  target = 0.3
  max = 10
"#;

fn unit(code: &str, values: &[(&str, f64)]) -> UnitValues {
    UnitValues {
        unit: code.into(),
        values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

fn rule_score(u: &UnitScore, id: &str) -> f64 {
    u.indicators
        .iter()
        .flat_map(|i| &i.rules)
        .find(|r| r.id == id)
        .unwrap()
        .score
}

fn errors(text: &str) -> Vec<String> {
    parse(text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn parses_the_contract_file() {
    let r = parse(CONTRACT).unwrap();
    assert_eq!(r.name, "2022年度县级执法机构执法效能评估细则");
    assert_eq!(
        (r.year, r.subject, r.level),
        (2022, Subject::Collective, Level::County)
    );
    assert_eq!(r.indicators.len(), 1);
    let ind = &r.indicators[0];
    assert_eq!(
        (ind.id.as_str(), ind.name.as_str(), ind.max),
        ("1", "案件查办", 30.0)
    );
    let kinds: Vec<&str> = ind.rules.iter().map(|r| r.kind.code()).collect();
    assert_eq!(kinds, ["linear", "thresholds", "rank", "ratio"]);
    assert_eq!(ind.rules[0].kind, Kind::Linear { per: 0.5 });
    assert_eq!(
        ind.rules[1].kind,
        Kind::Thresholds {
            thresholds: vec![(200000.0, 3.0), (500000.0, 6.0), (1000000.0, 10.0)]
        }
    );
    assert_eq!(ind.rules[1].name, "");
    assert_eq!(ind.rules[3].metric, "share.source.非现场筛查线索");
    assert_eq!(ind.rules[3].metric_line, 31);
}

#[test]
fn the_default_rule_files_parse() {
    for text in [
        include_str!("../rules/default-county-2023.toml"),
        include_str!("../rules/default-city-2023.toml"),
        include_str!("../rules/default-individual-2023.toml"),
    ] {
        let r = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.name.contains("模板"), "{}", r.name);
    }
}

#[test]
fn a_template_is_the_default_file_set_to_the_year() {
    for level in [Level::County, Level::City] {
        let text = template(level, 2025).unwrap();
        let rules = parse(&text).unwrap();
        assert_eq!((rules.year, rules.level), (2025, level));
        assert!(rules.name.starts_with("2025年度"), "{}", rules.name);
        assert!(!text.contains("2023年度") && !text.contains("year = 2023"));
    }
    assert_eq!(template(Level::Province, 2025), None);
}

#[test]
fn scores_every_kind_by_hand() {
    let rules = parse(CONTRACT).unwrap();
    let units = [
        // linear 0.5 × 12 = 6; 600,000 reaches 500,000 → 6; penalty 9 is rank 1 → 10;
        // share 0.15 / 0.3 → 5. Sum 27 (under the indicator's 30).
        unit(
            "A",
            &[
                ("cases", 12.0),
                ("fines_yuan", 600000.0),
                ("penalty_cases", 9.0),
                ("share.source.非现场筛查线索", 0.15),
            ],
        ),
        // linear 0.5 × 40 = 20 capped at 10; 2,000,000 → 10; rank 1 (tie) → 10; share 0.6
        // capped at 1 → 10. Sum 40, capped at 30.
        unit(
            "B",
            &[
                ("cases", 40.0),
                ("fines_yuan", 2000000.0),
                ("penalty_cases", 9.0),
                ("share.source.非现场筛查线索", 0.6),
            ],
        ),
        // Below every threshold → 0; rank 3 (after two at 9) → 6; no share metric → 0.
        unit(
            "C",
            &[
                ("cases", 1.0),
                ("fines_yuan", 199999.0),
                ("penalty_cases", 3.0),
            ],
        ),
    ];
    let s = score(&rules, &units);
    let by = |code: &str| s.iter().find(|u| u.unit == code).unwrap();
    let a = by("A");
    assert_eq!(
        [
            rule_score(a, "1.1"),
            rule_score(a, "1.2"),
            rule_score(a, "1.3"),
            rule_score(a, "3.1")
        ],
        [6.0, 6.0, 10.0, 5.0]
    );
    assert_eq!(a.score, 27.0);
    let b = by("B");
    assert_eq!(
        [
            rule_score(b, "1.1"),
            rule_score(b, "1.2"),
            rule_score(b, "1.3"),
            rule_score(b, "3.1")
        ],
        [10.0, 10.0, 10.0, 10.0]
    );
    assert_eq!(b.indicators[0].score, 30.0);
    assert_eq!(b.score, 30.0);
    let c = by("C");
    assert_eq!(
        [
            rule_score(c, "1.1"),
            rule_score(c, "1.2"),
            rule_score(c, "1.3"),
            rule_score(c, "3.1")
        ],
        [0.5, 0.0, 6.0, 0.0]
    );
    assert_eq!(c.indicators[0].rules[3].value, 0.0);
    assert_eq!(
        s.iter()
            .map(|u| (u.unit.as_str(), u.rank))
            .collect::<Vec<_>>(),
        [("B", 1), ("A", 2), ("C", 3)]
    );
}

/// Year-on-year change, yes/no, manual points and a deduction, in one indicator of 20.
const MORE_KINDS: &str = r#"
name = "t"
year = 2023
subject = "individual"
level = "county"
[[indicator]]
id = "1"
name = "综合"
max = 20
  [[indicator.rule]]
  id = "1.1"
  metric = "cases"
  kind = "change"
  target = 0.2
  max = 10
  [[indicator.rule]]
  id = "1.2"
  metric = "manual.standard_site"
  kind = "yes_no"
  max = 5
  [[indicator.rule]]
  id = "1.3"
  metric = "manual.innovation"
  kind = "manual"
  max = 5
  [[indicator.rule]]
  id = "1.4"
  metric = "manual.complaints"
  kind = "deduction"
  per = 2
  max = 6
"#;

#[test]
fn change_yes_no_manual_and_deduction_by_hand() {
    let rules = parse(MORE_KINDS).unwrap();
    assert_eq!(rules.subject, Subject::Individual);
    let prev = previous_key("cases");
    let units = [
        // 12 over 10 is +20 % → the full 10; yes → 5; 3.5 by hand; one complaint −2. 16.5.
        unit(
            "A",
            &[
                ("cases", 12.0),
                (&prev, 10.0),
                ("manual.standard_site", 1.0),
                ("manual.innovation", 3.5),
                ("manual.complaints", 1.0),
            ],
        ),
        // +10 % → 5; no → 0; 9 by hand capped at 5; five complaints −10 capped at −6. The
        // indicator is 4.
        unit(
            "B",
            &[
                ("cases", 11.0),
                (&prev, 10.0),
                ("manual.innovation", 9.0),
                ("manual.complaints", 5.0),
            ],
        ),
        // A fall scores 0; from nothing to 3 is a full change; deductions cannot take the
        // indicator below 0.
        unit(
            "C",
            &[("cases", 5.0), (&prev, 10.0), ("manual.complaints", 1.0)],
        ),
        unit("D", &[("cases", 3.0)]),
    ];
    let s = score(&rules, &units);
    let by = |code: &str| s.iter().find(|u| u.unit == code).unwrap();
    let rules_of = |u: &UnitScore| {
        u.indicators[0]
            .rules
            .iter()
            .map(|r| r.score)
            .collect::<Vec<_>>()
    };
    assert_eq!(rules_of(by("A")), [10.0, 5.0, 3.5, -2.0]);
    assert_eq!(by("A").score, 16.5);
    assert_eq!(by("A").indicators[0].rules[0].value, 0.2);
    assert_eq!(rules_of(by("B")), [5.0, 0.0, 5.0, -6.0]);
    assert!((by("B").score - 4.0).abs() < 1e-9);
    assert_eq!(rules_of(by("C")), [0.0, 0.0, 0.0, -2.0]);
    assert_eq!(by("C").score, 0.0);
    assert_eq!(by("C").indicators[0].rules[0].value, -0.5);
    assert_eq!(rules_of(by("D")), [10.0, 0.0, 0.0, 0.0]);
    assert_eq!(change(0.0, 0.0), 0.0);
}

#[test]
fn new_kinds_take_their_own_parameters() {
    let text = MORE_KINDS
        .replace("kind = \"yes_no\"", "kind = \"yes_no\"\n  per = 1")
        .replace("  per = 2\n", "");
    assert_eq!(
        errors(&text),
        [
            "第20行：规则 1.2 的评分方式为 yes_no，不使用 per",
            "第30行：规则 1.4 的评分方式为 deduction，缺少 per（每单位扣分）",
        ]
    );
}

#[test]
fn a_threshold_is_reached_at_its_value_and_points_are_capped() {
    let rules = parse(
        r#"
name = "t"
year = 2023
subject = "collective"
level = "city"
[[indicator]]
id = "1"
max = 100
  [[indicator.rule]]
  id = "1.1"
  metric = "x"
  kind = "thresholds"
  thresholds = [[10, 5], [20, 50]]
  max = 8
  [[indicator.rule]]
  id = "1.2"
  metric = "x"
  kind = "rank"
  points = [30, 2]
  max = 7
"#,
    )
    .unwrap();
    let s = score(
        &rules,
        &[unit("A", &[("x", 10.0)]), unit("B", &[("x", 20.0)])],
    );
    assert_eq!(rule_score(&s[0], "1.1"), 8.0, "50 points capped at 8");
    assert_eq!(rule_score(&s[0], "1.2"), 7.0, "rank 1's 30 capped at 7");
    assert_eq!(
        rule_score(&s[1], "1.1"),
        5.0,
        "exactly 10 reaches the first threshold"
    );
    assert_eq!(rule_score(&s[1], "1.2"), 2.0);
}

#[test]
fn rank_points_run_out_and_ties_share_the_better_rank() {
    let rules = parse(
        r#"
name = "t"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
max = 10
  [[indicator.rule]]
  id = "1.1"
  metric = "x"
  kind = "rank"
  points = [5, 3]
  max = 5
"#,
    )
    .unwrap();
    let s = score(
        &rules,
        &[
            unit("D", &[("x", 1.0)]),
            unit("A", &[("x", 7.0)]),
            unit("C", &[("x", 7.0)]),
            unit("B", &[("x", 2.0)]),
        ],
    );
    let got: Vec<(&str, usize, f64)> = s
        .iter()
        .map(|u| (u.unit.as_str(), u.rank, u.score))
        .collect();
    // A and C tie at rank 1 (5 points each); B is rank 3, beyond the two points → 0; D too.
    // B and D tie on score 0 and so share rank 3.
    assert_eq!(
        got,
        [("A", 1, 5.0), ("C", 1, 5.0), ("B", 3, 0.0), ("D", 3, 0.0)]
    );
}

#[test]
fn units_equal_to_the_cent_share_a_rank() {
    let rules = parse(
        r#"
name = "t"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
max = 10
  [[indicator.rule]]
  id = "1.1"
  metric = "x"
  kind = "linear"
  per = 0.1
  max = 10
  [[indicator.rule]]
  id = "1.2"
  metric = "y"
  kind = "linear"
  per = 0.1
  max = 10
"#,
    )
    .unwrap();
    // 0.1 + 0.2 and 0.3 differ in the last bit but print the same.
    let s = score(
        &rules,
        &[
            unit("A", &[("x", 1.0), ("y", 2.0)]),
            unit("B", &[("x", 3.0)]),
        ],
    );
    assert_eq!(s[0].rank, 1);
    assert_eq!(s[1].rank, 1);
    assert_eq!(round2(s[0].score), 0.3);
}

#[test]
fn rounding_is_to_the_cent() {
    assert_eq!(round2(1.23456), 1.23);
    assert_eq!(round2(2.675_000_1), 2.68);
    assert_eq!(round2(10.0 / 3.0), 3.33);
}

#[test]
fn errors_name_the_line_and_the_problem() {
    let bad = r#"name = "t"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
max = -1
  [[indicator.rule]]
  id = "1.1"
  metric = "cases"
  kind = "linear"
  max = 10
  [[indicator.rule]]
  id = "1.1"
  metric = "cases"
  kind = "cubic"
  max = 10
  [[indicator.rule]]
  id = "1.3"
  metric = "cases"
  kind = "rank"
  points = [3]
  per = 2
  max = 10
"#;
    assert_eq!(
        errors(bad),
        [
            "第7行：指标 1 的 max 不能小于 0，实为 -1",
            "第11行：规则 1.1 的评分方式为 linear，缺少 per（每单位得分）",
            "第14行：规则编号“1.1”重复（第9行已使用）",
            "第16行：规则 1.1 的评分方式 kind“cubic”未知，应为 linear、thresholds、rank、ratio、change、yes_no、manual、deduction",
            "第23行：规则 1.3 的评分方式为 rank，不使用 per",
        ]
    );
}

#[test]
fn header_and_syntax_errors_are_located() {
    let e = errors("name = \"t\"\nyear = 1900\nsubject = \"team\"\nlevel = \"town\"\n");
    assert_eq!(
        e,
        [
            "第1行：至少需要一个一级指标 [[indicator]]",
            "第2行：year 应为 2000–2100 之间的年份，实为 1900",
            "第3行：subject 应为 collective（集体）或 individual（个人），实为“team”",
            "第4行：level 应为 province（省）、city（市）或 county（县），实为“town”",
        ]
    );
    let e = errors("name = \"t\"\nyear = 2023\nsubject = \"collective\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("第3行：格式错误："), "{e:?}");
    let e = errors(
        "name = \"t\"\nyear = 2023\nsubject = \"collective\"\nlevel = \"city\"\nweight = 3\n",
    );
    assert!(
        e[0].starts_with("第5行：格式错误：") && e[0].contains("weight"),
        "{e:?}"
    );
}

#[test]
fn thresholds_must_ascend_and_ratio_targets_be_positive() {
    let e = errors(
        r#"name = "t"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
max = 10
  [[indicator.rule]]
  id = "1.1"
  metric = "x"
  kind = "thresholds"
  thresholds = [[5, 1], [5, 2]]
  max = 10
  [[indicator.rule]]
  id = "1.2"
  metric = "x"
  kind = "ratio"
  target = 0
  max = 10
"#,
    );
    assert_eq!(
        e,
        [
            "第12行：规则 1.1 的 thresholds 须按门槛从小到大排列且不重复",
            "第18行：规则 1.2 的 target 须大于 0，实为 0",
        ]
    );
}

/// A rule set of one indicator per kind, with caps drawn by proptest.
fn arbitrary_rules() -> impl Strategy<Value = RuleSet> {
    (
        0.0..20.0f64,
        0.0..20.0f64,
        0.0..5.0f64,
        prop::collection::vec(0.0..30.0f64, 1..6),
        0.01..2.0f64,
    )
        .prop_map(|(ind_max, rule_max, per, points, target)| {
            let rule = |id: &str, kind: Kind| Rule {
                id: id.into(),
                name: String::new(),
                metric: "x".into(),
                max: rule_max,
                kind,
                metric_line: 1,
            };
            RuleSet {
                name: "p".into(),
                year: 2023,
                subject: Subject::Collective,
                level: Level::County,
                indicators: vec![Indicator {
                    id: "1".into(),
                    name: String::new(),
                    max: ind_max,
                    rules: vec![
                        rule("1.1", Kind::Linear { per }),
                        rule(
                            "1.2",
                            Kind::Thresholds {
                                thresholds: vec![(1.0, 2.0), (10.0, 25.0)],
                            },
                        ),
                        rule("1.3", Kind::Rank { points }),
                        rule("1.4", Kind::Ratio { target }),
                        rule("1.5", Kind::Change { target }),
                        rule("1.6", Kind::YesNo),
                        rule("1.7", Kind::Manual),
                        rule("1.8", Kind::Deduction { per }),
                    ],
                }],
            }
        })
}

fn arbitrary_units() -> impl Strategy<Value = Vec<UnitValues>> {
    prop::collection::vec(
        prop::sample::select(vec![0.0, 1.0, 3.0, 10.0, 0.25, 42.0]),
        1..12,
    )
    .prop_map(|xs| {
        xs.into_iter()
            .enumerate()
            .map(|(i, x)| unit(&format!("U{i:02}"), &[("x", x), ("x@previous", 3.0)]))
            .collect()
    })
}

/// Officers as an individual run scores them: keyed by certificate number, with a value of
/// every metric of the default individual rule file.
fn arbitrary_officers() -> impl Strategy<Value = Vec<UnitValues>> {
    let metrics = [
        "officer.cases_led",
        "officer.cases",
        "officer.penalty_decisions",
        "officer.fines_yuan",
        "officer.dossier_score",
        "officer.contest",
        "officer.honours",
        "manual.discipline",
    ];
    prop::collection::vec(
        prop::collection::vec(
            prop::sample::select(vec![0.0, 1.0, 2.0, 5.0, 88.5, 500000.0]),
            8,
        ),
        1..40,
    )
    .prop_map(move |officers| {
        officers
            .into_iter()
            .enumerate()
            .map(|(i, xs)| {
                let values: Vec<(&str, f64)> = metrics.iter().copied().zip(xs).collect();
                unit(&format!("闽350102{i:04}"), &values)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn an_individual_ranking_does_not_depend_on_the_order_of_the_officers(
        (officers, shuffled) in arbitrary_officers().prop_flat_map(|o| {
            let v = o.clone();
            (Just(o), Just(v).prop_shuffle())
        }),
    ) {
        let rules = parse(include_str!("../rules/default-individual-2023.toml")).unwrap();
        prop_assert_eq!(rules.subject, Subject::Individual);
        let scored = score(&rules, &officers);
        prop_assert_eq!(&scored, &score(&rules, &shuffled));
        prop_assert_eq!(scored[0].rank, 1);
    }

    #[test]
    fn scores_stay_within_their_caps(rules in arbitrary_rules(), units in arbitrary_units()) {
        let total_max: f64 = rules.indicators.iter().map(|i| i.max).sum();
        for u in score(&rules, &units) {
            prop_assert!(u.score >= 0.0 && u.score <= total_max + 1e-9);
            for (ind, spec) in u.indicators.iter().zip(&rules.indicators) {
                prop_assert!(ind.score >= 0.0 && ind.score <= spec.max);
                for (r, rs) in ind.rules.iter().zip(&spec.rules) {
                    if let Kind::Deduction { .. } = rs.kind {
                        prop_assert!(r.score <= 0.0 && r.score >= -rs.max);
                    } else {
                        prop_assert!(r.score >= 0.0 && r.score <= rs.max);
                    }
                }
            }
        }
    }

    #[test]
    fn ranking_does_not_depend_on_input_order(
        rules in arbitrary_rules(),
        (units, shuffled) in arbitrary_units().prop_flat_map(|u| {
            let v = u.clone();
            (Just(u), Just(v).prop_shuffle())
        }),
    ) {
        prop_assert_eq!(score(&rules, &units), score(&rules, &shuffled));
    }

    #[test]
    fn ranks_follow_scores(rules in arbitrary_rules(), units in arbitrary_units()) {
        let s = score(&rules, &units);
        prop_assert_eq!(s[0].rank, 1);
        for w in s.windows(2) {
            prop_assert!(round2(w[0].score) >= round2(w[1].score));
            prop_assert_eq!(w[0].rank == w[1].rank, round2(w[0].score) == round2(w[1].score));
        }
    }
}
