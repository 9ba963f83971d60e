//! The hash-chained audit log: changes are recorded, and tampering is found and named.

use ecowarden_core::audit_log::{self, Problem};

use crate::helpers::spawn_app;

/// Makes a few audited changes: a user created, disabled, re-enabled, its password reset.
async fn some_changes(app: &crate::helpers::TestApp) -> i64 {
    let (c, csrf) = app.login("admin").await;
    let r = c
        .post(format!("{}/api/v1/users", app.base))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"username": "audited", "display_name": "审计对象", "password": "Test-Passw0rd!", "role": "county_officer", "region_code": "350102"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for action in ["disable", "enable"] {
        let r = c
            .post(format!("{}/users/{id}/{action}", app.base))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    id
}

#[tokio::test]
async fn changes_are_recorded_with_before_and_after() {
    let app = spawn_app().await;
    let id = some_changes(&app).await;
    let h = audit_log::history(&app.db, "user", &id.to_string())
        .await
        .unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "disable", "enable"]);
    assert!(h.iter().all(|e| e.actor == "admin"));
    assert_eq!(h[1].before_json.as_deref(), Some("{\"disabled\":false}"));
    assert_eq!(h[1].after_json.as_deref(), Some("{\"disabled\":true}"));
    // Each links to the one before it.
    let all = audit_log::recent(&app.db, 1000).await.unwrap();
    for w in all.windows(2) {
        assert_eq!(w[0].prev_hash, w[1].hash);
        assert_eq!(w[0].seq, w[1].seq + 1);
    }
    let v = audit_log::verify(&app.db).await.unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.entries, all.len() as i64);

    // The audit page reads in Chinese and in Beijing time; the stored names stay English.
    let (c, _) = app.login("admin").await;
    let page = crate::helpers::get_text(&c, format!("{}/audit", app.base)).await;
    let row = |action: &str| format!("<td>admin</td><td>{action}</td><td>用户 {id}</td>");
    for action in ["新建", "停用", "启用"] {
        assert!(page.contains(&row(action)), "{action} row for user {id}");
    }
    let shown = ecowarden_core::clock::display_instant(&h[1].at);
    assert!(page.contains(&format!("<td>{shown}</td>")), "time {shown}");
}

#[tokio::test]
async fn verify_names_edited_deleted_and_reordered_entries() {
    let app = spawn_app().await;
    some_changes(&app).await;
    let last: i64 = app.scalar("SELECT MAX(seq) FROM audit_log").await;
    assert!(last >= 5);

    // Edit one entry's content.
    sqlx::query("UPDATE audit_log SET after_json = '{\"disabled\":false}' WHERE seq = $1")
        .bind(last - 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = audit_log::verify(&app.db).await.unwrap();
    assert_eq!(v.problems, vec![Problem::Edited { seq: last - 1 }]);

    // Delete another: the gap and the broken link both name it.
    sqlx::query("DELETE FROM audit_log WHERE seq = $1")
        .bind(last - 3)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = audit_log::verify(&app.db).await.unwrap();
    assert!(
        v.problems.contains(&Problem::Missing {
            from: last - 3,
            to: last - 3
        }),
        "{:?}",
        v.problems
    );
    assert!(
        v.problems.contains(&Problem::BrokenLink { seq: last - 2 }),
        "{:?}",
        v.problems
    );

    // The command exits non-zero and names the entries.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .args(["--database-url", &app.url, "audit-log", "verify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("entry {}: content was edited", last - 1)),
        "{text}"
    );
    assert!(
        text.contains(&format!("entry {}: deleted", last - 3)),
        "{text}"
    );
}

#[tokio::test]
async fn swapped_entries_are_found() {
    let app = spawn_app().await;
    some_changes(&app).await;
    let last: i64 = app.scalar("SELECT MAX(seq) FROM audit_log").await;
    // Swap the numbers of two entries (a reorder that keeps every number present).
    for (from, to) in [(last, -1), (last - 1, last), (-1, last - 1)] {
        sqlx::query("UPDATE audit_log SET seq = $1 WHERE seq = $2")
            .bind(to)
            .bind(from)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    let v = audit_log::verify(&app.db).await.unwrap();
    assert!(!v.problems.is_empty());
    assert!(
        v.problems
            .iter()
            .any(|p| matches!(p, Problem::Edited { seq } if *seq == last - 1 || *seq == last)),
        "{:?}",
        v.problems
    );
}
