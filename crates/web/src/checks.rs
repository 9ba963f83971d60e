//! 案卷检查: the legal checks C1–C16 over the cases of a year and region in the user's scope,
//! filtered by check, and their workbook. The case page shows one case's checks.

use std::time::Duration;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::error::Result;
use super::ledger_io::xlsx;
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::scope::Area;
use ecowarden_ledger::checks::{CHECKS, Finding, Policy, Severity};
use ecowarden_ledger::dossier::{self, Checked};
use ecowarden_ledger::{calendar, check_results, ledger_io};

/// Rows a page shows; the workbook holds them all.
const PAGE_ROWS: usize = 500;

#[derive(Debug, Deserialize)]
pub struct ChecksQuery {
    year: Option<i32>,
    region: Option<String>,
    /// C1 … C16, or empty for all.
    check: Option<String>,
    /// Check the year again as a whole instead of answering from the stored run.
    #[serde(default)]
    refresh: Option<String>,
}

impl ChecksQuery {
    fn check(&self) -> Option<&str> {
        self.check.as_deref().filter(|c| !c.is_empty())
    }
}

/// The policy the checks apply (the province's 较大数额).
fn policy(app: &AppState) -> Policy {
    Policy::from(&app.settings.legal)
}

/// One case's findings, for its page.
pub(super) async fn of_case(app: &AppState, u: &User, case_id: i64) -> Result<Vec<Finding>> {
    let cal = calendar::load(&app.db).await?;
    let checked =
        dossier::check_case(&app.db, &Area::whole(&u.scope), case_id, &cal, &policy(app)).await?;
    Ok(checked.map(|c| c.findings).unwrap_or_default())
}

/// How long a page view waits for a run of the year before it shows the run's progress.
const PAGE_WAIT: Duration = Duration::from_secs(1);

/// The cases of the query's year and area with the findings it asks for, waiting for a run
/// going on at most `wait` (`None`: until it is done).
async fn failed(
    app: &AppState,
    u: &User,
    q: &ChecksQuery,
    path: &str,
    wait: Option<Duration>,
) -> Result<(Area, i32, check_results::View)> {
    require(app, u, Permission::ReadLedger, path).await?;
    let area = super::area(app, u, q.region.as_deref(), path).await?;
    let year = match q.year {
        Some(y) => y,
        None => super::pages::latest_year(app).await? as i32,
    };
    let cal = calendar::load(&app.db).await?;
    let refresh = q.refresh.as_deref().is_some_and(|r| !r.is_empty());
    let mut view = check_results::findings(
        &app.db,
        &app.check_runs,
        &area,
        year,
        &cal,
        &policy(app),
        refresh,
        wait,
    )
    .await?;
    if let (Some(id), Some(stored)) = (q.check(), &mut view.stored) {
        for c in &mut stored.rows {
            c.findings.retain(|f| f.check == id);
        }
        stored.rows.retain(|c| !c.findings.is_empty());
    }
    Ok((area, year, view))
}

#[derive(Template)]
#[template(path = "checks.html")]
struct ChecksPage {
    nav: Nav,
    year: i32,
    years: Vec<i32>,
    region: String,
    regions: Vec<(String, String)>,
    check: String,
    checks: &'static [(&'static str, &'static str, &'static str); 16],
    /// (check, name, fails, advisories) of the checks with findings.
    summary: Vec<(&'static str, &'static str, usize, usize)>,
    rows: Vec<(Checked, String)>,
    shown: usize,
    total: usize,
    query: String,
    /// The user keeps the holiday calendar (a link to it).
    keeps_calendar: bool,
    /// When the stored run was computed, China time (changed cases are checked on reading);
    /// empty before the year's first run.
    computed_at: String,
    /// Cases checked and cases of the year while a run goes on: the page shows it and
    /// reloads itself.
    computing: Option<(usize, usize)>,
}

/// The failed checks of a year and region, filtered by check.
pub async fn checks_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<ChecksQuery>,
) -> Result<Response> {
    let (area, year, view) = failed(&app, s.user(), &q, "/checks", Some(PAGE_WAIT)).await?;
    let (rows, computed_at) = view
        .stored
        .map(|s| (s.rows, s.computed_at))
        .unwrap_or_default();
    let latest = super::pages::latest_year(&app).await? as i32;
    let mut summary: Vec<(&str, &str, usize, usize)> = Vec::new();
    for (id, name, _) in CHECKS {
        let found = rows
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.check == id);
        let (fails, advisories) = found.fold((0, 0), |(a, b), f| match f.severity {
            Severity::Fail => (a + 1, b),
            Severity::Advisory => (a, b + 1),
        });
        if fails + advisories > 0 {
            summary.push((id, name, fails, advisories));
        }
    }
    let total = rows.iter().map(|c| c.findings.len()).sum();
    let mut shown = 0;
    let mut page_rows: Vec<(Checked, String)> = Vec::new();
    for c in rows {
        if shown + c.findings.len() > PAGE_ROWS {
            break;
        }
        shown += c.findings.len();
        let name = app.org.name(&c.region_code).to_owned();
        page_rows.push((c, name));
    }
    let region = area.region().map(|r| r.code.clone()).unwrap_or_default();
    let query = format!(
        "year={year}&region={region}&check={}",
        q.check().unwrap_or("")
    );
    render(ChecksPage {
        nav: Nav::new(&app, &s, "checks"),
        year,
        years: (latest - 4..=latest).rev().collect(),
        regions: super::pages::filter_regions(&app, s.user()),
        region,
        check: q.check().unwrap_or("").to_owned(),
        checks: &CHECKS,
        summary,
        rows: page_rows,
        shown,
        total,
        query,
        keeps_calendar: s.user().can(Permission::ManageCalendar),
        computed_at: chrono::DateTime::parse_from_rfc3339(&computed_at)
            .map(|t| {
                t.with_timezone(&ecowarden_core::clock::cst())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or(computed_at),
        computing: view.computing,
    })
}

/// `GET /checks/export.xlsx?year=&region=&check=`: every finding of the page as a workbook
/// (a run going on is waited for: the workbook is the whole year).
pub async fn export_checks(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<ChecksQuery>,
) -> Result<Response> {
    let (_, _, view) = failed(&app, s.user(), &q, "/checks/export.xlsx", None).await?;
    let rows = view.stored.map(|s| s.rows).unwrap_or_default();
    Ok(xlsx(
        ledger_io::checks_xlsx(&rows, &app.org),
        "checks.xlsx",
        "案卷检查.xlsx",
    ))
}
