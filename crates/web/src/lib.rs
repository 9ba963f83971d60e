//! The web layer: server-rendered Chinese pages, the `/api/v1` REST API and the assets.
//!
//! Handlers only translate HTTP into calls on the domain modules (`cases`, `auth`, `org`,
//! `audit_log`); rules and SQL live there. Every handler that touches data takes the
//! [`session::CurrentUser`] and passes its scope down.

pub mod api;
mod assessment;
mod assets;
mod case_form;
mod checks;
pub mod error;
mod holidays;
mod inspection;
mod leads;
mod ledger;
mod ledger_io;
mod monitoring;
mod officer_sheets;
mod pages;
mod review;
mod screening;
pub mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use ecowarden_core::auth;
use ecowarden_core::config::Settings;
use ecowarden_core::org::Org;
use ecowarden_core::scope::Scope;
use ecowarden_core::scope::{Area, AreaError};
use ecowarden_core::store::Db;
use ecowarden_ledger::cases::Dashboard;
use error::{Error, ErrorInfo};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub org: Arc<Org>,
    pub settings: Arc<Settings>,
    /// Dashboard figures per (scope, year); see [`DashboardCache`].
    dashboards: Arc<DashboardCache>,
    /// The province's open cases past their term per year, day and ledger state; see
    /// [`AppState::past_term_of`].
    past_term: Arc<ecowarden_core::memo::Memo<PastTerms>>,
    /// The dashboard's work lists per scope; see [`pages::Worklist`].
    worklists: Arc<ecowarden_core::memo::Memo<Arc<pages::Worklist>>>,
    /// Cases decided after their term per area, year and stored check run; see
    /// [`AppState::decided_late`].
    decided_late: Arc<ecowarden_core::memo::Memo<Option<usize>>>,
    /// Case list pages and totals per (area, filter); see [`ecowarden_ledger::cases::ListCache`].
    pub case_lists: Arc<ecowarden_ledger::cases::ListCache>,
    /// The legal checks' runs going on; see [`ecowarden_ledger::check_results::Runs`].
    pub check_runs: Arc<ecowarden_ledger::check_results::Runs>,
    /// The HJ 212 receiver running in this process, if any (its figures for the pages).
    pub receiver: Option<Arc<ecowarden_monitoring::ingest::Context>>,
    /// Failed logins per (account, client address): see `ecowarden_core::throttle`.
    pub login_throttle: Arc<ecowarden_core::throttle::LoginThrottle>,
    /// Requests per address without a session: see `ecowarden_core::throttle::RateLimit`.
    pub rate_limit: Arc<ecowarden_core::throttle::RateLimit>,
    /// The screening run started from the page (one at a time).
    screening: Arc<screening::Job>,
}

/// Dashboard figures per (scope, year).
///
/// Over a million cases the figures take a grouped scan of the scope's year (hundreds of
/// milliseconds for the province on an idle machine, seconds on a loaded one), longer than a
/// page view may, so they are cached rather than computed per request. A summary table kept
/// up to date by every write was the alternative; it was not chosen because every write path
/// (forms, API, imports, batched intake, workflow transitions that change status or fine)
/// would have to maintain it on both backends, and a missed path would show wrong figures
/// silently, whereas a cache is at worst [`DASHBOARD_TTL`] old and always computed by the
/// same query as a cold page.
///
/// - **Single flight:** one computation per key at a time; concurrent cold requests wait for
///   it instead of each starting their own (which exhausted the pool: 8 connections, 50
///   clients).
/// - **Stale while revalidate:** an entry older than the TTL is still answered at once while
///   one background task recomputes it, or only marks it fresh when the day and the ledger's
///   state (`cases::ledger_state`) are those it was computed for.
/// - **Bounded:** at most [`DASHBOARD_COMPUTATIONS`] computations across all keys hold a
///   connection, so page views always find the rest of the pool.
/// - **Warmed:** `serve` computes the province and every city for the latest year in the
///   background at start ([`AppState::warm_dashboards`]).
pub struct DashboardCache {
    slots: Mutex<HashMap<DashboardKey, Arc<DashboardSlot>>>,
    permits: tokio::sync::Semaphore,
}

/// A cache entry's scope (as text), year and the last day of the period (none: all of it).
type DashboardKey = (String, i64, Option<chrono::NaiveDate>);

