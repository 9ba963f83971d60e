//! What the load work changed: the case list's late row lookup and the dashboard cache.

use ecowarden_core::scope::{Area, Scope};
use ecowarden_ledger::cases::{self, CaseFilter, PAGE_SIZE};

use crate::helpers::{get_json, spawn_app};

/// The expected answer for a region filter outside the scope: refused before any list.
const REFUSED: &str = "refused";

/// Every page of the list, for a scope and filter, holds the same cases in the same order as
/// one plain query over the table (newest discovered first, then highest id), and the pages
/// together hold every matching case exactly once.
#[tokio::test]
async fn list_pages_match_a_plain_query() {
    let app = spawn_app().await;
    // A filter, a scope, and the plain condition they mean.
    let f = |year: Option<i64>, region: &str, status: &str, source: &str| CaseFilter {
        year,
        region: Some(region.into()).filter(|r: &String| !r.is_empty()),
        status: Some(status.into()).filter(|r: &String| !r.is_empty()),
        source: Some(source.into()).filter(|r: &String| !r.is_empty()),
        ..Default::default()
    };
    let city = || Scope::City("350100".into());
    let cases: Vec<(Scope, CaseFilter, &str)> = vec![
        (Scope::Province, f(None, "", "", ""), "1=1"),
        (Scope::Province, f(Some(2023), "", "", ""), "year = 2023"),
        (Scope::Province, f(Some(2022), "", "", ""), "year = 2022"),
        (
            Scope::Province,
            f(Some(2023), "350100", "", ""),
            "year = 2023 AND city_code = '350100'",
        ),
        (
            Scope::Province,
            f(Some(2023), "350102", "", ""),
            "year = 2023 AND region_code = '350102'",
        ),
        (
            Scope::Province,
            f(Some(2023), "", "closed", ""),
            "year = 2023 AND status = 'closed'",
        ),
        (
            Scope::Province,
            f(None, "", "", "complaint"),
            "source = 'complaint'",
        ),
        (
            Scope::Province,
            f(Some(2023), "350200", "closed", "inspection"),
            "year = 2023 AND city_code = '350200' AND status = 'closed' AND source = 'inspection'",
        ),
        (city(), f(None, "", "", ""), "city_code = '350100'"),
        (
            city(),
            f(Some(2023), "", "closed", ""),
            "city_code = '350100' AND year = 2023 AND status = 'closed'",
        ),
        (
            city(),
            f(Some(2023), "350102", "", ""),
            "region_code = '350102' AND year = 2023",
        ),
        (city(), f(None, "350100", "", ""), "city_code = '350100'"),
        // A region outside the scope: no area can be made of it, so no list is asked for.
        (city(), f(None, "350200", "", ""), REFUSED),
        (city(), f(None, "350128", "", ""), REFUSED),
        (
            Scope::County("350102".into()),
            f(Some(2023), "", "", ""),
            "region_code = '350102' AND year = 2023",
        ),
        // A county asking for its whole city is refused too.
        (
            Scope::County("350102".into()),
            f(None, "350100", "", ""),
            REFUSED,
        ),
        (
            Scope::County("350102".into()),
            f(None, "350102", "", "inspection"),
            "region_code = '350102' AND source = 'inspection'",
        ),
    ];
    for (scope, filter, cond) in cases {
        let Ok(area) = scope.area(&app.org, filter.region.as_deref()) else {
            assert_eq!(cond, REFUSED, "{scope:?} {filter:?}");
            continue;
        };
        let want: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM cases WHERE {cond} ORDER BY discovered_on DESC, id DESC"
        )))
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        let mut got = Vec::new();
        for page in 1.. {
            let f = CaseFilter {
                page: Some(page),
                ..filter.clone()
            };
            let (rows, more) = cases::list(&app.db, &area, &f).await.unwrap();
            assert!(rows.len() as i64 <= PAGE_SIZE);
            assert_eq!(
                more,
                (page * PAGE_SIZE) < want.len() as i64,
                "{cond}, page {page}"
            );
            got.extend(rows.iter().map(|r| r.id));
            if !more {
                break;
            }
        }
        assert_eq!(got, want, "{scope:?} {filter:?}");
    }
    // The demo store has enough cases for several pages of the unfiltered list.
    let n = app.scalar("SELECT COUNT(*) FROM cases").await;
    assert!(n > 3 * PAGE_SIZE, "{n} cases");
}

