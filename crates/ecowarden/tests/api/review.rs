//! 案卷评查 and 稽查 through the pages: reviewers' sheets, arbitration, the metric the
//! assessment reads, and rectifications that close only with evidence.

use ecowarden_assessment::{inspection, review};
use ecowarden_core::scope::{Area, Scope};

use std::collections::BTreeSet;

use crate::helpers::{TestApp, get_json, get_text, run, spawn_app};

/// An audit of 台江 in 2023 whose team is the auditor, with its checklist, a finding graded
/// 需改进 and a rectification item due 2024-02-01: (audit, first checklist item, finding,
/// rectification).
pub(crate) async fn audit_of_taijiang(app: &TestApp) -> (i64, i64, i64, i64) {
    let spec = inspection::AuditSpec {
        region_code: "350103".into(),
        scope: "案卷".into(),
        period_from: "2023-01-01".into(),
        period_to: "2023-12-31".into(),
        team: "auditor".into(),
        starts_on: "2024-01-02".into(),
        ends_on: "2024-01-05".into(),
    };
    let province = Area::whole(&Scope::Province);
    let audit = inspection::create_audit(&app.db, &app.org, &province, "test", &spec)
        .await
        .unwrap();
    let item = inspection::checklist(&app.db, audit).await.unwrap()[0].id;
    let finding =
        inspection::add_finding(&app.db, "test", audit, "需改进", "线索未跟进", "清单", None)
            .await
            .unwrap();
    let rect = inspection::add_rectification(
        &app.db,
        "test",
        audit,
        finding,
        "补办",
        "台江大队",
        "2024-02-01",
    )
    .await
    .unwrap();
    (audit, item, finding, rect)
}

/// A plan of one 台江 dossier: 鼓楼 and 厦门 are its only eligible reviewers in the demo.
/// Returns the plan and its year.
pub(crate) async fn plan_of_one(app: &TestApp, margin: f64) -> (i64, i32) {
    let year: i64 = sqlx::query_scalar(
        "SELECT MAX(year) FROM cases WHERE region_code = '350103' AND decided_on IS NOT NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let area = Scope::Province.area(&app.org, Some("350103")).unwrap();
    let spec = review::PlanSpec {
        year: year as i32,
        size: 1,
        seed: 7,
        min_per_type: 0,
        min_per_unit: 0,
        margin,
    };
    let id = review::create_plan(&app.db, &app.org, &area, "test", spec)
        .await
        .unwrap();
    (id, year as i32)
}

/// Submits a sheet through the page as `who`; returns the status and the page it led to.
pub(crate) async fn submit(app: &TestApp, who: &str, form: &[(&str, &str)]) -> (u16, String) {
    let id = review::assignments_of(&app.db, who)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.submitted_at.is_none())
        .expect("an open sheet")
        .id;
    let (c, csrf) = app.login(who).await;
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("csrf", &csrf));
    let r = c
        .post(format!("{}/review/assignments/{id}", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, to)
}

