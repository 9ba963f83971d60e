//! The ledger's intake and statistics on a constructed ledger whose figures are computed by
//! hand below; runs on both stores.

use ecowarden_core::scope::Scope;
use ecowarden_ledger::cases::intake::{self, IntakeError, NewCase};
use ecowarden_ledger::stats::{self, Period};

use crate::helpers::spawn_app;

/// A 2025 case of 鼓楼区 (350102) or 台江区 (350103) with two of its unit's officers.
fn case(region: &str, code: &str, filed: &str) -> NewCase {
    let mut c = NewCase {
        region_code: region.into(),
        facility_name: format!("福建测试{code}有限公司"),
        credit_code: code.into(),
        source: "日常检查".into(),
        violation: "超标排放水污染物".into(),
        discovered_on: filed.into(),
        filed_on: filed.into(),
        officers: format!("闽{region}0001、闽{region}0002"),
        ..Default::default()
    };
    c.industry = "电镀".into();
    c
}

fn decided(mut c: NewCase, on: &str, fine: &str) -> NewCase {
    c.prior_notice_on = on.into();
    c.decided_on = on.into();
    c.fine = fine.into();
    c.penalty_kinds = "罚款".into();
    c
}

/// Credit codes with valid check characters (computed by CreditCode::check_char).
fn code(i: u32) -> String {
    let body = format!("91350102MA{i:07}");
    let c = ecowarden_core::ids::CreditCode::check_char(body.as_bytes()).unwrap() as char;
    format!("{body}{c}")
}

fn ledger() -> Vec<NewCase> {
    let mut v = Vec::new();
    // 1: 清水蓝天, decided 10,000.50, seal and seize, detention referral (1 person).
    let mut c = decided(
        case("350102", &code(1), "2025-02-01"),
        "2025-03-01",
        "10000.50",
    );
    c.tags = "清水蓝天".into();
    c.seal_and_seize_on = "2025-02-03".into();
    c.detention_referral_on = "2025-02-05".into();
    v.push(c);
    // 2: 清水蓝天, not decided, production restriction (停产).
    let mut c = case("350102", &code(2), "2025-03-10");
    c.tags = "clear_water_blue_sky".into();
    c.production_restriction_on = "2025-03-12".into();
    c.production_restriction_kind = "停产".into();
    v.push(c);
    // 3: 清水蓝天 + 两打·危险废物, decided 200,000, criminal referral; second half.
    let mut c = decided(
        case("350103", &code(3), "2025-08-01"),
        "2025-09-01",
        "200000",
    );
    c.tags = "清水蓝天、两打·危险废物".into();
    c.criminal_referral_on = "2025-08-10".into();
    v.push(c);
    // 4: third-party fraud (检测), decided 50,000, market-regulator referral.
    let mut c = decided(
        case("350103", &code(4), "2025-04-01"),
        "2025-05-01",
        "50000",
    );
    c.tags = "第三方弄虚作假".into();
    c.third_party_name = "福建某某检测有限公司".into();
    c.third_party_credit_code = code(90);
    c.third_party_subtype = "检测".into();
    c.market_referral_on = "2025-04-20".into();
    v.push(c);
    // 5: third-party fraud (环评), decided 30,000.
    let mut c = decided(
        case("350102", &code(5), "2025-10-01"),
        "2025-11-01",
        "30000",
    );
    c.tags = "第三方弄虚作假".into();
    c.third_party_credit_code = code(90);
    c.third_party_subtype = "eia".into();
    v.push(c);
    // 6: plain case, closed, daily penalty of 12 days / 120,000.
    let mut c = decided(case("350102", &code(6), "2025-01-15"), "2025-02-15", "1000");
    c.served_on = "2025-02-16".into();
    c.closed_on = "2025-03-30".into();
    c.daily_penalty_on = "2025-01-20".into();
    c.daily_penalty_days = "12".into();
    c.daily_penalty_amount = "120000".into();
    v.push(c);
    v
}

