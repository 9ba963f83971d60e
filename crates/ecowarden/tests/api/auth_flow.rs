//! Login, logout, lockout, sessions and CSRF, through the real server.

use crate::helpers::{PASSWORD, client, extract, get_text, spawn_app};

#[tokio::test]
async fn form_login_dashboard_logout() {
    let app = spawn_app().await;
    let (c, r) = app.form_login("gulou", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let page = get_text(&c, format!("{}/", app.base)).await;
    assert!(
        page.contains("鼓楼区 2023年执法概况"),
        "dashboard of the user's county"
    );
    assert!(page.contains("chart-month"));
    let csrf = extract(&page, "name=\"csrf\" value=\"", "\"");
    let r = c
        .post(format!("{}/logout", app.base))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    // The old cookie no longer opens a session.
    let r = c.get(format!("{}/cases", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn wrong_password_is_refused_and_logged_then_the_address_waits() {
    let app = spawn_app().await;
    let (_, r) = app.form_login("taijiang", "not-the-password").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    assert_eq!(app.security_events("login_failed").await, 1);
    // Unknown users get the same answer.
    let (_, r) = app.form_login("no_such_user", "x").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    for _ in 0..4 {
        app.form_login("taijiang", "still-wrong").await;
    }
    // Five failures from this address: now even the right password is refused from it.
    let (_, r) = app.form_login("taijiang", PASSWORD).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let locked: i64 = app
        .scalar("SELECT COUNT(*) FROM security_events WHERE kind = 'login_failed' AND detail = 'locked'")
        .await;
    assert_eq!(locked, 1);
    // Issue #16: the account is not locked for everyone; another address signs in.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = other
        .post(format!("{}/api/v1/session", app.base))
        .json(&serde_json::json!({"username": "taijiang", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stored: Option<String> =
        sqlx::query_scalar("SELECT locked_until FROM users WHERE username = 'taijiang'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, None);
}

/// Issue #16: an unknown, a disabled and a waiting account answer alike.
#[tokio::test]
async fn login_failures_read_alike() {
    let app = spawn_app().await;
    let c = client();
    let answer = |username: &'static str, password: &'static str| {
        let c = c.clone();
        let url = format!("{}/api/v1/session", app.base);
        async move {
            let r = c
                .post(url)
                .json(&serde_json::json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let unknown = answer("no_such_user", "x").await;
    assert_eq!(unknown.0, 401);
    let wrong = answer("gulou", "wrong").await;
    assert_eq!(wrong, unknown);
    sqlx::query("UPDATE users SET disabled = 1 WHERE username = 'taijiang'")
        .execute(app.db.pool())
        .await
        .unwrap();
    assert_eq!(answer("taijiang", PASSWORD).await, unknown);
    for _ in 0..5 {
        answer("gulou", "wrong").await;
    }
    assert_eq!(answer("gulou", PASSWORD).await, unknown);
}

#[tokio::test]
async fn expired_session_is_told_apart() {
    let app = spawn_app().await;
    let (c, _) = app.login("gulou").await;
    sqlx::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000000Z'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let r = c.get(format!("{}/cases", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("expired=1")
    );
    let r = c
        .get(format!("{}/api/v1/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "session_expired");
    let page = get_text(&c, format!("{}/login?expired=1", app.base)).await;
    assert!(page.contains("会话已过期"));
}

#[tokio::test]
async fn disabled_account_loses_its_sessions() {
    let app = spawn_app().await;
    let (c, _) = app.login("taijiang").await;
    let id: i64 = app
        .scalar("SELECT id FROM users WHERE username = 'taijiang'")
        .await;
    ecowarden_core::auth::set_disabled(&app.db, "test", id, true)
        .await
        .unwrap();
    assert_eq!(
        c.get(format!("{}/api/v1/me", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let (_, r) = app.form_login("taijiang", PASSWORD).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let before: i64 = app.scalar("SELECT COUNT(*) FROM users").await;
    let body = serde_json::json!({"username": "csrf_probe", "display_name": "x", "password": "Test-Passw0rd!", "role": "auditor", "region_code": "350000"});
    // No token, a wrong token, a form without its field: all refused, nothing written.
    let r = c
        .post(format!("{}/api/v1/users", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "csrf");
    let r = c
        .post(format!("{}/api/v1/users", app.base))
        .header("x-csrf-token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{}/users", app.base))
        .form(&[
            ("username", "csrf_probe"),
            ("display_name", "x"),
            ("password", "Test-Passw0rd!"),
            ("role", "auditor"),
            ("region_code", "350000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("CSRF"));
    let after: i64 = app.scalar("SELECT COUNT(*) FROM users").await;
    assert_eq!(before, after);
    assert_eq!(app.security_events("csrf_rejected").await, 3);
    // With the token it works.
    let r = c
        .post(format!("{}/api/v1/users", app.base))
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The login form itself is protected by its double-submit cookie.
    let r = client()
        .post(format!("{}/login", app.base))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn next_parameter_cannot_redirect_off_site() {
    let app = spawn_app().await;
    let c = client();
    let page = get_text(&c, format!("{}/login?next=//evil.example/", app.base)).await;
    assert!(page.contains("name=\"next\" value=\"/\""));
}

/// Issue #16, item 6: a huge username filled the security log and the server log.
#[tokio::test]
async fn long_login_fields_are_refused_and_not_stored() {
    let app = spawn_app().await;
    let c = client();
    let url = format!("{}/api/v1/session", app.base);
    // Over the login routes' body limit: refused before it is read whole.
    let huge = "a".repeat(64 * 1024);
    let r = c
        .post(&url)
        .json(&serde_json::json!({"username": huge, "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Within the body but over the field caps: refused in Chinese, nothing stored.
    let long = "b".repeat(65);
    let r = c
        .post(&url)
        .json(&serde_json::json!({"username": long, "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("用户名过长"));
    let r = c
        .post(&url)
        .json(&serde_json::json!({"username": "gulou", "password": "p".repeat(257)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("密码过长"));
    let longest: i64 = app
        .scalar("SELECT COALESCE(MAX(LENGTH(username)), 0) FROM security_events")
        .await;
    assert!(longest <= 65, "{longest}");
}
