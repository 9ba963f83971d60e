//! The leader's dashboard (issue #16): 同比, the ranking of sub-regions, open cases past
//! their 办案期限, listed supervision, pending leads and the drill-down links, on a ledger
//! small enough to compute by hand; and who may start a screening run from the page.

use ecowarden_core::scope::Scope;
use ecowarden_ledger::cases::intake::{self, NewCase};

use crate::helpers::{TestApp, extract, get_text, spawn_app};

/// Credit codes with valid check characters.
fn code(i: u32) -> String {
    let body = format!("91350103MB{i:07}");
    let c = ecowarden_core::ids::CreditCode::check_char(body.as_bytes()).unwrap() as char;
    format!("{body}{c}")
}

/// A case filed on `filed` (discovered the same day), decided on `decided` with a fine.
fn case(i: u32, region: &str, filed: &str, decided: Option<(&str, &str)>) -> NewCase {
    let mut c = NewCase {
        region_code: region.into(),
        facility_name: format!("福建看板{i}有限公司"),
        credit_code: code(i),
        source: "日常检查".into(),
        violation: "超标排放大气污染物".into(),
        discovered_on: filed.into(),
        filed_on: filed.into(),
        officers: format!("闽{region}0001、闽{region}0002"),
        ..Default::default()
    };
    if let Some((on, fine)) = decided {
        c.prior_notice_on = on.into();
        c.decided_on = on.into();
        c.penalty_kinds = "罚款".into();
        c.fine = fine.into();
    }
    c
}

/// 2025 (a year that is over: its 同比 is the whole of 2024) and 2024 in 福州:
///
/// | case | county | filed | decided, fine (yuan) | |
/// |---|---|---|---|---|
/// | G1 | 鼓楼 | 2025-01-10 | 2025-02-10, 10,000 | |
/// | G2 | 鼓楼 | 2025-03-05 | — | open: term ends 2025-06-03 (3-05 + 90 days, a Tuesday) |
/// | G3 | 鼓楼 | 2025-03-20 | 2025-08-01, 5,000 | decided after its term (C3) |
/// | T1 | 台江 | 2025-06-01 | 2025-07-01, 200,000 | served, paid, closed 2025-08-01 |
/// | P1 | 鼓楼 | 2024-02-01 | 2024-03-01, 4,000 | |
/// | P2 | 台江 | 2024-05-01 | 2024-06-01, 100,000 | |
/// | P3 | 台江 | 2024-07-01 | — | |
/// | P4 | 晋安 | 2024-09-01 | 2024-10-01, 1,000 | |
async fn ledger(app: &TestApp) -> Vec<i64> {
    let mut t1 = case(4, "350103", "2025-06-01", Some(("2025-07-01", "200000")));
    t1.served_on = "2025-07-02".into();
    t1.paid_on = "2025-07-10".into();
    t1.closed_on = "2025-08-01".into();
    let cases = vec![
        case(1, "350102", "2025-01-10", Some(("2025-02-10", "10000"))),
        case(2, "350102", "2025-03-05", None),
        case(3, "350102", "2025-03-20", Some(("2025-08-01", "5000"))),
        t1,
        case(5, "350102", "2024-02-01", Some(("2024-03-01", "4000"))),
        case(6, "350103", "2024-05-01", Some(("2024-06-01", "100000"))),
        case(7, "350103", "2024-07-01", None),
        case(8, "350111", "2024-09-01", Some(("2024-10-01", "1000"))),
    ];
    intake::record(&app.db, &app.org, &Scope::Province, "test", &cases)
        .await
        .unwrap()
}

async fn view(app: &TestApp, user: &str, query: &str) -> String {
    let (c, _) = app.login(user).await;
    get_text(&c, format!("{}/{query}", app.base)).await
}

/// The text of the element with `id`, tags removed.
fn text_of(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</").unwrap();
    rest[open..close].trim().to_owned()
}

