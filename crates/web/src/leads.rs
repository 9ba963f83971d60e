//! 数据筛查 pages and API: the lead queue (filters: region, industry, signature, score), a
//! lead's page (findings, explanations, the chart of each window against the baseline band),
//! accepting a lead into a case, dismissing it with a reason and an extent, and the
//! suppressions dismissals wrote, each of which can be lifted. The work is in
//! [`ecowarden_monitoring::leads`]; every read and write passes the caller's scope down.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

use super::error::{Error, Result};
use super::pages::{Nav, filter_regions, render, require};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_core::auth::{Permission, User};
use ecowarden_monitoring::leads::{
    self, AcceptInput, DismissInput, Extent, FindingLabels, LeadDetail, LeadError, LeadFilter,
    LeadRow, SuppressionFilter, SuppressionRow,
};
use ecowarden_monitoring::registry;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/leads", get(queue))
        .route("/leads/{id}", get(lead))
        .route("/leads/{id}/accept", post(accept))
        .route("/leads/{id}/dismiss", post(dismiss))
        .route("/leads/suppressions", get(suppressions))
        .route("/leads/suppressions/{id}/lift", post(lift))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/leads", get(api_leads))
        .route("/leads/{id}", get(api_lead))
        .route("/leads/suppressions", get(api_suppressions))
}

