//! Regression tests of issue #16 (a black-box probe): each defect the probe found, refused.

use rust_xlsxwriter::Workbook;

use crate::helpers::get_text;
use crate::helpers::{TestApp, spawn_app};
use crate::ledger_io::{
    BOUNDARY, Row, case_count, csv, first_sheet, good, import_as, multipart, with,
};

/// Imports one row as 鼓楼 and returns the page that refuses it.
async fn refused(app: &TestApp, row: Row) -> String {
    let (status, page) = import_as(app, "gulou", &[("cases.csv", csv(&[row]).as_bytes())]).await;
    assert_eq!(status, 422, "{page}");
    page
}

/// Stores what the checks now refuse, as data from before them: `sql` sets case `id`
/// (the last placeholder), after one text value if given.
async fn store_raw(app: &TestApp, sql: &'static str, value: Option<String>, id: i64) {
    let mut q = sqlx::query(sql);
    if let Some(v) = value {
        q = q.bind(v);
    }
    q.bind(id).execute(app.db.pool()).await.unwrap();
}

/// Uploads a file to the monitoring registry import as `user`; the status and page.
async fn registry_import_as(app: &TestApp, user: &str, name: &str, file: &[u8]) -> (u16, String) {
    let (c, csrf) = app.login(user).await;
    let r = c
        .post(format!("{}/monitoring/registry/import", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(Some(&csrf), &[(name, file)], false))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The probe's file: a few-KB workbook whose only cells are A1 and XFD1048576.
fn far_cell_workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "案号").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_far_cell_workbook_is_refused_and_the_server_stays_up() {
    let app = spawn_app().await;
    let bomb = far_cell_workbook();
    assert!(bomb.len() < 8192, "{}", bomb.len());
    let before = case_count(&app).await;
    let (status, page) = import_as(&app, "gulou", &[("bomb.xlsx", &bomb)]).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("XFD1048576单元格有内容") && page.contains("上限"),
        "{page}"
    );
    assert_eq!(case_count(&app).await, before);
    // The registry import reads the same way.
    let (status, page) = registry_import_as(&app, "admin", "bomb.xlsx", &bomb).await;
    assert!(page.contains("XFD1048576"), "{status} {page}");
    // Still serving.
    let (c, _) = app.login("admin").await;
    let r = c.get(format!("{}/cases", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The command line refuses it too, by file.
    let dir =
        std::env::temp_dir().join(format!("ew-bomb-{}", ecowarden_core::auth::random_token()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bomb.xlsx"), &bomb).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .arg("--database-url")
        .arg(&app.url)
        .args(["cases", "import", "--as", "gulou", "bomb.xlsx"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bomb.xlsx") && err.contains("XFD1048576"),
        "{err}"
    );
}

/// Issue #16: a fine of 92,233,720,368,547,758.07 yuan was stored; statistics then failed and
/// the dashboard showed a negative sum.
#[tokio::test]
async fn amounts_and_days_are_bounded_and_sums_never_overflow() {
    let app = spawn_app().await;
    let before = case_count(&app).await;
    let rows = [
        with(good(1), "fine", "92233720368547758.07"),
        with(good(2), "fine", "1000000000.01"),
    ];
    let (status, page) = import_as(&app, "gulou", &[("cases.csv", csv(&rows).as_bytes())]).await;
    assert_eq!(status, 422, "{page}");
    assert_eq!(page.matches("不能超过10亿元").count(), 2, "{page}");
    assert_eq!(case_count(&app).await, before);
    let (status, page) = import_as(
        &app,
        "gulou",
        &[(
            "cases.csv",
            csv(&[with(good(3), "fine", "1000000000")]).as_bytes(),
        )],
    )
    .await;
    assert_eq!(status, 200, "10亿元 itself is allowed: {page}");

    // Amounts stored before the bound: the figures stay computable and never negative.
    sqlx::query("UPDATE cases SET fine_fen = 9223372036854775807 WHERE year = 2023 AND id IN (SELECT id FROM cases WHERE year = 2023 ORDER BY id LIMIT 3)")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (c, _) = app.login("admin").await;
    for path in [
        "/stats?year=2023",
        "/stats/export.xlsx?year=2023",
        "/?year=2023",
        "/third-parties",
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let d: serde_json::Value =
        crate::helpers::get_json(&c, format!("{}/api/v1/dashboard?year=2023", app.base)).await;
    assert!(d["fine_fen"].as_i64().unwrap() > 0, "{d}");
    for r in d["by_region"].as_array().unwrap() {
        assert!(r["fine_fen"].as_i64().unwrap() >= 0, "{r}");
    }
}

/// Issue #16: a million characters were accepted in a text field, and one 违法行为 over
/// 32,767 characters made the ledger export panic.
#[tokio::test]
async fn text_is_bounded_and_exports_cut_what_is_stored() {
    let app = spawn_app().await;
    let long = "x".repeat(2001);
    let page = refused(&app, with(good(1), "violation", &long)).await;
    assert!(
        page.contains("“违法行为”不能超过2000字（现有2001字）"),
        "{page}"
    );
    // The template and the form say the bound.
    let (c, _) = app.login("gulou").await;
    let form = get_text(&c, format!("{}/cases/new", app.base)).await;
    assert!(form.contains("maxlength=\"2000\""), "{form}");
    // Text stored before the bound: the export cuts it for Excel instead of failing.
    let id = app.case_in("350102").await;
    let sql = "UPDATE cases SET violation = $1 WHERE id = $2";
    store_raw(&app, sql, Some("污".repeat(40_000)), id).await;
    let year: i64 = sqlx::query_scalar("SELECT year FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = c
        .get(format!("{}/cases/export.xlsx?year={year}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sheet = first_sheet(r.bytes().await.unwrap().to_vec());
    let cut = sheet
        .iter()
        .flatten()
        .find_map(|d| match d {
            calamine::Data::String(s) if s.starts_with("污污污") => Some(s.clone()),
            _ => None,
        })
        .expect("the long text is exported");
    assert!(cut.ends_with("已截断）"), "{}", &cut[cut.len() - 60..]);
}

/// Issue #16: one case dated 2099 moved every user's home page and statistics to 2099.
#[tokio::test]
async fn a_future_case_neither_sets_the_default_year_nor_is_accepted() {
    let app = spawn_app().await;
    let page = refused(&app, with(good(1), "discovered_on", "2099-01-01")).await;
    assert!(
        page.contains("2099-01-01晚于今天，不能填写将来的日期"),
        "{page}"
    );
    // A case stored with a future year before the check does not move the default.
    let id = app.case_in("350103").await;
    let sql = "UPDATE cases SET year = 2099, discovered_on = '2099-01-01' WHERE id = $1";
    store_raw(&app, sql, None, id).await;
    let (c, _) = app.login("gulou").await;
    let d: serde_json::Value =
        crate::helpers::get_json(&c, format!("{}/api/v1/dashboard", app.base)).await;
    assert_eq!(d["year"], 2023, "{d}");
    let page = get_text(&c, format!("{}/stats", app.base)).await;
    assert!(!page.contains("2099年"), "{page}");
}

/// Issue #16: any user opened any provider and saw its province-wide case count and fines.
#[tokio::test]
async fn a_provider_page_shows_only_the_figures_in_scope() {
    let app = spawn_app().await;
    // The provider with the most cases, and a county where it has none.
    let (provider, total): (i64, i64) = sqlx::query_as(
        "SELECT third_party_id, COUNT(*) FROM cases WHERE third_party_id IS NOT NULL \
         GROUP BY third_party_id ORDER BY COUNT(*) DESC, third_party_id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let in_gulou: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE third_party_id = $1 AND region_code = '350102'",
    )
    .bind(provider)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(total > in_gulou, "fixture: the provider works outside 鼓楼");
    let figures =
        |page: &str| crate::helpers::extract(page, "本辖区弄虚作假案件</dt><dd>", "</dd>");
    let (admin, _) = app.login("admin").await;
    let page = get_text(&admin, format!("{}/third-parties/{provider}", app.base)).await;
    assert!(figures(&page).starts_with(&format!("{total} 件")), "{page}");
    let (gulou, _) = app.login("gulou").await;
    let page = get_text(&gulou, format!("{}/third-parties/{provider}", app.base)).await;
    assert!(
        figures(&page).starts_with(&format!("{in_gulou} 件")),
        "{page}"
    );
}

/// Issue #16: 鼓楼 could register 台江's next number, and 台江 then could not record any
/// auto-numbered case that year.
#[tokio::test]
async fn a_given_case_number_carries_its_own_units_prefix() {
    let app = spawn_app().await;
    let page = refused(&app, with(good(1), "case_no", "榕台江环罚〔2024〕1号")).await;
    assert!(
        page.contains("案号“榕台江环罚〔2024〕1号”不是本单位的编号，应以“榕鼓楼环罚〔年份〕”开头"),
        "{page}"
    );
    // A number squatted before the check: auto-numbering skips it.
    let id = app.case_in("350102").await;
    let sql = "UPDATE cases SET case_no = '榕台江环罚〔2024〕1号' WHERE id = $1";
    store_raw(&app, sql, None, id).await;
    let taijiang = |n: u32| {
        let row = with(good(n), "case_no", "");
        let row = with(row, "region_code", "350103");
        with(row, "officers", "闽3501030001、闽3501030002")
    };
    let body = csv(&[taijiang(2), taijiang(3)]);
    let (status, page) = import_as(&app, "taijiang", &[("cases.csv", body.as_bytes())]).await;
    assert_eq!(status, 200, "{page}");
    let nos: Vec<String> = sqlx::query_scalar(
        "SELECT case_no FROM cases WHERE region_code = '350103' AND year = 2024 ORDER BY case_no",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(nos, ["榕台江环罚〔2024〕2号", "榕台江环罚〔2024〕3号"]);
}

/// Issue #16: anonymous requests were not limited; each could carry 32 MB and a login try.
#[tokio::test]
async fn anonymous_requests_are_rate_limited_per_address() {
    let app = crate::helpers::spawn_app_with(|s| s.http.anonymous_per_minute = 60).await;
    // A signed-in user is not limited by the anonymous budget.
    let (admin, _) = app.login("admin").await;
    let anon = crate::helpers::client();
    let mut refused = None;
    for i in 0..400 {
        let r = anon
            .get(format!("{}/nowhere-{i}", app.base))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("429 within 400 anonymous requests");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("请求过于频繁") && page.contains("<html"),
        "{page}"
    );
    // The API answers JSON, in Chinese.
    let r = anon
        .post(format!("{}/api/v1/session", app.base))
        .json(&serde_json::json!({"username": "admin", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_requests", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("秒后再试"));
    let status = |c, path| crate::helpers::get_status(c, format!("{}{path}", app.base));
    assert_eq!(status(&admin, "/cases").await, 200);
    assert_eq!(
        status(&anon, "/healthz").await,
        200,
        "probes are not limited"
    );
}

/// Issue #16: no CSP, X-Frame-Options, nosniff or no-store; the login form's anti-forgery
/// cookie lacked `Secure` when secure cookies were on.
#[tokio::test]
async fn responses_carry_the_security_headers_and_pages_no_inline_script() {
    let app = crate::helpers::spawn_app_with(|s| s.http.secure_cookies = true).await;
    let anon = crate::helpers::client();
    let r = anon
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("referrer-policy"));
    let r = anon
        .get(format!("{}/assets/app.css", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers()["cache-control"],
        "no-store",
        "assets stay cacheable"
    );

    // Signed in (secure cookies off: the test client speaks plain HTTP).
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let outlet = app.outlet_in("350102").await;
    let lead = app.lead_in("350102").await;
    // An attribute such as onchange= in any tag.
    let inline_handler = |page: &str| {
        page.split('<')
            .filter_map(|t| t.split('>').next())
            .any(|tag| {
                tag.split_whitespace()
                    .skip(1)
                    .any(|a| a.to_ascii_lowercase().starts_with("on") && a.contains('='))
            })
    };
    for path in [
        "/".to_owned(),
        "/cases".to_owned(),
        format!("/monitoring/outlets/{outlet}"),
        format!("/leads/{lead}"),
        "/monitoring/receiver".to_owned(),
        "/api/docs".to_owned(),
    ] {
        let r = c.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(
            r.headers().contains_key("content-security-policy"),
            "{path}"
        );
        let page = r.text().await.unwrap();
        for tag in page.split("<script").skip(1) {
            let open = &tag[..tag.find('>').unwrap()];
            assert!(
                open.contains("src=\"/assets/") || open.contains("application/json"),
                "{path}: inline script <script{open}>"
            );
        }
        assert!(!inline_handler(&page), "{path}: inline handler");
    }
}

/// Issue #16: messages confirmed that a 案号, MN or credit code exists in another region.
#[tokio::test]
async fn nothing_confirms_what_exists_in_another_region() {
    let app = spawn_app().await;
    // 台江's stored number and one it never used: 鼓楼 gets the same answer for both.
    let taken: String = sqlx::query_scalar(
        "SELECT case_no FROM cases WHERE region_code = '350103' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let free = "榕台江环罚〔2023〕99999号";
    let answer = |no: &str, page: &str| {
        let row = crate::helpers::extract(page, "<tbody>", "</tbody>");
        row.replace(no, "N")
    };
    let page = refused(&app, with(good(1), "case_no", &taken)).await;
    assert!(!page.contains("已存在"), "{page}");
    let other = refused(&app, with(good(1), "case_no", free)).await;
    assert_eq!(answer(&taken, &page), answer(free, &other));

    // An MN and a credit code registered in 台江.
    let (mn, credit): (String, String) = sqlx::query_as(
        "SELECT o.mn, f.credit_code FROM outlets o JOIN facilities f ON f.id = o.facility_id \
         WHERE f.region_code = '350103' ORDER BY o.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let registry = |mn: &str, credit: &str| {
        format!(
            "{}\n{mn},123456,福建鼓楼测试化工有限公司,{credit},350102,1号排口,化工,31,a21026,35,mg/m3,0-500,3,6\n",
            ecowarden_monitoring::registry::HEADERS.join(",")
        )
    };
    for csv in [
        registry(&mn, "91350102MA2YK8LQ1M"),
        registry("TESTMN0001", &credit),
    ] {
        let (status, page) =
            registry_import_as(&app, "gulou", "registry.csv", csv.as_bytes()).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("无法在本辖区登记或修改"), "{page}");
        assert!(
            !page.contains("台江") && !page.contains("已登记在"),
            "{page}"
        );
    }
}

/// Issue #16: "2023年" in the year filter gave "Failed to deserialize query string…",
/// `/cases/abc` a Rust type error, an unknown path raw JSON: every error a user can reach is
/// a Chinese page inside the layout, and the API answers JSON in Chinese.
#[tokio::test]
async fn every_reachable_error_is_a_chinese_page_with_the_menu() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("gulou").await;
    let get = |c: &reqwest::Client, path: &str| c.get(format!("{}{path}", app.base)).send();
    let menu = "<nav class=\"side\">";
    for (path, status, says) in [
        ("/?year=2023年", 400, "查询参数“year”的值格式不正确"),
        ("/cases?year=2023年", 400, "查询参数“year”的值格式不正确"),
        ("/cases/abc", 404, "编号无效"),
        ("/cases/99999999999999999999", 404, "编号无效"),
        ("/no/such/page", 404, "页面不存在"),
    ] {
        let r = get(&c, path).await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = r.text().await.unwrap();
        assert!(page.contains(says) && page.contains(menu), "{path}: {page}");
        assert!(
            !page.contains("Failed") && !page.contains("Invalid"),
            "{path}: {page}"
        );
    }
    // A method the route does not have.
    let with_token = |method: reqwest::Method, path: &str| {
        c.request(method, format!("{}{path}", app.base))
            .header("x-csrf-token", &csrf)
            .send()
    };
    let r = with_token(reqwest::Method::POST, "/cases").await.unwrap();
    assert_eq!(r.status(), 405);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("不支持该请求方法") && page.contains(menu),
        "{page}"
    );
    // Signed out: a page without the menu, never JSON.
    let r = get(&crate::helpers::client(), "/no/such/page")
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("页面不存在") && !page.contains(menu),
        "{page}"
    );
    // The API keeps JSON, in Chinese.
    for (path, status) in [
        ("/api/v1/nowhere", 404),
        ("/api/v1/cases/99999999999999999999", 404),
        ("/api/v1/cases/abc", 404),
    ] {
        let r = get(&c, path).await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        let m = v["error"]["message"].as_str().unwrap();
        assert!(!m.is_ascii(), "{path}: {v}");
    }
    let r = with_token(reqwest::Method::DELETE, "/api/v1/cases")
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
}

/// Issue #16: `ecowarden demo --cases 10` and `--cases 0` panicked (index out of bounds).
#[test]
fn the_demo_seeds_any_number_of_cases() {
    for n in ["0", "10"] {
        let dir =
            std::env::temp_dir().join(format!("ew-demo-{}", ecowarden_core::auth::random_token()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
            .arg("--data")
            .arg(&dir)
            .args(["demo", "--cases", n, "--seed-only"])
            .env_remove("ECOWARDEN__DATABASE_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "--cases {n}: {err}");
        assert!(!err.contains("panicked"), "--cases {n}: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Issue #16: the OpenAPI document was not faithful (an undefined path parameter, an array of
/// schemas, evidence declared an object and returned as a string, undocumented statuses,
/// constraints only in code, no security scheme).
#[tokio::test]
async fn the_openapi_document_says_what_the_api_does() {
    let app = spawn_app().await;
    let doc: serde_json::Value = crate::helpers::get_json(
        &crate::helpers::client(),
        format!("{}/api/v1/openapi.json", app.base),
    )
    .await;
    let lead = &doc["paths"]["/api/v1/leads/{id}"]["get"];
    assert_eq!(lead["parameters"][0]["name"], "id", "{lead}");
    assert_eq!(lead["parameters"][0]["in"], "path");
    // No array of schemas anywhere (OpenAPI 3.1 has none).
    fn arrays_of_schemas(v: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if o.get("items").is_some_and(|i| i.is_array()) {
                    found.push(at.to_owned());
                }
                for (k, x) in o {
                    arrays_of_schemas(x, &format!("{at}/{k}"), found);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| arrays_of_schemas(x, at, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    arrays_of_schemas(&doc, "", &mut found);
    assert!(found.is_empty(), "{found:?}");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["RegionFigures"]["type"], "object");
    // Every operation: how to sign in, and its error statuses with the error body.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["name"], "X-CSRF-Token");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for code in ["400", "401", "403", "404", "429"] {
                let r = &op["responses"][code];
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {code}"
                );
            }
            assert!(op["security"].is_array(), "{method} {path}");
            for (code, r) in op["responses"].as_object().unwrap() {
                assert!(r["description"].is_string(), "{method} {path} {code}");
            }
        }
    }
    assert_eq!(
        doc["paths"]["/api/v1/users"]["post"]["security"][0]["csrf"],
        serde_json::json!([])
    );
    let user = &schemas["NewUser"]["properties"];
    assert_eq!(user["region_code"]["pattern"], "^[0-9]{6}$");
    assert!(
        user["region_code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "350102"),
        "only the organisation's codes"
    );
    assert_eq!(user["password"]["minLength"], 10);
    // The evidence of a finding is answered as the object the document declares.
    let (c, _) = app.login("admin").await;
    let lead = app.lead_in("350102").await;
    let detail: serde_json::Value =
        crate::helpers::get_json(&c, format!("{}/api/v1/leads/{lead}", app.base)).await;
    let findings = detail["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{detail}");
    assert!(
        findings.iter().all(|f| f["evidence"].is_object()),
        "{detail}"
    );
    assert_eq!(
        schemas["FindingRow"]["properties"]["evidence"]["type"],
        "object"
    );
    let d: serde_json::Value =
        crate::helpers::get_json(&c, format!("{}/api/v1/dashboard?year=2023", app.base)).await;
    assert!(d["by_region"][0]["region_code"].is_string(), "{d}");
}

/// Whether a parameter's schema admits the empty string.
fn admits_empty(schema: &serde_json::Value) -> bool {
    if let Some(any) = schema["anyOf"].as_array() {
        return any.iter().any(admits_empty);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.contains(&serde_json::json!(""));
    }
    schema["type"] == "string"
        && schema.get("format").is_none()
        && schema["minLength"].as_u64().unwrap_or(0) == 0
        && schema
            .get("pattern")
            .is_none_or(|p| p.as_str().is_some_and(|p| p.ends_with(")?$")))
}

/// Issue #16 (schemathesis with every check): a list filter left empty means "any" and the
/// document says so; integers spelled as JSON Schema allows (`1.0`) are taken, in a query and
/// in a body; a date is RFC 3339's YYYY-MM-DD, nothing looser.
#[tokio::test]
async fn empty_filters_and_whole_numbers_are_what_the_document_says() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let doc: serde_json::Value = crate::helpers::get_json(
        &crate::helpers::client(),
        format!("{}/api/v1/openapi.json", app.base),
    )
    .await;
    let params = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(params.len() >= 10);
    for p in params {
        let name = p["name"].as_str().unwrap();
        let r = c
            .get(format!("{}/api/v1/cases?{name}=", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}= means any");
        assert!(
            admits_empty(&p["schema"]),
            "{name}: the document must admit the empty value the API takes: {}",
            p["schema"]
        );
    }
    for q in ["page=1.0", "year=2023.00", "per_page=20.0", "to=2023-12-31"] {
        let r = c
            .get(format!("{}/api/v1/cases?{q}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{q}");
    }
    for q in [
        "page=1.5",
        "to=2023-1-5",
        "to=2023-01-05%20",
        "from=0000-01-01",
        "page=%20",
    ] {
        let r = c
            .get(format!("{}/api/v1/cases?{q}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
    }
    // A body's version as 2.0: read, and found stale (not refused as malformed).
    let id = app.case_in("350102").await;
    let version: i64 = sqlx::query_scalar("SELECT version FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let r = c
        .post(format!("{}/api/v1/cases/{id}/transitions", app.base))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"to": "closed", "on": "2024-01-10", "version": (version + 1) as f64}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
}
