//! The legal checks over a seeded ledger: the demo is lawful but for its planted defects, the
//! command prints them as specified, the case page and the list page show them in scope.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::helpers::{get_text, run, spawn_app};

/// 案卷检查 at `url` once its run of the year is done: a page showing a run's progress is
/// read again (as its refresh does, without `refresh=1`) until the run is over.
async fn checks_page(c: &reqwest::Client, url: String) -> String {
    let mut page = get_text(c, url.clone()).await;
    let again = url.replace("&refresh=1", "");
    let t = Instant::now();
    while page.contains("id=\"checks-computing\"") {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the run never ended"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        page = get_text(c, again.clone()).await;
    }
    page
}

#[tokio::test]
async fn the_demo_fails_only_its_planted_checks_and_the_command_prints_them() {
    let app = spawn_app().await;
    let (code, out, err) = run(
        &app.url,
        &[
            "dossier", "check", "--all", "--year", "2023", "--format", "jsonl",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let planted: BTreeSet<&str> = ecowarden::demo::PLANTED.iter().map(|p| p.0).collect();
    let mut seen = BTreeSet::new();
    let mut cases = BTreeSet::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "article", "case_no", "check", "dates", "message", "severity"
            ],
            "{line}"
        );
        let check = v["check"].as_str().unwrap().to_owned();
        assert!(
            planted.contains(check.as_str()),
            "unplanted finding: {line}"
        );
        assert_eq!(v["severity"], "fail", "{line}");
        assert!(v["article"].as_str().unwrap().starts_with('《'));
        seen.insert(check);
        cases.insert(v["case_no"].as_str().unwrap().to_owned());
    }
    // The 400-case template ledger plants at least one of each.
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        cases.len() * 100 <= 400 * 5,
        "a few percent: {}",
        cases.len()
    );

    // One case by its number gives the same lines as the whole run gives for it.
    let no = cases.iter().next().unwrap();
    let (code, one, err) = run(
        &app.url,
        &["dossier", "check", "--case", no, "--format", "jsonl"],
    );
    assert_eq!(code, Some(0), "{err}");
    let expected: Vec<&str> = out.lines().filter(|l| l.contains(no.as_str())).collect();
    assert_eq!(one.lines().collect::<Vec<_>>(), expected);
    let (code, _, err) = run(
        &app.url,
        &[
            "dossier",
            "check",
            "--case",
            "不存在〔2023〕1号",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("没有案号"), "{err}");
    // A region narrows the run; an unknown one is refused.
    let (code, taijiang, _) = run(
        &app.url,
        &[
            "dossier", "check", "--all", "--region", "350103", "--format", "jsonl",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(taijiang.lines().count() <= out.lines().count());
    let (code, _, err) = run(
        &app.url,
        &[
            "dossier", "check", "--all", "--region", "999999", "--format", "jsonl",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
}

#[tokio::test]
async fn a_case_without_notice_shows_the_failed_check_on_its_page_and_in_the_list() {
    let app = spawn_app().await;
    // A decided case of 台江 loses its prior notice.
    let (id, no): (i64, String) = sqlx::query_as(
        "SELECT id, case_no FROM cases WHERE region_code = '350103' AND status = 'closed' \
         AND prior_notice_on IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE cases SET prior_notice_on = NULL WHERE id = $1")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let (c, _) = app.login("taijiang").await;
    let page = get_text(&c, format!("{}/cases/{id}", app.base)).await;
    assert!(page.contains("id=\"case-checks\""), "{page}");
    assert!(page.contains("C5 告知与听证"));
    assert!(page.contains("未经行政处罚事先告知即作出处罚决定"));
    assert!(page.contains("check-fail"));
    let list = checks_page(&c, format!("{}/checks?year=2023&check=C5", app.base)).await;
    assert!(list.contains(&no), "{list}");
    // 鼓楼 does not see 台江's case in its list.
    let (g, _) = app.login("gulou").await;
    let list = checks_page(&g, format!("{}/checks?year=2023&check=C5", app.base)).await;
    assert!(!list.contains(&no));
    let r = g
        .get(format!(
            "{}/checks/export.xlsx?year=2023&region=350102",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn an_administrator_adds_a_year_of_holidays_all_or_nothing() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("admin").await;
    let post = |days: &str| {
        c.post(format!("{}/admin/holidays", app.base))
            .form(&[("csrf", csrf.as_str()), ("year", "2031"), ("days", days)])
            .send()
    };
    // A bad line names itself and saves nothing.
    let r = post("2031-10-01,holiday,国庆节\n2031-13-01,holiday,错误")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("第3行"));
    let cal = ecowarden_ledger::calendar::load(&app.db).await.unwrap();
    assert!(!cal.knows(2031));
    // A make-up day on a weekday is refused.
    let r = post("2031-10-08,workday,调休").await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let r = post("2031-10-01,holiday,国庆节\n2031-10-02,休,国庆节\n2031-09-28,班,国庆节调休")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cal = ecowarden_ledger::calendar::load(&app.db).await.unwrap();
    assert!(cal.knows(2031));
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert!(!cal.is_working_day(d("2031-10-01")));
    assert!(cal.is_working_day(d("2031-09-28")));
    // The built-in years stay.
    assert!(cal.knows(2023));
    let n = app
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'save_holidays'")
        .await;
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_sample_is_reproducible_seeded_and_of_its_year_and_region() {
    let app = spawn_app().await;
    let sample = |region: &str, size: &str, seed: &str| {
        let (code, out, err) = run(
            &app.url,
            &[
                "dossier", "sample", "--year", "2023", "--region", region, "--size", size,
                "--seed", seed, "--format", "jsonl",
            ],
        );
        assert_eq!(code, Some(0), "{err}");
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let a = sample("350100", "12", "42");
    assert_eq!(a.len(), 12);
    assert_eq!(a, sample("350100", "12", "42"), "same arguments, same list");
    assert_ne!(
        a,
        sample("350100", "12", "43"),
        "another seed, another list"
    );
    for v in &a {
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["case_no", "case_type", "how", "unit"]);
        assert_eq!(v["how"], "random");
    }
    // Only cases of that year and region, each once.
    let nos: BTreeSet<String> = a
        .iter()
        .map(|v| v["case_no"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(nos.len(), a.len());
    for no in &nos {
        let (year, city): (i64, String) =
            sqlx::query_as("SELECT year, city_code FROM cases WHERE case_no = $1")
                .bind(no)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        assert_eq!((year, city.as_str()), (2023, "350100"), "{no}");
    }
    // The minimum per type: a type present in the region is drawn.
    let has_measure: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM measures m JOIN cases c ON c.id = m.case_id \
         WHERE c.city_code = '350100' AND c.year = 2023 AND c.decided_on IS NOT NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    if has_measure > 0 {
        assert!(a.iter().any(|v| v["case_type"] != "一般处罚"), "{a:?}");
    }
    let (code, _, _) = run(
        &app.url,
        &[
            "dossier", "sample", "--year", "2023", "--region", "999999", "--size", "3", "--seed",
            "1", "--format", "jsonl",
        ],
    );
    assert_eq!(code, Some(1));
}

#[tokio::test]
async fn qualification_is_judged_at_the_date_of_the_act() {
    let app = spawn_app().await;
    let (id, no, decided): (i64, String, String) = sqlx::query_as(
        "SELECT id, case_no, decided_on FROM cases WHERE region_code = '350103' AND status = 'closed' \
         AND decided_on IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let check = || async {
        let (_, out, _) = run(
            &app.url,
            &["dossier", "check", "--case", &no, "--format", "jsonl"],
        );
        out
    };
    assert!(!check().await.contains("\"C4\""));
    // One officer's certificate ran out the day before the decision: one was qualified then.
    let day_before =
        (decided.parse::<chrono::NaiveDate>().unwrap() - chrono::Days::new(1)).to_string();
    sqlx::query(
        "UPDATE officers SET certificate_expires_on = $1 WHERE id = \
         (SELECT officer_id FROM case_officers WHERE case_id = $2 AND lead = 0)",
    )
    .bind(&day_before)
    .bind(id)
    .execute(app.db.pool())
    .await
    .unwrap();
    let out = check().await;
    assert!(
        out.contains("\"C4\"") && out.contains("有效执法证"),
        "{out}"
    );
    // Issued only after the decision counts as not qualified either; still active today.
    sqlx::query(
        "UPDATE officers SET certificate_expires_on = NULL, certified_on = '2099-01-01' WHERE id = \
         (SELECT officer_id FROM case_officers WHERE case_id = $1 AND lead = 0)",
    )
    .bind(id)
    .execute(app.db.pool())
    .await
    .unwrap();
    assert!(check().await.contains("\"C4\""));
}

#[tokio::test]
async fn a_document_registered_on_the_case_page_completes_the_file() {
    let app = spawn_app().await;
    let (id, no, served): (i64, String, String) = sqlx::query_as(
        "SELECT id, case_no, served_on FROM cases WHERE region_code = '350103' AND status = 'closed' \
         AND served_on IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    sqlx::query("DELETE FROM case_documents WHERE case_id = $1 AND doc_type = 18")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let check = || {
        run(
            &app.url,
            &["dossier", "check", "--case", &no, "--format", "jsonl"],
        )
        .1
    };
    assert!(check().contains("送达回证"));
    let (c, csrf) = app.login("taijiang").await;
    let post = |signed: &str| {
        c.post(format!("{}/cases/{id}/documents", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("doc_type", "18"),
                ("doc_no", "台江送达〔2023〕1号"),
                ("signed_on", signed),
            ])
            .send()
    };
    // Signed before the violation was found: refused, with the reason on the page and the
    // form as filled in.
    let r = post("2000-01-01").await.unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let refused = r.text().await.unwrap();
    assert!(
        refused.contains("value=\"台江送达〔2023〕1号\""),
        "{refused}"
    );
    assert!(!check().is_empty());
    let r = post(&served).await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(!check().contains("送达回证"), "{}", check());
    let page = get_text(&c, format!("{}/cases/{id}", app.base)).await;
    assert!(page.contains("台江送达〔2023〕1号"));
    // 鼓楼 may not add to 台江's file.
    let (g, gcsrf) = app.login("gulou").await;
    let r = g
        .post(format!("{}/cases/{id}/documents", app.base))
        .form(&[
            ("csrf", gcsrf.as_str()),
            ("doc_type", "4"),
            ("signed_on", served.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn an_interview_with_one_officer_is_recorded_and_flagged() {
    let app = spawn_app().await;
    let (id, no): (i64, String) = sqlx::query_as(
        "SELECT id, case_no FROM cases WHERE region_code = '350103' AND status = 'closed' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let (c, csrf) = app.login("taijiang").await;
    let post = |started: &str, ended: &str, officers: &str| {
        c.post(format!("{}/cases/{id}/records", app.base))
            .form(&[
                ("csrf", csrf.as_str()),
                ("kind", "interview"),
                ("started_at", started),
                ("ended_at", ended),
                ("place", "执法大队询问室"),
                ("officers", officers),
            ])
            .send()
    };
    // An end before the start is refused and nothing is written.
    post(
        "2023-06-01T10:00",
        "2023-06-01T09:00",
        "闽3501030001、闽3501030002",
    )
    .await
    .unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_records").await, 0);
    post("2023-06-01T09:00", "2023-06-01T10:20", "闽3501030001")
        .await
        .unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_records").await, 1);
    let (_, out, _) = run(
        &app.url,
        &["dossier", "check", "--case", &no, "--format", "jsonl"],
    );
    assert!(out.contains("调查询问笔录仅有1名执法人员在场"), "{out}");
    let page = get_text(&c, format!("{}/cases/{id}", app.base)).await;
    assert!(page.contains("执法大队询问室") && page.contains("2023-06-01T10:20"));
}

#[tokio::test]
async fn the_procedural_record_entered_on_the_case_page_is_what_the_checks_read() {
    let app = spawn_app().await;
    let (id, no, decided, cert): (i64, String, String, String) = sqlx::query_as(
        "SELECT c.id, c.case_no, c.decided_on, o.certificate_no FROM cases c \
         JOIN case_officers co ON co.case_id = c.id JOIN officers o ON o.id = co.officer_id \
         WHERE c.city_code = '350100' AND c.status = 'closed' AND c.hearing_held_on IS NOT NULL \
         ORDER BY c.id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let check = || {
        run(
            &app.url,
            &["dossier", "check", "--case", &no, "--format", "jsonl"],
        )
        .1
    };
    assert_eq!(check(), "");
    let (c, csrf) = app.login("fz_officer").await;
    let post = |path: &str, fields: &[(&str, &str)]| {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        c.post(format!("{}/cases/{id}/{path}", app.base))
            .form(&form)
            .send()
    };
    // A provision that does not read is refused and nothing is written; a good one is kept
    // as the law writes it.
    post(
        "provisions",
        &[("role", "penalty"), ("provisions", "水污染防治法83条")],
    )
    .await
    .unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_provisions").await, 0);
    post(
        "provisions",
        &[
            ("role", "penalty"),
            (
                "provisions",
                "《中华人民共和国水污染防治法》第83条第1款第3项",
            ),
        ],
    )
    .await
    .unwrap();
    let page = get_text(&c, format!("{}/cases/{id}", app.base)).await;
    assert!(
        page.contains("《中华人民共和国水污染防治法》第八十三条第一款第三项"),
        "{page}"
    );
    // The hearing hosted by one of the case's own officers breaks 处罚法 Art 64(4).
    post(
        "hearing",
        &[("notice_kind", "hearing"), ("hearing_host", cert.as_str())],
    )
    .await
    .unwrap();
    assert!(check().contains("非本案调查人员主持"), "{}", check());
    post(
        "hearing",
        &[("notice_kind", "hearing"), ("hearing_host", "李法制")],
    )
    .await
    .unwrap();
    assert_eq!(check(), "");
    // Evidence collected after the decision: 先取证、后决定.
    let after = (decided.parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(1)).to_string();
    post(
        "evidence",
        &[
            ("kind", "physical"),
            ("description", "废水样品"),
            ("collected_on", after.as_str()),
            ("collected_by", cert.as_str()),
        ],
    )
    .await
    .unwrap();
    assert!(check().contains("应先调查取证、后作出决定"), "{}", check());
    // An approval with its approver dates the extension the checks count.
    post(
        "approvals",
        &[
            ("kind", "filing_extension"),
            ("approved_on", "2000-01-01"),
            ("approver", "王局长"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(app.scalar("SELECT COUNT(*) FROM case_approvals").await, 0);
    let (found,): (String,) = sqlx::query_as("SELECT discovered_on FROM cases WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    post(
        "approvals",
        &[
            ("kind", "filing_extension"),
            ("approved_on", found.as_str()),
            ("approver", "王局长"),
        ],
    )
    .await
    .unwrap();
    let count = |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(id)
            .fetch_one(app.db.pool())
    };
    let extended =
        count("SELECT COUNT(*) FROM cases WHERE id = $1 AND filing_extended_on = discovered_on");
    assert_eq!(extended.await.unwrap(), 1);
    let page = get_text(&c, format!("{}/cases/{id}", app.base)).await;
    assert!(page.contains("王局长") && page.contains("立案延期"));
    // Every entry is in the case's audit history.
    let audited = count(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'case' AND entity_id = CAST($1 AS TEXT) \
         AND action IN ('add_provision', 'record_hearing', 'add_evidence', 'add_approval')",
    );
    assert_eq!(audited.await.unwrap(), 5);
}

/// The list of failed checks answers from the stored run, shows when it was computed, checks
/// a case changed since (an audited change) again on reading, and computes all again on
/// request; an unaudited change to the store waits for that.
#[tokio::test]
async fn the_list_answers_from_the_stored_run_and_follows_changes() {
    let app = spawn_app().await;
    let (c, csrf) = app.login("taijiang").await;
    let list = |q: &'static str| checks_page(&c, format!("{}/checks?year=2023{q}", app.base));
    let page = list("&check=C4").await;
    assert!(page.contains("检查结果计算于 20"), "{page}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM check_runs").await, 1);
    let (id, no): (i64, String) = sqlx::query_as(
        "SELECT id, case_no FROM cases WHERE region_code = '350103' AND status = 'closed' ORDER BY id LIMIT 1",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(!page.contains(&no));
    // An interview with one officer, entered on the case page: on the list at once.
    c.post(format!("{}/cases/{id}/records", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "interview"),
            ("started_at", "2023-06-01T09:00"),
            ("ended_at", "2023-06-01T10:20"),
            ("officers", "闽3501030001"),
        ])
        .send()
        .await
        .unwrap();
    let page = list("&check=C4").await;
    assert!(page.contains(&no), "{page}");
    // A change behind the application's back is seen after 全部重新计算.
    sqlx::query("DELETE FROM case_records WHERE case_id = $1")
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();
    assert!(list("&check=C4").await.contains(&no));
    assert!(!list("&check=C4&refresh=1").await.contains(&no));
    // `dossier check --all --year` over the province stores its run too.
    sqlx::query("DELETE FROM check_runs")
        .execute(app.db.pool())
        .await
        .unwrap();
    let (code, _, err) = run(
        &app.url,
        &[
            "dossier", "check", "--all", "--year", "2023", "--format", "jsonl",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM check_runs").await, 1);
}

/// The first load of 案卷检查 does not wait for the year's run: the run goes on in the
/// background, the page shows its progress and reloads itself, and a second visitor joins
/// the same run; the findings appear once it has stored them.
#[tokio::test]
async fn the_first_load_shows_the_run_in_progress_instead_of_waiting_for_it() {
    let app = spawn_app().await;
    let (c, _) = app.login("taijiang").await;
    let (g, _) = app.login("gulou").await;
    let url = format!("{}/checks?year=2023&check=C5", app.base);
    // The write lock held: the run checks every case but cannot store its findings yet.
    let held = app.db.write().await.unwrap();
    let t = Instant::now();
    // A page that computed the run itself would wait for the lock: fail, not hang.
    let page = tokio::time::timeout(Duration::from_secs(10), get_text(&c, url.clone()))
        .await
        .expect("the first load does not wait for the run");
    let first_load = t.elapsed();
    assert!(first_load < Duration::from_secs(3), "{first_load:?}");
    assert!(page.contains("id=\"checks-computing\""), "{page}");
    assert!(page.contains("计算中：已检查"), "{page}");
    assert!(
        page.contains(r#"<meta http-equiv="refresh" content="2; url=/checks?year=2023&#38;region=&#38;check=C5">"#),
        "{page}"
    );
    assert!(!page.contains("check-summary"), "{page}");
    let t = Instant::now();
    let other = get_text(&g, format!("{}/checks?year=2023", app.base)).await;
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(other.contains("id=\"checks-computing\""), "{other}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM check_runs").await, 0);
    drop(held);
    let page = checks_page(&c, url).await;
    assert!(page.contains("检查结果计算于 20"), "{page}");
    assert!(!page.contains("http-equiv=\"refresh\""), "{page}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM check_runs").await, 1);
}
