//! The store itself, on whichever backend the suite runs against.

use ecowarden_core::store::{Db, StoreError};

use crate::helpers::{fresh_db_url, spawn_app};

#[tokio::test]
async fn migrations_are_idempotent_and_seed_once() {
    let url = fresh_db_url().await;
    let db = Db::connect(&url).await.unwrap();
    let again = Db::connect(&url).await.unwrap();
    assert!(
        !ecowarden_core::org::seed(&again).await.unwrap(),
        "organisation already seeded"
    );
    assert!(
        ecowarden::demo::seed(&db, 10, 2023, 1)
            .await
            .unwrap()
            .is_none(),
        "demo data not added twice"
    );
    let regions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        regions,
        1 + 10 + 82,
        "province, 9 cities + 平潭, 82 counties"
    );
    let units: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM units")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(units, regions);
}

#[tokio::test]
async fn unique_violation_is_a_conflict() {
    let app = spawn_app().await;
    let code: String = sqlx::query_scalar("SELECT credit_code FROM facilities LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let err = sqlx::query("INSERT INTO facilities (name, credit_code, region_code, city_code, industry) VALUES ('x', $1, '350102', '350100', 'x')")
        .bind(code)
        .execute(app.db.pool())
        .await
        .map_err(StoreError::from)
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The same Chinese sentence on both backends, naming the field, never the driver's text.
    assert_eq!(err.to_string(), "统一社会信用代码已存在，未保存");
    let err = sqlx::query("INSERT INTO facilities (name, credit_code, region_code, city_code, industry) VALUES ('x', '91350102MA00000001', '999999', '350100', 'x')")
        .execute(app.db.pool())
        .await
        .map_err(StoreError::from)
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(
        err.to_string().contains("不存在或仍被其他记录引用"),
        "{err}"
    );
}

#[tokio::test]
async fn generated_data_is_valid() {
    let app = spawn_app().await;
    let codes: Vec<String> = sqlx::query_scalar("SELECT credit_code FROM facilities")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert!(codes.len() > 1000);
    for c in &codes {
        c.parse::<ecowarden_core::ids::CreditCode>().unwrap();
    }
    let nos: Vec<String> = sqlx::query_scalar("SELECT case_no FROM cases")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(nos.len(), 400);
    for n in &nos {
        assert_eq!(
            n.parse::<ecowarden_core::ids::CaseNo>().unwrap().year(),
            2023
        );
    }
    // Dates in order wherever present.
    type Dates = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Dates> =
        sqlx::query_as("SELECT discovered_on, filed_on, decided_on, closed_on FROM cases")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    for (d, f, dec, c) in rows {
        let f = f.unwrap();
        assert!(d <= f);
        if let Some(dec) = &dec {
            assert!(&f < dec);
        }
        if let Some(c) = c {
            assert!(dec.unwrap() < c);
        }
    }
}

/// The dashboard's figures are the ledger's: recomputed here row by row.
#[tokio::test]
async fn dashboard_matches_the_rows() {
    let app = spawn_app().await;
    let scope = ecowarden_core::scope::Scope::City("350100".into());
    let d = ecowarden_ledger::cases::dashboard(&app.db, &app.org, &scope, 2023)
        .await
        .unwrap();
    let rows: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT COALESCE(filed_on, discovered_on), status, fine_fen, region_code FROM cases WHERE city_code = '350100' AND year = 2023")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(d.cases, rows.len() as i64);
    assert_eq!(d.fine_fen, rows.iter().map(|r| r.2).sum::<i64>());
    assert_eq!(
        d.closed,
        rows.iter().filter(|r| r.1 == "closed").count() as i64
    );
    let mut months = [0i64; 12];
    for r in &rows {
        months[r.0[5..7].parse::<usize>().unwrap() - 1] += 1;
    }
    assert_eq!(d.by_month, months);
    let region = |d: &ecowarden_ledger::cases::Dashboard, code: &str| {
        d.by_region
            .iter()
            .find(|r| r.region_code == code)
            .cloned()
            .unwrap()
    };
    let gulou = region(&d, "350102");
    assert_eq!(gulou.name, "鼓楼区");
    // At the province's scope, the province's own code is the corps' own cases.
    let province = ecowarden_ledger::cases::dashboard(
        &app.db,
        &app.org,
        &ecowarden_core::scope::Scope::Province,
        2023,
    )
    .await
    .unwrap();
    let corps = region(&province, "350000");
    assert_eq!(corps.name, "省总队直办");
    assert_eq!(region(&province, "350100").name, "福州市");
    assert_eq!(
        gulou.cases,
        rows.iter().filter(|r| r.3 == "350102").count() as i64
    );
    // Where the cases stand, per stage in workflow order, adds up to every case.
    for s in &d.by_status {
        assert_eq!(
            s.cases,
            rows.iter().filter(|r| r.1 == s.code).count() as i64
        );
        assert!(!s.label.is_empty() && s.cases > 0);
    }
    assert_eq!(d.by_status.iter().map(|s| s.cases).sum::<i64>(), d.cases);
    let order: Vec<_> = d.by_status.iter().map(|s| s.code.as_str()).collect();
    let all: Vec<_> = ecowarden_ledger::cases::Status::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| order.contains(s))
        .collect();
    assert_eq!(order, all);
}