#[tokio::test]
async fn two_sheets_apart_call_an_arbiter_whose_score_settles_the_dossier() {
    let app = spawn_app().await;
    // A third eligible reviewer (of 厦门's 思明区) for the arbitration.
    ecowarden_core::auth::create_user(
        &app.db,
        &app.org,
        "test",
        &ecowarden_core::auth::NewUser {
            username: "siming".into(),
            display_name: "思明评查员".into(),
            password: "Demo-2024!".into(),
            role: ecowarden_core::auth::Role::CountyOfficer,
            region_code: "350203".into(),
        },
    )
    .await
    .unwrap();
    let (plan, year) = plan_of_one(&app, 5.0).await;
    let area = Area::whole(&Scope::Province);
    let sheets = review::plan_assignments(&app.db, plan, &area)
        .await
        .unwrap();
    let of = |role: &str| {
        sheets
            .iter()
            .find(|a| a.role == role)
            .unwrap()
            .reviewer
            .clone()
    };
    let (first, second) = (of("first"), of("second"));
    // 98 and 90: 8 points apart, more than the margin of 5.
    let (s, _) = submit(&app, &first, &[("d_D5", "2"), ("c_D5", "笔录缺签名")]).await;
    assert_eq!(s, 303);
    let (s, _) = submit(
        &app,
        &second,
        &[("d_J2", "10"), ("c_J2", "决定书未载明裁量理由")],
    )
    .await;
    assert_eq!(s, 303);
    let r = review::results(&app.db, &app.org, plan, &area)
        .await
        .unwrap();
    assert_eq!(r.dossiers[0].state, "待仲裁");
    let arbiters: Vec<_> = r.dossiers[0]
        .sheets
        .iter()
        .filter(|s| s.1 == "仲裁")
        .collect();
    assert_eq!(arbiters.len(), 1, "one arbiter assigned");
    let arbiter = arbiters[0].0.clone();
    assert!(![first.as_str(), second.as_str(), "taijiang"].contains(&arbiter.as_str()));
    let (s, _) = submit(&app, &arbiter, &[("d_D5", "4"), ("c_D5", "权利告知缺失")]).await;
    assert_eq!(s, 303);
    let r = review::results(&app.db, &app.org, plan, &area)
        .await
        .unwrap();
    assert_eq!(
        (r.dossiers[0].score, r.dossiers[0].passed),
        (Some(96.0), Some(true))
    );
    assert_eq!(r.lost[0].0, "D5", "the item lost most often first");
    assert_eq!(r.lost[0].2, 2);
    let means = review::mean_scores(&app.db, &area, year).await.unwrap();
    assert_eq!(means.get("350103"), Some(&96.0));
    // The workbook of the results.
    let (c, _) = app.login("admin").await;
    let r = c
        .get(format!("{}/review/plans/{plan}/export.xlsx", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn a_knockout_fails_the_dossier_whatever_its_points_and_a_sheet_is_final() {
    // The demo's only eligible reviewers of a 台江 dossier are 鼓楼's officer and 厦门's leader.
    let app = spawn_app().await;
    let (plan, _) = plan_of_one(&app, 10.0).await;
    for who in ["gulou", "xm_leader"] {
        let (s, to) = submit(&app, who, &[("ko_K2", "on"), ("b_B1", "on")]).await;
        assert_eq!(s, 303);
        let (c, _) = app.login(who).await;
        let page = c
            .get(format!("{}{to}", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("已提交评查表：101 分，不合格"), "{page}");
        assert!(
            !page.contains("id=\"submit-review\""),
            "a submitted sheet is final"
        );
    }
    let r = review::results(&app.db, &app.org, plan, &Area::whole(&Scope::Province))
        .await
        .unwrap();
    assert_eq!(
        (r.dossiers[0].score, r.dossiers[0].passed),
        (Some(101.0), Some(false))
    );
    // A deduction without a reason changes nothing.
    let (plan2, _) = plan_of_one(&app, 10.0).await;
    let (s, _) = submit(&app, "gulou", &[("d_L1", "1")]).await;
    assert_eq!(s, 422);
    let r = review::results(&app.db, &app.org, plan2, &Area::whole(&Scope::Province))
        .await
        .unwrap();
    assert_eq!(r.dossiers[0].state, "评查中");
}

#[tokio::test]
async fn an_edited_sheet_is_a_new_version_and_a_bad_one_names_its_line() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let first = review::sheet_in_force(&app.db).await.unwrap();
    let edited = first.text.replace("\"pass_mark\": 70", "\"pass_mark\": 75");
    let post = |text: String| {
        let c = c.clone();
        let csrf = csrf.clone();
        let url = format!("{}/review/sheet", app.base);
        async move {
            c.post(url)
                .form(&[("sheet", text.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(post(edited).await.status(), 303);
    let now = review::sheet_in_force(&app.db).await.unwrap();
    assert_eq!(
        (now.version, now.sheet.pass_mark),
        (first.version + 1, 75.0)
    );
    let bad = post("{\n\"title\": 1\n}".into()).await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("第 2 行"));
    assert_eq!(
        review::sheet_in_force(&app.db).await.unwrap().version,
        now.version
    );
}

#[tokio::test]
async fn a_rectification_closes_only_with_evidence_and_overdue_ones_are_listed() {
    let app = spawn_app().await;
    let province = Area::whole(&Scope::Province);
    let (audit, _, _, rect) = audit_of_taijiang(&app).await;
    let overdue_in_march = || async {
        inspection::overdue(
            &app.db,
            &province,
            chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
        )
        .await
        .unwrap()
    };
    let overdue = overdue_in_march().await;
    assert_eq!(overdue.iter().map(|r| r.id).collect::<Vec<_>>(), [rect]);
    let (c, csrf) = app.login("auditor").await;
    let url = format!("{}/audits/{audit}/rectifications/{rect}", app.base);
    let r = c
        .post(&url)
        .form(&[("progress", "完成"), ("close", "1"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("整改销号须提供整改证据"));
    assert!(
        inspection::rectifications(&app.db, audit).await.unwrap()[0]
            .closed_on
            .is_none()
    );
    let r = c
        .post(&url)
        .form(&[
            ("progress", "完成"),
            ("evidence", "验收记录"),
            ("close", "1"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        inspection::rectifications(&app.db, audit).await.unwrap()[0]
            .closed_on
            .is_some()
    );
    let overdue = overdue_in_march().await;
    assert!(overdue.is_empty());
    // The audit's page shows the comparison for the auditor on its team, not for another.
    let page = c
        .get(format!("{}/audits/{audit}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("平台数据比对"));
}

/// An audit closes through its page only when its checklist is done and its rectification
/// closed; then it is 已结束, takes no more changes, and the closing is in the audit log.
#[tokio::test]
async fn an_audit_closes_only_when_done_and_then_takes_no_changes() {
    let app = spawn_app().await;
    let (audit, _, finding, rect) = audit_of_taijiang(&app).await;
    let (c, csrf) = app.login("auditor").await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let (c, csrf) = (c.clone(), csrf.clone());
        let url = format!("{}/audits/{audit}{path}", app.base);
        async move {
            let mut form = form;
            form.push(("csrf", csrf));
            let r = c.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = post("/close".into(), vec![]).await;
    assert_eq!(status, 422);
    assert!(page.contains("项未完成"), "{page}");
    for item in inspection::checklist(&app.db, audit).await.unwrap() {
        let (status, _) = post(
            format!("/checklist/{}", item.id),
            vec![("done", "1".into())],
        )
        .await;
        assert_eq!(status, 303);
    }
    let (status, page) = post("/close".into(), vec![]).await;
    assert_eq!(status, 422);
    assert!(page.contains("尚未销号"), "{page}");
    let fixed = vec![
        ("progress", "完成".into()),
        ("evidence", "验收记录".into()),
        ("close", "1".into()),
    ];
    assert_eq!(post(format!("/rectifications/{rect}"), fixed).await.0, 303);
    assert_eq!(post("/close".into(), vec![]).await.0, 303);
    let page = get_text(&c, format!("{}/audits/{audit}", app.base)).await;
    assert!(
        page.contains("<dd id=\"audit-status\">已结束</dd>"),
        "{page}"
    );
    assert!(!page.contains("id=\"close-audit\""));
    assert!(!page.contains("id=\"new-finding\""));
    // The API gives the same audit whole.
    let api: serde_json::Value = get_json(&c, format!("{}/api/v1/audits/{audit}", app.base)).await;
    assert_eq!(api["audit"]["status"], "closed");
    assert_eq!(api["findings"][0]["id"], finding);
    assert_eq!(api["rectifications"][0]["evidence"], "验收记录");
    assert!(
        api["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["done"] == 1)
    );
    assert!(api["comparison"].is_array());
    let listed: serde_json::Value = get_json(&c, format!("{}/api/v1/audits", app.base)).await;
    assert!(listed.as_array().unwrap().iter().any(|a| a["id"] == audit));
    let a = inspection::audit(
        &app.db,
        &Area::whole(&Scope::Province),
        audit,
        "auditor",
        true,
    )
    .await
    .unwrap();
    assert!(a.is_closed());
    // No more changes: a finding, a rectification, a checklist note, closing again.
    let finding_form = vec![
        ("grade", "attention".into()),
        ("title", "补充".into()),
        ("evidence", "清单".into()),
    ];
    let (status, page) = post("/findings".into(), finding_form).await;
    assert_eq!(status, 422);
    assert!(page.contains("该稽查已结束"), "{page}");
    let fix = vec![
        ("finding", finding.to_string()),
        ("item", "再补".into()),
        ("owner", "台江大队".into()),
        ("deadline", "2024-03-01".into()),
    ];
    assert_eq!(post("/rectifications".into(), fix).await.0, 422);
    assert_eq!(post("/close".into(), vec![]).await.0, 422);
    assert_eq!(inspection::findings(&app.db, audit).await.unwrap().len(), 1);
    let logged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'audit' AND action = 'close' AND entity_id = $1",
    )
    .bind(audit.to_string())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(logged, 1);
}

/// `ecowarden dossier plan` stores the plan with the same draw as `dossier sample` and two
/// reviewers per dossier, none of its own unit; `dossier results` writes its workbook.
#[tokio::test]
async fn the_plan_command_stores_the_sample_with_its_reviewers() {
    let app = spawn_app().await;
    let args = [
        "--year", "2023", "--region", "350100", "--size", "8", "--seed", "42",
    ];
    let (code, sample, err) = run(
        &app.url,
        &[&["dossier", "sample"][..], &args, &["--format", "jsonl"]].concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, plan, err) = run(&app.url, &[&["dossier", "plan"][..], &args].concat());
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<serde_json::Value> = plan
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let id = lines[0]["plan"].as_i64().expect("the plan id first");
    let drawn: BTreeSet<String> = sample
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["case_no"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let stored: BTreeSet<String> = lines[1..]
        .iter()
        .map(|v| v["case_no"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(drawn, stored, "the plan stores the sample's draw");
    let area = Area::whole(&Scope::Province);
    for a in review::plan_assignments(&app.db, id, &area).await.unwrap() {
        let region: String =
            sqlx::query_scalar("SELECT region_code FROM users WHERE username = $1")
                .bind(&a.reviewer)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_ne!(
            region, a.region_code,
            "{} reviews their own unit",
            a.reviewer
        );
        // A city-level reviewer's region is their city.
        assert_ne!(region, a.city_code, "{} reviews their own city", a.reviewer);
    }
    let out = app.data.join("review.xlsx");
    let (code, _, err) = run(
        &app.url,
        &[
            "dossier",
            "results",
            "--plan",
            &id.to_string(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::read(&out).unwrap().starts_with(b"PK"));
}
