//! The REST API under `/api/v1`, described by an OpenAPI document at `/api/v1/openapi.json`
//! and browsable at `/api/docs` (Swagger UI, served by ecowarden itself).
//!
//! Authentication is the same session as the pages (`POST /api/v1/session`); unsafe methods
//! need the `X-CSRF-Token` header. Every handler applies the caller's role and scope.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::error::{Error, Result};
use super::session::{self, CurrentUser};
use super::{AppState, refuse};
use ecowarden_core::audit_log;
use ecowarden_core::auth::{self, NewUser, Permission};
use ecowarden_ledger::cases::{self, CaseFilter, CaseSummary, Dashboard};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ecowarden API",
        description = "生态环境执法效能平台 REST API。先用 POST /api/v1/session 登录（会话 Cookie），改变数据的请求须带 X-CSRF-Token 请求头。错误一律为 {\"error\": {\"code\", \"message\"}}，message 为中文。"
    ),
    paths(
        session::api_login,
        me,
        regions,
        dashboard,
        list_cases,
        get_case,
        case_history,
        transition_case,
        list_users,
        create_user,
        audit_log_entries,
        super::monitoring::api_outlets,
        super::monitoring::api_outlet_data,
        super::monitoring::api_receiver,
        super::leads::api_leads,
        super::leads::api_lead,
        super::leads::api_suppressions,
        super::officer_sheets::api_officer_sheets,
        super::inspection::api_audits,
        super::inspection::api_audit
    ),
    components(schemas(
        CaseSummary,
        super::ledger::TransitionInput,
        Dashboard,
        NewUser,
        auth::Role,
        MeOut,
        RegionOut,
        CaseList,
        super::monitoring::OutletList,
        super::monitoring::MessageOut,
        super::monitoring::ReceiverOut,
        super::monitoring::StationOut,
        ecowarden_monitoring::registry::OutletRow,
        ecowarden_monitoring::leads::LeadRow,
        ecowarden_monitoring::leads::FindingRow,
        ecowarden_monitoring::leads::LeadDetail,
        ecowarden_monitoring::leads::SuppressionRow,
        super::officer_sheets::OfficerSheets,
        ecowarden_assessment::inspection::AuditRow,
        ecowarden_assessment::inspection::ChecklistRow,
        ecowarden_assessment::inspection::FindingRow,
        ecowarden_assessment::inspection::RectificationRow,
        ecowarden_assessment::inspection::Mismatch,
        ecowarden_assessment::inspection::Rule,
        super::inspection::AuditDetail
    ))
)]
struct ApiDoc;

