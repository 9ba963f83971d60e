//! Starting a screening run from the page (数据筛查 → 启动筛查), for provincial users: a date
//! range, the run in the background (the same [`screening::screen_and_save`] the command
//! calls), its progress while it runs and the leads it stored when it ends. One run at a
//! time in the process; the start is in the audit log.

use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use super::AppState;
use super::error::Result;
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use ecowarden_core::auth::Permission;
use ecowarden_core::clock;
use ecowarden_monitoring::leads::{self, LeadRow};
use ecowarden_monitoring::screening::{self, Progress};

/// Days of each outlet's own history read before the period, as the command's default.
const HISTORY_DAYS: u32 = 7;
/// The longest period a page run may screen (the command takes any).
const MAX_DAYS: i64 = 31;

pub fn pages() -> axum::Router<AppState> {
    axum::Router::new().route("/leads/screening", get(page).post(start))
}

/// The run of this process: the current one, or the last one and how it ended.
#[derive(Default)]
pub struct Job {
    run: Mutex<Option<Run>>,
}

#[derive(Clone)]
struct Run {
    from: NaiveDate,
    to: NaiveDate,
    by: String,
    started_at: String,
    progress: Arc<Progress>,
    /// `None` while running.
    ended: Option<std::result::Result<Ended, String>>,
}

#[derive(Clone)]
struct Ended {
    at: String,
    saved: leads::Saved,
    series: usize,
    points: usize,
}

impl Job {
    fn current(&self) -> Option<Run> {
        self.run.lock().expect("lock").clone()
    }
    /// Takes the slot for a new run; `false` while one runs.
    fn begin(&self, run: Run) -> bool {
        let mut slot = self.run.lock().expect("lock");
        if slot.as_ref().is_some_and(|r| r.ended.is_none()) {
            return false;
        }
        *slot = Some(run);
        true
    }
    fn end(&self, ended: std::result::Result<Ended, String>) {
        if let Some(r) = self.run.lock().expect("lock").as_mut() {
            r.ended = Some(ended);
        }
    }
}

#[derive(Template)]
#[template(path = "screening.html")]
struct ScreeningPage {
    nav: Nav,
    run: Option<Run>,
    /// The leads the last run stored (in the user's scope), when it has ended.
    stored: Vec<LeadRow>,
    from: String,
    to: String,
    message: String,
}

impl ScreeningPage {
    fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.ended.is_none())
    }
    /// (series screened, series in all, outlets) of the run.
    fn progress(&self) -> (usize, usize, usize) {
        self.run
            .as_ref()
            .map(|r| r.progress.get())
            .unwrap_or_default()
    }
    fn percent(&self) -> usize {
        let (done, total, _) = self.progress();
        (done * 100).checked_div(total).unwrap_or(0)
    }
}

async fn show(
    app: &AppState,
    s: &CurrentUser,
    from: String,
    to: String,
    message: String,
) -> Result<ScreeningPage> {
    let run = app.screening.current();
    let mut stored = Vec::new();
    if let Some(Some(Ok(e))) = run.as_ref().map(|r| &r.ended) {
        for &id in &e.saved.ids {
            // A provincial user sees every lead; the scope still decides.
            if let Ok(l) = leads::get_row(&app.db, &s.user().scope, id).await {
                stored.push(l);
            }
        }
    }
    Ok(ScreeningPage {
        nav: Nav::new(app, s, "screening"),
        run,
        stored,
        from,
        to,
        message,
    })
}

/// The form, the running run's progress (the page reloads itself while it runs) or how the
/// last one ended.
async fn page(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::RunScreening, "/leads/screening").await?;
    let yesterday = clock::today() - chrono::Days::new(1);
    let from = (yesterday - chrono::Days::new(2)).to_string();
    render(show(&app, &s, from, yesterday.to_string(), String::new()).await?)
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    from: String,
    to: String,
}