/// What the dashboard shows of a scope and year that takes a scan: the figures and the open
/// cases past their 办案期限 (judged from every open case's file, so cached with the figures).
#[derive(Debug, Default)]
pub struct DashboardFigures {
    pub d: Dashboard,
    /// Empty for a period cut short (`through`): only the whole year's cases are judged.
    pub past_term: Vec<ecowarden_ledger::dossier::PastTerm>,
}

/// The province's open cases past their term, longest overdue first.
type PastTerms = Arc<Vec<ecowarden_ledger::dossier::PastTerm>>;

#[derive(Default)]
struct DashboardSlot {
    /// When the figures were computed or found still true, the day and ledger state they
    /// were computed for, and the figures.
    value: Mutex<Option<(Instant, String, Arc<DashboardFigures>)>>,
    computing: Arc<tokio::sync::Mutex<()>>,
}

impl DashboardSlot {
    fn current(&self) -> Option<(Instant, Arc<DashboardFigures>)> {
        let value = self.value.lock().expect("lock");
        value.as_ref().map(|(at, _, f)| (*at, f.clone()))
    }
}

impl DashboardCache {
    fn new() -> Self {
        Self {
            slots: Default::default(),
            permits: tokio::sync::Semaphore::new(DASHBOARD_COMPUTATIONS),
        }
    }

    fn slot(
        &self,
        scope: &Scope,
        year: i64,
        through: Option<chrono::NaiveDate>,
    ) -> Arc<DashboardSlot> {
        self.slots
            .lock()
            .expect("lock")
            .entry((format!("{scope:?}"), year, through))
            .or_default()
            .clone()
    }
}

/// How old cached dashboard figures may be before they are recomputed (in the background).
pub const DASHBOARD_TTL: Duration = Duration::from_secs(60);
/// Dashboard computations running at once, across all scopes.
const DASHBOARD_COMPUTATIONS: usize = 2;

impl AppState {
    pub fn new(db: Db, org: Arc<Org>, settings: Settings) -> Self {
        let rate_limit =
            ecowarden_core::throttle::RateLimit::new(settings.http.anonymous_per_minute);
        Self {
            db,
            org,
            settings: Arc::new(settings),
            dashboards: Arc::new(DashboardCache::new()),
            past_term: Arc::new(ecowarden_core::memo::Memo::new(DASHBOARD_TTL * 60, 16)),
            worklists: Arc::new(ecowarden_core::memo::Memo::new(pages::WORKLIST_TTL, 1_000)),
            decided_late: Arc::new(ecowarden_core::memo::Memo::new(DASHBOARD_TTL * 60, 1_000)),
            case_lists: Default::default(),
            check_runs: Default::default(),
            receiver: None,
            login_throttle: Arc::new(ecowarden_core::throttle::LoginThrottle::new()),
            rate_limit: Arc::new(rate_limit),
            screening: Default::default(),
        }
    }

    /// The state with the receiver that runs beside the web server.
    pub fn with_receiver(
        mut self,
        receiver: Option<Arc<ecowarden_monitoring::ingest::Context>>,
    ) -> Self {
        self.receiver = receiver;
        self
    }

    /// The dashboard figures of a scope and year, from the cache when it has them (see
    /// [`DashboardCache`]).
    pub async fn dashboard(
        &self,
        scope: &Scope,
        year: i64,
    ) -> Result<Arc<DashboardFigures>, Error> {
        self.dashboard_through(scope, year, None).await
    }

    /// [`AppState::dashboard`] of the cases up to a day of the year (`through`, the same
    /// period of last year for a year in progress).
    pub async fn dashboard_through(
        &self,
        scope: &Scope,
        year: i64,
        through: Option<chrono::NaiveDate>,
    ) -> Result<Arc<DashboardFigures>, Error> {
        let slot = self.dashboards.slot(scope, year, through);
        if let Some((at, d)) = slot.current() {
            if at.elapsed() >= DASHBOARD_TTL
                && let Ok(guard) = slot.computing.clone().try_lock_owned()
            {
                let (app, scope) = (self.clone(), scope.clone());
                tokio::spawn(async move {
                    let _guard = guard;
                    if let Err(e) = app.compute_dashboard(&slot, &scope, year, through).await {
                        tracing::warn!("dashboard refresh for {scope:?} {year}: {e}");
                    }
                });
            }
            return Ok(d);
        }
        let _guard = slot.computing.lock().await;
        if let Some((_, d)) = slot.current() {
            return Ok(d);
        }
        Ok(self.compute_dashboard(&slot, scope, year, through).await?)
    }

