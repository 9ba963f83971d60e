//! 案卷评查: review plans, the reviewer's sheet, results and their workbook, and the review
//! sheet a provincial administrator keeps. Reviewers reach only the sheets assigned to them;
//! the rules and the SQL are in `ecowarden_assessment::review`.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{Error, Result};
use super::ledger_io::xlsx;
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_assessment::review::{
    self, Assignment, Deduction, Marks, PlanRow, PlanSpec, Results, ReviewError, Sheet, StoredSheet,
};
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::scope::Area;
use ecowarden_ledger::cases::{self, CaseSummary, documents, records};
use ecowarden_ledger::checks::Finding;

/// The review pages' routes.
pub fn pages() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/review", get(overview))
        .route("/review/plans", post(create_plan))
        .route("/review/plans/{id}", get(plan_page))
        .route("/review/plans/{id}/export.xlsx", get(export_plan))
        .route("/review/plans/{id}/chosen", post(add_chosen))
        .route("/review/assignments/{id}", get(assignment).post(submit))
        .route("/review/sheet", get(sheet).post(save_sheet))
}

/// A review error as the pages show it; refusals are recorded in the security log.
pub(crate) async fn review_error(app: &AppState, u: &User, path: &str, e: ReviewError) -> Error {
    match e {
        ReviewError::Forbidden(m) => refuse(app, u, path, Error::Forbidden(m)).await,
        e => Error::from_review(e),
    }
}

/// 422 for a page shown again with an error, 200 otherwise.
pub(crate) fn status_for(error: &str) -> axum::http::StatusCode {
    if error.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    pub(crate) msg: Option<String>,
}

/// A redirect to `to` (which may carry a query) that shows `msg` there.
pub(crate) fn back(to: &str, msg: &str) -> Response {
    let m = percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC);
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}msg={m}")).into_response()
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    nav: Nav,
    message: String,
    plans: Vec<PlanRow>,
    mine: Vec<Assignment>,
    manages: bool,
    /// The user conducts inspection audits (a link to them).
    inspects: bool,
    regions: Vec<(String, String)>,
    year: i64,
    sheet_version: i64,
}

/// `GET /review`: the user's assignments and the plans of their scope; the plan form for
/// those who draw plans.
pub async fn overview(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/review").await?;
    let plans = review::plans(&app.db, &Area::whole(&u.scope))
        .await
        .map_err(Error::from_review)?;
    let mine = review::assignments_of(&app.db, &u.username)
        .await
        .map_err(Error::from_review)?;
    let sheet = review::sheet_in_force(&app.db)
        .await
        .map_err(Error::from_review)?;
    render(ReviewPage {
        nav: Nav::new(&app, &s, "dossier-review"),
        message: q.msg.unwrap_or_default(),
        plans,
        mine,
        manages: u.can(Permission::ManageReviews),
        inspects: u.can(Permission::Inspect),
        regions: super::pages::filter_regions(&app, u),
        year: super::pages::latest_year(&app).await?,
        sheet_version: sheet.version,
    })
}

