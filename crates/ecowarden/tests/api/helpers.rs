//! Spawning the app under test.

use std::sync::Arc;

use ecowarden::app::{App, Options};
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::store::{Backend, Db};
use reqwest::redirect::Policy;
use tokio::sync::OnceCell;

pub const PASSWORD: &str = ecowarden::demo::DEMO_PASSWORD;
/// Body limit of test servers: small, so the oversize test sends little.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub org: Arc<Org>,
    pub url: String,
    /// The data directory (audit key and checkpoint).
    pub data: std::path::PathBuf,
}

/// A test's own files go with it: its copy of the store (SQLite) and its data directory, so
/// a run does not leave a store per test behind in the temp dir. The seeded template stays
/// for the process; CI drops the PostgreSQL databases before each run.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = self.url.strip_prefix("sqlite:") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Where the seeded template store is: a SQLite file or a PostgreSQL database name.
struct Template {
    backend: Backend,
    location: String,
}

static TEMPLATE: OnceCell<Template> = OnceCell::const_new();

fn unique() -> String {
    ecowarden_core::auth::random_token()[..12].to_owned()
}

/// The PostgreSQL server to test against, if any.
fn pg_base() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

fn pg_url(base: &str, db: &str) -> String {
    let (server, _) = base.rsplit_once('/').expect("postgres URL with a database");
    format!("{server}/{db}")
}

async fn template() -> &'static Template {
    TEMPLATE
        .get_or_init(|| async {
            let (backend, url, location) = match pg_base() {
                Some(base) => {
                    let name = format!("ew_tmpl_{}", unique());
                    admin_exec(&base, &format!("CREATE DATABASE {name}")).await;
                    (Backend::Postgres, pg_url(&base, &name), name)
                }
                None => {
                    let dir = std::env::temp_dir().join(format!("ew-test-{}", unique()));
                    std::fs::create_dir_all(&dir).unwrap();
                    let f = dir.join("template.sqlite").display().to_string();
                    (Backend::Sqlite, format!("sqlite:{f}"), f)
                }
            };
            let db = Db::connect(&url).await.expect("connect template");
            ecowarden::demo::seed(&db, 400, 2023, 7)
                .await
                .expect("seed")
                .expect("empty store");
            db.pool().close().await;
            Template { backend, location }
        })
        .await
}

async fn admin_exec(base: &str, sql: &str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .expect(sql);
}

/// A fresh store copied from the seeded template: cheap, isolated.
pub async fn fresh_db_url() -> String {
    let t = template().await;
    match t.backend {
        Backend::Postgres => {
            let base = pg_base().unwrap();
            let name = format!("ew_test_{}", unique());
            admin_exec(
                &base,
                &format!("CREATE DATABASE {name} TEMPLATE {}", t.location),
            )
            .await;
            pg_url(&base, &name)
        }
        Backend::Sqlite => {
            let copy = format!(
                "{}-{}.sqlite",
                t.location.trim_end_matches(".sqlite"),
                unique()
            );
            std::fs::copy(&t.location, &copy).unwrap();
            format!("sqlite:{copy}")
        }
    }
}

/// An empty store of the same backend as the template (migrated, no organisation yet), for
/// tests that fill one from scratch. Removed with the process's temp dir (SQLite) or by CI's
/// drop of the test databases (PostgreSQL).
pub async fn empty_db() -> (Db, String) {
    let url = match pg_base() {
        Some(base) => {
            let name = format!("ew_empty_{}", unique());
            admin_exec(&base, &format!("CREATE DATABASE {name}")).await;
            pg_url(&base, &name)
        }
        None => format!(
            "sqlite:{}",
            std::env::temp_dir()
                .join(format!("ew-empty-{}.sqlite", unique()))
                .display()
        ),
    };
    (Db::connect(&url).await.expect("connect"), url)
}

/// The real application over a fresh store, built as `serve` builds it, listening on port 0
/// (no HJ 212 receiver: the monitoring tests start their own). Every test's client comes from
/// 127.0.0.1, so the limit on anonymous requests is raised beyond what a test sends.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|s| s.http.anonymous_per_minute = 100_000).await
}

/// [`spawn_app`] with settings changed by `change`.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let url = fresh_db_url().await;
    let mut settings = Settings::load(None).unwrap();
    settings.database_url = url.clone();
    settings.data_dir = std::env::temp_dir().join(format!("ew-data-{}", unique()));
    settings.http.listen = "127.0.0.1:0".into();
    settings.http.body_limit = BODY_LIMIT;
    settings.ingest.listen = String::new();
    change(&mut settings);
    let data = settings.data_dir.clone();
    let app = App::build(settings, Options::default())
        .await
        .expect("build the app");
    let base = format!("http://{}", app.address());
    let (db, org) = (app.state().db.clone(), app.state().org.clone());
    tokio::spawn(app.run());
    TestApp {
        base,
        db,
        org,
        url,
        data,
    }
}

