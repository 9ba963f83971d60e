//! Individuals (个人考核): officers scored by an individual rule file — each officer metric on a
//! constructed ledger with hand-computed values, entries for officers, a frozen run, and who
//! reads which officer's sheet.

use serde_json::Value;

use crate::assess::{assess, evidence, rules_file};
use crate::helpers::{TestApp, get_json, get_status, get_text, run, spawn_app};

/// Every officer metric, one rule each, with caps high enough to show the value.
const RULES: &str = r#"
name = "个人测试细则"
year = 2023
subject = "individual"
level = "county"
[[indicator]]
id = "1"
name = "案件查办"
max = 1000
  [[indicator.rule]]
  id = "1.1"
  metric = "officer.cases_led"
  kind = "linear"
  per = 1
  max = 100
  [[indicator.rule]]
  id = "1.2"
  metric = "officer.cases"
  kind = "linear"
  per = 1
  max = 100
  [[indicator.rule]]
  id = "1.3"
  metric = "officer.penalty_decisions"
  kind = "rank"
  points = [10, 8, 6]
  max = 10
  [[indicator.rule]]
  id = "1.4"
  metric = "officer.fines_yuan"
  kind = "thresholds"
  thresholds = [[10000, 5], [30000, 10]]
  max = 10
  [[indicator.rule]]
  id = "1.5"
  metric = "officer.dossier_score"
  kind = "ratio"
  target = 100
  max = 10
  [[indicator.rule]]
  id = "1.6"
  metric = "officer.contest"
  kind = "manual"
  max = 15
  [[indicator.rule]]
  id = "1.7"
  metric = "officer.honours"
  kind = "linear"
  per = 5
  max = 15
"#;

const A: &str = "闽3501020001";
const B: &str = "闽3501020002";

fn sheet<'a>(run: &'a Value, cert: &str) -> &'a Value {
    run["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["officer"]["cert_no"] == cert)
        .unwrap_or_else(|| panic!("no sheet of {cert}"))
}

fn rule<'a>(run: &'a Value, cert: &str, metric: &str) -> &'a Value {
    sheet(run, cert)["indicators"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap()
}

fn value(run: &Value, cert: &str, metric: &str) -> f64 {
    rule(run, cert, metric)["value"].as_f64().unwrap()
}

async fn officer_id(app: &TestApp, cert: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM officers WHERE certificate_no = $1")
        .bind(cert)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(app.db.pool())
        .await
        .unwrap();
}

/// 鼓楼's officers A and B taken off every case, then put on five cases (of any region: an
/// officer's metrics follow the officer) whose dates, kinds and fines are set by hand:
///
/// | case | filed | decided | penalty, fine | A | B |
/// |---|---|---|---|---|---|
/// | c1 | 2023-03-01 | 2023-05-10 | fine 12,345 元 | lead | on |
/// | c2 | 2023-08-01 | 2024-01-15 | fine 5,000 元 | lead | — |
/// | c3 | 2022-11-20 | 2023-02-01 | fine 20,000 元 | on | lead |
/// | c4 | 2023-04-01 | 2023-06-01 | 不予处罚 | on | lead |
/// | c5 | 2023-02-02, withdrawn | — | — | lead | — |
async fn constructed(app: &TestApp) -> [i64; 5] {
    let (a, b) = (officer_id(app, A).await, officer_id(app, B).await);
    exec(
        app,
        &format!("DELETE FROM case_officers WHERE officer_id IN ({a}, {b})"),
    )
    .await;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM cases WHERE status <> 'withdrawn' ORDER BY id LIMIT 5")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let c: [i64; 5] = ids.try_into().unwrap();
    let set = [
        (
            "2023",
            "'2023-03-01'",
            "'2023-05-10'",
            "'fine'",
            1_234_500,
            None,
        ),
        (
            "2023",
            "'2023-08-01'",
            "'2024-01-15'",
            "'fine'",
            500_000,
            None,
        ),
        (
            "2022",
            "'2022-11-20'",
            "'2023-02-01'",
            "'fine'",
            2_000_000,
            None,
        ),
        (
            "2023",
            "'2023-04-01'",
            "'2023-06-01'",
            "'no_penalty'",
            0,
            None,
        ),
        ("2023", "'2023-02-02'", "NULL", "''", 0, Some("'withdrawn'")),
    ];
    for (id, (year, filed, decided, kinds, fine, status)) in c.iter().zip(set) {
        exec(
            app,
            &format!(
                "UPDATE cases SET year = {year}, filed_on = {filed}, decided_on = {decided}, \
                 penalty_kinds = {kinds}, fine_fen = {fine}, status = {} WHERE id = {id}",
                status.unwrap_or("status")
            ),
        )
        .await;
    }
    for (case, officer, lead) in [
        (c[0], a, 1),
        (c[0], b, 0),
        (c[1], a, 1),
        (c[2], a, 0),
        (c[2], b, 1),
        (c[3], a, 0),
        (c[3], b, 1),
        (c[4], a, 1),
    ] {
        // The case's own lead steps aside for the constructed one.
        if lead == 1 {
            exec(
                app,
                &format!("UPDATE case_officers SET lead = 0 WHERE case_id = {case}"),
            )
            .await;
        }
        exec(
            app,
            &format!(
                "INSERT INTO case_officers (case_id, officer_id, lead) VALUES ({case}, {officer}, {lead})"
            ),
        )
        .await;
    }
    c
}