impl Error {
    /// A review error where no refusal needs recording (reads of one's own lists).
    pub(crate) fn from_review(e: ReviewError) -> Error {
        match e {
            ReviewError::Invalid(m) => Error::Unprocessable(m),
            ReviewError::NotFound(m) => Error::NotFound(m),
            ReviewError::Forbidden(m) => Error::Forbidden(m),
            ReviewError::Store(s) => s.into(),
            ReviewError::Archive(m) => Error::Internal(anyhow::anyhow!(m)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    year: String,
    #[serde(default)]
    region: String,
    size: String,
    seed: String,
    #[serde(default)]
    min_per_type: String,
    #[serde(default)]
    min_per_unit: String,
    #[serde(default)]
    margin: String,
}

fn number<T: std::str::FromStr>(s: &str, label: &str, default: Option<T>) -> Result<T> {
    let s = s.trim();
    if s.is_empty()
        && let Some(d) = default
    {
        return Ok(d);
    }
    s.parse()
        .map_err(|_| Error::Unprocessable(format!("{label}“{s}”应为数字")))
}

/// `POST /review/plans`: draws a plan and assigns its reviewers.
pub async fn create_plan(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<PlanForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ManageReviews, "/review/plans").await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let area = super::area(&app, u, Some(&f.region), "/review/plans").await?;
    let spec = PlanSpec {
        year: number(&f.year, "年度", None)?,
        size: number(&f.size, "抽查数量", None)?,
        seed: number(&f.seed, "随机种子", None)?,
        min_per_type: number(&f.min_per_type, "每类案件最少", Some(1))?,
        min_per_unit: number(&f.min_per_unit, "每个单位最少", Some(1))?,
        margin: number(&f.margin, "仲裁分差", Some(review::DEFAULT_MARGIN))?,
    };
    match review::create_plan(&app.db, &app.org, &area, &u.username, spec).await {
        Ok(id) => Ok(back(
            &format!("/review/plans/{id}"),
            "已生成抽查计划并分配评查人员",
        )),
        Err(e) => Err(review_error(&app, u, "/review/plans", e).await),
    }
}

#[derive(Template)]
#[template(path = "review_plan.html")]
struct PlanPage {
    nav: Nav,
    message: String,
    plan: PlanRow,
    region_name: String,
    r: Results,
    may_choose: bool,
}

/// A plan's dossiers and results inside the user's scope.
async fn plan_results(app: &AppState, u: &User, id: i64, path: &str) -> Result<(PlanRow, Results)> {
    require(app, u, Permission::ReadLedger, path).await?;
    let plan = match review::plan(&app.db, id).await {
        Ok(p) => p,
        Err(e) => return Err(review_error(app, u, path, e).await),
    };
    let area = Area::whole(&u.scope);
    let r = review::results(&app.db, &app.org, id, &area)
        .await
        .map_err(Error::from_review)?;
    Ok((plan, r))
}

/// `GET /review/plans/{id}`.
pub async fn plan_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let (plan, r) = plan_results(&app, s.user(), id, &format!("/review/plans/{id}")).await?;
    render(PlanPage {
        nav: Nav::new(&app, &s, "dossier-review"),
        message: q.msg.unwrap_or_default(),
        region_name: app.org.name(&plan.region_code).to_owned(),
        plan,
        r,
        may_choose: s.user().can(Permission::ReviewDossiers),
    })
}

/// `GET /review/plans/{id}/export.xlsx`.
pub async fn export_plan(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let path = format!("/review/plans/{id}/export.xlsx");
    let (_, r) = plan_results(&app, s.user(), id, &path).await?;
    let bytes = review::to_xlsx(&r, &app.org).map_err(|e| Error::Internal(e.into()))?;
    Ok(xlsx(bytes, "review.xlsx", "案卷评查结果.xlsx"))
}

#[derive(Debug, Deserialize)]
pub struct ChosenForm {
    case_no: String,
}

/// `POST /review/plans/{id}/chosen`: a unit puts one of its own dossiers forward.
pub async fn add_chosen(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<ChosenForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/review/plans/{id}/chosen");
    require(&app, u, Permission::ReviewDossiers, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let area = Area::whole(&u.scope);
    match review::add_chosen(&app.db, &app.org, &area, &u.username, id, &f.case_no).await {
        Ok(_) => Ok(back(&format!("/review/plans/{id}"), "已选送案卷")),
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

#[derive(Template)]
#[template(path = "review_sheet.html")]
struct SheetPage {
    nav: Nav,
    message: String,
    error: String,
    a: Assignment,
    c: CaseSummary,
    region_name: String,
    documents: Vec<documents::Document>,
    records: Vec<records::Record>,
    checks: Vec<Finding>,
    sheet: StoredSheet,
    marks: Marks,
    mine: bool,
}

impl SheetPage {
    /// The points deducted from an item and the reason, as marked.
    fn deducted(&self, item: &str) -> (String, String) {
        self.marks
            .deductions
            .iter()
            .find(|d| d.item == item)
            .map(|d| (d.points.to_string(), d.comment.clone()))
            .unwrap_or_default()
    }
}

async fn sheet_page(
    app: &AppState,
    s: &CurrentUser,
    id: i64,
    message: String,
    error: String,
    marks: Option<Marks>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/review/assignments/{id}");
    require(app, u, Permission::ReadLedger, &path).await?;
    let any = u.can(Permission::ManageReviews);
    let a = match review::assignment(&app.db, id, &u.username, any).await {
        Ok(a) => a,
        Err(e) => return Err(review_error(app, u, &path, e).await),
    };
    // Being assigned the dossier is what lets a reviewer of another region read it.
    let whole = ecowarden_core::scope::Scope::Province;
    let c = cases::get(&app.db, &whole, a.case_id).await?;
    let sheet = match a.sheet_id {
        Some(sid) => review::sheet(&app.db, sid).await,
        None => review::sheet_in_force(&app.db).await,
    }
    .map_err(Error::from_review)?;
    let cal = ecowarden_ledger::calendar::load(&app.db).await?;
    let policy = ecowarden_ledger::checks::Policy::from(&app.settings.legal);
    let checks = ecowarden_ledger::dossier::check_case(
        &app.db,
        &Area::whole(&whole),
        a.case_id,
        &cal,
        &policy,
    )
    .await?
    .map(|c| c.findings)
    .unwrap_or_default();
    let status = status_for(&error);
    let page = SheetPage {
        nav: Nav::new(app, s, "dossier-review"),
        message,
        error,
        region_name: app.org.name(&c.region_code).to_owned(),
        documents: documents::list(&app.db, a.case_id).await?,
        records: records::list(&app.db, a.case_id).await?,
        checks,
        marks: marks.unwrap_or_else(|| a.marks()),
        mine: a.reviewer == u.username,
        sheet,
        c,
        a,
    };
    Ok((status, axum::response::Html(page.render()?)).into_response())
}

/// `GET /review/assignments/{id}`: the dossier and its sheet.
pub async fn assignment(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    sheet_page(&app, &s, id, q.msg.unwrap_or_default(), String::new(), None).await
}

/// The marks of the sheet form: `ko_<id>` ticked knock-outs, `d_<id>` points and `c_<id>`
/// reasons of deductions, `b_<id>` bonus items, `comment`.
fn marks_of(sheet: &Sheet, f: &HashMap<String, String>) -> std::result::Result<Marks, String> {
    let get = |k: String| f.get(&k).map(|v| v.trim()).unwrap_or("");
    let mut m = Marks {
        comment: get("comment".into()).to_owned(),
        ..Default::default()
    };
    for k in &sheet.knockouts {
        if !get(format!("ko_{}", k.id)).is_empty() {
            m.knockouts.push(k.id.clone());
        }
    }
    for i in sheet.stages.iter().flat_map(|s| &s.items) {
        let points = get(format!("d_{}", i.id));
        if points.is_empty() || points == "0" {
            continue;
        }
        let points: f64 = points
            .parse()
            .map_err(|_| format!("{} 的扣分“{points}”应为数字", i.id))?;
        m.deductions.push(Deduction {
            item: i.id.clone(),
            points,
            comment: get(format!("c_{}", i.id)).to_owned(),
        });
    }
    for b in &sheet.bonus {
        if !get(format!("b_{}", b.id)).is_empty() {
            m.bonus.push(b.id.clone());
        }
    }
    Ok(m)
}

/// `POST /review/assignments/{id}`: submits the sheet; a refused one comes back with the
/// reason and the marks as entered.
pub async fn submit(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/review/assignments/{id}");
    require(&app, u, Permission::ReviewDossiers, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    // Only the assigned reviewer gets past this.
    if let Err(e) = review::assignment(&app.db, id, &u.username, false).await {
        return Err(review_error(&app, u, &path, e).await);
    }
    let sheet = review::sheet_in_force(&app.db)
        .await
        .map_err(Error::from_review)?;
    let marks = match marks_of(&sheet.sheet, &f) {
        Ok(m) => m,
        Err(e) => return sheet_page(&app, &s, id, String::new(), e, None).await,
    };
    match review::submit(&app.db, &app.org, id, &u.username, &marks).await {
        Ok(r) => {
            let verdict = if r.passed { "合格" } else { "不合格" };
            Ok(back(
                &path,
                &format!("已提交评查表：{} 分，{verdict}", r.score),
            ))
        }
        Err(ReviewError::Invalid(e)) => {
            sheet_page(&app, &s, id, String::new(), e, Some(marks)).await
        }
        Err(e) => Err(review_error(&app, u, &path, e).await),
    }
}

#[derive(Template)]
#[template(path = "review_sheet_edit.html")]
struct SheetEditPage {
    nav: Nav,
    message: String,
    error: String,
    sheet: StoredSheet,
    text: String,
    manages: bool,
}

async fn sheet_edit_page(
    app: &AppState,
    s: &CurrentUser,
    message: String,
    error: String,
    text: Option<String>,
) -> Result<Response> {
    let sheet = review::sheet_in_force(&app.db)
        .await
        .map_err(Error::from_review)?;
    let status = status_for(&error);
    let page = SheetEditPage {
        nav: Nav::new(app, s, "dossier-review"),
        message,
        error,
        text: text.unwrap_or_else(|| sheet.text.clone()),
        sheet,
        manages: s.user().can(Permission::ManageReviews),
    };
    Ok((status, axum::response::Html(page.render()?)).into_response())
}

/// `GET /review/sheet`: the sheet in force; its editor for the provincial administrator.
pub async fn sheet(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/review/sheet").await?;
    sheet_edit_page(&app, &s, q.msg.unwrap_or_default(), String::new(), None).await
}

#[derive(Debug, Deserialize)]
pub struct SheetForm {
    sheet: String,
}

/// `POST /review/sheet`: saves the edited sheet as a new version.
pub async fn save_sheet(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<SheetForm>, FormRejection>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ManageReviews, "/review/sheet").await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match review::save_sheet(&app.db, &u.username, &f.sheet).await {
        Ok(saved) => Ok(back(
            "/review/sheet",
            &format!("已保存评查表第 {} 版", saved.version),
        )),
        Err(ReviewError::Invalid(e)) => {
            sheet_edit_page(&app, &s, String::new(), e, Some(f.sheet)).await
        }
        Err(e) => Err(review_error(&app, u, "/review/sheet", e).await),
    }
}
