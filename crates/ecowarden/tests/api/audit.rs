//! The hash-chained audit log: changes are recorded, and tampering is found and named.

use ecowarden_core::audit_log::{self, Problem, Verification};
use ecowarden_core::auth::{self, SecurityEvent};
use ecowarden_core::chain::{self, Linked};

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
    // People by name, the fields in words rather than JSON.
    let name: String =
        sqlx::query_scalar("SELECT display_name FROM users WHERE username = 'admin'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let row = |action: &str| format!("<td>{name}</td><td>{action}</td><td>用户 {id}</td>");
    for action in ["新建", "停用", "启用"] {
        assert!(page.contains(&row(action)), "{action} row for user {id}");
    }
    assert!(page.contains("<b>停用</b>：<del>否</del> → 是"), "{page}");
    assert!(!page.contains("{&quot;disabled"), "no raw JSON");
    let shown = ecowarden_core::clock::display_instant(&h[1].at);
    assert!(
        page.contains(&format!("<td class=\"nowrap\">{shown}</td>")),
        "time {shown}"
    );
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

/// `ecowarden audit-log verify` on the app's store with its data directory.
fn verify_cli(app: &crate::helpers::TestApp) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .args(["--database-url", &app.url, "--data"])
        .arg(&app.data)
        .args(["audit-log", "verify"])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_checkpoint_finds_deleted_last_entries() {
    let app = spawn_app().await;
    some_changes(&app).await;
    let last: i64 = app.scalar("SELECT MAX(seq) FROM audit_log").await;
    // The key is private to the app's user; the seeded entries (written before the key) are
    // unkeyed and still verify, by their hash.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.data.join("audit.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let unkeyed: i64 = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE mac IS NULL")
        .await;
    assert!(unkeyed > 0 && unkeyed < last);
    let (ok, text) = verify_cli(&app);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("head (keep this): entries={last} head=")),
        "{text}"
    );

    // Delete the last two entries: the chain that is left is consistent, the checkpoint is not.
    sqlx::query("DELETE FROM audit_log WHERE seq > $1")
        .bind(last - 2)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = audit_log::verify(&app.db).await.unwrap();
    assert_truncated(&app, &v, last, "");
}

/// The chain ends two entries before its checkpoint's `last`, and `audit-log verify` says so
/// on a line starting with the chain's `prefix`.
fn assert_truncated(app: &crate::helpers::TestApp, v: &Verification, last: i64, prefix: &str) {
    assert_eq!(
        v.problems,
        vec![Problem::Truncated {
            entries: last - 2,
            checkpoint: last
        }]
    );
    let (ok, text) = verify_cli(app);
    assert!(!ok);
    assert!(
        text.contains(&format!(
            "{prefix}truncated: the checkpoint records {last} entries, the store ends at {}",
            last - 2
        )),
        "{text}"
    );
}