    async fn compute_dashboard(
        &self,
        slot: &DashboardSlot,
        scope: &Scope,
        year: i64,
        through: Option<chrono::NaiveDate>,
    ) -> ecowarden_core::store::Result<Arc<DashboardFigures>> {
        // An expired entry of a ledger that has not changed since (the same day) is still
        // true: it is marked fresh instead of recomputed. Each refresh is a grouped scan of
        // the scope's year; recomputing a dozen scopes every minute under the load test's 50
        // clients put p95 of the pages running at that moment at 200 ms.
        let today = ecowarden_core::clock::today();
        let state = format!(
            "{today}|{}",
            ecowarden_ledger::cases::ledger_state(&self.db).await?
        );
        {
            let mut value = slot.value.lock().expect("lock");
            if let Some((at, seen, f)) = value.as_mut()
                && *seen == state
            {
                *at = Instant::now();
                return Ok(f.clone());
            }
        }
        let _permit = self
            .dashboards
            .permits
            .acquire()
            .await
            .expect("never closed");
        let d =
            ecowarden_ledger::cases::dashboard_through(&self.db, &self.org, scope, year, through)
                .await?;
        let area = Area::whole(scope);
        let past_term = match through {
            Some(_) => Vec::new(),
            None => {
                let all = self.past_term_of(year, today, &state).await?;
                let in_area = |p: &&ecowarden_ledger::dossier::PastTerm| {
                    self.org
                        .region(&p.region_code)
                        .is_some_and(|r| area.covers(&r.code, &r.city_code))
                };
                all.iter().filter(in_area).cloned().collect()
            }
        };
        let f = Arc::new(DashboardFigures { d, past_term });
        *slot.value.lock().expect("lock") = Some((Instant::now(), state, f.clone()));
        Ok(f)
    }

    /// Cases decided after their term (C3) in an area in the year's stored legal checks;
    /// `None` before the year's first run. Counted once per stored run and area: a run holds
    /// every finding of the year, too much to read per page view.
    pub async fn decided_late(&self, area: &Area, year: i64) -> Result<Option<usize>, Error> {
        let year = year as i32;
        let Some(run) = ecowarden_ledger::check_results::run_version(&self.db, year).await? else {
            return Ok(None);
        };
        let key = format!("{:?}|{year}|{run}", area.condition("c"));
        self.decided_late
            .get(key, || async {
                let stored =
                    ecowarden_ledger::check_results::stored(&self.db, area, year, "C3").await?;
                Ok(stored.map(|st| {
                    st.rows
                        .iter()
                        .filter(|c| c.findings.iter().any(|f| f.decided_past_term()))
                        .count()
                }))
            })
            .await
    }

    /// The province's open cases of `year` past their term on `today`, judged once per year
    /// and `state` (the day and the ledger's state) and shared by every scope's dashboard.
    /// Judging them reads the file of every open case older than the term (250,000 of a
    /// million old cases), seconds of work: when each scope judged its own at every refresh,
    /// the load test's dashboards never finished warming.
    async fn past_term_of(
        &self,
        year: i64,
        today: chrono::NaiveDate,
        state: &str,
    ) -> ecowarden_core::store::Result<PastTerms> {
        self.past_term
            .get(format!("{year}|{state}"), || async {
                let cal = ecowarden_ledger::calendar::load(&self.db).await?;
                let province = Area::whole(&Scope::Province);
                ecowarden_ledger::dossier::past_term(&self.db, &province, year as i32, &cal, today)
                    .await
                    .map(Arc::new)
            })
            .await
    }

    /// Brings the latest year's stored legal checks up to date in the background (a
    /// province-year takes seconds), so the first visitor of 案卷检查 finds them.
    pub async fn warm_checks(&self) -> ecowarden_core::store::Result<()> {
        if let Some(year) = ecowarden_ledger::cases::latest_year(&self.db).await? {
            let cal = ecowarden_ledger::calendar::load(&self.db).await?;
            let policy = ecowarden_ledger::checks::Policy::from(&self.settings.legal);
            self.check_runs
                .warm(&self.db, year as i32, &cal, &policy)
                .await;
        }
        Ok(())
    }