/// The ranking rows as (rank, region code, cases, fines 万元, 同比 of cases).
fn ranking(page: &str) -> Vec<(String, String, String, String, String)> {
    let table = extract(page, "id=\"ranking-table\"", "</table>");
    table
        .split("<tr data-region=\"")
        .skip(1)
        .map(|row| {
            let code = row[..6].to_owned();
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    let c = c.split("</td>").next().unwrap();
                    // Strip the link of the region's name.
                    let mut out = String::new();
                    let mut inside = false;
                    for ch in c.chars() {
                        match ch {
                            '<' => inside = true,
                            '>' => inside = false,
                            _ if !inside => out.push(ch),
                            _ => {}
                        }
                    }
                    out.trim().to_owned()
                })
                .collect();
            (
                cells[0].clone(),
                code,
                cells[2].clone(),
                cells[4].clone(),
                cells[3].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_city_leaders_dashboard_on_a_hand_computed_ledger() {
    let app = spawn_app().await;
    let ids = ledger(&app).await;
    let g2 = ids[1];
    let page = view(&app, "fz_leader", "?year=2025").await;

    // Figures and 同比 against the whole of 2024: 4 cases then and now; 1 closed against 0;
    // fines 215,000 against 105,000 yuan (+104.8%).
    assert_eq!(text_of(&page, "kpi-cases"), "4");
    assert_eq!(text_of(&page, "yoy-cases"), "同比 +0.0%");
    assert_eq!(text_of(&page, "kpi-closed"), "1");
    assert_eq!(text_of(&page, "yoy-closed"), "同比 去年同期为0");
    assert_eq!(text_of(&page, "kpi-fines"), "21.50");
    assert_eq!(text_of(&page, "yoy-fines"), "同比 +104.8%");
    assert!(page.contains("与2024年全年相比"), "{page}");

    // The counties of 福州, every one ranked: 鼓楼 3 (1 in 2024: +200.0%), 台江 1 (2: -50.0%),
    // the other eleven 0 sharing rank 3 (晋安 had 1: -100.0%), in code order.
    let rows = ranking(&page);
    assert_eq!(
        rows.len(),
        app.org.counties_of("350100").count(),
        "{rows:?}"
    );
    assert_eq!(
        rows[0],
        (
            "1".into(),
            "350102".into(),
            "3".into(),
            "1.50".into(),
            "+200.0%".into()
        )
    );
    assert_eq!(
        rows[1],
        (
            "2".into(),
            "350103".into(),
            "1".into(),
            "20.00".into(),
            "-50.0%".into()
        )
    );
    assert!(
        rows[2..].iter().all(|r| r.0 == "3" && r.2 == "0"),
        "{rows:?}"
    );
    let jinan = rows.iter().find(|r| r.1 == "350111").unwrap();
    assert_eq!(jinan.4, "-100.0%");
    assert!(page.contains("href=\"/cases?year=2025&amp;region=350102\""));
    // By fines: 台江 first.
    let by_fines = ranking(&view(&app, "fz_leader", "?year=2025&rank=fines").await);
    assert_eq!(by_fines[0].1, "350103");
    assert_eq!(by_fines[1].1, "350102");

    // Open past its term: G2 alone, due 2025-06-03. Decided late (G3): counted from the
    // stored check run once 案卷检查 has run the year.
    assert_eq!(text_of(&page, "past-term-count"), "1");
    let past = extract(&page, "id=\"past-term\"", "</section>");
    assert!(past.contains(&format!("/cases/{g2}")), "{past}");
    assert!(
        past.contains("<td>2025-03-05</td><td>2025-06-03</td>"),
        "{past}"
    );
    assert!(past.contains("尚未运行案卷检查"), "{past}");
    let (c, _) = app.login("fz_leader").await;
    get_text(&c, format!("{}/checks?year=2025", app.base)).await;
    let page = view(&app, "fz_leader", "?year=2025").await;
    assert_eq!(
        text_of(&page, "decided-late"),
        "已作出决定但超过办案期限的案件 1 件"
    );

    // Drill-down: the March bar is G2 and G3 (filed in March); each bar names its list.
    assert!(page.contains("\"/cases?year=2025&month=3\""), "month links");
    let list = get_text(&c, format!("{}/cases?year=2025&month=3", app.base)).await;
    assert_eq!(text_of(&list, "case-total"), "2");
    let list = get_text(&c, format!("{}/cases?year=2025&region=350103", app.base)).await;
    assert_eq!(text_of(&list, "case-total"), "1");

    // Scope: 厦门's leader sees none of it; a county officer has no ranking.
    let xm = view(&app, "xm_leader", "?year=2025").await;
    assert_eq!(text_of(&xm, "kpi-cases"), "0");
    assert!(
        !xm.contains("data-region=\"3501"),
        "福州's counties on 厦门's page"
    );
    assert!(xm.contains("data-region=\"350203\""));
    let gulou = view(&app, "gulou", "?year=2025").await;
    assert_eq!(text_of(&gulou, "kpi-cases"), "3");
    assert!(!gulou.contains("ranking-table"));
    // The province ranks its cities: 福州 first with 4.
    let province = ranking(&view(&app, "admin", "?year=2025").await);
    assert_eq!(province[0].1, "350100");
    assert_eq!(province[0].2, "4");
    assert!(province[1..].iter().all(|r| r.2 == "0"));
}

/// Listed supervision and pending leads are counted in the leader's area only.
#[tokio::test]
async fn listed_supervision_and_leads_stay_in_scope() {
    let app = spawn_app().await;
    let ids = ledger(&app).await;
    sqlx::query(
        "INSERT INTO listed_supervisions (case_id, level, joint_with, listed_on, deadline, closed_on) \
         VALUES ($1, 'city', '', '2025-04-01', '2025-06-30', NULL)",
    )
    .bind(ids[1])
    .execute(app.db.pool())
    .await
    .unwrap();
    app.lead_in("350102").await;
    let open = |city: &'static str| {
        let db = app.db.clone();
        async move {
            let listed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM listed_supervisions s JOIN cases c ON c.id = s.case_id \
                 WHERE c.city_code = $1 AND s.closed_on IS NULL",
            )
            .bind(city)
            .fetch_one(db.pool())
            .await
            .unwrap();
            let leads: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM leads WHERE city_code = $1 AND status = 'open'",
            )
            .bind(city)
            .fetch_one(db.pool())
            .await
            .unwrap();
            (listed, leads)
        }
    };
    let fz = view(&app, "fz_leader", "?year=2025").await;
    let (listed, leads) = open("350100").await;
    assert!(listed >= 1 && leads >= 1);
    assert_eq!(text_of(&fz, "kpi-listed"), listed.to_string());
    assert_eq!(text_of(&fz, "kpi-leads"), leads.to_string());
    let section = extract(&fz, "id=\"listed\"", "</section>");
    assert!(section.contains(&format!("/cases/{}", ids[1])));
    // The earliest 20 are listed, the count covers them all.
    let rows = section.matches("<tr><td><a href=\"/cases/").count() as i64;
    assert_eq!(rows, listed.min(20));
    assert_eq!(section.contains("仅列出办结时限最早的"), listed > 20);
    let xm = view(&app, "xm_leader", "?year=2025").await;
    let (listed, leads) = open("350200").await;
    assert_eq!(text_of(&xm, "kpi-listed"), listed.to_string());
    assert_eq!(text_of(&xm, "kpi-leads"), leads.to_string());
    assert!(!xm.contains(&format!("/cases/{}\"", ids[1])));
}