/// A client that keeps cookies and does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Signs in through the API; returns the client and the CSRF token.
    pub async fn login(&self, username: &str) -> (reqwest::Client, String) {
        let c = client();
        let r = c
            .post(format!("{}/api/v1/session", self.base))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {username}");
        let v: serde_json::Value = r.json().await.unwrap();
        (c, v["csrf_token"].as_str().unwrap().to_owned())
    }

    /// Signs in through the login form, as a browser does.
    pub async fn form_login(
        &self,
        username: &str,
        password: &str,
    ) -> (reqwest::Client, reqwest::Response) {
        let c = client();
        let page = c
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = extract(&page, "name=\"csrf\" value=\"", "\"");
        let r = c
            .post(format!("{}/login", self.base))
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        (c, r)
    }

    /// Id of some case in a county.
    pub async fn case_in(&self, region: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM cases WHERE region_code = $1 ORDER BY id LIMIT 1",
        )
        .bind(region)
        .fetch_one(self.db.pool())
        .await
        .unwrap()
    }

    /// Id of some monitoring outlet of a facility in a county.
    pub async fn outlet_in(&self, region: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(
            "SELECT o.id FROM outlets o JOIN facilities f ON f.id = o.facility_id \
             WHERE f.region_code = $1 ORDER BY o.id LIMIT 1",
        )
        .bind(region)
        .fetch_one(self.db.pool())
        .await
        .unwrap()
    }

    /// Id of an open screening lead (one constant-value finding) on an outlet of a county.
    pub async fn lead_in(&self, region: &str) -> i64 {
        self.lead_on(region, 1).await
    }

    /// Id of a suppression (lasting) of a county's outlet, from a lead of another day than
    /// [`TestApp::lead_in`]'s, dismissed.
    pub async fn suppression_in(&self, region: &str) -> i64 {
        let lead = self.lead_on(region, 2).await;
        let input = ecowarden_monitoring::leads::DismissInput {
            reason: "测试屏蔽".into(),
            extent: None,
        };
        ecowarden_monitoring::leads::dismiss(
            &self.db,
            &ecowarden_core::scope::Scope::Province,
            "test",
            lead,
            &input,
        )
        .await
        .unwrap()[0]
            .id
    }

    /// [`TestApp::lead_in`] for the screening period of 2026-11-`day`.
    async fn lead_on(&self, region: &str, day: u32) -> i64 {
        let (id, mn, city, industry): (i64, String, String, String) = sqlx::query_as(
            "SELECT o.id, o.mn, f.city_code, f.industry FROM outlets o JOIN facilities f ON f.id = o.facility_id \
             WHERE f.region_code = $1 ORDER BY o.id LIMIT 1",
        )
        .bind(region)
        .fetch_one(self.db.pool())
        .await
        .unwrap();
        let start = 1_793_462_400;
        let finding = screen::Finding {
            signature: screen::Signature::ConstantValue,
            factor: Some("a21026".into()),
            start,
            end: start + 6 * 3600,
            score: 0.8,
            explanation: "二氧化硫连续6小时恒值".into(),
            evidence: serde_json::json!({"window": {"start": "2026-11-01T00:00:00+08:00", "step_s": 3600, "values": [5.0, 5.0], "flags": "NN"}, "baseline": {"p10": 3.0, "p90": 9.0}}).into(),
        };
        let lead = screen::leads::Lead {
            mn: mn.clone(),
            outlet: "1号烟气排放口".into(),
            industry: "thermal_power".into(),
            score: 0.8,
            start,
            end: finding.end,
            findings: vec![finding],
        };
        let outlets = std::collections::HashMap::from([(
            mn,
            ecowarden_monitoring::leads::OutletRef {
                outlet_id: id,
                region_code: region.into(),
                city_code: city,
                industry,
            },
        )]);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        ecowarden_monitoring::leads::save_run(&self.db, "test", (day, day), &outlets, &[lead])
            .await
            .unwrap();
        sqlx::query_scalar::<_, i64>("SELECT MAX(id) FROM leads")
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    pub async fn security_events(&self, kind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM security_events WHERE kind = $1")
            .bind(kind)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

pub fn extract(s: &str, start: &str, end: &str) -> String {
    let i = s
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    let j = s[i..].find(end).unwrap() + i;
    s[i..j].to_owned()
}

pub async fn get_text(c: &reqwest::Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// The status of a GET.
pub async fn get_status(c: &reqwest::Client, url: String) -> u16 {
    c.get(url).send().await.unwrap().status().as_u16()
}

pub async fn get_json<T: serde::de::DeserializeOwned>(c: &reqwest::Client, url: String) -> T {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

impl TestApp {
    /// A single integer from the store (counts, ids).
    pub async fn scalar(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

/// Runs the binary on a test store: exit code, standard output, standard error.
pub fn run(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
