//! `ecowarden assess run|show` on the seeded ledger: the JSON of the contract, each record
//! counted in the period of its own date, halves that add up to the year, and stored runs that
//! stay as they were when the ledger changes.

use serde_json::Value;

use crate::helpers::{TestApp, run, spawn_app};

/// A county rule set over one metric of each family.
pub(crate) const RULES: &str = r#"
name = "测试细则"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
name = "案件查办"
max = 100
  [[indicator.rule]]
  id = "1.1"
  name = "立案数"
  metric = "cases"
  kind = "linear"
  per = 0.1
  max = 10
  [[indicator.rule]]
  id = "1.2"
  metric = "penalty_cases"
  kind = "rank"
  points = [10, 8, 6]
  max = 10
  [[indicator.rule]]
  id = "1.3"
  metric = "fines_yuan"
  kind = "thresholds"
  thresholds = [[100000, 5], [1000000, 10]]
  max = 10
  [[indicator.rule]]
  id = "1.4"
  metric = "measures.seal_and_seize"
  kind = "linear"
  per = 1
  max = 5
  [[indicator.rule]]
  id = "1.5"
  metric = "referrals.criminal"
  kind = "linear"
  per = 1
  max = 5
  [[indicator.rule]]
  id = "1.6"
  metric = "tags.clear_water_blue_sky"
  kind = "linear"
  per = 1
  max = 5
[[indicator]]
id = "2"
name = "科技赋能"
max = 10
  [[indicator.rule]]
  id = "2.1"
  metric = "share.source.非现场筛查线索"
  kind = "ratio"
  target = 0.3
  max = 10
"#;

pub(crate) fn rules_file(text: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "ew-rules-{}.toml",
        ecowarden_core::auth::random_token()
    ));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// `assess run` with the rules and extra arguments, as JSON.
pub(crate) fn assess(app: &TestApp, rules: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "assess", "run", "--rules", rules, "--year", "2023", "--format", "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&app.url, &args);
    assert_eq!(code, Some(0), "{err}");
    serde_json::from_str(&out).unwrap()
}

/// `assess show RUN --format FORMAT --out FILE`, which must succeed.
fn show(app: &TestApp, id: &str, format: &str, out: &std::path::Path) {
    let out = out.to_str().unwrap();
    let (code, _, err) = run(
        &app.url,
        &["assess", "show", id, "--format", format, "--out", out],
    );
    assert_eq!(code, Some(0), "{err}");
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn unit<'a>(run: &'a Value, code: &str) -> &'a Value {
    run["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["region_code"] == code)
        .unwrap_or_else(|| panic!("no unit {code}"))
}