    /// Computes the dashboards of the province and of every city for the latest year, one
    /// after another in a background task, so the first visitors do not wait for them.
    pub fn warm_dashboards(&self) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let year = match ecowarden_ledger::cases::latest_year(&app.db).await {
                Ok(y) => y,
                Err(e) => {
                    tracing::warn!("dashboard warm-up: {e}");
                    return;
                }
            };
            let Some(year) = year else { return };
            let mut scopes = vec![Scope::Province];
            scopes.extend(
                app.org
                    .all()
                    .filter(|r| r.level == ecowarden_core::org::Level::City)
                    .map(|r| Scope::City(r.code.clone())),
            );
            for scope in &scopes {
                if let Err(e) = app.dashboard(scope, year).await {
                    tracing::warn!("dashboard warm-up for {scope:?}: {e}");
                }
            }
            tracing::info!(
                "dashboards warmed: {} scopes of {year} in {:.1} s",
                scopes.len(),
                t0.elapsed().as_secs_f64()
            );
        })
    }
}

/// Every route, for documentation and for the route × role test, which fails when a route
/// is added here without a row in its table.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    ("GET", "/assets/{file}"),
    ("GET", "/"),
    ("GET", "/cases"),
    ("GET", "/cases/new"),
    ("POST", "/cases/new"),
    ("GET", "/cases/{id}"),
    ("GET", "/cases/{id}/edit"),
    ("POST", "/cases/{id}/edit"),
    ("POST", "/cases/{id}/transition"),
    ("POST", "/cases/{id}/documents"),
    ("POST", "/cases/{id}/records"),
    ("POST", "/cases/{id}/approvals"),
    ("POST", "/cases/{id}/evidence"),
    ("POST", "/cases/{id}/provisions"),
    ("POST", "/cases/{id}/hearing"),
    ("POST", "/cases/{id}/measures"),
    ("POST", "/cases/{id}/referrals"),
    ("POST", "/referrals/{id}/outcome"),
    ("GET", "/campaigns"),
    ("GET", "/campaigns/{tag}"),
    ("GET", "/third-parties"),
    ("GET", "/third-parties/{id}"),
    ("GET", "/cooperation"),
    ("GET", "/stats"),
    ("GET", "/stats/figure"),
    ("GET", "/checks"),
    ("GET", "/admin/holidays"),
    ("POST", "/admin/holidays"),
    ("GET", "/checks/export.xlsx"),
    ("GET", "/org"),
    ("GET", "/org/officers"),
    ("GET", "/users"),
    ("POST", "/users"),
    ("POST", "/users/{id}/disable"),
    ("POST", "/users/{id}/enable"),
    ("POST", "/users/{id}/password"),
    ("GET", "/audit"),
    ("GET", "/modules/{name}"),
    ("GET", "/api/docs"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/regions"),
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/{id}"),
    ("GET", "/api/v1/cases/{id}/history"),
    ("POST", "/api/v1/cases/{id}/transitions"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/audit-log"),
    ("GET", "/cases/template.xlsx"),
    ("GET", "/cases/import"),
    ("POST", "/cases/import"),
    ("GET", "/cases/export.xlsx"),
    ("GET", "/stats/export.xlsx"),
    ("GET", "/monitoring"),
    ("GET", "/monitoring/receiver"),
    ("GET", "/monitoring/outlets/new"),
    ("POST", "/monitoring/outlets"),
    ("GET", "/monitoring/outlets/{id}"),
    ("GET", "/monitoring/outlets/{id}/edit"),
    ("POST", "/monitoring/outlets/{id}/crc"),
    ("GET", "/monitoring/registry/template.xlsx"),
    ("GET", "/monitoring/registry/import"),
    ("POST", "/monitoring/registry/import"),
    ("GET", "/api/v1/monitoring/outlets"),
    ("GET", "/api/v1/monitoring/outlets/{id}/data"),
    ("GET", "/api/v1/monitoring/receiver"),
    ("GET", "/leads"),
    ("GET", "/leads/{id}"),
    ("POST", "/leads/{id}/accept"),
    ("POST", "/leads/{id}/dismiss"),
    ("GET", "/leads/suppressions"),
    ("GET", "/leads/screening"),
    ("POST", "/leads/screening"),
    ("POST", "/leads/suppressions/{id}/lift"),
    ("GET", "/api/v1/leads"),
    ("GET", "/api/v1/leads/{id}"),
    ("GET", "/api/v1/leads/suppressions"),
    ("GET", "/api/v1/assessment/runs/{id}/officers"),
    ("GET", "/api/v1/audits"),
    ("GET", "/api/v1/audits/{id}"),
    ("GET", "/review"),
    ("POST", "/review/plans"),
    ("GET", "/review/plans/{id}"),
    ("GET", "/review/plans/{id}/export.xlsx"),
    ("POST", "/review/plans/{id}/chosen"),
    ("GET", "/review/assignments/{id}"),
    ("POST", "/review/assignments/{id}"),
    ("GET", "/review/sheet"),
    ("POST", "/review/sheet"),
    ("GET", "/audits"),
    ("POST", "/audits"),
    ("GET", "/audits/{id}"),
    ("POST", "/audits/{id}/checklist/{item}"),
    ("POST", "/audits/{id}/findings"),
    ("POST", "/audits/{id}/rectifications"),
    ("POST", "/audits/{id}/rectifications/{rid}"),
    ("POST", "/audits/{id}/close"),
    ("GET", "/assessment"),
    ("GET", "/assessment/rules"),
    ("POST", "/assessment/rules"),
    ("GET", "/assessment/rules/{id}"),
    ("GET", "/assessment/rules/{id}/export.toml"),
    ("GET", "/assessment/tasks"),
    ("POST", "/assessment/tasks"),
    ("POST", "/assessment/tasks/{id}"),
    ("GET", "/assessment/tasks/{id}/evidence"),
    ("GET", "/assessment/entries"),
    ("POST", "/assessment/entries"),
    ("GET", "/assessment/entries/{id}/file"),
    ("POST", "/assessment/runs"),
    ("GET", "/assessment/runs/{id}"),
    ("GET", "/assessment/runs/{id}/units/{code}"),
    ("GET", "/assessment/runs/{id}/export.xlsx"),
    ("GET", "/assessment/runs/{id}/bulletin.pdf"),
    ("GET", "/assessment/compare"),
];

pub fn router(state: AppState) -> Router {
    let limit = state.settings.http.body_limit;
    let pages = Router::new()
        .route("/", get(pages::dashboard))
        .route("/cases", get(pages::cases))
        .route(
            "/cases/new",
            get(case_form::new_case_form).post(case_form::new_case_submit),
        )
        .route("/cases/{id}", get(ledger::case_page))
        .route(
            "/cases/{id}/edit",
            get(case_form::edit_case_form).post(case_form::edit_case_submit),
        )
        .route("/cases/{id}/transition", post(ledger::transition))
        .route("/cases/{id}/documents", post(ledger::add_document))
        .route("/cases/{id}/records", post(ledger::add_record))
        .route(
            "/cases/{id}/approvals",
            post(ledger::add_entries::<ledger::ApprovalForm>),
        )
        .route(
            "/cases/{id}/evidence",
            post(ledger::add_entries::<ledger::EvidenceForm>),
        )
        .route(
            "/cases/{id}/provisions",
            post(ledger::add_entries::<ledger::ProvisionForm>),
        )
        .route("/cases/{id}/hearing", post(ledger::record_hearing))
        .route("/cases/{id}/measures", post(ledger::add_measure))
        .route("/cases/{id}/referrals", post(ledger::add_referral))
        .route("/referrals/{id}/outcome", post(ledger::referral_outcome))
        .route("/campaigns", get(ledger::campaigns))
        .route("/campaigns/{tag}", get(ledger::campaign))
        .route("/third-parties", get(ledger::third_parties))
        .route("/third-parties/{id}", get(ledger::third_party))
        .route("/cooperation", get(ledger::cooperation))
        .route("/stats", get(ledger::stats_page))
        .route("/stats/figure", get(ledger::figure_page))
        .route("/checks", get(checks::checks_page))
        .route(
            "/admin/holidays",
            get(holidays::holidays).post(holidays::save_year),
        )
        .route("/checks/export.xlsx", get(checks::export_checks))
        .route("/org", get(pages::org))
        .route("/org/officers", get(pages::roster))
        .route("/users", get(pages::users).post(pages::create_user))
        .route("/users/{id}/disable", post(pages::disable_user))
        .route("/users/{id}/enable", post(pages::enable_user))
        .route("/users/{id}/password", post(pages::reset_password))
        .route("/audit", get(pages::audit))
        .route("/modules/{name}", get(pages::module))
        .route("/cases/template.xlsx", get(ledger_io::template))
        .route(
            "/cases/import",
            get(ledger_io::import_form).post(ledger_io::import_upload),
        )
        .route("/cases/export.xlsx", get(ledger_io::export_cases))
        .route("/stats/export.xlsx", get(ledger_io::export_stats))
        .route("/logout", post(session::logout))
        .route("/api/docs", get(api::docs))
        .route(
            "/login",
            get(session::login_form)
                .post(session::login_submit)
                .layer(DefaultBodyLimit::max(session::LOGIN_BODY_LIMIT)),
        )
        .merge(monitoring::pages())
        .merge(leads::pages())
        .merge(screening::pages())
        .merge(review::pages())
        .merge(inspection::pages())
        .merge(assessment::pages());
    Router::new()
        .merge(pages)
        .route("/healthz", get(|| async { "ok" }))
        .route("/assets/{*file}", get(assets::serve))
        .nest("/api/v1", api::router())
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), session::csrf_guard))
        .layer(from_fn_with_state(state.clone(), anonymous_rate_limit))
        .layer(from_fn_with_state(state.clone(), error_responses))
        .layer(from_fn_with_state(state.clone(), session::load_session))
        .layer(from_fn(security_headers))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    message: &'a str,
}