#[tokio::test]
async fn statistics_match_a_hand_computed_ledger() {
    let app = spawn_app().await;
    let ids = intake::record(&app.db, &app.org, &Scope::Province, "test", &ledger())
        .await
        .unwrap();
    assert_eq!(ids.len(), 6);
    let year = stats::compute(
        &app.db,
        &app.org,
        &Scope::Province.area(&app.org, None).unwrap(),
        Period {
            year: 2025,
            half: None,
        },
    )
    .await
    .unwrap();
    let v = |k: &str| {
        year.figure(k)
            .unwrap_or_else(|| panic!("no figure {k}"))
            .value
    };
    assert_eq!(v("cases.total"), 6);
    assert_eq!(
        v("cases.fine"),
        41_100_050,
        "fines 10,000.50 + 200,000 + 50,000 + 30,000 + 1,000 and the daily penalty 120,000 yuan, in fen"
    );
    assert_eq!(v("cases.daily_penalty_amount"), 12_000_000);
    assert_eq!(v("cases.penalty_decisions"), 5);
    assert_eq!(v("cases.closed"), 1);
    // Counted as decisions: 2 penalties + 1 seizure + 1 restriction + 2 referrals.
    assert_eq!(v("clear_water.cases"), 6);
    assert_eq!(v("clear_water.ordinary_penalty"), 2);
    assert_eq!(v("clear_water.seal_and_seize"), 1);
    assert_eq!(v("clear_water.production_restriction"), 1);
    assert_eq!(v("clear_water.detention"), 1);
    assert_eq!(v("clear_water.criminal"), 1);
    assert_eq!(v("measures.daily_penalty"), 1);
    assert_eq!(v("referrals.market_regulator"), 1);
    assert_eq!(v("dual_crackdown.hazardous_waste.cases"), 1);
    assert_eq!(v("dual_crackdown.hazardous_waste.criminal"), 1);
    assert_eq!(v("third_party.cases"), 2);
    assert_eq!(v("third_party.fine"), 8_000_000);
    assert_eq!(v("third_party.testing"), 1);
    assert_eq!(v("third_party.eia"), 1);
    assert_eq!(v("third_party.vehicle_emission_testing"), 0);
    assert_eq!(v("third_party.market_regulator"), 1);
    // Drill-down: the figure names its cases.
    assert_eq!(
        year.figure("third_party.testing").unwrap().case_ids,
        vec![ids[3]]
    );
    let mut cw = year.figure("clear_water.cases").unwrap().case_ids.clone();
    cw.sort();
    assert_eq!(cw, vec![ids[0], ids[1], ids[2]]);
    // Region breakdown by city for the province.
    assert_eq!(year.by_region.len(), 1);
    assert_eq!(year.by_region[0].region_code, "350100");

    // The first half holds cases 1, 2, 4, 6.
    let h1 = stats::compute(
        &app.db,
        &app.org,
        &Scope::Province.area(&app.org, None).unwrap(),
        Period {
            year: 2025,
            half: Some(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(h1.figure("cases.total").unwrap().value, 4);
    // Case 1's decision, seizure and referral and case 2's restriction fall in the first half.
    assert_eq!(h1.figure("clear_water.cases").unwrap().value, 4);
    // One county: 台江 has cases 3 and 4.
    let tj = stats::compute(
        &app.db,
        &app.org,
        &Scope::Province.area(&app.org, Some("350103")).unwrap(),
        Period {
            year: 2025,
            half: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(tj.figure("cases.total").unwrap().value, 2);
    assert_eq!(tj.figure("cases.fine").unwrap().value, 25_000_000);
    // A county officer's scope gives the same as the province filtered to the county.
    let scoped = stats::compute(
        &app.db,
        &app.org,
        &Scope::County("350103".into()).area(&app.org, None).unwrap(),
        Period {
            year: 2025,
            half: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(scoped.figure("cases.total").unwrap().value, 2);
    assert_eq!(scoped.by_region[0].name, "台江区");
}

#[tokio::test]
async fn intake_rejects_with_field_and_writes_nothing() {
    let app = spawn_app().await;
    let before = app.scalar("SELECT COUNT(*) FROM cases").await;
    let mut rows = ledger();
    rows[1].credit_code = "91350102MA0000002X".into(); // wrong check character
    rows[2].decided_on = "2025-07-01".into(); // before filing
    rows[3].third_party_subtype = "无此类型".into();
    rows[4].region_code = "350999".into();
    rows[5].fine = "一千元".into();
    let mut dup = ledger().remove(0);
    dup.case_no = "榕鼓楼环罚〔2025〕1号".into();
    rows.push(dup.clone());
    dup.credit_code = code(7);
    rows.push(dup);
    let Err(IntakeError::Invalid(errs)) =
        intake::record(&app.db, &app.org, &Scope::Province, "test", &rows).await
    else {
        panic!("accepted a bad batch")
    };
    let has = |row: usize, field: &str, needle: &str| {
        errs.iter()
            .any(|(r, e)| *r == row && e.field == field && e.message.contains(needle))
    };
    assert!(has(1, "credit_code", "第18位"), "{errs:?}");
    assert!(has(2, "decided_on", "早于"), "{errs:?}");
    assert!(has(3, "third_party_subtype", "无此类型"), "{errs:?}");
    assert!(has(4, "region_code", "350999"), "{errs:?}");
    assert!(has(5, "fine", "一千元"), "{errs:?}");
    assert!(has(7, "case_no", "重复"), "{errs:?}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM cases").await,
        before,
        "nothing written"
    );

    // A county officer may not record another county's case.
    let Err(IntakeError::Invalid(errs)) = intake::record(
        &app.db,
        &app.org,
        &Scope::County("350102".into()),
        "gulou",
        &ledger()[2..3],
    )
    .await
    else {
        panic!("accepted an out-of-scope case")
    };
    assert!(errs[0].1.message.contains("管辖范围"), "{errs:?}");

    // Valid rows are numbered by their unit and audited.
    let ids = intake::record(&app.db, &app.org, &Scope::Province, "test", &ledger()[..1])
        .await
        .unwrap();
    let no: String = sqlx::query_scalar("SELECT case_no FROM cases WHERE id = $1")
        .bind(ids[0])
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(no, "榕鼓楼环罚〔2025〕1号");
    let h = ecowarden_core::audit_log::history(&app.db, "case", &ids[0].to_string())
        .await
        .unwrap();
    assert_eq!(h.len(), 1);
    assert!(
        h[0].after_json
            .as_deref()
            .unwrap()
            .contains("榕鼓楼环罚〔2025〕1号")
    );
}

/// A batch larger than one multi-row insert: ids map back to their rows, automatic numbers
/// go past a number given later in the batch, and every case has its audit entry in order.
#[tokio::test]
async fn batch_numbers_skip_given_ones_and_chain_the_audit() {
    let app = spawn_app().await;
    let mut rows: Vec<NewCase> = (0..450)
        .map(|i| case("350102", &code(i % 5 + 100), "2025-03-01"))
        .collect();
    rows[449].case_no = "榕鼓楼环罚〔2025〕3号".into();
    rows[10].tags = "清水蓝天".into();
    let ids = intake::record(&app.db, &app.org, &Scope::Province, "test", &rows)
        .await
        .unwrap();
    assert_eq!(ids.len(), 450);
    for (i, expected) in [
        (0, "榕鼓楼环罚〔2025〕4号"),
        (10, "榕鼓楼环罚〔2025〕14号"),
        (400, "榕鼓楼环罚〔2025〕404号"),
        (448, "榕鼓楼环罚〔2025〕452号"),
        (449, "榕鼓楼环罚〔2025〕3号"),
    ] {
        let no: String = sqlx::query_scalar("SELECT case_no FROM cases WHERE id = $1")
            .bind(ids[i])
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(no, expected, "row {i}");
        let h = ecowarden_core::audit_log::history(&app.db, "case", &ids[i].to_string())
            .await
            .unwrap();
        assert_eq!(h.len(), 1);
        assert!(h[0].after_json.as_deref().unwrap().contains(expected));
    }
    let tagged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_tags WHERE case_id = $1")
        .bind(ids[10])
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(tagged, 1);
    let officers: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM case_officers WHERE case_id >= $1 AND case_id <= $2",
    )
    .bind(*ids.iter().min().unwrap())
    .bind(*ids.iter().max().unwrap())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(officers, 900);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM facilities WHERE credit_code LIKE '91350102MA00001%'")
            .await,
        5
    );
    let v = ecowarden_core::audit_log::verify(&app.db).await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

/// The demo ledger reproduces the article's figures for 2023.
#[tokio::test]
async fn demo_ledger_has_the_articles_shape() {
    let app = spawn_app().await;
    let s = stats::compute(
        &app.db,
        &app.org,
        &Scope::Province.area(&app.org, None).unwrap(),
        Period {
            year: 2023,
            half: None,
        },
    )
    .await
    .unwrap();
    let v = |k: &str| s.figure(k).unwrap().value;
    // The test template has 400 of the demo's 3,600 cases; every figure scales with it.
    assert!(v("clear_water.cases") > 50);
    assert!(v("third_party.cases") >= 6);
    assert_eq!(v("dual_crackdown.monitoring_fraud.task_forces"), 5);
    assert_eq!(v("dual_crackdown.hazardous_waste.task_forces"), 3);
    assert!(v("third_party.criminal") >= 1);
}

/// Posts the stage form of a case with the version it has; returns the page it leads to.
async fn post_step(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    csrf: &str,
    id: i64,
    fields: Vec<(&'static str, String)>,
) -> String {
    let version: i64 = sqlx::query_scalar("SELECT version FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut form: Vec<(&str, String)> =
        vec![("csrf", csrf.to_owned()), ("version", version.to_string())];
    form.extend(fields);
    let r = client
        .post(format!("{}/cases/{id}/transition", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    // A refused step shows the page again at once (422), the form as typed.
    if r.status().as_u16() == 422 {
        return r.text().await.unwrap();
    }
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let page = client
        .get(format!("{}{to}", app.base))
        .send()
        .await
        .unwrap();
    page.text().await.unwrap()
}

/// The stage form refuses each unlawful step and takes the lawful one; the decision and the
/// payment it records reach the legal checks.
#[tokio::test]
async fn the_stage_form_keeps_the_law() {
    let app = spawn_app().await;
    // 台江: filed 2023-03-06, notified Monday 2023-04-03 (清明 4-05 off: the five working
    // days in which the party may ask for a hearing end on 4-11).
    let mut c = case("350103", &code(201), "2023-03-06");
    c.discovered_on = "2023-03-01".into();
    c.investigation_on = "2023-03-10".into();
    c.prior_notice_on = "2023-04-03".into();
    let id = intake::record(&app.db, &app.org, &Scope::Province, "test", &[c])
        .await
        .unwrap()[0];
    let (client, csrf) = app.login("taijiang").await;
    let step = |fields: Vec<(&'static str, String)>| post_step(&app, &client, &csrf, id, fields);
    let status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
    };
    let decide = |on: &str, extra: Vec<(&'static str, String)>| {
        let mut f = vec![
            ("to", "decided".to_owned()),
            ("on", on.to_owned()),
            ("penalty_kinds", "罚款".to_owned()),
            ("fine", "100000".to_owned()),
            ("legal_basis", "《水污染防治法》第八十三条".to_owned()),
            ("decision_no", "榕台江环罚决〔2023〕9号".to_owned()),
        ];
        f.extend(extra);
        f
    };
    // A decision without its contents.
    let page = step(vec![("to", "decided".into()), ("on", "2023-04-20".into())]).await;
    assert!(page.contains("请选择处罚种类"), "{page}");
    // A 10万 fine inside the hearing window.
    let page = step(decide("2023-04-11", vec![])).await;
    assert!(page.contains("五个工作日内"), "{page}");
    assert_eq!(status().await, "prior_notice");
    // The party asks for a hearing: no decision until it is held.
    step(vec![("to", "hearing".into()), ("on", "2023-04-06".into())]).await;
    let page = step(decide("2023-04-20", vec![])).await;
    assert!(page.contains("须举行听证"), "{page}");
    assert_eq!(status().await, "hearing");
    let page = step(decide(
        "2023-04-20",
        vec![("hearing_held_on", "2023-04-18".into())],
    ))
    .await;
    assert!(
        page.contains("已转为“已作出处罚决定”") || page.contains("已转为"),
        "{page}"
    );
    assert_eq!(status().await, "decided");
    let (kinds, fine, no, held): (String, i64, String, Option<String>) = sqlx::query_as(
        "SELECT penalty_kinds, fine_fen, decision_no, hearing_held_on FROM cases WHERE id = $1",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (kinds.as_str(), fine, no.as_str(), held.as_deref()),
        (
            "fine",
            10_000_000,
            "榕台江环罚决〔2023〕9号",
            Some("2023-04-18")
        )
    );
    step(vec![("to", "served".into()), ("on", "2023-04-21".into())]).await;
    // A fined case does not close unpaid.
    let page = step(vec![("to", "closed".into()), ("on", "2023-05-30".into())]).await;
    assert!(page.contains("缴款日期"), "{page}");
    assert_eq!(status().await, "served");
    step(vec![
        ("to", "closed".into()),
        ("on", "2023-05-30".into()),
        ("paid_on", "2023-05-04".into()),
    ])
    .await;
    assert_eq!(status().await, "closed");
    let paid: Option<String> = sqlx::query_scalar("SELECT paid_on FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(paid.as_deref(), Some("2023-05-04"));
}

/// Posts the correction form of case `id` with the version it has now; returns the status
/// and the page it shows (the case page after a redirect).
async fn post_correction(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    csrf: &str,
    id: i64,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let version: i64 = sqlx::query_scalar("SELECT version FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut form: Vec<(&str, String)> =
        vec![("csrf", csrf.to_owned()), ("version", version.to_string())];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let r = client
        .post(format!("{}/cases/{id}/edit", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page = match r.headers().get("location") {
        Some(to) => client
            .get(format!("{}{}", app.base, to.to_str().unwrap()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        None => r.text().await.unwrap(),
    };
    (status, page)
}

/// A case is corrected with a reason, under intake's rules and the version check; the
/// correction is an audit entry the case page lists by field, in Chinese, by the person's name.
#[tokio::test]
async fn a_correction_keeps_the_rules_and_the_version_and_is_audited() {
    let app = spawn_app().await;
    let c = decided(
        case("350103", &code(301), "2023-03-06"),
        "2023-04-20",
        "5000",
    );
    let id = intake::record(&app.db, &app.org, &Scope::Province, "test", &[c])
        .await
        .unwrap()[0];
    let (client, csrf) = app.login("taijiang").await;
    let audit = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'case' AND action = 'correct'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap()
    };

    let correct = |fields: &'static [(&'static str, &'static str)]| {
        post_correction(&app, &client, &csrf, id, fields)
    };

    // The form shows the case as recorded, vocabularies by their labels.
    let form = crate::helpers::get_text(&client, format!("{}/cases/{id}/edit", app.base)).await;
    assert!(form.contains(r#"value="罚款" checked"#), "{form}");
    assert!(form.contains("2023-04-20"), "{form}");

    // No reason: refused, nothing written.
    let (status, page) = correct(&[("decided_on", "2023-04-21")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("请填写更正原因"), "{page}");
    // A decision before the filing breaks the same rule intake applies.
    let (status, page) = correct(&[("decided_on", "2023-03-01"), ("reason", "录入错误")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("处罚决定日期"), "{page}");
    assert_eq!(audit().await, 0);
    // A fine beyond the bound is refused too.
    let (status, _) = correct(&[("fine", "2000000000"), ("reason", "录入错误")]).await;
    assert_eq!(status, 422);

    // A good correction: the fields change, the version moves on, the audit names them.
    let (status, page) = correct(&[
        ("decided_on", "2023-04-21"),
        ("fine", "6000.50"),
        ("source", "信访投诉"),
        ("penalty_kinds", "罚款"),
        ("penalty_kinds", "警告"),
        ("reason", "以处罚决定书为准"),
    ])
    .await;
    assert_eq!(status, 303, "{page}");
    let (decided_on, fine, source, kinds, version): (String, i64, String, String, i64) =
        sqlx::query_as(
            "SELECT decided_on, fine_fen, source, penalty_kinds, version FROM cases WHERE id = $1",
        )
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        (decided_on.as_str(), fine, source.as_str(), kinds.as_str()),
        ("2023-04-21", 600_050, "complaint", "fine,warning")
    );
    assert_eq!(audit().await, 1);
    // The case page lists the correction by field in Chinese, the officer by name.
    let history = crate::helpers::extract(&page, "id=\"case-history\"", "</table>");
    for want in [
        "更正",
        "处罚决定日期",
        "2023-04-20",
        "2023-04-21",
        "6,000.50元",
        "信访投诉",
        "罚款、警告",
        "以处罚决定书为准",
    ] {
        assert!(history.contains(want), "{want} in {history}");
    }
    assert!(
        !history.contains("taijiang") && !history.contains("complaint"),
        "{history}"
    );
    assert!(!history.contains("{&quot;"), "no raw JSON: {history}");

    // The version seen before the correction is stale now.
    let r = client
        .post(format!("{}/cases/{id}/edit", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", &(version - 1).to_string()),
            ("violation", "改"),
            ("reason", "再改"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("已被他人修改"));
    // Nothing changed: refused without an entry.
    let (status, page) = correct(&[("reason", "无")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("没有字段被修改"), "{page}");
    assert_eq!(audit().await, 1);
    // Another county cannot correct it.
    let (other, other_csrf) = app.login("gulou").await;
    let (status, _) = post_correction(
        &app,
        &other,
        &other_csrf,
        id,
        &[("violation", "改"), ("reason", "越权")],
    )
    .await;
    assert_eq!(status, 403);
}

/// The API's transition endpoint keeps the same law as the stage form: each unlawful step is
/// refused with 409 and the Chinese reason, nothing changes, and the lawful one returns the
/// case as it is after.
#[tokio::test]
async fn the_transition_api_refuses_the_law_s_breaches() {
    let app = spawn_app().await;
    let mut c = case("350103", &code(202), "2023-03-06");
    c.discovered_on = "2023-03-01".into();
    c.investigation_on = "2023-03-10".into();
    let id = intake::record(&app.db, &app.org, &Scope::Province, "test", &[c])
        .await
        .unwrap()[0];
    let (client, csrf) = app.login("taijiang").await;
    let version = || async {
        sqlx::query_scalar::<_, i64>("SELECT version FROM cases WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
    };
    let post = |body: serde_json::Value| {
        client
            .post(format!("{}/api/v1/cases/{id}/transitions", app.base))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let decide = |on: &str, v: i64| {
        serde_json::json!({
            "to": "decided", "on": on, "version": v, "penalty_kinds": "罚款", "fine": "100000",
            "legal_basis": "《水污染防治法》第八十三条", "decision_no": "榕台江环罚决〔2023〕10号",
        })
    };
    let refused = |r: reqwest::Response| async move {
        assert_eq!(r.status().as_u16(), 409);
        r.json::<serde_json::Value>().await.unwrap().to_string()
    };
    // No decision without the prior notice (处罚法 Art 62): the stage cannot be skipped.
    let v = version().await;
    let body = refused(post(decide("2023-04-20", v)).await.unwrap()).await;
    assert!(body.contains("不能转为“已作出处罚决定”"), "{body}");
    assert_eq!(version().await, v, "nothing changed");
    let r = post(serde_json::json!({"to": "prior_notice", "on": "2023-04-03", "version": v}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let after: serde_json::Value = r.json().await.unwrap();
    assert_eq!(after["status"], "prior_notice");
    // A 10万 fine inside the five working days after the notice (清明 4-05 off: to 4-11).
    let v = version().await;
    let body = refused(post(decide("2023-04-11", v)).await.unwrap()).await;
    assert!(body.contains("五个工作日内"), "{body}");
    // A stale version is refused, not applied over another's change.
    let body = refused(post(decide("2023-04-12", v - 1)).await.unwrap()).await;
    assert!(body.contains("已被他人修改"), "{body}");
    // The day after the window the decision stands.
    let r = post(decide("2023-04-12", v)).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let after: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (after["status"].as_str(), after["decided_on"].as_str()),
        (Some("decided"), Some("2023-04-12"))
    );
    // A fined case does not close unpaid; an unknown stage is a bad request.
    let v = version().await;
    let body = refused(
        post(serde_json::json!({"to": "closed", "on": "2023-05-30", "version": v}))
            .await
            .unwrap(),
    )
    .await;
    assert!(body.contains("不能转为") || body.contains("缴款"), "{body}");
    let r = post(serde_json::json!({"to": "nowhere", "on": "2023-05-30", "version": v}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // 鼓楼 may not move 台江's case.
    let (g, gcsrf) = app.login("gulou").await;
    let r = g
        .post(format!("{}/api/v1/cases/{id}/transitions", app.base))
        .header("x-csrf-token", &gcsrf)
        .json(&serde_json::json!({"to": "served", "on": "2023-04-13", "version": v}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}