/// A lead error as an HTTP error; out of scope is logged.
async fn lead_error(app: &AppState, u: &User, path: &str, e: LeadError) -> Error {
    match e {
        LeadError::NotFound | LeadError::NoSuppression => Error::NotFound(e.to_string()),
        LeadError::OutOfScope => refuse(app, u, path, Error::out_of_scope()).await,
        LeadError::Store(e) => e.into(),
        e => Error::Unprocessable(e.to_string()),
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct QueuePage {
    nav: Nav,
    rows: Vec<LeadRow>,
    more: bool,
    page: i64,
    f: LeadFilter,
    regions: Vec<(String, String)>,
    industries: Vec<String>,
    signatures: Vec<(&'static str, String)>,
    query_base: String,
}

impl QueuePage {
    fn sel(&self, field: &str, v: &str) -> bool {
        let cur = match field {
            "region" => &self.f.region,
            "industry" => &self.f.industry,
            "signature" => &self.f.signature,
            _ => &self.f.status,
        };
        cur.as_deref() == Some(v)
    }
    fn min_score(&self) -> &str {
        self.f.min_score.as_deref().unwrap_or("")
    }
}

/// `GET /leads`: the queue in scope, highest score first.
async fn queue(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<LeadFilter>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/leads").await?;
    let area = super::area(&app, u, f.region.as_deref(), "/leads").await?;
    if let Some(m) = f.min_score.as_deref().filter(|m| !m.trim().is_empty())
        && !m
            .trim()
            .parse::<f64>()
            .is_ok_and(|x| (0.0..=1.0).contains(&x))
    {
        return Err(Error::BadRequest(format!("最低得分“{m}”应为0到1之间的数")));
    }
    let (rows, more) = leads::list(&app.db, &area, &f).await?;
    let mut query_base = String::new();
    for (k, v) in [
        ("region", &f.region),
        ("industry", &f.industry),
        ("signature", &f.signature),
        ("min_score", &f.min_score),
        ("status", &f.status),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            query_base.push_str(&format!(
                "{k}={}&",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
    }
    render(QueuePage {
        nav: Nav::new(&app, &s, "screening"),
        rows,
        more,
        page: f.page.unwrap_or(1).max(1),
        regions: filter_regions(&app, u),
        industries: leads::industries(&app.db, &u.scope).await?,
        signatures: screen::Signature::ALL
            .iter()
            .map(|s| (s.id(), format!("{} {}", s.code(), s.name_zh())))
            .collect(),
        query_base,
        f,
    })
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    nav: Nav,
    d: LeadDetail,
    region_name: String,
    /// The 案号 of the case the lead was accepted into.
    case_no: Option<String>,
    can_handle: bool,
    message: String,
    chart_json: String,
    extents: [Extent; 3],
}

#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    msg: Option<String>,
}

/// `GET /leads/{id}`.
async fn lead(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let path = format!("/leads/{id}");
    let u = s.user();
    require(&app, u, Permission::ReadLedger, &path).await?;
    let d = match leads::get(&app.db, &u.scope, id).await {
        Ok(d) => d,
        Err(e) => return Err(lead_error(&app, u, &path, e).await),
    };
    // The charts: each finding's window of values and the baseline band (p10–p90).
    let charts: Vec<serde_json::Value> = d
        .findings
        .iter()
        .map(|f| {
            let ev: serde_json::Value = serde_json::from_str(&f.evidence).unwrap_or_default();
            serde_json::json!({
                "id": f.id,
                "title": format!("{} · {}", f.signature_label(), f.factor_label()),
                "lines": chart_lines(&ev),
                "baseline": ev.get("baseline").cloned().unwrap_or_default(),
            })
        })
        .collect();
    let chart_json = serde_json::to_string(&charts)
        .expect("charts serialise")
        .replace("</", "<\\/");
    let case_no = match d.lead.case_id {
        Some(c) => ecowarden_ledger::cases::get(&app.db, &u.scope, c)
            .await
            .ok()
            .map(|c| c.case_no),
        None => None,
    };
    render(LeadPage {
        nav: Nav::new(&app, &s, "screening"),
        region_name: app.org.name(&d.lead.region_code).to_owned(),
        case_no,
        can_handle: u.can(Permission::HandleLeads),
        message: q.msg.unwrap_or_default(),
        chart_json,
        extents: Extent::ALL,
        d,
    })
}

/// The lines of a finding's chart from its evidence: the window's values; for a copy
/// (S8) also the series it copies, laid over the window so the analyst sees them coincide
/// (a scaled copy's source put through the same × a + b first); for an outlet-wide flat
/// finding (S7) each flat channel. The first line carries the flags.
fn chart_lines(ev: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    if let Some(w) = ev.get("window") {
        lines.push(serde_json::json!({"name": "窗口内数值", "window": w}));
    }
    let line = ev
        .get("relation")
        .and_then(|r| Some((r.get("scale")?.as_f64()?, r.get("offset")?.as_f64()?)));
    for (key, label) in [("source", "被复制的时段"), ("other", "数据相同的排放口")] {
        if let Some(o) = ev.get(key)
            && let Some(w) = o.get("window")
        {
            let (w, label) = match line {
                Some((a, b)) => (
                    scaled(w, (a, b)),
                    format!("{label}（{} 换算后）", screen::finding::zh_line(a, b)),
                ),
                None => (w.clone(), label.to_owned()),
            };
            let who = o
                .get("outlet")
                .or(o.get("mn"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let from = o.get("start").and_then(|v| v.as_str()).unwrap_or("");
            let name = format!(
                "{label}：{who} {}",
                from.get(..16).unwrap_or(from).replace('T', " ")
            );
            lines.push(serde_json::json!({"name": name, "window": w, "overlay": true}));
        }
    }
    for c in ev
        .get("channels")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        let code = c.get("factor").and_then(|f| f.as_str()).unwrap_or("");
        let name = format!("{}({code})", registry::factor_name(code));
        lines.push(serde_json::json!({"name": name, "window": c.get("window")}));
    }
    lines
}

/// An evidence window with every value put through the line `scale · v + offset` (nulls
/// kept).
fn scaled(w: &serde_json::Value, (scale, offset): (f64, f64)) -> serde_json::Value {
    let mut w = w.clone();
    if let Some(values) = w.get_mut("values").and_then(|v| v.as_array_mut()) {
        for v in values {
            if let Some(x) = v.as_f64() {
                *v = serde_json::json!(scale * x + offset);
            }
        }
    }
    w
}

/// After an action a page is shown (again) with a message.
fn back(path: &str, msg: &str) -> Response {
    let m = percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC);
    Redirect::to(&format!("{path}?msg={m}")).into_response()
}

/// `POST /leads/{id}/accept`: a case from the lead (source: off-site screening).
async fn accept(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<AcceptInput>, FormRejection>,
) -> Result<Response> {
    let path = format!("/leads/{id}");
    let u = s.user();
    require(&app, u, Permission::HandleLeads, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match leads::accept(&app.db, &app.org, &u.scope, &u.username, id, &f).await {
        Ok(case_id) => Ok(back(&format!("/cases/{case_id}"), "已由筛查线索立案")),
        Err(LeadError::Case(es)) => {
            let text = es
                .iter()
                .map(|e| format!("{}：{}", e.header(), e.message))
                .collect::<Vec<_>>()
                .join("；");
            Ok(back(&path, &format!("未能立案：{text}")))
        }
        Err(e @ (LeadError::Decided(_) | LeadError::NoReason)) => Ok(back(&path, &e.to_string())),
        Err(e) => Err(lead_error(&app, u, &path, e).await),
    }
}

/// `POST /leads/{id}/dismiss`: a reason is required; the findings are suppressed as far as
/// the extent (屏蔽范围) reaches, and the message says what and until when.
async fn dismiss(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<DismissInput>, FormRejection>,
) -> Result<Response> {
    let path = format!("/leads/{id}");
    let u = s.user();
    require(&app, u, Permission::HandleLeads, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match leads::dismiss(&app.db, &u.scope, &u.username, id, &f).await {
        Ok(rows) => {
            let what = rows
                .iter()
                .map(SuppressionRow::summary)
                .collect::<Vec<_>>()
                .join("；");
            Ok(back(
                &path,
                &format!("已排除。本排放口以下疑点不再提示：{what}"),
            ))
        }
        Err(e @ (LeadError::Decided(_) | LeadError::NoReason | LeadError::Extent(_))) => {
            Ok(back(&path, &e.to_string()))
        }
        Err(e) => Err(lead_error(&app, u, &path, e).await),
    }
}

#[derive(Template)]
#[template(path = "suppressions.html")]
struct SuppressionsPage {
    nav: Nav,
    rows: Vec<SuppressionRow>,
    more: bool,
    page: i64,
    can_lift: bool,
    message: String,
}

/// `GET /leads/suppressions`: what dismissals keep quiet in scope, newest first.
async fn suppressions(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<SuppressionFilter>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/leads/suppressions").await?;
    let (rows, more) = leads::suppressions(&app.db, &u.scope, &f).await?;
    render(SuppressionsPage {
        nav: Nav::new(&app, &s, "screening"),
        rows,
        more,
        page: f.page.unwrap_or(1).max(1),
        can_lift: u.can(Permission::HandleLeads),
        message: q.msg.unwrap_or_default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct LiftForm {
    #[serde(default)]
    reason: String,
}

/// `POST /leads/suppressions/{id}/lift`: a reason is required; the next screening raises the
/// finding again.
async fn lift(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<LiftForm>, FormRejection>,
) -> Result<Response> {
    let path = format!("/leads/suppressions/{id}/lift");
    let u = s.user();
    require(&app, u, Permission::HandleLeads, &path).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match leads::lift(&app.db, &u.scope, &u.username, id, &f.reason).await {
        Ok(row) => Ok(back(
            "/leads/suppressions",
            &format!(
                "已撤销屏蔽：{} · {}（{}），下次筛查将重新提示",
                row.signature_label(),
                row.factor_label(),
                row.outlet_name
            ),
        )),
        Err(e @ (LeadError::NoLiftReason | LeadError::Lifted)) => {
            Ok(back("/leads/suppressions", &e.to_string()))
        }
        Err(e) => Err(lead_error(&app, u, &path, e).await),
    }
}

/// The lead queue in the caller's scope, highest score first (50 a page).
#[utoipa::path(get, path = "/api/v1/leads", params(LeadFilter), tag = "screening",
    responses((status = 200, body = [LeadRow]), (status = 401), (status = 403)))]
pub async fn api_leads(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<LeadFilter>,
) -> Result<Json<Vec<LeadRow>>> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/api/v1/leads").await?;
    let area = super::area(&app, u, f.region.as_deref(), "/api/v1/leads").await?;
    Ok(Json(leads::list(&app.db, &area, &f).await?.0))
}

/// The suppressions dismissals wrote on outlets in the caller's scope, newest first (50 a
/// page), lifted ones included.
#[utoipa::path(get, path = "/api/v1/leads/suppressions", params(SuppressionFilter), tag = "screening",
    responses((status = 200, body = [SuppressionRow]), (status = 401), (status = 403)))]
pub async fn api_suppressions(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<SuppressionFilter>,
) -> Result<Json<Vec<SuppressionRow>>> {
    let u = s.user();
    require(
        &app,
        u,
        Permission::ReadLedger,
        "/api/v1/leads/suppressions",
    )
    .await?;
    Ok(Json(leads::suppressions(&app.db, &u.scope, &f).await?.0))
}

/// One lead in scope with its findings (explanation and evidence).
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "screening",
    params(("id" = i64, Path, description = "线索编号")),
    responses((status = 200, body = LeadDetail), (status = 403), (status = 404)))]
pub async fn api_lead(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<LeadDetail>> {
    let path = format!("/api/v1/leads/{id}");
    let u = s.user();
    require(&app, u, Permission::ReadLedger, &path).await?;
    match leads::get(&app.db, &u.scope, id).await {
        Ok(d) => Ok(Json(d)),
        Err(e) => Err(lead_error(&app, u, &path, e).await),
    }
}

#[cfg(test)]
mod tests {
    use super::chart_lines;

    #[test]
    fn a_scaled_copys_source_is_drawn_through_its_line() {
        let window = |values: serde_json::Value| {
            serde_json::json!({"factor": "a21026", "start": "2026-11-02T00:00:00+08:00",
                               "step_s": 600, "values": values, "flags": "NN-"})
        };
        let ev = serde_json::json!({
            "window": window(serde_json::json!([8.0, 16.0, null])),
            "source": {"mn": "A", "start": "2026-11-01T00:00:00+08:00",
                       "window": window(serde_json::json!([10.0, 20.0, null]))},
            "relation": {"scale": 0.8, "offset": 0.0, "max_deviation": 0.18},
        });
        let lines = chart_lines(&ev);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1]["window"]["values"],
            serde_json::json!([8.0, 16.0, null])
        );
        let name = lines[1]["name"].as_str().unwrap();
        assert!(name.contains("×0.8 + 0 换算后"), "{name}");
        // An exact copy is drawn as it is.
        let mut exact = ev.clone();
        exact["relation"] = serde_json::Value::Null;
        assert_eq!(
            chart_lines(&exact)[1]["window"]["values"],
            serde_json::json!([10.0, 20.0, null])
        );
    }
}