fn value(run: &Value, code: &str, metric: &str) -> f64 {
    unit(run, code)["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["rules"].as_array().unwrap())
        .find(|r| r["metric"] == metric)
        .unwrap()["value"]
        .as_f64()
        .unwrap()
}

pub(crate) async fn evidence(app: &TestApp, run: &Value, code: &str, metric: &str) -> Vec<i64> {
    let id: i64 = run["run"].as_str().unwrap().parse().unwrap();
    ecowarden_assessment::evidence(&app.db, id, code, metric)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_has_the_contract_shape_counts_by_own_dates_and_stays_frozen() {
    let app = spawn_app().await;
    let rules = rules_file(RULES);
    let year = assess(&app, &rules, &[]);

    // Shape: exactly the contract's keys, every county unit (平潭 is not one), by rank.
    assert_eq!(
        keys(&year),
        ["half", "level", "run", "subject", "units", "year"]
    );
    assert_eq!(
        (
            &year["year"],
            &year["half"],
            &year["level"],
            &year["subject"]
        ),
        (
            &Value::from(2023),
            &Value::Null,
            &Value::from("county"),
            &Value::from("collective")
        )
    );
    let units = year["units"].as_array().unwrap();
    let counties = app
        .org
        .all()
        .filter(|r| r.level == ecowarden_core::org::Level::County)
        .count();
    assert_eq!(units.len(), counties);
    assert!(units.iter().all(|u| u["region_code"] != "350128"));
    for u in units {
        assert_eq!(
            keys(u),
            ["indicators", "name", "rank", "region_code", "score"]
        );
        for i in u["indicators"].as_array().unwrap() {
            assert_eq!(keys(i), ["id", "name", "rules", "score"]);
            for r in i["rules"].as_array().unwrap() {
                assert_eq!(keys(r), ["id", "metric", "name", "score", "value"]);
            }
        }
    }
    let ranks: Vec<u64> = units.iter().map(|u| u["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks[0], 1);
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
    let scores: Vec<f64> = units.iter().map(|u| u["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    assert!(scores[0] > 0.0, "the seeded ledger scores");
    // An unnamed rule shows its metric's label.
    assert_eq!(
        unit(&year, "350102")["indicators"][0]["rules"][1]["name"],
        "行政处罚决定数"
    );

    // The values are the ledger's, each record by its own date.
    let gulou = "350102";
    let filed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE region_code = '350102' AND status <> 'withdrawn' \
         AND filed_on BETWEEN '2023-01-01' AND '2023-12-31'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(filed > 0);
    assert_eq!(value(&year, gulou, "cases"), filed as f64);
    let decided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE region_code = '350102' \
         AND decided_on BETWEEN '2023-01-01' AND '2023-12-31' AND penalty_kinds NOT LIKE '%no_penalty%'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(value(&year, gulou, "penalty_cases"), decided as f64);
    assert_eq!(
        evidence(&app, &year, gulou, "cases").await.len() as i64,
        filed
    );

    // Halves add up to the year, and a half counts only its half.
    let h1 = assess(&app, &rules, &["--half", "1"]);
    let h2 = assess(&app, &rules, &["--half", "2"]);
    assert_eq!(h1["half"], 1);
    for u in units {
        let code = u["region_code"].as_str().unwrap();
        for metric in ["cases", "penalty_cases", "measures.seal_and_seize"] {
            assert_eq!(
                value(&h1, code, metric) + value(&h2, code, metric),
                value(&year, code, metric),
                "{code} {metric}"
            );
        }
    }
    let filed_h1: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE region_code = '350102' AND status <> 'withdrawn' \
         AND filed_on BETWEEN '2023-01-01' AND '2023-06-30'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(value(&h1, gulou, "cases"), filed_h1 as f64);

    // A measure decided in the second half on a case filed in the first counts in H2, while
    // the case counts in H1.
    let case: i64 = sqlx::query_scalar(
        "SELECT id FROM cases c WHERE region_code = '350102' AND status <> 'withdrawn' \
         AND filed_on BETWEEN '2023-01-01' AND '2023-06-30' \
         AND NOT EXISTS (SELECT 1 FROM measures m WHERE m.case_id = c.id) ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO measures (case_id, kind, decided_on) VALUES ($1, 'seal_and_seize', '2023-08-15')",
    )
    .bind(case)
    .execute(app.db.pool())
    .await
    .unwrap();
    let h1b = assess(&app, &rules, &["--half", "1"]);
    let h2b = assess(&app, &rules, &["--half", "2"]);
    assert!(evidence(&app, &h1b, gulou, "cases").await.contains(&case));
    assert!(!evidence(&app, &h2b, gulou, "cases").await.contains(&case));
    assert!(
        evidence(&app, &h2b, gulou, "measures.seal_and_seize")
            .await
            .contains(&case)
    );
    assert!(
        !evidence(&app, &h1b, gulou, "measures.seal_and_seize")
            .await
            .contains(&case)
    );
    assert_eq!(
        value(&h2b, gulou, "measures.seal_and_seize"),
        value(&h2, gulou, "measures.seal_and_seize") + 1.0
    );

    // Frozen: after the ledger changes, `show` prints the run as it was; a new run differs.
    sqlx::query("UPDATE cases SET status = 'withdrawn' WHERE region_code = '350102'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let id = year["run"].as_str().unwrap();
    let (code, out, err) = run(&app.url, &["assess", "show", id, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), year);
    let again = assess(&app, &rules, &[]);
    assert_eq!(value(&again, gulou, "cases"), 0.0);
    assert_ne!(again["run"], year["run"]);
}

#[tokio::test]
async fn bad_rules_a_missing_font_and_unknown_runs_are_refused_in_chinese() {
    let app = spawn_app().await;
    let bad = rules_file(&RULES.replace("metric = \"referrals.criminal\"", "metric = \"arrests\""));
    let (code, out, err) = run(
        &app.url,
        &[
            "assess", "run", "--rules", &bad, "--year", "2023", "--format", "json",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(
        err.contains("第37行：规则 1.5 的考核数据项 metric“arrests”未知"),
        "{err}"
    );
    let (code, _, err) = run(
        &app.url,
        &[
            "assess",
            "run",
            "--rules",
            &rules_file(RULES),
            "--year",
            "2022",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("细则年度为 2023，与考核年度 2022 不符"),
        "{err}"
    );
    // A bulletin without its font: the font's path in the error, nothing stored.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .args(["--database-url", &app.url, "assess", "run", "--rules"])
        .arg(rules_file(RULES))
        .args(["--year", "2023", "--format", "pdf", "--out", "/dev/null"])
        .env(
            "ECOWARDEN__ASSESSMENT__BULLETIN_FONT",
            "/nonexistent/cjk.ttc",
        )
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("无法读取通报所用中文字体 /nonexistent/cjk.ttc"),
        "{err}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM assessment_runs").await, 0);
    let (code, _, err) = run(&app.url, &["assess", "show", "999", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("没有编号为 999 的考核结果"), "{err}");
}

#[tokio::test]
async fn a_city_run_ranks_the_cities_and_pingtan_and_writes_a_workbook_and_a_bulletin() {
    let app = spawn_app().await;
    let rules = rules_file(&RULES.replace("level = \"county\"", "level = \"city\""));
    let city = assess(&app, &rules, &[]);
    let codes: Vec<&str> = city["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["region_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.contains(&"350128") && codes.contains(&"350100"));
    // A city counts its whole area: its counties' cases and the detachment's own.
    let fuzhou: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE city_code = '350100' AND status <> 'withdrawn' \
         AND filed_on BETWEEN '2023-01-01' AND '2023-12-31'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(value(&city, "350100", "cases"), fuzhou as f64);

    let out = std::env::temp_dir().join(format!(
        "ew-assess-{}.xlsx",
        ecowarden_core::auth::random_token()
    ));
    let id = city["run"].as_str().unwrap();
    show(&app, id, "xlsx", &out);
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(&out).unwrap();
    assert_eq!(wb.sheet_names(), ["排名", "明细"]);
    let ranking = wb.worksheet_range("排名").unwrap();
    assert_eq!(ranking.height(), 11);
    let detail = wb.worksheet_range("明细").unwrap();
    assert_eq!(detail.height(), 1 + 10 * 7);

    // The stored run as a bulletin, set in the system font (fonts-wqy-microhei).
    let pdf = out.with_extension("pdf");
    show(&app, id, "pdf", &pdf);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        bytes.windows(9).any(|w| w == b"FontFile2"),
        "the font is embedded"
    );
}

/// Year-on-year change, yes/no with evidence, manual points and a deduction.
pub(crate) const MORE_KINDS: &str = r#"
name = "测试细则（扩展）"
year = 2023
subject = "collective"
level = "county"
[[indicator]]
id = "1"
name = "综合"
max = 30
  [[indicator.rule]]
  id = "1.1"
  metric = "cases"
  kind = "change"
  target = 0.5
  max = 10
  [[indicator.rule]]
  id = "1.2"
  name = "规范化建设"
  metric = "manual.standard_site"
  kind = "yes_no"
  max = 5
  [[indicator.rule]]
  id = "1.3"
  name = "创新做法"
  metric = "manual.innovation"
  kind = "manual"
  max = 5
  [[indicator.rule]]
  id = "1.4"
  name = "被约谈"
  metric = "manual.interviews"
  kind = "deduction"
  per = 3
  max = 6
"#;

fn enter(
    app: &TestApp,
    unit: &str,
    metric: &str,
    value: &str,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let mut args = vec![
        "assess", "enter", "--year", "2023", "--unit", unit, "--metric", metric, "--value", value,
    ];
    args.extend_from_slice(extra);
    run(&app.url, &args)
}

pub(crate) fn rule<'a>(run: &'a Value, code: &str, id: &str) -> &'a Value {
    unit(run, code)["indicators"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn entered_values_and_year_on_year_change_are_scored() {
    let app = spawn_app().await;
    let gulou = "350102";
    let evidence_file = std::env::temp_dir().join(format!(
        "ew-evidence-{}.txt",
        ecowarden_core::auth::random_token()
    ));
    std::fs::write(&evidence_file, "验收意见").unwrap();
    let why = ["--justification", "2023年通过省级规范化验收"];
    let (code, _, err) = enter(&app, gulou, "manual.standard_site", "1", &why);
    assert_eq!(code, Some(0), "{err}");
    // Entering again replaces the value, now with the evidence file.
    let file = evidence_file.to_str().unwrap();
    let (code, id, err) = enter(
        &app,
        gulou,
        "manual.standard_site",
        "1",
        &[why[0], why[1], "--file", file],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = enter(
        &app,
        gulou,
        "manual.innovation",
        "7",
        &["--justification", "非现场执法创新"],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = enter(
        &app,
        gulou,
        "manual.interviews",
        "1",
        &["--justification", "被约谈一次"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_entries").await,
        3
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_entries WHERE file_name LIKE 'ew-evidence-%'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'assessment_entry'")
            .await,
        4
    );

    // Refused in Chinese, nothing stored: no justification, a malformed key, a negative value.
    let (code, _, err) = enter(
        &app,
        gulou,
        "manual.innovation",
        "1",
        &["--justification", " "],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("请填写依据说明"), "{err}");
    let (code, _, err) = enter(&app, gulou, "manual.创新", "1", &why);
    assert_eq!(code, Some(1));
    assert!(err.contains("手工填报数据项“manual.创新”格式有误"), "{err}");
    let (code, _, err) = enter(&app, gulou, "manual.innovation", "-1", &why);
    assert_eq!(code, Some(1));
    assert!(err.contains("填报值须为不小于 0 的数"), "{err}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_entries").await,
        3
    );

    sqlx::query(
        "UPDATE cases SET year = 2022, filed_on = '2022-' || substr(filed_on, 6) WHERE id IN \
         (SELECT id FROM cases WHERE region_code = '350102' AND status <> 'withdrawn' \
          AND filed_on LIKE '2023-%' ORDER BY id LIMIT 2)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let result = assess(&app, &rules_file(MORE_KINDS), &[]);
    // 1 → 5; 7 points capped at 5; one interview −3.
    assert_eq!(rule(&result, gulou, "1.2")["score"], 5.0);
    assert_eq!(rule(&result, gulou, "1.3")["score"], 5.0);
    assert_eq!(rule(&result, gulou, "1.4")["score"], -3.0);
    let entry_id: i64 = id.trim().parse().unwrap();
    assert_eq!(
        evidence(&app, &result, gulou, "manual.standard_site").await,
        [entry_id]
    );
    // A unit with nothing entered scores 0 on them.
    assert_eq!(rule(&result, "350103", "1.2")["score"], 0.0);

    // The change is 2023 over 2022, each year's cases filed in it; the seed is all 2023, so
    // two of 鼓楼's cases move to 2022 (before the run).
    let filed = |year: i32| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM cases WHERE region_code = $1 AND status <> 'withdrawn' \
                 AND filed_on BETWEEN $2 AND $3",
            )
            .bind(gulou)
            .bind(format!("{year}-01-01"))
            .bind(format!("{year}-12-31"))
            .fetch_one(db.pool())
            .await
            .unwrap() as f64
        }
    };
    let (now, then) = (filed(2023).await, filed(2022).await);
    assert_eq!(then, 2.0);
    assert!(now > 0.0);
    let change = ecowarden_scoring::change(now, then);
    let shown = rule(&result, gulou, "1.1");
    assert_eq!(shown["value"], (change * 10_000.0).round() / 10_000.0);
    assert_eq!(
        shown["score"],
        ecowarden_scoring::round2((10.0 * change / 0.5).clamp(0.0, 10.0))
    );
    assert_eq!(
        evidence(&app, &result, gulou, "cases@previous").await.len() as f64,
        then
    );
}
