//! `GET /api/v1/assessment/runs/{id}/officers`: the score sheets of an individual run (个人考核)
//! that the caller reads — an officer their own, leaders their units' officers; the rule is
//! `ecowarden_assessment::officers::reads_sheet`.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::error::{Error, Result};
use super::pages::require;
use super::session::CurrentUser;
use ecowarden_assessment::{AssessError, officers};
use ecowarden_core::auth::{self, Permission};

pub fn api() -> Router<AppState> {
    Router::new().route("/assessment/runs/{id}/officers", get(api_officer_sheets))
}

/// An individual run as the caller reads it: the run's fields and only the sheets they may
/// read, in rank order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OfficerSheets {
    run: String,
    year: i64,
    half: Option<i64>,
    subject: String,
    level: String,
    /// The run's `units` items the caller reads, each with `"officer": {"cert_no", "name"}`.
    #[schema(value_type = Vec<Object>)]
    units: Vec<serde_json::Value>,
}

/// The sheets of an individual run that the caller reads (an officer their own; leaders the
/// officers of the units in their scope).
#[utoipa::path(get, path = "/api/v1/assessment/runs/{id}/officers", tag = "assessment",
    params(("id" = i64, Path, description = "考核结果编号")),
    responses((status = 200, body = OfficerSheets), (status = 404, description = "没有该个人考核结果")))]
pub async fn api_officer_sheets(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<OfficerSheets>> {
    let u = s.user();
    let path = format!("/api/v1/assessment/runs/{id}/officers");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let run = ecowarden_assessment::load(&app.db, id)
        .await
        .map_err(|e| match e {
            AssessError::Store(e) => Error::from(e),
            e => Error::NotFound(e.to_string()),
        })?;
    let r = run.result;
    if r["subject"] != "individual" {
        return Err(Error::NotFound(format!("考核结果 {id} 不是个人考核")));
    }
    let own = auth::officer_of(&app.db, u.id).await?;
    let units = r["units"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sheet| officers::reads_sheet(u, own.as_deref(), &app.org, sheet))
        .cloned()
        .collect();
    Ok(Json(OfficerSheets {
        run: id.to_string(),
        year: r["year"].as_i64().unwrap_or_default(),
        half: r["half"].as_i64(),
        subject: "individual".into(),
        level: r["level"].as_str().unwrap_or_default().into(),
        units,
    }))
}