/// Many users opening their dashboards at once on a cold cache all get figures (no 500 from
/// an exhausted pool), and concurrent requests of one scope get the same figures.
#[tokio::test]
async fn dashboards_on_a_cold_cache_under_concurrency() {
    let app = spawn_app().await;
    let mut clients = Vec::new();
    for user in ["admin", "fz_leader", "xm_leader", "gulou", "taijiang"] {
        clients.push((user, app.login(user).await.0));
    }
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (user, c) = clients[i % clients.len()].clone();
        let base = app.base.clone();
        tasks.push(tokio::spawn(async move {
            let api = c
                .get(format!("{base}/api/v1/dashboard?year=2023"))
                .send()
                .await
                .unwrap();
            let status = api.status().as_u16();
            let body: serde_json::Value = if status == 200 {
                api.json().await.unwrap()
            } else {
                serde_json::Value::Null
            };
            let page = c.get(format!("{base}/?year=2023")).send().await.unwrap();
            (user, status, page.status().as_u16(), body)
        }));
    }
    let mut seen: std::collections::HashMap<&str, serde_json::Value> = Default::default();
    for t in tasks {
        let (user, api, page, body) = t.await.unwrap();
        assert_eq!((api, page), (200, 200), "{user}");
        let first = seen.entry(user).or_insert_with(|| body.clone());
        assert_eq!(*first, body, "{user}: one computation, one answer");
    }
    let d: serde_json::Value = get_json(
        &clients[0].1,
        format!("{}/api/v1/dashboard?year=2023", app.base),
    )
    .await;
    assert_eq!(
        d["cases"].as_i64().unwrap(),
        app.scalar("SELECT COUNT(*) FROM cases WHERE year = 2023")
            .await
    );
}

