//! The case list (issue #16, "Lists"): contains-search on 案号, party name and credit code,
//! its total, page size, page jump, column sort and date range — on whichever backend
//! `TEST_DATABASE_URL` names.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TestApp, get_json, get_text, spawn_app};

/// Ids of the cases whose 案号, party name or credit code contains `part`, by a plain query.
async fn plain_matches(app: &TestApp, part: &str) -> BTreeSet<i64> {
    let like = format!("%{part}%");
    sqlx::query_scalar::<_, i64>(
        "SELECT c.id FROM cases c JOIN facilities f ON f.id = c.facility_id \
         WHERE c.case_no LIKE $1 OR f.name LIKE $1 OR f.credit_code LIKE $1",
    )
    .bind(like)
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Every page of `/api/v1/cases?{query}` 200 a page: the ids, and the total each page reported.
async fn all_pages(c: &reqwest::Client, app: &TestApp, query: &str) -> (Vec<Value>, i64) {
    let mut items = Vec::new();
    let mut total = None;
    for page in 1.. {
        let v: Value = get_json(
            c,
            format!("{}/api/v1/cases?{query}&per_page=200&page={page}", app.base),
        )
        .await;
        assert_eq!(v["per_page"], 200, "{v}");
        let t = v["total"].as_i64().expect("total");
        assert!(total.is_none_or(|x| x == t), "one total for every page");
        total = Some(t);
        items.extend(v["items"].as_array().unwrap().iter().cloned());
        if !v["has_next"].as_bool().unwrap() {
            break;
        }
    }
    (items, total.unwrap())
}

fn ids(items: &[Value]) -> BTreeSet<i64> {
    items.iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

/// `s` as a query-string value.
fn enc(s: &str) -> String {
    let url = reqwest::Url::parse_with_params("http://x/", &[("q", s)]).unwrap();
    url.query().unwrap()["q=".len()..].to_owned()
}

#[tokio::test]
async fn search_matches_anywhere_and_the_total_counts_the_matches() {
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let (name, credit): (String, String) = sqlx::query_as(
        "SELECT name, credit_code FROM facilities WHERE id = (SELECT MIN(facility_id) FROM cases)",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let chars: Vec<char> = name.chars().collect();
    let inner = |from: usize, len: usize| chars[from..from + len].iter().collect::<String>();
    // Two characters (LIKE fallback), three and four (trigram index), from inside the name;
    // the middle of a credit code; the year part of every 2023 案号.
    let parts = [
        inner(2, 2),
        inner(1, 3),
        inner(2, 4),
        credit[4..12].to_owned(),
        "〔2023〕".to_owned(),
        // The example: "华联" finds 福建台江华联水泥有限公司 and the like.
        "华联".to_owned(),
    ];
    for part in &parts {
        let expected = plain_matches(&app, part).await;
        assert!(!expected.is_empty(), "{part} matches some case");
        let (items, total) = all_pages(&c, &app, &format!("q={}", enc(part))).await;
        assert_eq!(ids(&items), expected, "q={part}");
        assert_eq!(items.len(), expected.len(), "q={part}: each case once");
        assert_eq!(total, expected.len() as i64, "q={part}: the total");
    }
    // A county sees only its own matches.
    let (g, _) = app.login("gulou").await;
    let (items, total) = all_pages(&g, &app, "q=%E3%80%942023%E3%80%95").await;
    assert!(items.iter().all(|c| c["region_code"] == "350102"));
    assert_eq!(total, items.len() as i64);
    // A renamed party is found by its new name at once (the index follows the table).
    sqlx::query("UPDATE facilities SET name = '福州澄砚墨纸有限公司' WHERE credit_code = $1")
        .bind(&credit)
        .execute(app.db.pool())
        .await
        .unwrap();
    for part in ["澄砚", "澄砚墨纸", "砚墨"] {
        let (items, _) = all_pages(&c, &app, &format!("q={}", enc(part))).await;
        assert_eq!(ids(&items), plain_matches(&app, part).await, "q={part}");
        assert!(!items.is_empty(), "q={part}");
        assert!(
            items.iter().all(|c| c["credit_code"] == credit.as_str()),
            "q={part}"
        );
    }
    // The old name no longer finds the party. The rename was written around the audit log
    // (the app has no such path), so the page asked before is kept by `ListCache` for its
    // TTL; asked in another order it is computed afresh.
    let query = format!("q={}&sort=filed", enc(&inner(1, 3)));
    let (items, _) = all_pages(&c, &app, &query).await;
    assert_eq!(ids(&items), plain_matches(&app, &inner(1, 3)).await);
}

/// One- and two-character queries have no trigram: the parties are looked up first and the
/// 案号 tested only when some 案号 holds the text (migration 0023's pieces).
#[tokio::test]
async fn short_searches_find_what_a_plain_scan_finds() {
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let (case_id, case_no, name): (i64, String, String) = sqlx::query_as(
        "SELECT c.id, c.case_no, f.name FROM cases c JOIN facilities f ON f.id = c.facility_id \
         ORDER BY c.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let first = |s: &str| s.chars().next().unwrap().to_string();
    let last_two = |s: &str| {
        let v: Vec<char> = s.chars().collect();
        v[v.len() - 2..].iter().collect::<String>()
    };
    // The 案号's first character (in 案号 only), a name's last two (in names only, "公司"),
    // digits (in 案号 and credit codes), a name's character, and a character in nothing.
    let parts = [
        first(&case_no),
        last_two(&name),
        "7".to_owned(),
        "9".to_owned(),
        "华".to_owned(),
        "鲵".to_owned(),
    ];
    for part in &parts {
        let expected = plain_matches(&app, part).await;
        let (items, total) = all_pages(&c, &app, &format!("q={}", enc(part))).await;
        assert_eq!(ids(&items), expected, "q={part}");
        assert_eq!(total, expected.len() as i64, "q={part}: the total");
    }
    // A 案号 corrected to hold a character no record had is found by it at once (a total
    // already counted would show a correction written around the audit log within `ListCache`'s
    // TTL, so fresh queries).
    sqlx::query("UPDATE cases SET case_no = case_no || '鲲' WHERE id = $1")
        .bind(case_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    for part in ["鲲", "号鲲"] {
        let (items, total) = all_pages(&c, &app, &format!("q={}", enc(part))).await;
        assert_eq!(ids(&items), BTreeSet::from([case_id]), "q={part}");
        assert_eq!(total, 1, "q={part}");
    }
    // Within a county's scope, and on a page of a sorted list.
    let (g, _) = app.login("gulou").await;
    let (items, total) =
        all_pages(&g, &app, &format!("q={}&sort=fine", enc(&last_two(&name)))).await;
    assert!(items.iter().all(|c| c["region_code"] == "350102"));
    assert_eq!(total, items.len() as i64);
}

#[tokio::test]
async fn the_list_sorts_pages_and_takes_a_date_range() {
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let page = |q: String| {
        let c = c.clone();
        let base = app.base.clone();
        async move { get_json::<Value>(&c, format!("{base}/api/v1/cases?{q}")).await }
    };
    // Page sizes: one of those offered, 50 otherwise.
    let v = page("per_page=20".into()).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 20);
    let v = page("per_page=7".into()).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 50);
    assert_eq!(v["per_page"], 50);
    let total = v["total"].as_i64().unwrap();
    assert_eq!(total, app.scalar("SELECT COUNT(*) FROM cases").await);
    // A page jump lands on the same rows as walking there.
    let last = (total + 19) / 20;
    let v = page(format!("per_page=20&page={last}")).await;
    assert_eq!(
        v["items"].as_array().unwrap().len() as i64,
        total - 20 * (last - 1)
    );
    assert_eq!(v["has_next"], false);
    // Column sort: fine ascending, 案号 descending, filed date newest first, unfiled last.
    let (items, _) = all_pages(&c, &app, "sort=fine&dir=asc").await;
    let fines: Vec<i64> = items
        .iter()
        .map(|c| c["fine_fen"].as_i64().unwrap())
        .collect();
    assert!(fines.windows(2).all(|w| w[0] <= w[1]), "fine ascending");
    assert_eq!(fines.len() as i64, total);
    let (items, _) = all_pages(&c, &app, "sort=case_no&dir=desc").await;
    let nos: Vec<&str> = items
        .iter()
        .map(|c| c["case_no"].as_str().unwrap())
        .collect();
    assert!(nos.windows(2).all(|w| w[0] >= w[1]), "案号 descending");
    let (items, _) = all_pages(&c, &app, "sort=filed").await;
    let filed: Vec<Option<&str>> = items.iter().map(|c| c["filed_on"].as_str()).collect();
    let unfiled = filed
        .iter()
        .position(Option::is_none)
        .unwrap_or(filed.len());
    assert!(filed[unfiled..].iter().all(Option::is_none), "unfiled last");
    assert!(
        filed[..unfiled].windows(2).all(|w| w[0] >= w[1]),
        "filed newest first"
    );
    // Date range on the discovery date, both ends included.
    let (items, total) = all_pages(&c, &app, "from=2023-03-01&to=2023-05-31").await;
    let expected: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE discovered_on >= '2023-03-01' AND discovered_on <= '2023-05-31'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(expected > 0);
    assert_eq!((items.len() as i64, total), (expected, expected));
    assert!(items.iter().all(|c| {
        let d = c["discovered_on"].as_str().unwrap();
        ("2023-03-01"..="2023-05-31").contains(&d)
    }));
    // A date that is not one is refused, in Chinese, naming it.
    let r = c
        .get(format!("{}/api/v1/cases?from=2023-13-01", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("2023-13-01"));
    // The filter form sends unset fields empty: they mean "any", not a bad request.
    let r = c
        .get(format!(
            "{}/cases?year=&region=&status=&source=&q=&from=&to=&per_page=",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The page shows the total, the page jump, the page sizes and the sort links.
    let html = get_text(
        &c,
        format!(
            "{}/cases?q={}&per_page=20&sort=fine",
            app.base,
            enc("〔2023〕")
        ),
    )
    .await;
    let n = plain_matches(&app, "〔2023〕").await.len();
    assert!(
        html.contains(&format!("共 <span id=\"case-total\">{n}</span> 件")),
        "{html}"
    );
    assert!(html.contains("id=\"page-jump\""));
    assert!(html.contains("<option value=\"20\" selected>20 条</option>"));
    assert!(html.contains("data-sort=\"fine\" href=\"/cases?q=%E3%80%942023%E3%80%95&#38;per_page=20&#38;sort=fine&#38;dir=asc\""), "{html}");
}
