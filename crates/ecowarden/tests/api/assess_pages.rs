//! The 效能评估 pages: the rule editor and its versions, tasks (挂图作战) with the
//! `tasks.completion` metric and overdue tasks on the dashboard, runs from the page (equal to
//! `assess run`), scoping of rankings and score sheets, downloads and comparison.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::Value;

use crate::helpers::{TestApp, extract, get_status, get_text, spawn_app};
use crate::ledger_io::{BOUNDARY, file_part};

/// A multipart body as the pages' upload forms send it: csrf first, then the text fields,
/// then the file (if any).
pub(crate) fn form_data(
    csrf: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in std::iter::once(&("csrf", csrf)).chain(fields) {
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .into_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend(file_part(name, bytes));
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    body
}

async fn post_multipart(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    c.post(format!("{}{path}", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", csrf));
    c.post(format!("{}{path}", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The id in a redirect to `{prefix}{id}?…`.
fn id_in(r: &reqwest::Response, prefix: &str) -> i64 {
    let l = location(r);
    l.strip_prefix(prefix)
        .and_then(|rest| rest.split('?').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id after {prefix} in {l}"))
}

/// Saves a rule file as the administrator through the editor; returns the version.
pub(crate) async fn save_rules(app: &TestApp, text: &str) -> i64 {
    let (c, csrf) = app.login("admin").await;
    let r = post_multipart(
        app,
        &c,
        "/assessment/rules",
        form_data(&csrf, &[("text", text)], None),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    id_in(&r, "/assessment/rules/")
}

/// Runs an evaluation from the page as the administrator; returns the run.
pub(crate) async fn run_from_page(app: &TestApp, set: i64, year: &str, half: &str) -> i64 {
    let (c, csrf) = app.login("admin").await;
    let set = set.to_string();
    let r = post_form(
        app,
        &c,
        &csrf,
        "/assessment/runs",
        &[("rule_set", &set), ("year", year), ("half", half)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    id_in(&r, "/assessment/runs/")
}

/// A text area's content as the browser reads it.
fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A task of 台江 (350103) for the first indicator of a rule set, with an evidence file its
/// owner uploaded; returns its id.
pub(crate) async fn task_of_taijiang(app: &TestApp, set: i64) -> i64 {
    let (admin, csrf) = app.login("admin").await;
    let indicator = format!("{set}/1");
    let r = post_form(
        app,
        &admin,
        &csrf,
        "/assessment/tasks",
        &[
            ("indicator", &indicator),
            ("title", "整改台账"),
            ("owner", "350103"),
            ("deadline", "2024-06-30"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let id = app.scalar("SELECT MAX(id) FROM assessment_tasks").await;
    let (c, csrf) = app.login("taijiang").await;
    let body = form_data(
        &csrf,
        &[("progress", "60"), ("evidence", "已整改过半")],
        Some(("证明.txt", b"proof")),
    );
    let r = post_multipart(app, &c, &format!("/assessment/tasks/{id}"), body).await;
    assert_eq!(r.status(), 303);
    id
}

#[tokio::test]
async fn the_editor_loads_defaults_keeps_versions_and_names_each_bad_line() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let page = get_text(
        &c,
        format!("{}/assessment/rules?template=county&year=2025", app.base),
    )
    .await;
    let text = extract(
        &page,
        "id=\"rules-text\" spellcheck=\"false\">",
        "</textarea>",
    );
    assert!(text.contains("year = 2025"), "{text}");
    assert!(text.contains("2025年度县级"), "{text}");
    let text = unescape(&text);

    // Adjusting a rule: the first linear rule's `per` changed.
    let adjusted = text.replacen("per = 0.5", "per = 0.6", 1);
    assert_ne!(adjusted, text);
    let v1 = save_rules(&app, &adjusted).await;
    // The same text again is the same version; an edit a new one.
    assert_eq!(save_rules(&app, &adjusted).await, v1);
    let v2 = save_rules(&app, &adjusted.replacen("per = 0.6", "per = 0.7", 1)).await;
    assert!(v2 > v1);

    // A bad file: 422, every problem with its line, the input kept, nothing saved.
    let bad = adjusted
        .replacen("kind = \"linear\"", "kind = \"linar\"", 1)
        .replacen("metric = \"cases\"", "metric = \"nonsense\"", 1);
    let before = app
        .scalar("SELECT COUNT(*) FROM assessment_rule_sets")
        .await;
    let r = post_multipart(
        &app,
        &c,
        "/assessment/rules",
        form_data(&csrf, &[("text", &bad)], None),
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    let errors = extract(&page, "id=\"rule-errors\"", "</div>");
    assert!(errors.contains("第") && errors.contains("行："), "{errors}");
    assert!(errors.contains("linar"), "{errors}");
    let kept = extract(
        &page,
        "id=\"rules-text\" spellcheck=\"false\">",
        "</textarea>",
    );
    assert_eq!(unescape(&kept), bad, "the input is kept");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_rule_sets")
            .await,
        before
    );

    // Import: a file instead of the text area; export gives the text back.
    let imported = crate::assess::RULES;
    let r = post_multipart(
        &app,
        &c,
        "/assessment/rules",
        form_data(
            &csrf,
            &[("text", "")],
            Some(("rules.toml", imported.as_bytes())),
        ),
    )
    .await;
    assert_eq!(r.status(), 303);
    let v3 = id_in(&r, "/assessment/rules/");
    let r = c
        .get(format!("{}/assessment/rules/{v3}/export.toml", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), imported);

    // Others read, never save.
    let (analyst, acsrf) = app.login("analyst").await;
    assert_eq!(
        get_status(&analyst, format!("{}/assessment/rules/{v3}", app.base)).await,
        200
    );
    let r = post_multipart(
        &app,
        &analyst,
        "/assessment/rules",
        form_data(&acsrf, &[("text", imported)], None),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'assessment_rule_set'")
            .await,
        3
    );
}

#[tokio::test]
async fn a_run_from_the_page_equals_assess_run() {
    let app = spawn_app().await;
    let set = save_rules(&app, crate::assess::RULES).await;
    let id = run_from_page(&app, set, "2023", "1").await;
    let stored = ecowarden_assessment::load(&app.db, id)
        .await
        .unwrap()
        .result;
    let file = crate::assess::rules_file(crate::assess::RULES);
    let cli = crate::assess::assess(&app, &file, &["--half", "1"]);
    std::fs::remove_file(&file).unwrap();
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("run");
        v
    };
    assert_eq!(strip(stored), strip(cli));
    // One rule set for both: the page ran the version it was given.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_rule_sets")
            .await,
        1
    );
}

/// The units a run page lists, by their codes.
fn codes(page: &str) -> Vec<String> {
    let table = extract(page, "id=\"ranking\"", "</table>");
    table
        .split("data-code=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rankings_sheets_and_downloads_are_scoped() {
    let app = spawn_app().await;
    let set = save_rules(&app, crate::assess::RULES).await;
    let run = run_from_page(&app, set, "2023", "").await;
    let at = |p: &str| format!("{}{p}", app.base);

    let (admin, _) = app.login("admin").await;
    let page = get_text(&admin, at(&format!("/assessment/runs/{run}"))).await;
    let all = codes(&page);
    assert!(all.len() > 60, "{} county units", all.len());
    assert!(
        page.contains("<svg") && page.contains("tile-map"),
        "the map"
    );
    assert!(page.contains("id=\"chart-ranking\""), "the chart");

    // A city leader: their city's units only, ranks as the run gave them.
    let (fz, _) = app.login("fz_leader").await;
    let page = get_text(&fz, at(&format!("/assessment/runs/{run}"))).await;
    let mine = codes(&page);
    assert!(!mine.is_empty());
    assert!(
        mine.iter().all(|c| c.starts_with("3501") && c != "350128"),
        "{mine:?}"
    );
    assert_eq!(
        get_status(&fz, at(&format!("/assessment/runs/{run}/units/350203"))).await,
        403
    );
    assert_eq!(
        get_status(&fz, at(&format!("/assessment/runs/{run}/export.xlsx"))).await,
        403
    );

    // An officer: no ranking, only the own unit's sheet.
    let (gulou, _) = app.login("gulou").await;
    assert_eq!(
        get_status(&gulou, at(&format!("/assessment/runs/{run}"))).await,
        403
    );
    assert_eq!(
        get_status(&gulou, at(&format!("/assessment/runs/{run}/units/350103"))).await,
        403
    );
    let sheet = get_text(&gulou, at(&format!("/assessment/runs/{run}/units/350102"))).await;
    // Every point with its value and the cases behind it.
    let filed: Vec<i64> = ecowarden_assessment::evidence(&app.db, run, "350102", "cases")
        .await
        .unwrap();
    assert!(!filed.is_empty());
    assert!(
        sheet.contains(&format!("<a href=\"/cases/{}\">", filed[0])),
        "{sheet}"
    );
    assert!(sheet.contains("data-rule=\"2.1\""));

    // Downloads: the whole run's, for those whose scope covers it.
    let r = admin
        .get(at(&format!("/assessment/runs/{run}/export.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let r = admin
        .get(at(&format!("/assessment/runs/{run}/bulletin.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(
        pdf.starts_with(b"%PDF-") && pdf.len() > 10_000,
        "{} bytes",
        pdf.len()
    );
}

#[tokio::test]
async fn two_runs_compare_per_unit_and_indicator() {
    let app = spawn_app().await;
    let set = save_rules(&app, crate::assess::RULES).await;
    let first = run_from_page(&app, set, "2023", "1").await;
    let year = run_from_page(&app, set, "2023", "").await;
    let (c, _) = app.login("admin").await;
    let page = get_text(
        &c,
        format!("{}/assessment/compare?a={first}&b={year}", app.base),
    )
    .await;
    let a = ecowarden_assessment::load(&app.db, first)
        .await
        .unwrap()
        .result;
    let b = ecowarden_assessment::load(&app.db, year)
        .await
        .unwrap()
        .result;
    let unit = |r: &Value| {
        r["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["region_code"] == "350102")
            .unwrap()
            .clone()
    };
    let (ua, ub) = (unit(&a), unit(&b));
    let row = extract(&page, "data-code=\"350102\"", "</tr>");
    let change = ub["score"].as_f64().unwrap() - ua["score"].as_f64().unwrap();
    for want in [
        ua["score"].to_string(),
        ub["score"].to_string(),
        format!("{}{change:.2}", if change > 0.0 { "+" } else { "" }),
    ] {
        assert!(row.contains(&format!(">{want}<")), "{want} in {row}");
    }
    // Runs of different levels are refused.
    let city = save_rules(
        &app,
        &crate::assess::RULES.replace("level = \"county\"", "level = \"city\""),
    )
    .await;
    let city_run = run_from_page(&app, city, "2023", "").await;
    assert_eq!(
        get_status(
            &c,
            format!("{}/assessment/compare?a={first}&b={city_run}", app.base)
        )
        .await,
        422
    );
    // Officers compare nothing.
    let (gulou, _) = app.login("gulou").await;
    assert_eq!(
        get_status(
            &gulou,
            format!("{}/assessment/compare?a={first}&b={year}", app.base)
        )
        .await,
        403
    );
}

/// Days inside the current year around today, for tasks that must be in this year's period.
fn this_year(today: NaiveDate, days: i64) -> String {
    let d = today + Duration::days(days);
    let (first, last) = (
        NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(today.year(), 12, 31).unwrap(),
    );
    d.clamp(first, last).to_string()
}

/// A county rule over task completion alone, for the current year.
fn completion_rules(year: i32) -> String {
    format!(
        r#"
name = "任务完成率"
year = {year}
subject = "collective"
level = "county"
[[indicator]]
id = "1"
name = "挂图作战"
max = 10
  [[indicator.rule]]
  id = "1.1"
  metric = "tasks.completion"
  kind = "ratio"
  target = 1
  max = 10
"#
    )
}

#[tokio::test]
async fn tasks_owners_overdue_and_the_completion_metric() {
    let app = spawn_app().await;
    let today = ecowarden_core::clock::today();
    let year = today.year();
    let set = save_rules(&app, &completion_rules(year)).await;
    let (admin, csrf) = app.login("admin").await;
    let indicator = format!("{set}/1");
    let create = async |title: &str, owner: &str, deadline: &str| {
        let r = post_form(
            &app,
            &admin,
            &csrf,
            "/assessment/tasks",
            &[
                ("indicator", &indicator),
                ("title", title),
                ("owner", owner),
                ("deadline", deadline),
            ],
        )
        .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        app.scalar("SELECT MAX(id) FROM assessment_tasks").await
    };
    let future = this_year(today, 20);
    let past = this_year(today, -40);
    // 鼓楼 (350102): one done in time, one of its officer open, one overdue.
    let a = create("整理立案台账", "350102", &future).await;
    let b = create("组织专项检查", "gulou", &future).await;
    let overdue = create("补报上半年数据", "350102", &past).await;
    // 台江 (350103): one done in time, one done late.
    let d = create("开展培训", "350103", &future).await;
    let e = create("提交自查报告", "350103", &past).await;

    // Owners update their own tasks; others are refused.
    let (gulou, gcsrf) = app.login("gulou").await;
    let (taijiang, tcsrf) = app.login("taijiang").await;
    let done = |csrf: &str, file: Option<(&'static str, &'static [u8])>| {
        form_data(
            csrf,
            &[("progress", "100"), ("done", "1"), ("evidence", "已完成")],
            file,
        )
    };
    let r = post_multipart(
        &app,
        &taijiang,
        &format!("/assessment/tasks/{a}"),
        done(&tcsrf, None),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_multipart(
        &app,
        &gulou,
        &format!("/assessment/tasks/{a}"),
        done(&gcsrf, Some(("台账.txt", b"evidence bytes"))),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    for t in [d, e] {
        let r = post_multipart(
            &app,
            &taijiang,
            &format!("/assessment/tasks/{t}"),
            done(&tcsrf, None),
        )
        .await;
        assert_eq!(r.status(), 303);
    }
    // The file is kept in the data directory and served back to those in scope.
    let r = gulou
        .get(format!("{}/assessment/tasks/{a}/evidence", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], b"evidence bytes");
    assert!(
        app.data
            .join("assessment-tasks")
            .join(a.to_string())
            .join("台账.txt")
            .exists()
    );
    assert_eq!(
        get_status(
            &taijiang,
            format!("{}/assessment/tasks/{a}/evidence", app.base)
        )
        .await,
        403
    );

    // Overdue on the dashboard of those whose scope covers the owner.
    for (user, sees) in [
        ("gulou", true),
        ("fz_leader", true),
        ("admin", true),
        ("taijiang", false),
        ("xm_leader", false),
    ] {
        let (c, _) = app.login(user).await;
        let page = get_text(&c, format!("{}/", app.base)).await;
        let section = page.contains(&format!("/assessment/tasks#task-{overdue}\">"));
        assert_eq!(section, sees, "{user}");
    }
    // 台江's late task is done: not overdue.
    let (c, _) = app.login("taijiang").await;
    assert!(
        !get_text(&c, format!("{}/", app.base))
            .await
            .contains("id=\"overdue-tasks\"")
    );

    // tasks.completion, by hand: 鼓楼 1 of 3 in time, 台江 1 of 2 (one done late).
    let run = run_from_page(&app, set, &year.to_string(), "").await;
    let result = ecowarden_assessment::load(&app.db, run)
        .await
        .unwrap()
        .result;
    let rule = |code: &str| {
        result["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["region_code"] == code)
            .unwrap()["indicators"][0]["rules"][0]
            .clone()
    };
    assert_eq!(rule("350102")["value"], 0.3333);
    assert_eq!(rule("350102")["score"], 3.33);
    assert_eq!(rule("350103")["value"], 0.5);
    assert_eq!(rule("350103")["score"], 5.0);
    assert_eq!(rule("350104")["value"], 0.0);
    let mut behind = ecowarden_assessment::evidence(&app.db, run, "350102", "tasks.completion")
        .await
        .unwrap();
    behind.sort();
    assert_eq!(behind, [a, b, overdue]);

    // Every change audited: five created, three updated.
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'assessment_task' AND action = 'create'"
        )
        .await,
        5
    );
    assert_eq!(
        app.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'assessment_task' AND action = 'update'"
        )
        .await,
        3
    );
    // The board, by indicator and by owner.
    let page = get_text(&admin, format!("{}/assessment/tasks?by=owner", app.base)).await;
    assert!(page.contains("台江区") && page.contains(&format!("id=\"task-{e}\"")));
}

/// The fields of the entry form for a value of a unit in 2023.
fn entry_fields<'a>(
    unit: &'a str,
    metric: &'a str,
    value: &'a str,
    why: &'a str,
) -> [(&'a str, &'a str); 7] {
    [
        ("year", "2023"),
        ("half", ""),
        ("unit", unit),
        ("officer", ""),
        ("metric", metric),
        ("value", value),
        ("justification", why),
    ]
}

/// A value of 台江 (350103) for `manual.standard_site` in 2023, entered from the page by the
/// administrator with an evidence file; returns the entry's id.
pub(crate) async fn entry_of_taijiang(app: &TestApp) -> i64 {
    let (c, csrf) = app.login("admin").await;
    let fields = entry_fields("350103", "manual.standard_site", "1", "通过省级规范化验收");
    let body = form_data(
        &csrf,
        &fields,
        Some(("验收意见.txt", "验收合格".as_bytes())),
    );
    let r = post_multipart(app, &c, "/assessment/entries", body).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(location(&r).starts_with("/assessment/entries?year=2023&half=&msg="));
    app.scalar("SELECT MAX(id) FROM assessment_entries").await
}

#[tokio::test]
async fn a_value_entered_on_the_page_is_listed_downloaded_and_scored() {
    let app = spawn_app().await;
    let id = entry_of_taijiang(&app).await;
    let at = |p: &str| format!("{}{p}", app.base);
    let (admin, csrf) = app.login("admin").await;
    let page = get_text(&admin, at("/assessment")).await;
    assert!(
        page.contains("id=\"entries-link\""),
        "the overview links the page"
    );
    let page = get_text(&admin, at("/assessment/entries?year=2023")).await;
    let row = extract(&page, &format!("id=\"entry-{id}\">"), "</tr>");
    for part in [
        "台江区",
        "manual.standard_site",
        "通过省级规范化验收",
        &format!("href=\"/assessment/entries/{id}/file\">验收意见.txt</a>"),
    ] {
        assert!(row.contains(part), "{part} not in {row}");
    }
    let r = admin
        .get(at(&format!("/assessment/entries/{id}/file")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let disposition = r.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"entry-")
            && disposition.contains("UTF-8''%E9%AA%8C"),
        "{disposition}"
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), "验收合格".as_bytes());
    // Another period has none.
    let page = get_text(&admin, at("/assessment/entries?year=2023&half=1")).await;
    assert!(!page.contains(&format!("id=\"entry-{id}\"")));

    // An officer's value: named with their certificate, 台江's like the unit's.
    let (cert, name): (String, String) = sqlx::query_as(
        "SELECT certificate_no, name FROM officers WHERE region_code = '350103' \
         AND certificate_no IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let mut fields = entry_fields("", "officer.contest", "90", "全省执法大练兵第一名");
    fields[3] = ("officer", &cert);
    let r = post_multipart(
        &app,
        &admin,
        "/assessment/entries",
        form_data(&csrf, &fields, None),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let page = get_text(&admin, at("/assessment/entries?year=2023")).await;
    assert!(
        page.contains(&format!(
            "{name}（证号 {cert}）</td><td>竞赛比武成绩（officer.contest）"
        )),
        "{page}"
    );

    // Scoped: 厦门's leader neither lists them nor downloads the file.
    let (xm, _) = app.login("xm_leader").await;
    let page = get_text(&xm, at("/assessment/entries?year=2023")).await;
    assert!(page.contains("id=\"entries\""), "{page}");
    assert!(!page.contains(&format!("id=\"entry-{id}\"")));
    assert!(!page.contains(&cert));
    assert_eq!(
        get_status(&xm, at(&format!("/assessment/entries/{id}/file"))).await,
        403
    );

    // A kept rule file names the metric: the list shows its rule's name, and a run scores the
    // value (yes → the rule's 5 points) with the entry as its record.
    let set = save_rules(&app, crate::assess::MORE_KINDS).await;
    let page = get_text(&admin, at("/assessment/entries?year=2023")).await;
    assert!(
        page.contains("规范化建设（manual.standard_site）"),
        "{page}"
    );
    assert!(page.contains("<option value=\"manual.innovation\">创新做法</option>"));
    let run = run_from_page(&app, set, "2023", "").await;
    let result = ecowarden_assessment::load(&app.db, run)
        .await
        .unwrap()
        .result;
    let rule = crate::assess::rule(&result, "350103", "1.2");
    assert_eq!(
        (rule["value"].as_f64(), rule["score"].as_f64()),
        (Some(1.0), Some(5.0))
    );
    assert_eq!(
        ecowarden_assessment::evidence(&app.db, run, "350103", "manual.standard_site")
            .await
            .unwrap(),
        [id]
    );
}

#[tokio::test]
async fn a_refused_entry_is_shown_as_typed_and_only_the_administrator_enters() {
    let app = spawn_app().await;
    let (admin, csrf) = app.login("admin").await;
    // Posts the form as the administrator: refused (422), the page returned.
    let refused = |fields: [(&'static str, &'static str); 7]| {
        let (app, admin, csrf) = (&app, &admin, &csrf);
        async move {
            let body = form_data(csrf, &fields, None);
            let r = post_multipart(app, admin, "/assessment/entries", body).await;
            assert_eq!(r.status(), 422);
            r.text().await.unwrap()
        }
    };
    let mut fields = entry_fields("350102", "manual.innovation", "7.5", "  ");
    fields[1] = ("half", "2");
    let page = refused(fields).await;
    let error = extract(&page, "id=\"entry-error\">", "</p>");
    assert!(error.contains("请填写依据说明"), "{error}");
    let form = extract(&page, "id=\"entry-form\">", "</form>");
    for kept in [
        "value=\"7.5\"",
        "value=\"manual.innovation\"",
        "<option value=\"350102\" selected>",
        "<option value=\"2\" selected>",
    ] {
        assert!(form.contains(kept), "{kept} not kept in {form}");
    }
    // Neither a unit nor an officer, or both.
    let page = refused(entry_fields("", "manual.innovation", "1", "创新")).await;
    assert!(page.contains("请选择填报的单位或执法人员"));
    let mut fields = entry_fields("350102", "manual.innovation", "1", "创新");
    fields[3] = ("officer", "35010001");
    let page = refused(fields).await;
    assert!(page.contains("单位和执法人员只能选择其一"));

    // A county officer may not enter, even a well-formed value with a file.
    let (c, csrf) = app.login("taijiang").await;
    let fields = entry_fields("350103", "manual.innovation", "1", "创新");
    let body = form_data(&csrf, &fields, Some(("a.txt", b"x")));
    let r = post_multipart(&app, &c, "/assessment/entries", body).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM assessment_entries").await,
        0
    );
}