/// The case list's p95 over a million cases (issue #16's target: < 50 ms), as the list page
/// asks for it: one page and its total (counted once per filter, then cached). SQLite only;
/// slow to build (the seeded cases copied to a million by one set-based INSERT), so ignored:
/// `cargo test --release -p ecowarden --test api list_p95 -- --ignored --nocapture`.
///
/// The target is asserted for the filters, orders and date range; the searches' figures are
/// printed, not asserted: a search's first total over a million cases is a count of every
/// match (1–2 s for one most of the ledger holds), which the next 30 s reuse.
#[tokio::test]
#[ignore]
async fn list_p95_over_a_million_cases() {
    use std::time::Duration;
    let app = spawn_app().await;
    if app.db.backend() != ecowarden_core::store::Backend::Sqlite {
        return;
    }
    let t = std::time::Instant::now();
    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('cases')")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let base = app.scalar("SELECT MAX(id) FROM cases").await;
    let copies = 1_000_000 / app.scalar("SELECT COUNT(*) FROM cases").await;
    let select: Vec<String> = cols
        .iter()
        .map(|c| match c.as_str() {
            "id" => format!("id + k.n * {base}"),
            "case_no" => "case_no || '-' || k.n".into(),
            c => c.to_owned(),
        })
        .collect();
    let sql = format!(
        "INSERT INTO cases ({}) WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < {}) \
         SELECT {} FROM cases, k WHERE id <= {base}",
        cols.join(", "),
        copies - 1,
        select.join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(app.db.pool())
        .await
        .unwrap();
    sqlx::query("ANALYZE").execute(app.db.pool()).await.unwrap();
    let n = app.scalar("SELECT COUNT(*) FROM cases").await;
    println!("{n} cases built in {:.0?}", t.elapsed());
    assert!(n >= 1_000_000);

    let province = || Scope::Province.area(&app.org, None).unwrap();
    let county = || Scope::County("350102".into()).area(&app.org, None).unwrap();
    let city = || Scope::City("350100".into()).area(&app.org, None).unwrap();
    let f = |q: &str, extra: fn(&mut CaseFilter)| {
        let mut f = CaseFilter {
            q: Some(q.into()).filter(|q: &String| !q.is_empty()),
            ..Default::default()
        };
        extra(&mut f);
        f
    };
    let mixes = [
        ("province, newest", province(), f("", |_| {})),
        (
            "province, page 20",
            province(),
            f("", |f| f.page = Some(20)),
        ),
        (
            "province, 2023 closed",
            province(),
            f("", |f| {
                f.year = Some(2023);
                f.status = Some("closed".into());
            }),
        ),
        (
            "province, complaints",
            province(),
            f("", |f| f.source = Some("complaint".into())),
        ),
        ("city", city(), f("", |_| {})),
        ("county", county(), f("", |_| {})),
        (
            "province, by fine",
            province(),
            f("", |f| f.sort = Some("fine".into())),
        ),
        (
            "province, by filed",
            province(),
            f("", |f| f.sort = Some("filed".into())),
        ),
        (
            "province, by 案号",
            province(),
            f("", |f| f.sort = Some("case_no".into())),
        ),
        (
            "province, a quarter",
            province(),
            f("", |f| {
                f.from = "2023-04-01".parse().ok();
                f.to = "2023-06-30".parse().ok();
            }),
        ),
    ];
    let searches = [
        ("province, q=华联", province(), f("华联", |_| {})),
        ("province, q=鼓楼华联", province(), f("鼓楼华联", |_| {})),
        ("city, q=印染", city(), f("印染", |_| {})),
        ("province, q=〔2023〕1", province(), f("〔2023〕1", |_| {})),
        ("province, q=化", province(), f("化", |_| {})),
        ("county, q=公司", county(), f("公司", |_| {})),
        ("province, q=鲲 (nothing)", province(), f("鲲", |_| {})),
    ];
    let plain = p95(&app.db, &mixes).await;
    let search = p95(&app.db, &searches).await;
    println!("filters and orders p95 {plain:.1?}; searches p95 {search:.1?}");
    assert!(plain < Duration::from_millis(50), "p95 {plain:?}");
    assert!(
        search < Duration::from_millis(50),
        "searches p95 {search:?}"
    );
}

/// Times each (name, area, filter) 20 times as the list page asks (a page and its total), the
/// page uncached, prints its first (cold), p50 and p95, and returns the p95 over all of them.
async fn p95(
    db: &ecowarden_core::store::Db,
    mixes: &[(&str, Area, CaseFilter)],
) -> std::time::Duration {
    let mut all = Vec::new();
    for (name, area, filter) in mixes {
        let mut times = Vec::new();
        // The total is counted once per filter, as the page's cache does (`ListCache`).
        let mut counted = None;
        for _ in 0..20 {
            let t = std::time::Instant::now();
            let (rows, _) = cases::list(db, area, filter).await.unwrap();
            let total = match counted {
                Some(n) => n,
                None => *counted.insert(cases::count(db, area, filter).await.unwrap()),
            };
            times.push(t.elapsed());
            assert!(rows.len() as i64 <= total);
        }
        times.sort();
        println!(
            "{name:28} first {:>8.1?}  p50 {:>8.1?}  p95 {:>8.1?}",
            times.iter().max().unwrap(),
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
        all.extend(times);
    }
    all.sort();
    let p95 = all[all.len() * 95 / 100];
    println!("all {} requests: p95 {p95:.1?}", all.len());
    p95
}
