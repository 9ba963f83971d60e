//! 稽查: audit plans, the audit page (checklist, platform-data comparison, findings,
//! rectification items) and the forms that change them. Auditors reach only the audits whose
//! team they are on; the rules and the SQL are in `ecowarden_assessment::inspection`.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;

use super::AppState;
use super::error::{Error, Result};
use super::pages::{Nav, render, require};
use super::review::review_error;
use super::session::CurrentUser;
use ecowarden_assessment::inspection::{
    self, AuditRow, AuditSpec, ChecklistRow, FindingRow, Grade, Mismatch, RectificationRow,
    Thresholds,
};
use ecowarden_assessment::review::ReviewError;
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::clock;
use ecowarden_core::scope::Area;

/// `/api/v1/audits…`: the audits a caller reaches, read-only.
pub fn api() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/audits", get(api_audits))
        .route("/audits/{id}", get(api_audit))
}

pub fn pages() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/audits", get(audits).post(create))
        .route("/audits/{id}", get(audit_page))
        .route("/audits/{id}/checklist/{item}", post(tick))
        .route("/audits/{id}/findings", post(add_finding))
        .route("/audits/{id}/rectifications", post(add_rectification))
        .route(
            "/audits/{id}/rectifications/{rid}",
            post(update_rectification),
        )
        .route("/audits/{id}/close", post(close))
}

/// Provincial administrators see every audit of their scope; auditors their team's.
fn sees_all(u: &User) -> bool {
    u.can(Permission::ManageReviews)
}

#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    msg: Option<String>,
}

fn back(id: i64, msg: &str) -> Response {
    let m = percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC);
    Redirect::to(&format!("/audits/{id}?msg={m}")).into_response()
}

#[derive(Template)]
#[template(path = "inspection_audits.html")]
struct AuditsPage {
    nav: Nav,
    rows: Vec<AuditRow>,
    regions: Vec<(String, String)>,
    me: String,
    today: String,
}

/// `GET /audits`.
pub async fn audits(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::Inspect, "/audits").await?;
    let rows = inspection::audits(&app.db, &Area::whole(&u.scope), &u.username, sees_all(u))
        .await
        .map_err(|e| Error::Unprocessable(e.to_string()))?;
    render(AuditsPage {
        nav: Nav::new(&app, &s, "dossier-review"),
        rows,
        regions: super::pages::filter_regions(&app, u),
        me: u.username.clone(),
        today: clock::today().to_string(),
    })
}

#[derive(Debug, Deserialize)]
pub struct AuditForm {
    region: String,
    scope: String,
    period_from: String,
    period_to: String,
    team: String,
    starts_on: String,
    ends_on: String,
}

/// `POST /audits`: plans an audit.
pub async fn create(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<AuditForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::Inspect, "/audits").await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let spec = AuditSpec {
        region_code: f.region,
        scope: f.scope,
        period_from: f.period_from,
        period_to: f.period_to,
        team: f.team,
        starts_on: f.starts_on,
        ends_on: f.ends_on,
    };
    let area = Area::whole(&u.scope);
    match inspection::create_audit(&app.db, &app.org, &area, &u.username, &spec).await {
        Ok(id) => Ok(back(id, "已创建稽查计划")),
        Err(e) => Err(review_error(&app, u, "/audits", e).await),
    }
}

/// The audit, if the user may reach it.
async fn reach(app: &AppState, u: &User, id: i64, path: &str) -> Result<AuditRow> {
    require(app, u, Permission::Inspect, path).await?;
    let area = Area::whole(&u.scope);
    match inspection::audit(&app.db, &area, id, &u.username, sees_all(u)).await {
        Ok(a) => Ok(a),
        Err(e) => Err(review_error(app, u, path, e).await),
    }
}

#[derive(Template)]
#[template(path = "inspection_audit.html")]
struct AuditPage {
    nav: Nav,
    message: String,
    a: AuditRow,
    region_name: String,
    checklist: Vec<ChecklistRow>,
    mismatches: Vec<Mismatch>,
    findings: Vec<FindingRow>,
    rectifications: Vec<RectificationRow>,
    grades: [Grade; 3],
    today: chrono::NaiveDate,
}

/// The comparison of the audit's unit and period: the ledger's facts and the archive's counts.
async fn comparison(app: &AppState, a: &AuditRow) -> Result<Vec<Mismatch>> {
    let subject = inspection::Subject::of_audit(a).map_err(Error::from_review)?;
    inspection::comparison(
        &app.db,
        &app.settings.data_dir,
        subject,
        clock::today(),
        Thresholds::from(&app.settings.inspection),
    )
    .await
    .map_err(Error::from_review)
}

/// `GET /audits/{id}`.
pub async fn audit_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let a = reach(&app, s.user(), id, &format!("/audits/{id}")).await?;
    let store = |e: ReviewError| Error::Unprocessable(e.to_string());
    render(AuditPage {
        nav: Nav::new(&app, &s, "dossier-review"),
        message: q.msg.unwrap_or_default(),
        region_name: app.org.name(&a.region_code).to_owned(),
        checklist: inspection::checklist(&app.db, id).await.map_err(store)?,
        mismatches: comparison(&app, &a).await?,
        findings: inspection::findings(&app.db, id).await.map_err(store)?,
        rectifications: inspection::rectifications(&app.db, id)
            .await
            .map_err(store)?,
        grades: Grade::ALL,
        today: clock::today(),
        a,
    })
}