/// An error inside the layout, for a signed-in user: the menu stays.
#[derive(Template)]
#[template(path = "error_in_layout.html")]
struct ErrorInLayout<'a> {
    nav: pages::Nav,
    status: u16,
    message: &'a str,
}

/// An unknown path: a page for pages, JSON for the API (both in Chinese).
async fn not_found(uri: axum::http::Uri) -> Error {
    if is_api(uri.path()) {
        Error::NotFound(format!("接口“{}”不存在", uri.path()))
    } else {
        Error::NotFound("页面不存在，请检查网址或从菜单进入".into())
    }
}

/// The JSON API, as opposed to pages (`/api/docs` is a page).
fn is_api(path: &str) -> bool {
    path.starts_with("/api/v1/") || path == "/api/v1"
}

/// Every error a user can reach, in Chinese: errors that axum answers itself (a query string,
/// path or body it cannot parse, a method a route does not have) become [`Error`]s; then on
/// page routes an error is a page (inside the layout, menu kept, for a signed-in user) and a
/// 401 is the login form; the API keeps JSON.
async fn error_responses(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let api = is_api(req.uri().path());
    let session = match req.extensions().get::<session::SessionState>() {
        Some(session::SessionState::Valid(s)) => Some(session::CurrentUser(s.clone())),
        _ => None,
    };
    let res = translate_rejection(next.run(req).await).await;
    if api {
        return res;
    }
    let Some(info) = res.extensions().get::<ErrorInfo>().cloned() else {
        return res;
    };
    if info.status == StatusCode::UNAUTHORIZED && info.code != "login_failed" {
        let next = percent_encoding::utf8_percent_encode(&path, percent_encoding::NON_ALPHANUMERIC);
        let expired = if info.code == "session_expired" {
            "&expired=1"
        } else {
            ""
        };
        return Redirect::to(&format!("/login?next={next}{expired}")).into_response();
    }
    let (status, message) = (info.status.as_u16(), info.message.as_str());
    let html = match &session {
        Some(s) => ErrorInLayout {
            nav: pages::Nav::new(&app, s, ""),
            status,
            message,
        }
        .render(),
        None => ErrorPage { status, message }.render(),
    };
    match html {
        Ok(html) => {
            let (mut parts, _) = res.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_TYPE);
            (parts, Html(html)).into_response()
        }
        Err(_) => res,
    }
}