#[tokio::test]
async fn the_mac_finds_an_edit_with_every_later_hash_recomputed() {
    let app = spawn_app().await;
    some_changes(&app).await;
    let last: i64 = app.scalar("SELECT MAX(seq) FROM audit_log").await;
    // Edit an entry, then recompute its hash and every later one (what the unkeyed chain
    // cannot see).
    let mut entries = audit_log::recent(&app.db, 3).await.unwrap();
    entries.reverse();
    assert_eq!(entries[0].seq, last - 2);
    let mut prev = entries[0].prev_hash.clone();
    for (i, e) in entries.iter_mut().enumerate() {
        if i == 1 {
            e.after_json = Some("{\"disabled\":false}".into());
        }
        e.prev_hash = prev.clone();
        e.hash = e.expected_hash();
        prev = e.hash.clone();
        sqlx::query(
            "UPDATE audit_log SET after_json = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(e.after_json.as_deref())
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(e.seq)
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    let unkeyed = audit_log::verify_with(&app.db, None, None, None)
        .await
        .unwrap();
    assert_fooled(&unkeyed);
    let v = audit_log::verify(&app.db).await.unwrap();
    assert!(
        v.problems.contains(&Problem::Rewritten { seq: last - 1 })
            && v.problems.contains(&Problem::Rewritten { seq: last })
            && v.problems.contains(&Problem::HeadChanged { seq: last }),
        "{:?}",
        v.problems
    );
    assert!(!v.problems.contains(&Problem::Rewritten { seq: last - 2 }));
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(
        text.contains(&format!("entry {}: rewritten", last - 1)),
        "{text}"
    );

    // Dropping the MACs does not help: entries after the first keyed one must carry one.
    sqlx::query("UPDATE audit_log SET mac = NULL WHERE seq >= $1")
        .bind(last - 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = audit_log::verify(&app.db).await.unwrap();
    assert!(
        v.problems.contains(&Problem::Unkeyed { seq: last - 1 }),
        "{:?}",
        v.problems
    );
    // Without the key file the MACs cannot be checked, and verify says so.
    std::fs::remove_file(app.data.join("audit.key")).unwrap();
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(text.contains("MACs cannot be checked"), "{text}");
    assert!(!app.data.join("audit.key").exists(), "verify makes no key");
}

/// Without the key the recomputed chain verifies: only the key's absence is reported.
fn assert_fooled(unkeyed: &Verification) {
    assert!(
        unkeyed
            .problems
            .iter()
            .all(|p| matches!(p, Problem::KeyMissing { .. })),
        "the hash chain alone is fooled: {:?}",
        unkeyed.problems
    );
}

/// The audit page's entry rows, each from its first cell (the sequence number) on.
fn audit_rows(page: &str) -> Vec<String> {
    let table = page
        .split("id=\"audit-entries\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the entries table");
    table
        .split("<tr><td>")
        .skip(1)
        .map(|r| r.to_owned())
        .collect()
}

#[tokio::test]
async fn the_audit_page_filters_by_entity_actor_date_and_case_and_pages() {
    let app = spawn_app().await;
    let user = some_changes(&app).await;
    let (c, _) = app.login("auditor").await;
    let get = |q: String| {
        let c = c.clone();
        let base = app.base.clone();
        async move { crate::helpers::get_text(&c, format!("{base}/audit?{q}")).await }
    };
    let count = |sql: String| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .fetch_one(db.pool())
                .await
                .unwrap() as usize
        }
    };
    // Entity: the user's three entries and nothing of another kind.
    let rows = audit_rows(&get("entity=user".into()).await);
    assert_eq!(
        rows.len(),
        count("SELECT COUNT(*) FROM audit_log WHERE entity = 'user'".into()).await
    );
    assert!(rows.iter().all(|r| r.contains("<td>用户 ")), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains(&format!("<td>用户 {user}</td>")))
    );
    // Actor, by the person's name or the login name.
    let by_name = audit_rows(
        &get("actor=%E7%9C%81%E7%BA%A7%E7%AE%A1%E7%90%86%E5%91%98&entity=user".into()).await,
    );
    let by_login = audit_rows(&get("actor=admin&entity=user".into()).await);
    let by_admin =
        count("SELECT COUNT(*) FROM audit_log WHERE entity = 'user' AND actor = 'admin'".into())
            .await;
    assert!(by_admin >= 3);
    assert_eq!(by_name.len(), by_admin);
    assert_eq!(by_name, by_login);
    let page = get("actor=nobody".into()).await;
    assert!(audit_rows(&page).is_empty() && page.contains("没有符合条件的记录"));
    // Date range, in Beijing days: today has the changes, tomorrow has none.
    let today = ecowarden_core::clock::today();
    let tomorrow = today.succ_opt().unwrap();
    let rows = audit_rows(&get(format!("entity=user&from={today}&to={today}")).await);
    assert!(
        rows.iter()
            .any(|r| r.contains(&format!("<td>用户 {user}</td>")))
    );
    assert!(audit_rows(&get(format!("from={tomorrow}")).await).is_empty());
    let r = c
        .get(format!("{}/audit?from=2024-02-30", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("2024-02-30"));
    // One case, by its 案号: only its entries.
    let case_id = app.case_in("350102").await;
    let case_no: String = sqlx::query_scalar("SELECT case_no FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    for (id, note) in [(case_id, "本案"), (case_id + 1, "他案")] {
        let mut w = app.db.write().await.unwrap();
        audit_log::append(
            &mut w,
            &audit_log::Change {
                actor: "gulou",
                action: "correct",
                entity: "case",
                entity_id: id.to_string(),
                before: None,
                after: Some(serde_json::json!({ "note": note })),
            },
        )
        .await
        .unwrap();
        w.commit().await.unwrap();
    }
    let url = reqwest::Url::parse_with_params("http://x/", &[("case", &case_no)]).unwrap();
    let rows = audit_rows(&get(url.query().unwrap().to_owned()).await);
    let n = count(format!(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'case' AND entity_id = '{case_id}'"
    ))
    .await;
    assert!(n > 0);
    assert_eq!(rows.len(), n);
    assert!(
        rows.iter()
            .all(|r| r.contains(&format!("<td>案件 {case_id}</td>")))
    );
    // Paging: 100 a page, newest first, the next page continuing where this one stops.
    let total = count("SELECT COUNT(*) FROM audit_log".into()).await;
    assert!(total > 100, "the demo store has {total} entries");
    let first = get(String::new()).await;
    assert_eq!(audit_rows(&first).len(), 100);
    assert!(first.contains("id=\"audit-next\""));
    let second = audit_rows(&get("page=2".into()).await);
    let seq = |r: &String| r.split("</td>").next().unwrap().parse::<i64>().unwrap();
    assert_eq!(seq(&audit_rows(&first)[99]) - 1, seq(&second[0]));
}

/// Refused sign-ins (each a security event); the number of the last event.
async fn some_security_events(app: &crate::helpers::TestApp, n: usize) -> i64 {
    let c = crate::helpers::client();
    for i in 0..n {
        let r = c
            .post(format!("{}/api/v1/session", app.base))
            .json(&serde_json::json!({"username": format!("nobody{i}"), "password": "Wrong-Passw0rd!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    app.scalar("SELECT MAX(id) FROM security_events").await
}

async fn verify_security(app: &crate::helpers::TestApp) -> Verification {
    chain::verify::<SecurityEvent>(&app.db).await.unwrap()
}

/// Issue #16: security events are chained like the audit log; an edited one is named.
#[tokio::test]
async fn an_edited_security_event_is_named() {
    let app = spawn_app().await;
    let last = some_security_events(&app, 4).await;
    let v = verify_security(&app).await;
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(
        v.entries, last,
        "every event is in the chain, numbered from 1"
    );
    let macs: i64 = app
        .scalar("SELECT COUNT(*) FROM security_events WHERE mac IS NOT NULL")
        .await;
    assert_eq!(macs, last, "each keyed");
    let (ok, text) = verify_cli(&app);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "security events: head (keep this): entries={last} head="
        )),
        "{text}"
    );
    assert!(app.data.join("security-checkpoint").exists());

    sqlx::query("UPDATE security_events SET detail = 'nothing happened' WHERE id = $1")
        .bind(last - 1)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = verify_security(&app).await;
    assert_eq!(v.problems, vec![Problem::Edited { seq: last - 1 }]);
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(
        text.contains(&format!(
            "security events: entry {}: content was edited",
            last - 1
        )),
        "{text}"
    );
    assert!(text.contains("audit log intact"), "{text}");
}

/// Issue #16: deleting the last security events is found against their checkpoint.
#[tokio::test]
async fn deleted_last_security_events_are_found() {
    let app = spawn_app().await;
    let last = some_security_events(&app, 4).await;
    sqlx::query("DELETE FROM security_events WHERE id > $1")
        .bind(last - 2)
        .execute(app.db.pool())
        .await
        .unwrap();
    let v = verify_security(&app).await;
    assert_truncated(&app, &v, last, "security events: ");
}

/// Issue #16: an edited security event with every later hash recomputed fools the hash chain
/// alone, not the MACs and the checkpoint.
#[tokio::test]
async fn a_security_chain_rewritten_without_the_key_is_found() {
    let app = spawn_app().await;
    let last = some_security_events(&app, 4).await;
    let mut events = auth::recent_security_events(&app.db, 3).await.unwrap();
    events.reverse();
    let mut prev = events[0].hash.clone().unwrap();
    for (i, e) in events.iter_mut().enumerate().skip(1) {
        if i == 1 {
            e.detail = "nothing happened".into();
        }
        e.prev_hash = Some(prev.clone());
        let hash = chain::hash(&e.content());
        prev = hash.clone();
        sqlx::query(
            "UPDATE security_events SET detail = $1, prev_hash = $2, hash = $3 WHERE id = $4",
        )
        .bind(&e.detail)
        .bind(e.prev_hash.as_deref())
        .bind(&hash)
        .bind(e.id)
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    let unkeyed = chain::verify_with::<SecurityEvent>(&app.db, None, None, None)
        .await
        .unwrap();
    assert_fooled(&unkeyed);
    let v = verify_security(&app).await;
    assert_eq!(
        v.problems,
        vec![
            Problem::Rewritten { seq: last - 1 },
            Problem::Rewritten { seq: last },
            Problem::HeadChanged { seq: last },
        ]
    );
    let (ok, text) = verify_cli(&app);
    assert!(!ok);
    assert!(
        text.contains(&format!("security events: entry {last}: rewritten")),
        "{text}"
    );
}

/// Events recorded before the chain existed (migration 0018) are chained at the next start,
/// in their order, numbered without gaps.
#[tokio::test]
async fn security_events_from_before_the_chain_are_chained_at_start() {
    let (db, _) = crate::helpers::empty_db().await;
    for id in [2, 5, 9] {
        sqlx::query("INSERT INTO security_events (id, at, kind, path, detail) VALUES ($1, '2026-01-01T00:00:00Z', 'login_failed', '/login', $2)")
            .bind(id as i64)
            .bind(format!("event {id}"))
            .execute(db.pool())
            .await
            .unwrap();
    }
    assert_eq!(auth::chain_security_events(&db).await.unwrap(), 3);
    let v = chain::verify_with::<SecurityEvent>(&db, None, None, None)
        .await
        .unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    assert_eq!(v.entries, 3);
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM security_events ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(details, ["event 2", "event 5", "event 9"]);
    assert_eq!(auth::chain_security_events(&db).await.unwrap(), 0, "once");
    db.pool().close().await;
}