/// The OpenAPI document of the API, made faithful to the code:
/// - how to sign in: the session cookie, and `X-CSRF-Token` on unsafe methods;
/// - every status an operation can answer besides its own (a bad parameter 400, no session
///   401, role or region 403, an unknown id 404, a rule 422, the anonymous rate limit 429),
///   each with the one error body;
/// - the constraints that live in code: region codes of 6 digits and among the organisation's
///   (empty: any), the password policy (the 31-day span of outlet data is cut, not refused).
pub fn document(org: &ecowarden_core::org::Org) -> serde_json::Value {
    use serde_json::json;
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    let components = doc["components"].as_object_mut().expect("components");
    components.insert(
        "securitySchemes".into(),
        json!({
            "session": {"type": "apiKey", "in": "cookie", "name": session::SESSION_COOKIE,
                "description": "POST /api/v1/session 登录后设置的会话 Cookie"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                "description": "登录响应中的 csrf_token；POST 等改变数据的请求必须携带"},
        }),
    );
    components["schemas"]["Error"] = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "机器可读的错误类别"},
                "message": {"type": "string", "description": "中文说明"},
            },
        }},
    });
    let user = &mut components["schemas"]["NewUser"]["properties"];
    let region_codes: Vec<&str> = org.all().map(|r| r.code.as_str()).collect();
    user["region_code"]["pattern"] = json!(REGION_CODE);
    user["region_code"]["enum"] = json!(region_codes);
    user["username"]["pattern"] = json!("^[A-Za-z0-9_.-]{1,64}$");
    user["display_name"]["pattern"] = json!("\\S");
    // A role belongs to a unit of its level (`auth::create_user`).
    let role_levels: Vec<serde_json::Value> = auth::Role::ALL
        .iter()
        .map(|role| {
            let codes: Vec<&str> = org
                .all()
                .filter(|r| role.required_level().is_none_or(|l| l == r.level))
                .map(|r| r.code.as_str())
                .collect();
            json!({"properties": {"role": {"const": role.as_str()}, "region_code": {"enum": codes}}})
        })
        .collect();
    user["password"]["minLength"] = json!(10);
    user["password"]["pattern"] = json!(PASSWORD_POLICY);
    user["password"]["description"] =
        json!("至少10位，且包含大写字母、小写字母、数字、符号中的三类");
    components["schemas"]["NewUser"]["anyOf"] = json!(role_levels);
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    for (path, item) in doc["paths"].as_object_mut().expect("paths") {
        for (method, op) in item.as_object_mut().expect("path item") {
            let unsafe_method = method != "get";
            let mut codes = vec![
                ("400", "请求参数格式错误"),
                ("403", "角色或辖区不允许"),
                ("404", "记录或接口不存在"),
                ("429", "未登录的请求过于频繁（带 Retry-After）"),
            ];
            if path == "/api/v1/session" {
                op["security"] = json!([]);
                codes.push(("401", "用户名或密码错误"));
            } else {
                op["security"] = if unsafe_method {
                    json!([{"session": [], "csrf": []}])
                } else {
                    json!([{"session": []}])
                };
                codes.push(("401", "未登录或会话已过期"));
            }
            if unsafe_method {
                codes.push(("413", "请求体超过大小上限"));
                codes.push(("422", "内容不符合规则"));
            }
            if path == "/api/v1/users" && method == "post" {
                codes.push(("409", "用户名已存在"));
            }
            let responses = op["responses"].as_object_mut().expect("responses");
            for (code, description) in codes {
                let r = responses
                    .entry(code)
                    .or_insert_with(|| json!({"description": description}));
                r["content"] = error.clone();
            }
            for r in responses.values_mut() {
                if r.get("description").is_none() {
                    r["description"] = json!("成功");
                }
            }
            let params = op.get_mut("parameters").and_then(|p| p.as_array_mut());
            for p in params.into_iter().flatten() {
                if p["name"] == "region" {
                    p["schema"]["pattern"] = json!(REGION_CODE_OR_EMPTY);
                    p["schema"]["enum"] = std::iter::once("")
                        .chain(region_codes.iter().copied())
                        .collect();
                }
            }
        }
    }
    doc
}

/// A region code: 6 digits (`org` says which exist).
const REGION_CODE: &str = "^[0-9]{6}$";
/// A region filter: a code, or empty for any.
const REGION_CODE_OR_EMPTY: &str = "^([0-9]{6})?$";
/// `auth::check_password_policy`: at least 10 characters of at least three of four classes.
const PASSWORD_POLICY: &str = "^(?:(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])|(?=.*[a-z])(?=.*[A-Z])(?=.*[^A-Za-z0-9])|(?=.*[a-z])(?=.*[0-9])(?=.*[^A-Za-z0-9])|(?=.*[A-Z])(?=.*[0-9])(?=.*[^A-Za-z0-9])).{10,}$";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/openapi.json",
            get(|State(app): State<AppState>| async move { Json(document(&app.org)) }),
        )
        .route(
            "/session",
            post(session::api_login).layer(axum::extract::DefaultBodyLimit::max(
                session::LOGIN_BODY_LIMIT,
            )),
        )
        .route("/me", get(me))
        .route("/regions", get(regions))
        .route("/dashboard", get(dashboard))
        .route("/cases", get(list_cases))
        .route("/cases/{id}", get(get_case))
        .route("/cases/{id}/history", get(case_history))
        .route("/cases/{id}/transitions", post(transition_case))
        .route("/users", get(list_users).post(create_user))
        .route("/audit-log", get(audit_log_entries))
        .merge(super::monitoring::api())
        .merge(super::leads::api())
        .merge(super::officer_sheets::api())
        .merge(super::inspection::api())
}

