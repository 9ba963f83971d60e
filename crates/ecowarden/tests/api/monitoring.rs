//! Monitoring: the registry, and the HJ 212 receiver as a separate process, the way it runs
//! in production.

/// The registry file is imported all or nothing, re-importing it changes nothing, and every
/// change is in the audit log (on SQLite and PostgreSQL).
#[tokio::test]
async fn registry_import_is_all_or_nothing_and_audited() {
    use ecowarden::auth::Scope;
    use ecowarden::registry::{self, SaveError};
    let app = crate::helpers::spawn_app().await;
    let table = |csv: &str| ecowarden::sheet::read_table(csv.as_bytes()).unwrap();
    let head = registry::HEADERS.join(",");
    let good = format!(
        "{head}\n\
         REGMN01,123456,福建台江测试电镀有限公司,91350103MA2YK8LQ14,350103,1号排口,电镀,32,w01018,50,mg/L,0-500,4,\n\
         REGMN01,123456,福建台江测试电镀有限公司,91350103MA2YK8LQ14,350103,1号排口,电镀,32,w21003,5,mg/L,0-50,0.025,\n"
    );
    let outlets = registry::parse_table("r.csv", &table(&good)).unwrap();
    let audit_before = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let done = registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &outlets,
    )
    .await
    .unwrap();
    assert_eq!(
        (done.facilities_created, done.outlets_created, done.factors),
        (1, 1, 2)
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 2
    );
    let again = registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &outlets,
    )
    .await
    .unwrap();
    assert_eq!(again.outlets_unchanged, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 2
    );

    // A county officer of 鼓楼 may not register 台江's outlet: nothing is written.
    let mut changed = outlets.clone();
    changed[0].password = "654321".into();
    let err = registry::save(
        &app.db,
        &app.org,
        &Scope::County("350102".into()),
        "gulou",
        "r.csv",
        &changed,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SaveError::Rejected(_)));
    let stations = registry::stations(&app.db).await.unwrap();
    assert_eq!(stations["REGMN01"].password, "123456");
    assert_eq!(stations["REGMN01"].city_code, "350100");

    // The province changes the password: one update, audited without the password in clear.
    registry::save(
        &app.db,
        &app.org,
        &Scope::Province,
        "test",
        "r.csv",
        &changed,
    )
    .await
    .unwrap();
    assert_eq!(
        registry::stations(&app.db).await.unwrap()["REGMN01"].password,
        "654321"
    );
    let after: String = sqlx::query_scalar(
        "SELECT after_json FROM audit_log WHERE entity = 'outlet' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(!after.contains("654321") && after.contains("password_sha256"));
}
