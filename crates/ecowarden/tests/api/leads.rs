//! Screening (数据筛查): `ecowarden screen` over an archive written from the generator with
//! injected signatures (the jsonl contract, idempotent leads), accepting a lead into a case
//! (linked both ways), dismissing one (suppressed on the next run, and in a later period as
//! far as its extent reaches), lifting a suppression, and scope.

use std::collections::BTreeSet;
use std::path::PathBuf;

use screen::Signature;
use screen::generator::{self, Outlet};

use crate::helpers::{TestApp, get_json, get_text, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");
/// 2026-11-01 00:00 Beijing time: a week of history, then the screened days.
const START: i64 = 1_793_462_400;
const HISTORY_DAYS: u32 = 7;
const DAYS: u32 = 3;
/// The screened period, and the three days after it.
const PERIOD: (&str, &str) = ("2026-11-08", "2026-11-10");
const LATER: (&str, &str) = ("2026-11-11", "2026-11-13");

/// 台江 (350103): a constant-value outlet and a clean one; 鼓楼 (350102): a flat one.
const INJECTED: &str = "SIMTJ00000001";
const CLEAN: &str = "SIMTJ00000002";
const GULOU: &str = "SIMGL00000001";
/// 台江: an outlet that abuses flags from the period on, through the later days too.
const PERSISTENT: &str = "SIMTJ00000003";

struct Screening {
    app: TestApp,
    data: PathBuf,
}

async fn setup() -> Screening {
    let app = spawn_app().await;
    let data = std::env::temp_dir().join(format!(
        "ew-screen-{}",
        ecowarden_core::auth::random_token()[..8].to_owned()
    ));
    std::fs::create_dir_all(&data).unwrap();
    let config = screen::Config::default();
    let screen_from = START + i64::from(HISTORY_DAYS) * 86_400;
    let make = |seed, mn: &str, industry, inject| {
        generator::outlet(
            seed,
            mn,
            industry,
            START,
            HISTORY_DAYS + DAYS,
            screen_from,
            inject,
            &config,
        )
    };
    let outlets: Vec<Outlet> = vec![
        make(
            11,
            INJECTED,
            "thermal_power",
            Some(Signature::ConstantValue),
        ),
        make(12, CLEAN, "thermal_power", None),
        make(13, GULOU, "cement", Some(Signature::MultiChannelFlat)),
        generator::outlet(
            14,
            PERSISTENT,
            "thermal_power",
            START,
            HISTORY_DAYS + 2 * DAYS,
            screen_from,
            Some(Signature::FlagAbuse),
            &config,
        ),
    ];
    let refs: Vec<&Outlet> = outlets.iter().collect();
    ecowarden_monitoring::screening::register_generated(
        &app.db,
        &app.org,
        &refs,
        &["350103", "350103", "350102", "350103"],
        5,
    )
    .await
    .unwrap();
    ecowarden_monitoring::screening::archive_generated(&app.db, &data, &refs, "generated")
        .await
        .unwrap();
    Screening { app, data }
}

/// Runs `ecowarden screen` over the period `(from, to)` and returns its standard output.
async fn run_screen(s: &Screening, period: (&str, &str), format: &str, extra: &[&str]) -> Vec<u8> {
    let (url, data) = (s.app.url.clone(), s.data.clone());
    let extra: Vec<String> = extra.iter().map(|x| x.to_string()).collect();
    let (from, to, format) = (period.0.to_owned(), period.1.to_owned(), format.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(BIN)
            .arg("--data")
            .arg(&data)
            .args([
                "--database-url",
                &url,
                "screen",
                "--from",
                &from,
                "--to",
                &to,
            ])
            .args(["--format", &format])
            .args(&extra)
            .env_remove("ECOWARDEN__DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "screen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    })
    .await
    .unwrap()
}

async fn jsonl(s: &Screening, period: (&str, &str)) -> Vec<serde_json::Value> {
    String::from_utf8(run_screen(s, period, "jsonl", &[]).await)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

fn is_cst(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|t| {
        t.ends_with("+08:00") && chrono::DateTime::parse_from_rfc3339(t).is_ok() && t.len() == 25
    })
}

async fn lead_of(app: &TestApp, mn: &str) -> Option<(i64, String)> {
    sqlx::query_as("SELECT id, status FROM leads WHERE mn = $1")
        .bind(mn)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn screen_prints_the_jsonl_contract_and_stores_leads_once() {
    let s = setup().await;
    let lines = jsonl(&s, PERIOD).await;
    assert!(!lines.is_empty(), "no findings");
    for l in &lines {
        let o = l.as_object().expect("object");
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "end",
                "evidence",
                "explanation",
                "factor",
                "mn",
                "outlet",
                "score",
                "signature",
                "start"
            ]
        );
        assert!(l["mn"].is_string() && l["outlet"].is_string());
        assert!(l["factor"].is_null() || l["factor"].is_string());
        assert!(Signature::from_id(l["signature"].as_str().unwrap()).is_some());
        assert!(is_cst(&l["start"]) && is_cst(&l["end"]), "{l}");
        let score = l["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        let text = l["explanation"].as_str().unwrap();
        assert!(text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        assert!(l["evidence"].is_object());
    }
    let of = |mn: &'static str| lines.iter().filter(move |l| l["mn"] == mn);
    assert!(
        of(INJECTED).any(|l| l["signature"] == "constant_value" && l["factor"].is_string()),
        "the injected constant value was not found"
    );
    assert_eq!(of(CLEAN).count(), 0, "a clean outlet raised findings");
    assert!(of(GULOU).count() > 0, "the flat outlet was not found");

    // Stored once per outlet and period: a second run updates, never duplicates.
    let leads = s.app.scalar("SELECT COUNT(*) FROM leads").await;
    let findings = s.app.scalar("SELECT COUNT(*) FROM lead_findings").await;
    assert!(leads >= 2);
    let again = jsonl(&s, PERIOD).await;
    assert_eq!(again.len(), lines.len());
    assert_eq!(s.app.scalar("SELECT COUNT(*) FROM leads").await, leads);
    assert_eq!(
        s.app.scalar("SELECT COUNT(*) FROM lead_findings").await,
        findings
    );

    // The other formats.
    let table = String::from_utf8(run_screen(&s, PERIOD, "table", &[]).await).unwrap();
    assert!(table.starts_with("线索得分") && table.contains(INJECTED));
    let file = s.data.join("findings.xlsx");
    run_screen(&s, PERIOD, "xlsx", &["--output", file.to_str().unwrap()]).await;
    assert_eq!(&std::fs::read(&file).unwrap()[..2], b"PK");
}

async fn officers(app: &TestApp) -> String {
    let certs: Vec<String> = sqlx::query_scalar(
        "SELECT certificate_no FROM officers WHERE region_code = '350103' AND certificate_no IS NOT NULL ORDER BY id LIMIT 2",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    certs.join("、")
}

/// A form POST with the session's CSRF token.
async fn post(
    c: &reqwest::Client,
    url: String,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    c.post(url).form(&form).send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn accepting_a_lead_makes_an_off_site_screening_case_linked_both_ways() {
    let s = setup().await;
    jsonl(&s, PERIOD).await;
    let (lead, _) = lead_of(&s.app, INJECTED).await.expect("a lead");
    let (c, csrf) = s.app.login("analyst").await;
    let url = format!("{}/leads/{lead}/accept", s.app.base);

    // Without officers: no case, the lead page says why.
    let r = post(&c, url.clone(), &csrf, &[("officers", "")]).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with(&format!("/leads/{lead}?msg=")));
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "open");

    let officers = officers(&s.app).await;
    let r = post(&c, url, &csrf, &[("officers", &officers)]).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let case: i64 = to
        .strip_prefix("/cases/")
        .and_then(|t| t.split('?').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("redirected to {to}"));
    let (source, region): (String, String) =
        sqlx::query_as("SELECT source, region_code FROM cases WHERE id = $1")
            .bind(case)
            .fetch_one(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!(source, "off_site_screening");
    assert_eq!(region, "350103");
    let (status, case_id): (String, Option<i64>) =
        sqlx::query_as("SELECT status, case_id FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_one(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!((status.as_str(), case_id), ("accepted", Some(case)));

    let case_page = get_text(&c, format!("{}/cases/{case}", s.app.base)).await;
    assert!(case_page.contains(&format!("href=\"/leads/{lead}\"")));
    assert!(case_page.contains("非现场筛查线索"));
    let lead_page = get_text(&c, format!("{}/leads/{lead}", s.app.base)).await;
    assert!(lead_page.contains(&format!("href=\"/cases/{case}\"")));
    let api: serde_json::Value = get_json(&c, format!("{}/api/v1/leads/{lead}", s.app.base)).await;
    assert_eq!(api["case_id"], case);
    assert!(!api["findings"].as_array().unwrap().is_empty());

    // Both changes are in the audit log; a decided lead cannot be decided again.
    let entries = s
        .app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'lead' AND action = 'accept'")
        .await;
    assert_eq!(entries, 1);
    let r = post(
        &c,
        format!("{}/leads/{lead}/dismiss", s.app.base),
        &csrf,
        &[("reason", "重复")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "accepted");
}

#[tokio::test]
async fn a_dismissal_needs_a_reason_and_suppresses_the_findings_on_the_next_run() {
    let s = setup().await;
    jsonl(&s, PERIOD).await;
    let (lead, _) = lead_of(&s.app, INJECTED).await.expect("a lead");
    let (c, csrf) = s.app.login("taijiang").await;
    let url = format!("{}/leads/{lead}/dismiss", s.app.base);
    let r = post(&c, url.clone(), &csrf, &[("reason", "  ")]).await;
    assert_eq!(r.status(), 303);
    let page = get_text(&c, format!("{}{}", s.app.base, location(&r))).await;
    assert!(page.contains("请填写排除理由"), "{page}");
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "open");

    let r = post(&c, url, &csrf, &[("reason", "经现场核实，为仪器检修期间")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "dismissed");
    assert!(s.app.scalar("SELECT COUNT(*) FROM suppressions").await > 0);

    let lines = jsonl(&s, PERIOD).await;
    assert!(
        !lines.iter().any(|l| l["mn"] == INJECTED),
        "a dismissed finding came back"
    );
    assert!(lines.iter().any(|l| l["mn"] == GULOU));
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE mn = $1")
        .bind(INJECTED)
        .fetch_one(s.app.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "dismissed");
}

/// The (signature, factor) of an outlet's findings in a run's output.
fn findings_of(lines: &[serde_json::Value], mn: &str) -> BTreeSet<(String, Option<String>)> {
    lines
        .iter()
        .filter(|l| l["mn"] == mn)
        .map(|l| {
            (
                l["signature"].as_str().unwrap().to_owned(),
                l["factor"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The lead of an outlet in the period starting `from`: id and status.
async fn lead_in_period(app: &TestApp, mn: &str, from: &str) -> Option<(i64, String)> {
    sqlx::query_as("SELECT id, status FROM leads WHERE mn = $1 AND period_from = $2")
        .bind(mn)
        .bind(from)
        .fetch_optional(app.db.pool())
        .await
        .unwrap()
}

/// Screens the period, then dismisses the persistent outlet's lead as 台江's officer with
/// `extent`; returns the dismissed findings, the lead's page after the dismissal and the
/// session.
async fn dismiss_persistent(
    s: &Screening,
    extent: &str,
) -> (
    BTreeSet<(String, Option<String>)>,
    String,
    (reqwest::Client, String),
) {
    let dismissed = findings_of(&jsonl(s, PERIOD).await, PERSISTENT);
    assert!(
        dismissed.contains(&("flag_abuse".to_owned(), Some(flag_factor(&dismissed)))),
        "the injected flag abuse was not found: {dismissed:?}"
    );
    let (lead, _) = lead_in_period(&s.app, PERSISTENT, PERIOD.0)
        .await
        .expect("a lead");
    let (c, csrf) = s.app.login("taijiang").await;
    let r = post(
        &c,
        format!("{}/leads/{lead}/dismiss", s.app.base),
        &csrf,
        &[
            ("reason", "该厂标记规则如此，经核实属正常"),
            ("extent", extent),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = get_text(&c, format!("{}{}", s.app.base, location(&r))).await;
    assert_eq!(
        lead_in_period(&s.app, PERSISTENT, PERIOD.0)
            .await
            .unwrap()
            .1,
        "dismissed"
    );
    (dismissed, page, (c, csrf))
}

/// The factor of the flag-abuse finding.
fn flag_factor(findings: &BTreeSet<(String, Option<String>)>) -> String {
    findings
        .iter()
        .find(|(sig, _)| sig == "flag_abuse")
        .and_then(|(_, f)| f.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_window_dismissal_lets_the_same_finding_back_in_a_later_period() {
    let s = setup().await;
    let (dismissed, page, _) = dismiss_persistent(&s, "window").await;
    assert!(page.contains("仅本线索时段"), "{page}");
    let until: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT end_ts, until_ts FROM suppressions WHERE mn = $1")
            .bind(PERSISTENT)
            .fetch_all(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!(until.len(), dismissed.len());
    assert!(until.iter().all(|(end, until)| Some(*end) == *until));

    // The same period stays quiet; the later days raise the same finding again.
    assert!(findings_of(&jsonl(&s, PERIOD).await, PERSISTENT).is_disjoint(&dismissed));
    let later = findings_of(&jsonl(&s, LATER).await, PERSISTENT);
    let flag = ("flag_abuse".to_owned(), Some(flag_factor(&dismissed)));
    assert!(later.contains(&flag), "{later:?}");
    assert_eq!(
        lead_in_period(&s.app, PERSISTENT, LATER.0).await.unwrap().1,
        "open"
    );
}

#[tokio::test]
async fn a_lasting_dismissal_suppresses_the_same_finding_in_a_later_period_until_lifted() {
    let s = setup().await;
    // A bad extent writes nothing and says why on the lead page.
    jsonl(&s, PERIOD).await;
    let (lead, _) = lead_in_period(&s.app, PERSISTENT, PERIOD.0).await.unwrap();
    let (c, csrf) = s.app.login("taijiang").await;
    let r = post(
        &c,
        format!("{}/leads/{lead}/dismiss", s.app.base),
        &csrf,
        &[("reason", "理由"), ("extent", "forever")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = get_text(&c, format!("{}{}", s.app.base, location(&r))).await;
    assert!(page.contains("屏蔽范围“forever”无效"), "{page}");
    assert_eq!(s.app.scalar("SELECT COUNT(*) FROM suppressions").await, 0);
    assert_eq!(
        lead_in_period(&s.app, PERSISTENT, PERIOD.0)
            .await
            .unwrap()
            .1,
        "open"
    );

    let (dismissed, page, (c, csrf)) = dismiss_persistent(&s, "lasting").await;
    assert!(page.contains("长期（直至撤销）"), "{page}");
    assert!(page.contains("本排放口以下疑点不再提示"), "{page}");
    let flag = ("flag_abuse".to_owned(), Some(flag_factor(&dismissed)));
    let lasting = s
        .app
        .scalar("SELECT COUNT(*) FROM suppressions WHERE until_ts IS NULL AND lifted_at IS NULL")
        .await;
    assert_eq!(lasting as usize, dismissed.len());

    // The later days: the same findings stay quiet.
    let later = findings_of(&jsonl(&s, LATER).await, PERSISTENT);
    assert!(later.is_disjoint(&dismissed), "{later:?}");

    // Lifted (with a reason), the flag abuse's suppression lets it back on the next run.
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM suppressions WHERE mn = $1 AND signature = 'flag_abuse'",
    )
    .bind(PERSISTENT)
    .fetch_one(s.app.db.pool())
    .await
    .unwrap();
    let r = post(
        &c,
        format!("{}/leads/suppressions/{id}/lift", s.app.base),
        &csrf,
        &[("reason", "该厂已整改，恢复提示")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/leads/suppressions?msg="));
    let later = findings_of(&jsonl(&s, LATER).await, PERSISTENT);
    assert!(later.contains(&flag), "{later:?}");
    assert_eq!(
        lead_in_period(&s.app, PERSISTENT, LATER.0).await.unwrap().1,
        "open"
    );
}

#[tokio::test]
async fn a_suppression_is_listed_and_lifted_in_scope_with_a_reason_and_audited() {
    let s = setup().await;
    jsonl(&s, PERIOD).await;
    let (lead, _) = lead_of(&s.app, INJECTED).await.expect("a lead");
    let base = &s.app.base;
    let (c, csrf) = s.app.login("taijiang").await;
    // No extent given: lasting.
    let r = post(
        &c,
        format!("{base}/leads/{lead}/dismiss"),
        &csrf,
        &[("reason", "仪器设计如此")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (id, until): (i64, Option<i64>) =
        sqlx::query_as("SELECT id, until_ts FROM suppressions WHERE mn = $1 ORDER BY id LIMIT 1")
            .bind(INJECTED)
            .fetch_one(s.app.db.pool())
            .await
            .unwrap();
    assert_eq!(until, None);
    let page = get_text(&c, format!("{base}/leads/suppressions")).await;
    assert!(page.contains(&format!("id=\"suppression-{id}\"")) && page.contains("生效"));
    let api: Vec<serde_json::Value> =
        get_json(&c, format!("{base}/api/v1/leads/suppressions")).await;
    assert!(api.iter().any(|r| r["id"] == id && r["until_ts"].is_null()));

    // 鼓楼 neither sees nor lifts 台江's suppression.
    let (g, gcsrf) = s.app.login("gulou").await;
    let api: Vec<serde_json::Value> =
        get_json(&g, format!("{base}/api/v1/leads/suppressions")).await;
    assert!(!api.iter().any(|r| r["id"] == id));
    assert!(
        !get_text(&g, format!("{base}/leads/suppressions"))
            .await
            .contains(INJECTED)
    );
    let url = format!("{base}/leads/suppressions/{id}/lift");
    let r = post(&g, url.clone(), &gcsrf, &[("reason", "越权")]).await;
    assert_eq!(r.status(), 403);
    let lifted = "SELECT COUNT(*) FROM suppressions WHERE lifted_at IS NOT NULL";
    assert_eq!(s.app.scalar(lifted).await, 0);

    // A reason is required; lifted once, not twice.
    let r = post(&c, url.clone(), &csrf, &[("reason", " ")]).await;
    let page = get_text(&c, format!("{base}{}", location(&r))).await;
    assert!(page.contains("请填写撤销理由"), "{page}");
    assert_eq!(s.app.scalar(lifted).await, 0);
    let r = post(&c, url.clone(), &csrf, &[("reason", "已整改")]).await;
    let page = get_text(&c, format!("{base}{}", location(&r))).await;
    assert!(page.contains("已撤销屏蔽"), "{page}");
    assert!(page.contains("已整改"), "{page}");
    assert_eq!(s.app.scalar(lifted).await, 1);
    let r = post(&c, url, &csrf, &[("reason", "再次")]).await;
    let page = get_text(&c, format!("{base}{}", location(&r))).await;
    assert!(page.contains("该屏蔽已撤销"), "{page}");
    let audited = s
        .app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'suppression' AND action = 'lift'")
        .await;
    assert_eq!(audited, 1);
    let lead_page = get_text(&c, format!("{base}/leads/{lead}")).await;
    assert!(lead_page.contains("已撤销 1 条"), "{lead_page}");
}

#[tokio::test]
async fn a_county_officer_can_neither_see_nor_decide_another_countys_lead() {
    let s = setup().await;
    jsonl(&s, PERIOD).await;
    let (taijiang_lead, _) = lead_of(&s.app, INJECTED).await.expect("a lead");
    let (gulou_lead, _) = lead_of(&s.app, GULOU).await.expect("a lead");
    let (c, csrf) = s.app.login("gulou").await;
    let base = &s.app.base;
    for path in [
        format!("/leads/{taijiang_lead}"),
        format!("/api/v1/leads/{taijiang_lead}"),
    ] {
        let r = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    for (action, field) in [("accept", "officers"), ("dismiss", "reason")] {
        let r = post(
            &c,
            format!("{base}/leads/{taijiang_lead}/{action}"),
            &csrf,
            &[(field, "x、y")],
        )
        .await;
        assert_eq!(r.status(), 403, "{action}");
    }
    assert_eq!(lead_of(&s.app, INJECTED).await.unwrap().1, "open");
    let list: Vec<serde_json::Value> = get_json(&c, format!("{base}/api/v1/leads")).await;
    let ids: Vec<i64> = list.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&gulou_lead) && !ids.contains(&taijiang_lead));
    let page = get_text(&c, format!("{base}/leads")).await;
    assert!(page.contains(GULOU) && !page.contains(INJECTED));
    // Filters: a signature and a minimum score.
    let (a, _) = s.app.login("admin").await;
    let flat: Vec<serde_json::Value> = get_json(
        &a,
        format!("{base}/api/v1/leads?signature=constant_value&min_score=0.1"),
    )
    .await;
    assert!(flat.iter().any(|l| l["id"] == taijiang_lead));
    let none: Vec<serde_json::Value> =
        get_json(&a, format!("{base}/api/v1/leads?min_score=1.01")).await;
    assert!(none.is_empty());
}