/// The period of a start form, or why it is refused.
fn period(f: &StartForm) -> std::result::Result<(NaiveDate, NaiveDate), String> {
    let day = |v: &str, label: &str| {
        v.trim()
            .parse::<NaiveDate>()
            .map_err(|_| format!("{label}“{v}”无法识别，应为YYYY-MM-DD"))
    };
    let (from, to) = (day(&f.from, "开始日期")?, day(&f.to, "结束日期")?);
    if from > to {
        return Err(format!("开始日期{from}晚于结束日期{to}"));
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(format!("一次最多筛查{MAX_DAYS}天"));
    }
    if to > clock::today() {
        return Err(format!("结束日期{to}晚于今天"));
    }
    Ok((from, to))
}

/// The page again with the form as it was sent and why it was refused.
async fn refused(
    app: &AppState,
    s: &CurrentUser,
    f: StartForm,
    message: String,
    status: StatusCode,
) -> Result<Response> {
    let page = show(app, s, f.from, f.to, message).await?;
    Ok((status, axum::response::Html(page.render()?)).into_response())
}

/// Starts a run of the period in the background and shows its page; a bad period, or a run
/// already going, is shown on the form with what was typed.
async fn start(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<StartForm>, FormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::RunScreening, "/leads/screening").await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let (from, to) = match period(&f) {
        Ok(p) => p,
        Err(m) => return refused(&app, &s, f, m, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let u = s.user();
    let progress = Arc::new(Progress::default());
    let run = Run {
        from,
        to,
        by: u.display_name.clone(),
        started_at: clock::display_instant(&clock::now_rfc3339()),
        progress: progress.clone(),
        ended: None,
    };
    if !app.screening.begin(run) {
        let m = "已有筛查正在运行，请等待其结束".to_owned();
        return refused(&app, &s, f, m, StatusCode::CONFLICT).await;
    }
    if let Err(e) = screening::record_start(&app.db, &u.username, from, to, HISTORY_DAYS).await {
        app.screening.end(Err(e.to_string()));
        return Err(e.into());
    }
    let (job, db, data, actor) = (
        app.screening.clone(),
        app.db.clone(),
        app.settings.data_dir.clone(),
        u.username.clone(),
    );
    tokio::spawn(async move {
        let done =
            screening::screen_and_save(&db, &data, from, to, HISTORY_DAYS, &actor, progress).await;
        job.end(match done {
            Ok((run, saved)) => Ok(Ended {
                at: clock::display_instant(&clock::now_rfc3339()),
                saved,
                series: run.series,
                points: run.points,
            }),
            Err(e) => {
                tracing::warn!("screening {from}..{to} started by {actor}: {e:#}");
                Err(format!("{e:#}"))
            }
        });
    });
    Ok(Redirect::to("/leads/screening").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
            by: "分析员".into(),
            started_at: String::new(),
            progress: Default::default(),
            ended: None,
        }
    }

    /// One run at a time: a second start waits until the first has ended, however it ended.
    #[test]
    fn one_run_at_a_time() {
        let job = Job::default();
        assert!(job.begin(run()));
        assert!(!job.begin(run()));
        job.end(Err("失败".into()));
        assert!(job.begin(run()));
        job.end(Ok(Ended {
            at: String::new(),
            saved: Default::default(),
            series: 0,
            points: 0,
        }));
        assert!(job.begin(run()));
    }

    #[test]
    fn a_period_reads_and_is_bounded() {
        let f = |from: &str, to: &str| {
            period(&StartForm {
                from: from.into(),
                to: to.into(),
            })
        };
        assert!(f("2026-11-01", "2026-11-03").is_ok());
        assert!(f("2026-11-03", "2026-11-01").unwrap_err().contains("晚于"));
        assert!(f("2026-10-01", "2026-11-30").unwrap_err().contains("31"));
        assert!(f("2026-11-01", "明天").unwrap_err().contains("无法识别"));
        assert!(
            f("2099-01-01", "2099-01-02")
                .unwrap_err()
                .contains("晚于今天")
        );
    }
}