/// Only the provincial administrator and analyst see and may use 启动筛查; the others get
/// 403 and no button.
#[tokio::test]
async fn only_provincial_users_start_screening() {
    let app = spawn_app().await;
    for (user, allowed) in [
        ("admin", true),
        ("analyst", true),
        ("fz_leader", false),
        ("gulou", false),
        ("auditor", false),
    ] {
        let (c, csrf) = app.login(user).await;
        let queue = get_text(&c, format!("{}/leads", app.base)).await;
        assert_eq!(queue.contains("id=\"screening-link\""), allowed, "{user}");
        let r = c
            .get(format!("{}/leads/screening", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            if allowed { 200 } else { 403 },
            "{user}"
        );
        // A reversed period: refused with what was typed (provincial), or not at all (others).
        let r = c
            .post(format!("{}/leads/screening", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("from", "2026-11-20"),
                ("to", "2026-11-10"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            if allowed { 422 } else { 403 },
            "{user}"
        );
        if allowed {
            let body = r.text().await.unwrap();
            assert!(body.contains("晚于结束日期"), "{body}");
            assert!(body.contains("value=\"2026-11-20\""), "{body}");
        }
    }
    let started: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'screening'")
        .await;
    assert_eq!(started, 0, "nothing started");
}

/// A run started from the page screens the archive with the command's function, shows its
/// progress, and when it ends the leads it stored; the start is in the audit log.
#[tokio::test]
async fn a_screening_run_from_the_page() {
    let app = spawn_app().await;
    let settings_dir = app.data.clone();
    let seeded = ecowarden_monitoring::screening::seed_demo(&app.db, &app.org, &settings_dir, 11)
        .await
        .unwrap();
    assert!(seeded.leads > 0);
    let today = ecowarden_core::clock::today();
    let (from, to) = (today - chrono::Days::new(3), today - chrono::Days::new(1));
    let (c, csrf) = app.login("analyst").await;
    let r = c
        .post(format!("{}/leads/screening", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("from", &from.to_string()),
            ("to", &to.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let mut page = String::new();
    for _ in 0..600 {
        page = get_text(&c, format!("{}/leads/screening", app.base)).await;
        if page.contains("data-running=\"0\"") {
            break;
        }
        assert!(page.contains("id=\"screening-progress\""), "{page}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(page.contains("上次筛查已完成"), "{page}");
    // The demo's own run stored the same period's leads: this run updates every one of them.
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE period_from = $1 AND period_to = $2")
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(text_of(&page, "screening-leads"), stored.to_string());
    let table = extract(&page, "id=\"screening-stored\"", "</table>");
    assert_eq!(table.matches("<a href=\"/leads/").count() as i64, stored);
    let (actor, action, entity_id): (String, String, String) =
        sqlx::query_as("SELECT actor, action, entity_id FROM audit_log WHERE entity = 'screening'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        (actor.as_str(), action.as_str(), entity_id),
        ("analyst", "start", format!("{from}..{to}"))
    );
    let rescreened: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'lead' AND action = 'rescreen' AND actor = 'analyst'")
        .await;
    assert_eq!(rescreened, stored);
}

/// A case-page form, the fields sent, the reason expected and the typed values expected back.
type RefusedForm<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>);

/// Every case-page form that is refused comes back (422) with the reason and what was typed.
#[tokio::test]
async fn refused_case_forms_keep_what_was_typed() {
    let app = spawn_app().await;
    let ids = ledger(&app).await;
    let g2 = ids[1];
    let version: i64 = sqlx::query_scalar("SELECT version FROM cases WHERE id = $1")
        .bind(g2)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let version = version.to_string();
    let (c, csrf) = app.login("gulou").await;
    // (form, fields, the reason shown, the typed values shown again)
    let forms: Vec<RefusedForm> = vec![
        (
            "documents",
            vec![
                ("doc_type", "4"),
                ("doc_no", "保留-文号-77"),
                ("signed_on", "2099-01-01"),
            ],
            "签发日期",
            vec![
                "value=\"保留-文号-77\"",
                "value=\"2099-01-01\"",
                "<option value=\"4\" selected>",
            ],
        ),
        (
            "records",
            vec![
                ("kind", "interview"),
                ("started_at", "2025-03-06T10:00"),
                ("ended_at", "2025-03-06T09:00"),
                ("place", "保留地点"),
                ("officers", "闽3501020001、闽3501020002"),
            ],
            "结束时间应晚于开始时间",
            vec![
                "value=\"保留地点\"",
                "value=\"2025-03-06T09:00\"",
                "value=\"interview\" selected",
            ],
        ),
        (
            "approvals",
            vec![
                ("kind", "term_extension"),
                ("approved_on", "2099-01-01"),
                ("approver", "保留批准人"),
            ],
            "批准日期",
            vec!["value=\"保留批准人\"", "value=\"term_extension\" selected"],
        ),
        (
            "evidence",
            vec![
                ("kind", "physical"),
                ("description", "保留证据描述"),
                ("collected_on", "2099-01-01"),
                ("collected_by", "闽3501020001"),
            ],
            "取证日期",
            vec!["value=\"保留证据描述\"", "value=\"闽3501020001\""],
        ),
        (
            "provisions",
            vec![("role", "penalty"), ("provisions", "保留条款文本")],
            "保留条款文本",
            vec!["value=\"保留条款文本\"", "value=\"penalty\" selected"],
        ),
        (
            "hearing",
            vec![
                ("notice_kind", "hearing"),
                ("statement_on", "2099-01-01"),
                ("hearing_host", "保留主持人"),
            ],
            "2099-01-01",
            vec!["value=\"保留主持人\"", "value=\"2099-01-01\""],
        ),
        (
            "transition",
            vec![
                ("version", version.as_str()),
                ("to", "decided"),
                ("on", "2025-04-20"),
                ("fine", "12345"),
                ("decision_no", "保留决定书"),
            ],
            "处罚种类",
            vec![
                "value=\"保留决定书\"",
                "value=\"12345\"",
                "value=\"2025-04-20\"",
            ],
        ),
        (
            "measures",
            vec![
                ("kind", "seal_and_seize"),
                ("decided_on", "2025-03-10"),
                ("items", "保留物品"),
                ("days", "十天"),
            ],
            "天数",
            vec!["value=\"保留物品\"", "value=\"十天\""],
        ),
        (
            "referrals",
            vec![
                ("kind", "criminal"),
                ("agency", "保留接收机关"),
                ("referred_on", "1999-01-01"),
            ],
            "",
            vec!["value=\"保留接收机关\"", "value=\"criminal\" selected"],
        ),
    ];
    for (form, fields, reason, kept) in forms {
        let mut body = vec![("csrf", csrf.as_str())];
        body.extend(fields);
        let r = c
            .post(format!("{}/cases/{g2}/{form}", app.base))
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{form}");
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"form-error\""), "{form}: {page}");
        assert!(page.contains(reason), "{form}: no “{reason}”");
        let shown = extract(&page, &format!("id=\"form-{form}\""), "</form>");
        for v in kept {
            assert!(shown.contains(v), "{form}: {v} not kept in {shown}");
        }
    }
    // A referral's outcome row: a count that is not a number, then a date before the
    // referral, each come back in that row's form with the reason.
    let r = c
        .post(format!("{}/cases/{g2}/referrals", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "detention"),
            ("agency", "鼓楼分局"),
            ("referred_on", "2025-03-20"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "the referral is recorded");
    let referral: i64 = sqlx::query_scalar("SELECT MAX(id) FROM referrals WHERE case_id = $1")
        .bind(g2)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let rid = referral.to_string();
    for (fields, reason, kept) in [
        (
            vec![("persons_detained", "两人"), ("accepted_on", "2025-03-21")],
            "行政拘留人数“两人”应为整数",
            vec!["value=\"两人\"", "value=\"2025-03-21\""],
        ),
        (
            vec![("persons_detained", "2"), ("accepted_on", "2025-03-01")],
            "受理",
            vec!["value=\"2\"", "value=\"2025-03-01\""],
        ),
    ] {
        let mut body = vec![("csrf", csrf.as_str()), ("referral", rid.as_str())];
        body.extend(fields);
        let r = c
            .post(format!("{}/referrals/{referral}/outcome", app.base))
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422, "{reason}");
        let page = r.text().await.unwrap();
        let error = extract(&page, "id=\"outcome-error\"", "</p>");
        assert!(error.contains(reason), "no “{reason}” in {error}");
        let shown = extract(&page, &format!("id=\"form-outcome-{referral}\""), "</form>");
        for v in kept {
            assert!(shown.contains(v), "{v} not kept in {shown}");
        }
    }
    let recorded: i64 = sqlx::query_scalar("SELECT persons_detained FROM referrals WHERE id = $1")
        .bind(referral)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(recorded, 0, "a refused outcome changes nothing");
}