#[derive(Debug, Deserialize)]
pub struct TickForm {
    #[serde(default)]
    done: String,
    #[serde(default)]
    note: String,
}

/// `POST /audits/{id}/checklist/{item}`.
pub async fn tick(
    State(app): State<AppState>,
    s: CurrentUser,
    Path((id, item)): Path<(i64, i64)>,
    form: std::result::Result<Form<TickForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/audits/{id}/checklist/{item}");
    reach(&app, u, id, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match inspection::tick(&app.db, &u.username, id, item, !f.done.is_empty(), &f.note).await {
        Ok(()) => Ok(back(id, "已更新核查事项")),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

#[derive(Debug, Deserialize)]
pub struct FindingForm {
    grade: String,
    title: String,
    evidence: String,
    #[serde(default)]
    rule: String,
}

/// `POST /audits/{id}/findings`.
pub async fn add_finding(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<FindingForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/audits/{id}/findings");
    reach(&app, u, id, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let r = inspection::add_finding(
        &app.db,
        &u.username,
        id,
        &f.grade,
        &f.title,
        &f.evidence,
        Some(&f.rule),
    )
    .await;
    match r {
        Ok(_) => Ok(back(id, "已记录发现事项")),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

#[derive(Debug, Deserialize)]
pub struct RectificationForm {
    finding: i64,
    item: String,
    owner: String,
    deadline: String,
}

/// `POST /audits/{id}/rectifications`.
pub async fn add_rectification(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<RectificationForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/audits/{id}/rectifications");
    reach(&app, u, id, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let r = inspection::add_rectification(
        &app.db,
        &u.username,
        id,
        f.finding,
        &f.item,
        &f.owner,
        &f.deadline,
    )
    .await;
    match r {
        Ok(_) => Ok(back(id, "已添加整改事项")),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

#[derive(Debug, Deserialize)]
pub struct ProgressForm {
    #[serde(default)]
    progress: String,
    #[serde(default)]
    evidence: String,
    #[serde(default)]
    close: String,
}

/// `POST /audits/{id}/rectifications/{rid}`: progress, and closing with evidence.
pub async fn update_rectification(
    State(app): State<AppState>,
    s: CurrentUser,
    Path((id, rid)): Path<(i64, i64)>,
    form: std::result::Result<Form<ProgressForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/audits/{id}/rectifications/{rid}");
    reach(&app, u, id, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let close = !f.close.is_empty();
    let r = inspection::update_rectification(
        &app.db,
        &u.username,
        id,
        rid,
        &f.progress,
        &f.evidence,
        close,
    )
    .await;
    match r {
        Ok(()) => Ok(back(
            id,
            if close {
                "整改事项已销号"
            } else {
                "已更新整改进度"
            },
        )),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

/// `POST /audits/{id}/close`: 结束稽查, once the checklist is done and every finding's
/// rectification closed; refused with what is still open.
pub async fn close(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/audits/{id}/close");
    reach(&app, u, id, &path).await?;
    match inspection::close_audit(&app.db, &u.username, id).await {
        Ok(()) => Ok(back(id, "稽查已结束")),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

/// The audits the caller reaches: a provincial administrator every audit in scope, an
/// auditor their team's; newest first.
#[utoipa::path(get, path = "/api/v1/audits", tag = "inspection",
    responses((status = 200, body = [AuditRow]), (status = 401), (status = 403)))]
pub async fn api_audits(
    State(app): State<AppState>,
    s: CurrentUser,
) -> Result<Json<Vec<AuditRow>>> {
    let u = s.user();
    require(&app, u, Permission::Inspect, "/api/v1/audits").await?;
    inspection::audits(&app.db, &Area::whole(&u.scope), &u.username, sees_all(u))
        .await
        .map(Json)
        .map_err(Error::from_review)
}

/// An audit with its checklist, platform-data comparison, findings and rectification items.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditDetail {
    audit: AuditRow,
    checklist: Vec<ChecklistRow>,
    comparison: Vec<Mismatch>,
    findings: Vec<FindingRow>,
    rectifications: Vec<RectificationRow>,
}

/// One audit the caller reaches, whole, as its page shows it.
#[utoipa::path(get, path = "/api/v1/audits/{id}", tag = "inspection",
    params(("id" = i64, Path, description = "稽查编号")),
    responses((status = 200, body = AuditDetail), (status = 403), (status = 404)))]
pub async fn api_audit(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<AuditDetail>> {
    let a = reach(&app, s.user(), id, &format!("/api/v1/audits/{id}")).await?;
    Ok(Json(AuditDetail {
        checklist: inspection::checklist(&app.db, id)
            .await
            .map_err(Error::from_review)?,
        comparison: comparison(&app, &a).await?,
        findings: inspection::findings(&app.db, id)
            .await
            .map_err(Error::from_review)?,
        rectifications: inspection::rectifications(&app.db, id)
            .await
            .map_err(Error::from_review)?,
        audit: a,
    }))
}