/// JSON body whose rejections (malformed, wrong content type, too large) become our error
/// and a security-log entry.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Error;
    async fn from_request(req: Request, app: &AppState) -> Result<Self> {
        let path = req.uri().path().to_owned();
        let peer = session::peer(req.extensions());
        let parsed = Json::<T>::from_request(req, app)
            .await
            .map_err(super::json_rejection);
        match parsed {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => {
                auth::security_event(
                    &app.db,
                    e.code(),
                    None,
                    peer.as_deref(),
                    &path,
                    &e.to_string(),
                )
                .await;
                Err(e)
            }
        }
    }
}

async fn require(app: &AppState, s: &CurrentUser, p: Permission, path: &str) -> Result<()> {
    if s.user().can(p) {
        Ok(())
    } else {
        Err(refuse(app, s.user(), path, Error::no_permission()).await)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeOut {
    username: String,
    display_name: String,
    role: auth::Role,
    region_code: String,
    scope: String,
}

/// The signed-in user, their role and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = MeOut)))]
async fn me(State(app): State<AppState>, s: CurrentUser) -> Json<MeOut> {
    let u = s.user();
    Json(MeOut {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        region_code: u.region_code.clone(),
        scope: u.scope.label(&app.org),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegionOut {
    code: String,
    name: String,
    level: String,
    parent_code: Option<String>,
    city_code: String,
}

/// Regions inside the caller's scope.
#[utoipa::path(get, path = "/api/v1/regions", tag = "org", responses((status = 200, body = [RegionOut])))]
async fn regions(State(app): State<AppState>, s: CurrentUser) -> Json<Vec<RegionOut>> {
    Json(
        app.org
            .all()
            .filter(|r| s.user().scope.covers(&r.code, &r.city_code))
            .map(|r| RegionOut {
                code: r.code.clone(),
                name: r.name.clone(),
                level: r.level.as_str().into(),
                parent_code: r.parent_code.clone(),
                city_code: r.city_code.clone(),
            })
            .collect(),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct YearParam {
    year: Option<i64>,
}

/// Dashboard figures for the caller's scope and a year (default: the latest with cases).
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "cases", params(YearParam), responses((status = 200, body = Dashboard)))]
async fn dashboard(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<YearParam>,
) -> Result<Json<Dashboard>> {
    require(&app, &s, Permission::ReadLedger, "/api/v1/dashboard").await?;
    let year = match q.year {
        Some(y) => y,
        None => super::pages::latest_year(&app).await?,
    };
    Ok(Json(app.dashboard(&s.user().scope, year).await?.d.clone()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseList {
    items: Vec<CaseSummary>,
    page: i64,
    has_next: bool,
    /// Cases matching the filter (counted once per filter and reused briefly).
    total: i64,
    per_page: i64,
}

/// Cases in the caller's scope, newest first (or by `sort`/`dir`), 50 a page (or `per_page`).
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseFilter), responses((status = 200, body = CaseList), (status = 403, description = "region outside the caller's scope")))]
async fn list_cases(
    State(app): State<AppState>,
    s: CurrentUser,
    q: std::result::Result<Query<CaseFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CaseList>> {
    require(&app, &s, Permission::ReadLedger, "/api/v1/cases").await?;
    let Query(f) = q.map_err(|r| Error::BadRequest(format!("查询参数错误：{}", r.body_text())))?;
    let area = super::area(&app, s.user(), f.region.as_deref(), "/api/v1/cases").await?;
    let (items, has_next, total) = app.case_lists.page(&app.db, &area, &f).await?;
    Ok(Json(CaseList {
        items,
        page: f.page.unwrap_or(1).max(1),
        has_next,
        total,
        per_page: f.page_size(),
    }))
}

/// One case.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), responses((status = 200, body = CaseSummary), (status = 403), (status = 404)))]
async fn get_case(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<CaseSummary>> {
    require(&app, &s, Permission::ReadLedger, "/api/v1/cases").await?;
    match cases::get(&app.db, &s.user().scope, id).await {
        Ok(c) => Ok(Json(c)),
        Err(e) => Err(refuse(&app, s.user(), &format!("/api/v1/cases/{id}"), e.into()).await),
    }
}

/// The audit history of one case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/history", tag = "cases", params(("id" = i64, Path)), responses((status = 200)))]
async fn case_history(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<audit_log::Entry>>> {
    // Same role and scope checks as reading the case itself.
    let _ = get_case(State(app.clone()), CurrentUser(s.0.clone()), Path(id)).await?;
    Ok(Json(
        audit_log::history(&app.db, "case", &id.to_string()).await?,
    ))
}

/// Moves a case to its next stage under the same workflow rules as the case page: a step
/// the law forbids (a decision without a prior notice, inside the hearing window, before a
/// requested hearing; a fined case closed without payment, enforcement or closure type;
/// fewer than two officers certified on the day) is refused with 409 and a Chinese message,
/// a stale `version` too. Returns the case as it is after the step.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)),
    request_body = super::ledger::TransitionInput,
    responses((status = 200, body = CaseSummary), (status = 400, description = "unknown stage"), (status = 403), (status = 404), (status = 409, description = "refused by a rule of the law or the case's stage, or stale version"), (status = 422, description = "a value in the body does not parse")))]
async fn transition_case(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<super::ledger::TransitionInput>,
) -> Result<Json<CaseSummary>> {
    require(&app, &s, Permission::WriteLedger, "/api/v1/cases").await?;
    // A case the caller cannot see is 404/403 whatever the body says: the body's own
    // problems (an unknown stage, a bad date) are only worth naming for a case they may move.
    if let Err(e) = cases::get(&app.db, &s.user().scope, id).await {
        return Err(refuse(&app, s.user(), &format!("/api/v1/cases/{id}"), e.into()).await);
    }
    // A step the law or the case's state forbids conflicts with the case as it stands (409),
    // as a stale version does; a body that does not parse stays 400/422.
    super::ledger::apply_transition(&app, s.user(), id, &t)
        .await?
        .map_err(Error::Conflict)?;
    get_case(State(app), s, Path(id)).await
}

/// Accounts inside the caller's scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200)))]
async fn list_users(
    State(app): State<AppState>,
    s: CurrentUser,
) -> Result<Json<Vec<auth::UserRow>>> {
    require(&app, &s, Permission::ManageUsers, "/api/v1/users").await?;
    Ok(Json(auth::list_users(&app.db, &s.user().scope).await?))
}

/// Creates an account inside the caller's scope.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser, responses((status = 201), (status = 422)))]
async fn create_user(
    State(app): State<AppState>,
    s: CurrentUser,
    ApiJson(u): ApiJson<NewUser>,
) -> Result<Response> {
    require(&app, &s, Permission::ManageUsers, "/api/v1/users").await?;
    super::pages::check_account_scope(&app, s.user(), &u.region_code, u.role).await?;
    let id = auth::create_user(&app.db, &app.org, &s.user().username, &u).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(serde_json::json!({"id": id})),
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LimitParam {
    limit: Option<i64>,
}

/// The newest audit-log entries.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(LimitParam), responses((status = 200)))]
async fn audit_log_entries(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<LimitParam>,
) -> Result<Json<Vec<audit_log::Entry>>> {
    require(&app, &s, Permission::ReadAudit, "/api/v1/audit-log").await?;
    Ok(Json(
        audit_log::recent(&app.db, q.limit.unwrap_or(100).clamp(1, 1000)).await?,
    ))
}

/// Swagger UI over our OpenAPI document, from the npm package served by ecowarden.
pub async fn docs(_s: CurrentUser) -> Html<&'static str> {
    Html(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>API 文档 · 生态环境执法效能平台</title>
<link rel="stylesheet" href="/assets/vendor/swagger-ui.css"></head><body><div id="swagger"></div>
<script src="/assets/vendor/swagger-ui-bundle.js"></script>
<script src="/assets/swagger-init.js"></script></body></html>"#,
    )
}