fn enter(app: &TestApp, who: &[&str], metric: &str, value: &str) -> (Option<i32>, String, String) {
    let mut args = vec!["assess", "enter", "--year", "2023"];
    args.extend_from_slice(who);
    args.extend_from_slice(&[
        "--metric",
        metric,
        "--value",
        value,
        "--justification",
        "2023年全省执法大练兵",
    ]);
    run(&app.url, &args)
}

#[tokio::test]
async fn officer_metrics_count_each_record_by_its_own_date_and_a_run_stays_frozen() {
    let app = spawn_app().await;
    let c = constructed(&app).await;
    let (code, entry, err) = enter(&app, &["--officer", A], "officer.contest", "12");
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = enter(&app, &["--officer", A], "officer.honours", "2");
    assert_eq!(code, Some(0), "{err}");
    // An officer's metric is not a unit's; an unknown certificate is refused.
    let (code, _, err) = enter(&app, &["--unit", "350102"], "officer.contest", "1");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("是个人考核数据项，请选择执法人员填报"),
        "{err}"
    );
    let (code, _, err) = enter(&app, &["--officer", "闽0000000000"], "officer.contest", "1");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("没有执法证号为 闽0000000000 的执法人员"),
        "{err}"
    );

    let rules = rules_file(RULES);
    let year = assess(&app, &rules, &["--region", "350102"]);
    assert_eq!(year["subject"], "individual");
    // 鼓楼's brigade officers, each with their unit's region and who they are.
    let units = year["units"].as_array().unwrap();
    assert_eq!(units.len(), 8);
    let a = sheet(&year, A);
    assert_eq!(a["region_code"], "350102");
    assert_eq!(a["name"], "鼓楼区");
    let name: String = sqlx::query_scalar("SELECT name FROM officers WHERE certificate_no = $1")
        .bind(A)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        a["officer"],
        serde_json::json!({"cert_no": A, "name": name})
    );
    assert_eq!(rule(&year, A, "officer.cases_led")["name"], "主办案件数");

    // By hand (table above): A leads c1, c2 (c5 withdrawn) and is on c1, c2, c4 (c3 filed in
    // 2022); the decisions of 2023 on A's cases are c1 and c3 (c2 decided in 2024, c4 不予处罚).
    let expect = [
        (A, "officer.cases_led", 2.0, vec![c[0], c[1]]),
        (A, "officer.cases", 3.0, vec![c[0], c[1], c[3]]),
        (A, "officer.penalty_decisions", 2.0, vec![c[0], c[2]]),
        (A, "officer.fines_yuan", 32_345.0, vec![c[0], c[2]]),
        (B, "officer.cases_led", 1.0, vec![c[3]]),
        (B, "officer.cases", 2.0, vec![c[0], c[3]]),
        (B, "officer.penalty_decisions", 2.0, vec![c[0], c[2]]),
        (B, "officer.fines_yuan", 32_345.0, vec![c[0], c[2]]),
    ];
    for (cert, metric, v, cases) in &expect {
        assert_eq!(value(&year, cert, metric), *v, "{cert} {metric}");
        let mut cases = cases.clone();
        cases.sort_unstable();
        assert_eq!(
            evidence(&app, &year, cert, metric).await,
            cases,
            "{cert} {metric}"
        );
    }
    // Entered: 12 points (cap 15) and 2 honours × 5; their evidence the entry.
    assert_eq!(rule(&year, A, "officer.contest")["score"], 12.0);
    assert_eq!(rule(&year, A, "officer.honours")["score"], 10.0);
    assert_eq!(
        evidence(&app, &year, A, "officer.contest").await,
        [entry.trim().parse::<i64>().unwrap()]
    );
    assert_eq!(value(&year, B, "officer.contest"), 0.0);
    // Ties on 2 decisions share rank 1; 32,345 元 reaches 30,000.
    assert_eq!(rule(&year, A, "officer.penalty_decisions")["score"], 10.0);
    assert_eq!(rule(&year, B, "officer.penalty_decisions")["score"], 10.0);
    assert_eq!(rule(&year, A, "officer.fines_yuan")["score"], 10.0);

    // The first half: c1 led (c2 filed in August), c1 and c4 on, c1 and c3 decided.
    let h1 = assess(&app, &rules, &["--region", "350102", "--half", "1"]);
    assert_eq!(value(&h1, A, "officer.cases_led"), 1.0);
    assert_eq!(value(&h1, A, "officer.cases"), 2.0);
    assert_eq!(value(&h1, A, "officer.penalty_decisions"), 2.0);
    assert_eq!(
        value(&h1, A, "officer.contest"),
        0.0,
        "entered for the year"
    );

    // Frozen: the ledger changes, `show` prints the run as made; a new run sees the change.
    exec(
        &app,
        &format!("UPDATE cases SET status = 'withdrawn' WHERE id = {}", c[0]),
    )
    .await;
    let id = year["run"].as_str().unwrap();
    let (code, out, err) = run(&app.url, &["assess", "show", id, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), year);
    let again = assess(&app, &rules, &["--region", "350102"]);
    assert_eq!(value(&again, A, "officer.cases_led"), 1.0);

    // A unit's metric in an individual file is refused with its line.
    let bad = rules_file(&RULES.replace("metric = \"officer.cases\"\n", "metric = \"cases\"\n"));
    let (code, _, err) = run(
        &app.url,
        &[
            "assess", "run", "--rules", &bad, "--year", "2023", "--format", "json",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("第18行：规则 1.2 的个人考核数据项 metric“cases”未知"),
        "{err}"
    );
}

