//! Malformed and oversize input: the right status, a clear message, nothing changed, logged.

use crate::helpers::{BODY_LIMIT, spawn_app};

async fn user_count(app: &crate::helpers::TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM users").await
}

#[tokio::test]
async fn malformed_json_oversize_and_invalid_values() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let n = user_count(&app).await;
    let post = |body: String, ct: &'static str| {
        c.post(format!("{}/api/v1/users", app.base))
            .header("x-csrf-token", &csrf)
            .header("content-type", ct)
            .body(body)
    };
    let r = post("{\"username\": ".into(), "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
    assert!(v["error"]["message"].as_str().unwrap().contains("JSON"));

    let r = post("{}".into(), "text/plain").send().await.unwrap();
    assert_eq!(r.status(), 400);

    let big = format!("{{\"username\": \"{}\"}}", "x".repeat(BODY_LIMIT + 10));
    let r = post(big, "application/json").send().await.unwrap();
    assert_eq!(r.status(), 413);

    // Well-formed but invalid: unknown region, wrong role level, weak password, bad username.
    for (body, needle) in [
        (
            serde_json::json!({"username": "u1", "display_name": "x", "password": "Test-Passw0rd!", "role": "county_officer", "region_code": "359999"}),
            "不在本系统",
        ),
        (
            serde_json::json!({"username": "u2", "display_name": "x", "password": "Test-Passw0rd!", "role": "county_officer", "region_code": "350100"}),
            "县级",
        ),
        (
            serde_json::json!({"username": "u3", "display_name": "x", "password": "weak", "role": "auditor", "region_code": "350000"}),
            "密码至少",
        ),
        (
            serde_json::json!({"username": "bad name", "display_name": "x", "password": "Test-Passw0rd!", "role": "auditor", "region_code": "350000"}),
            "用户名",
        ),
        (
            serde_json::json!({"username": "gulou", "display_name": "x", "password": "Test-Passw0rd!", "role": "auditor", "region_code": "350000"}),
            "已存在",
        ),
    ] {
        // A taken username is a conflict (409), every other refusal a rule broken (422).
        let want = if needle == "已存在" { 409 } else { 422 };
        let r = post(body.to_string(), "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{body}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    assert_eq!(user_count(&app).await, n, "nothing written");
    assert!(app.security_events("bad_request").await >= 2);
    assert_eq!(app.security_events("payload_too_large").await, 1);
}

#[tokio::test]
async fn bad_query_parameters_and_unknown_pages() {
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let r = c
        .get(format!("{}/api/v1/cases?page=abc", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!("{}/api/v1/cases?region=999999", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!("{}/cases/999999999", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("案件不存在"));
    let r = c
        .get(format!("{}/no/such/page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
