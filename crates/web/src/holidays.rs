//! 节假日安排: the working-day calendar the legal checks count with. A provincial
//! administrator adds or replaces a year from the State Council's notice.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::error::Result;
use super::pages::{Nav, require};
use super::session::CurrentUser;
use ecowarden_core::auth::Permission;
use ecowarden_ledger::calendar::{self, SaveError};

#[derive(Template)]
#[template(path = "holidays.html")]
struct HolidaysPage {
    nav: Nav,
    /// (year, holidays, make-up working days)
    years: Vec<(i32, usize, usize)>,
    message: String,
    error: String,
    year: String,
    days: String,
}

async fn page(
    app: &AppState,
    s: &CurrentUser,
    message: String,
    error: String,
    (year, days): (String, String),
) -> Result<Response> {
    let years = calendar::load(&app.db).await?.years();
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let p = HolidaysPage {
        nav: Nav::new(app, s, "checks"),
        years,
        message,
        error,
        year,
        days,
    };
    Ok((status, Html(p.render()?)).into_response())
}

pub async fn holidays(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(
        &app,
        s.user(),
        Permission::ManageCalendar,
        "/admin/holidays",
    )
    .await?;
    page(&app, &s, String::new(), String::new(), Default::default()).await
}

#[derive(Debug, Deserialize)]
pub struct YearForm {
    year: String,
    /// One day a line: 日期,类型(holiday|workday|休|班),名称[,来源].
    days: String,
}

/// Replaces a year's holidays and make-up days; a bad line is named and nothing is saved.
pub async fn save_year(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<YearForm>, FormRejection>,
) -> Result<Response> {
    require(
        &app,
        s.user(),
        Permission::ManageCalendar,
        "/admin/holidays",
    )
    .await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let kept = (f.year.clone(), f.days.clone());
    let Ok(year) = f.year.trim().parse::<i32>() else {
        let e = format!("年份“{}”应为四位数字", f.year.trim());
        return page(&app, &s, String::new(), e, kept).await;
    };
    let parsed = calendar::parse_csv(&format!("date,kind,name,source\n{}", f.days));
    let days = match parsed {
        Ok(d) if !d.is_empty() => d,
        Ok(_) => return page(&app, &s, String::new(), "请填写节假日".into(), kept).await,
        Err(e) => return page(&app, &s, String::new(), e, kept).await,
    };
    match calendar::save_year(&app.db, &s.user().username, year, &days).await {
        Ok(()) => {
            let msg = format!("已保存{year}年节假日安排（{}天）", days.len());
            page(&app, &s, msg, String::new(), Default::default()).await
        }
        Err(SaveError::Invalid(e)) => page(&app, &s, String::new(), e, kept).await,
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}