#[tokio::test]
async fn the_dossier_score_is_the_mean_settled_score_of_the_dossiers_the_officer_led() {
    let app = spawn_app().await;
    let (plan, year) = crate::review::plan_of_one(&app, 10.0).await;
    assert_eq!(year, 2023);
    // The demo's eligible reviewers of a 台江 dossier: 98 and 96 points, within the margin.
    let (s, _) =
        crate::review::submit(&app, "gulou", &[("d_D5", "2"), ("c_D5", "笔录缺签名")]).await;
    assert_eq!(s, 303);
    let (s, _) = crate::review::submit(
        &app,
        "xm_leader",
        &[("d_J2", "4"), ("c_J2", "决定书未载明裁量理由")],
    )
    .await;
    assert_eq!(s, 303);
    let area = ecowarden_core::scope::Area::whole(&ecowarden_core::scope::Scope::Province);
    let results = ecowarden_assessment::review::results(&app.db, &app.org, plan, &area)
        .await
        .unwrap();
    let dossier = &results.dossiers[0];
    let settled = dossier.score.expect("settled");
    let lead: String = sqlx::query_scalar(
        "SELECT o.certificate_no FROM case_officers co JOIN officers o ON o.id = co.officer_id \
         WHERE co.case_id = $1 AND co.lead = 1",
    )
    .bind(dossier.case_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let run = assess(&app, &rules_file(RULES), &["--region", "350103"]);
    assert_eq!(value(&run, &lead, "officer.dossier_score"), settled);
    assert_eq!(
        evidence(&app, &run, &lead, "officer.dossier_score").await,
        [dossier.case_id]
    );
    for u in run["units"].as_array().unwrap() {
        let cert = u["officer"]["cert_no"].as_str().unwrap();
        if cert != lead {
            assert_eq!(value(&run, cert, "officer.dossier_score"), 0.0, "{cert}");
        }
    }
}

#[tokio::test]
async fn an_officer_reads_their_own_sheet_and_leaders_their_units_officers() {
    let app = spawn_app().await;
    let individual = assess(&app, &rules_file(RULES), &[]);
    let id = individual["run"].as_str().unwrap();
    let all = individual["units"].as_array().unwrap();
    // The county brigades' officers: 8 a brigade.
    let brigades = app
        .org
        .all()
        .filter(|r| r.level == ecowarden_core::org::Level::County)
        .count();
    assert_eq!(all.len(), brigades * 8);
    let sheets = |who: &'static str| {
        let app = &app;
        async move {
            let (c, _) = app.login(who).await;
            let v: Value = get_json(
                &c,
                format!("{}/api/v1/assessment/runs/{id}/officers", app.base),
            )
            .await;
            v["units"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| {
                    (
                        u["officer"]["cert_no"].as_str().unwrap().to_owned(),
                        u["region_code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // Officers: their own sheet only (fz_officer is a detachment's officer, not ranked here).
    assert_eq!(sheets("gulou").await, [(A.to_owned(), "350102".to_owned())]);
    assert_eq!(
        sheets("taijiang").await,
        [("闽3501030001".to_owned(), "350103".to_owned())]
    );
    assert!(sheets("fz_officer").await.is_empty());
    // Leaders: the officers of their city's brigades; the province: everyone.
    let fuzhou = sheets("fz_leader").await;
    let in_fuzhou = all
        .iter()
        .filter(|u| {
            app.org
                .region(u["region_code"].as_str().unwrap())
                .unwrap()
                .city_code
                == "350100"
        })
        .count();
    assert_eq!(fuzhou.len(), in_fuzhou);
    assert!(fuzhou.iter().any(|(_, r)| r == "350103"));
    assert!(
        fuzhou
            .iter()
            .all(|(_, r)| app.org.region(r).unwrap().city_code == "350100")
    );
    assert!(
        sheets("xm_leader")
            .await
            .iter()
            .all(|(_, r)| r.starts_with("3502"))
    );
    assert_eq!(sheets("admin").await.len(), all.len());

    // The pages name a sheet by the officer's certificate number, since a unit's officers share
    // its region code: the run page links to each officer's own sheet, which opens for the
    // officer and the leaders of the unit only.
    let (admin, _) = app.login("admin").await;
    let page = get_text(&admin, format!("{}/assessment/runs/{id}", app.base)).await;
    let link = format!("/assessment/runs/{id}/units/{A}");
    assert!(page.contains(&link), "the run page links to {A}'s sheet");
    let sheet_url = format!("{}{link}", app.base);
    let html = get_text(&admin, sheet_url.clone()).await;
    assert!(
        html.contains("（鼓楼区）"),
        "the sheet names the officer and the unit"
    );
    for (who, status) in [
        ("gulou", 200),
        ("fz_leader", 200),
        ("taijiang", 403),
        ("xm_leader", 403),
    ] {
        let (c, _) = app.login(who).await;
        assert_eq!(get_status(&c, sheet_url.clone()).await, status, "{who}");
    }

    // An officer's account without an officer reads nothing; a collective run is no
    // individual one.
    let (c, _) = app.login("gulou").await;
    sqlx::query("UPDATE users SET officer_id = NULL WHERE username = 'gulou'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let v: Value = get_json(
        &c,
        format!("{}/api/v1/assessment/runs/{id}/officers", app.base),
    )
    .await;
    assert_eq!(v["units"], serde_json::json!([]));
    let collective = assess(
        &app,
        &rules_file(include_str!(
            "../../../scoring/rules/default-county-2023.toml"
        )),
        &[],
    );
    let r = c
        .get(format!(
            "{}/api/v1/assessment/runs/{}/officers",
            app.base,
            collective["run"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // An account is linked only to an officer inside its scope.
    let gulou = ecowarden_core::auth::find_by_username(&app.db, "gulou")
        .await
        .unwrap()
        .unwrap();
    let err =
        ecowarden_core::auth::link_officer(&app.db, &app.org, "test", gulou.id, "闽3501030002")
            .await
            .unwrap_err();
    assert!(
        err.to_string().contains("不在账户“gulou”的单位范围内"),
        "{err}"
    );
    let (code, out, err) = run(
        &app.url,
        &[
            "user",
            "link-officer",
            "--username",
            "gulou",
            "--officer",
            A,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(A));
    assert_eq!(sheets("gulou").await.len(), 1);
}