/// An error response of axum itself (plain text in English, or empty) as our [`Error`];
/// responses we made (JSON errors, pages that show a refused form with its input) pass.
async fn translate_rejection(res: Response) -> Response {
    use axum::http::header::CONTENT_TYPE;
    let status = res.status();
    let ours = res.extensions().get::<ErrorInfo>().is_some()
        || res.headers().get(CONTENT_TYPE).is_some_and(|t| {
            let t = t.to_str().unwrap_or("");
            t.starts_with("text/html") || t.starts_with("application/json")
        });
    if status.as_u16() < 400 || ours {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut res = rejection_error(status, &text).into_response();
    if let Some(allow) = parts.headers.get(axum::http::header::ALLOW) {
        res.headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    res
}

/// The Chinese error for one of axum's rejections, told by status and its English text.
fn rejection_error(status: StatusCode, text: &str) -> Error {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        StatusCode::NOT_FOUND => Error::NotFound("页面不存在，请检查网址或从菜单进入".into()),
        // "Invalid URL: Cannot parse `abc` to a `i64`": no such record can exist.
        _ if text.starts_with("Invalid URL") => {
            Error::NotFound("网址中的编号无效：记录不存在".into())
        }
        // "Failed to deserialize query string: year: invalid digit found in string"
        _ if text.contains("query string") => Error::BadRequest(match query_field(text) {
            Some(f) => format!("查询参数“{f}”的值格式不正确，请检查后重试"),
            None => "查询参数格式不正确，请检查后重试".into(),
        }),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::BadRequest("不支持的请求内容类型".into()),
        _ => Error::BadRequest("请求格式不正确，请检查后重试".into()),
    }
}

/// The field a query-string error names ("…query string: year: invalid digit…" → "year").
fn query_field(text: &str) -> Option<&str> {
    let rest = text.split_once("query string: ")?.1;
    let (field, _) = rest.split_once(": ")?;
    (!field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(field)
}

/// What every response tells the browser: scripts, styles and frames only from this origin
/// (no inline script: page behaviour lives in /assets; inline styles stay allowed for the
/// chart and API-docs libraries, which set them), never inside a frame, no type sniffing, no
/// full URL in the Referer, and nothing but the static assets kept in a cache (pages show
/// case data to whoever is signed in).
async fn security_headers(req: Request, next: Next) -> Response {
    use axum::http::HeaderValue;
    use axum::http::header;
    let asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Limits requests without a valid session per client address (429 with `Retry-After`; a
/// page for pages, JSON for the API, by [`error_responses`]). Signed-in users are limited by their accounts, and
/// `/healthz` is left to monitoring probes. The first refusal of a run is logged once.
async fn anonymous_rate_limit(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let signed_in = matches!(
        req.extensions().get::<session::SessionState>(),
        Some(session::SessionState::Valid(_))
    );
    if signed_in || req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let peer = session::peer(req.extensions()).unwrap_or_default();
    let Err(refused) = app.rate_limit.take(&peer) else {
        return next.run(req).await;
    };
    if refused.first {
        tracing::warn!(peer = %peer, "anonymous requests over the rate limit");
    }
    Error::TooManyRequests(refused.wait.as_secs()).into_response()
}

/// A form that does not parse is a bad request, with the reason in Chinese.
pub(crate) fn form_rejection(r: FormRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::PayloadTooLarge;
    }
    Error::BadRequest(format!("表单格式错误：{}", r.body_text()))
}

pub(crate) fn json_rejection(r: JsonRejection) -> Error {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            Error::BadRequest("请求须使用 Content-Type: application/json".into())
        }
        r if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
        r => Error::BadRequest(format!("JSON 格式错误：{}", r.body_text())),
    }
}

/// Records a refused request in the security log and passes the error on.
/// The area a request's region filter narrows the user's scope to (`Scope::area`): an unknown
/// code is a bad request, one outside the scope is refused and recorded.
pub(crate) async fn area(
    app: &AppState,
    user: &auth::User,
    region: Option<&str>,
    path: &str,
) -> Result<Area, Error> {
    match user.scope.area(&app.org, region) {
        Ok(a) => Ok(a),
        Err(AreaError::Unknown(m)) => Err(Error::BadRequest(m)),
        Err(AreaError::OutOfScope(_)) => Err(refuse(app, user, path, Error::out_of_scope()).await),
    }
}

pub(crate) async fn refuse(app: &AppState, user: &auth::User, path: &str, e: Error) -> Error {
    auth::security_event(
        &app.db,
        e.code(),
        Some(&user.username),
        None,
        path,
        &e.to_string(),
    )
    .await;
    e
}

/// Binds the listener and serves until Ctrl-C. Port 0 picks a free port (tests).
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
