//! Server-rendered pages (Simplified Chinese). Templates are in `templates/`, checked at
//! compile time by askama.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::error::{Error, Result};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_core::audit_log;
use ecowarden_core::auth::{self, NewUser, Permission, Role, User};
use ecowarden_core::clock;
use ecowarden_core::org::Level;
use ecowarden_ledger::cases::{self, CaseFilter, CaseSource, CaseSummary, Status};

/// A module of the mission and where it stands, for the navigation.
pub struct Module {
    pub slug: &'static str,
    pub title: &'static str,
    pub href: &'static str,
    /// What the module will do, shown on its page until it is built.
    pub purpose: &'static str,
    pub built: bool,
    /// What the role must be allowed to see the module in the menu.
    pub needs: Permission,
}

pub const MODULES: &[Module] = &[
    Module {
        slug: "dashboard",
        title: "首页",
        href: "/",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "cases",
        title: "案件台账",
        href: "/cases",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "stats",
        title: "统计分析",
        href: "/stats",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "checks",
        title: "案卷检查",
        href: "/checks",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "campaigns",
        title: "专项行动",
        href: "/campaigns",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "third-party",
        title: "第三方机构",
        href: "/third-parties",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "cooperation",
        title: "部门协作",
        href: "/cooperation",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "monitoring",
        title: "在线监控",
        href: "/monitoring",
        purpose: "HJ 212 自动监控数据接收、原始报文存证、排放口数据曲线。",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "screening",
        title: "数据筛查",
        href: "/leads",
        purpose: "自动监控数据弄虚作假特征筛查，生成带证据说明的线索队列。",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "assessment",
        title: "效能评估",
        href: "/assessment",
        purpose: "大练兵评分细则、任务分解、集体与个人半年及全年执法效能评估与通报。",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "dossier-review",
        title: "案卷评查",
        href: "/review",
        purpose: "案卷评查与稽查，法定期限自动核验。",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "contests",
        title: "技能竞赛",
        href: "/modules/contests",
        purpose: "理论知识、现场执法、笔录制作、非现场筛查、废水采样、无人机等比武项目与成绩。",
        built: false,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "equipment",
        title: "执法装备",
        href: "/modules/equipment",
        purpose: "执法装备台账，对照装备标准化建设指导标准（2020年版、2024年版）分析缺口。",
        built: false,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "commendations",
        title: "表彰奖励",
        href: "/modules/commendations",
        purpose: "表现突出集体与个人、记功嘉奖与荣誉称号。",
        built: false,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "org",
        title: "组织机构",
        href: "/org",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
    Module {
        slug: "users",
        title: "用户管理",
        href: "/users",
        purpose: "",
        built: true,
        needs: Permission::ManageUsers,
    },
    Module {
        slug: "audit",
        title: "审计日志",
        href: "/audit",
        purpose: "",
        built: true,
        needs: Permission::ReadAudit,
    },
    Module {
        slug: "api",
        title: "API 文档",
        href: "/api/docs",
        purpose: "",
        built: true,
        needs: Permission::ReadLedger,
    },
];

/// What the layout shows about the signed-in user.
pub struct Nav {
    pub active: &'static str,
    /// The signed-in user's role: the menu offers only what it may use.
    pub role: Role,
    pub user_name: String,
    pub role_label: &'static str,
    pub scope_label: String,
    pub csrf: String,
}

impl Nav {
    pub(super) fn new(app: &AppState, s: &CurrentUser, active: &'static str) -> Nav {
        let u = s.user();
        Nav {
            active,
            role: u.role,
            user_name: u.display_name.clone(),
            role_label: u.role.label(),
            scope_label: u.scope.label(&app.org),
            csrf: s.0.csrf.clone(),
        }
    }
    /// The modules the role may use, in menu order.
    pub fn modules(&self) -> impl Iterator<Item = &'static Module> + '_ {
        MODULES.iter().filter(|m| self.role.can(m.needs))
    }
    /// The module of the page, for the breadcrumbs (none on the home page).
    pub fn module(&self) -> Option<&'static Module> {
        MODULES
            .iter()
            .find(|m| m.slug == self.active && m.slug != "dashboard")
    }
    /// Whether the role may record and change cases (the ledger's write actions).
    pub fn can_write(&self) -> bool {
        self.role.can(Permission::WriteLedger)
    }
    /// Whether the role may start a screening run from the page.
    pub fn can_screen(&self) -> bool {
        self.role.can(Permission::RunScreening)
    }
}

pub(crate) fn render(t: impl Template) -> Result<Response> {
    Ok(Html(t.render()?).into_response())
}

pub(super) async fn require(app: &AppState, u: &User, p: Permission, path: &str) -> Result<()> {
    if u.can(p) {
        Ok(())
    } else {
        Err(refuse(app, u, path, Error::no_permission()).await)
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    year: i64,
    years: Vec<i64>,
    d: std::sync::Arc<super::DashboardFigures>,
    /// The same period of last year (the whole year, or up to today's date a year ago).
    before: std::sync::Arc<super::DashboardFigures>,
    /// What "the same period" was, in words.
    before_label: String,
    /// Rectification items of inspection audits past their deadline, in scope.
    overdue: Vec<ecowarden_assessment::inspection::RectificationRow>,
    /// Assessment tasks past their deadline and not done, whose owner is in scope.
    overdue_tasks: Vec<ecowarden_assessment::tasks::Task>,
    /// The sub-regions ranked (none for a county), and by what.
    ranking: Vec<cases::Ranked>,
    rank_by_fines: bool,
    /// 县（市、区） under a city, 设区市 under the province.
    sub_label: &'static str,
    /// Cases decided after their term (C3 in the stored check run); `None` before a run.
    decided_late: Option<usize>,
    /// Open listed supervisions (挂牌督办) in scope, earliest deadline first: the first
    /// [`LISTED_SHOWN`] of `listed_total`.
    listed: Vec<ecowarden_ledger::cooperation::ListedSupervision>,
    listed_total: i64,
    pending_leads: i64,
    top_leads: Vec<ecowarden_monitoring::leads::LeadRow>,
    today: String,
    chart_json: String,
}

/// Rows of the past-term list shown on the dashboard; the count covers them all.
const PAST_TERM_SHOWN: usize = 20;
/// Rows of the open listed supervisions shown on the dashboard; the count covers them all.
const LISTED_SHOWN: i64 = 20;

impl DashboardPage {
    /// 同比 of a figure, in words: "+12.5%", "-3.0%", or that last year had none.
    fn yoy(&self, now: &i64, before: &i64) -> String {
        match cases::year_on_year(*now, *before) {
            Some(c) => format!("{:+.1}%", c * 100.0),
            None if *now == 0 => "持平".into(),
            None => "去年同期为0".into(),
        }
    }
    fn wan(&self, fen: &i64) -> String {
        ecowarden_core::ids::Money::from_fen(*fen).wan_yuan()
    }
    fn past_term_shown(&self) -> &[ecowarden_ledger::dossier::PastTerm] {
        &self.d.past_term[..self.d.past_term.len().min(PAST_TERM_SHOWN)]
    }
}

/// What the dashboard lists as work to do in a scope: overdue rectifications and tasks, open
/// listed supervisions, pending leads. Six small queries (1.9 ms on one view over a million
/// cases), most of a page view's time under load, so kept per scope, day and ledger state
/// ([`cases::ledger_state`]) for [`WORKLIST_TTL`] at most (leads stored by a screening run
/// show within it).
pub struct Worklist {
    overdue: Vec<ecowarden_assessment::inspection::RectificationRow>,
    overdue_tasks: Vec<ecowarden_assessment::tasks::Task>,
    listed: Vec<ecowarden_ledger::cooperation::ListedSupervision>,
    listed_total: i64,
    pending_leads: i64,
    top_leads: Vec<ecowarden_monitoring::leads::LeadRow>,
}

/// How long a scope's [`Worklist`] is kept at most.
pub const WORKLIST_TTL: std::time::Duration = std::time::Duration::from_secs(30);

async fn worklist(
    app: &AppState,
    scope: &ecowarden_core::scope::Scope,
    area: &ecowarden_core::scope::Area,
    today: chrono::NaiveDate,
) -> Result<Arc<Worklist>> {
    let overdue = ecowarden_assessment::inspection::overdue(&app.db, area, today)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let overdue_tasks = ecowarden_assessment::tasks::overdue(&app.db, area, today)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let (listed, listed_total) =
        ecowarden_ledger::cooperation::open_listed_supervisions(&app.db, scope, LISTED_SHOWN)
            .await?;
    let leads = ecowarden_monitoring::leads::LeadFilter::default();
    let (mut top_leads, _) = ecowarden_monitoring::leads::list(&app.db, area, &leads).await?;
    top_leads.truncate(5);
    Ok(Arc::new(Worklist {
        overdue,
        overdue_tasks,
        listed,
        listed_total,
        pending_leads: ecowarden_monitoring::leads::open_count(&app.db, area).await?,
        top_leads,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    year: Option<i64>,
    /// `fines` ranks the sub-regions by fines; anything else by cases.
    rank: Option<String>,
}

/// The latest year with cases, or the current year on an empty ledger.
pub async fn latest_year(app: &AppState) -> Result<i64> {
    let y = cases::latest_year(&app.db).await?;
    Ok(y.unwrap_or_else(|| chrono::Datelike::year(&clock::today()) as i64))
}

/// The last day of "the same period last year" for `year`: a year ago today while the year
/// is in progress (29 February read as the 28th), none (the whole year) once it is over.
fn same_period_end(year: i64, today: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    if i64::from(today.year()) != year {
        return None;
    }
    today
        .with_year(today.year() - 1)
        .or_else(|| today.pred_opt()?.with_year(today.year() - 1))
}

pub async fn dashboard(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<DashboardQuery>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/").await?;
    let latest = latest_year(&app).await?;
    let year = q.year.unwrap_or(latest);
    let scope = &s.user().scope;
    let area = ecowarden_core::scope::Area::whole(scope);
    let today = clock::today();
    let d = app.dashboard(scope, year).await?;
    let through = same_period_end(year, today);
    let before = app.dashboard_through(scope, year - 1, through).await?;
    let before_label = match through {
        Some(t) => format!("{}年1月1日至{}", year - 1, t.format("%-m月%-d日")),
        None => format!("{}年全年", year - 1),
    };
    let rank_by_fines = q.rank.as_deref() == Some("fines");
    let by = if rank_by_fines {
        cases::RankBy::Fines
    } else {
        cases::RankBy::Cases
    };
    let ranking = cases::ranking(&app.org, scope, &d.d, &before.d, by);
    let own = match scope {
        ecowarden_core::scope::Scope::County(c) => c.clone(),
        ecowarden_core::scope::Scope::City(c) => c.clone(),
        ecowarden_core::scope::Scope::Province => app.org.province().code.clone(),
    };
    // Every bar and slice opens the case list behind it (the year's cases of that month,
    // sub-region, source or stage); the scope's own cases have no narrower list than the
    // scope's, so their bar opens none.
    let list = |k: &str, v: &str| format!("/cases?year={year}&{k}={v}");
    let chart_json = serde_json::json!({
        // A county has no sub-regions to compare: its chart shows where its cases stand.
        "county": matches!(scope, ecowarden_core::scope::Scope::County(_)),
        "months": (1..=12).map(|m| format!("{m}月")).collect::<Vec<_>>(),
        "by_month": d.d.by_month,
        "month_links": (1..=12).map(|m| list("month", &m.to_string())).collect::<Vec<_>>(),
        "regions": d.d.by_region.iter().map(|r| &r.name).collect::<Vec<_>>(),
        "region_links": d.d.by_region.iter().map(|r| (r.region_code != own).then(|| list("region", &r.region_code))).collect::<Vec<_>>(),
        "region_cases": d.d.by_region.iter().map(|r| r.cases).collect::<Vec<_>>(),
        "region_fines_wan": d.d.by_region.iter().map(|r| (r.fine_fen as f64 / 1_000_000.0 * 100.0).round() / 100.0).collect::<Vec<_>>(),
        "sources": d.d.by_source.iter().map(|r| serde_json::json!({"name": r.label, "value": r.cases, "link": list("source", &r.code)})).collect::<Vec<_>>(),
        "statuses": d.d.by_status.iter().map(|r| &r.label).collect::<Vec<_>>(),
        "status_links": d.d.by_status.iter().map(|r| list("status", &r.code)).collect::<Vec<_>>(),
        "status_cases": d.d.by_status.iter().map(|r| r.cases).collect::<Vec<_>>(),
    })
    .to_string()
    // Inside a <script> element "</" would end it early.
    .replace("</", "<\\/");
    let decided_late = app.decided_late(&area, year).await?;
    let key = format!("{scope:?}|{today}|{}", cases::ledger_state(&app.db).await?);
    let w = app
        .worklists
        .get(key, || worklist(&app, scope, &area, today))
        .await?;
    render(DashboardPage {
        overdue: w.overdue.clone(),
        overdue_tasks: w.overdue_tasks.clone(),
        nav: Nav::new(&app, &s, "dashboard"),
        year,
        years: (latest - 4..=latest).rev().collect(),
        ranking,
        rank_by_fines,
        sub_label: match scope {
            ecowarden_core::scope::Scope::Province => "设区市",
            _ => "县（市、区）",
        },
        decided_late,
        listed: w.listed.clone(),
        listed_total: w.listed_total,
        pending_leads: w.pending_leads,
        top_leads: w.top_leads.clone(),
        today: today.to_string(),
        before,
        before_label,
        d,
        chart_json,
    })
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    nav: Nav,
    rows: Vec<CaseSummary>,
    more: bool,
    page: i64,
    total: i64,
    pages: i64,
    f: CaseFilter,
    regions: Vec<(String, String)>,
    statuses: &'static [Status],
    sources: &'static [CaseSource],
    /// The filters as a query string (ending in `&`), for the sort links.
    filter_query: String,
    /// The filters, order and page size, for the page links and the export.
    query_base: String,
}

impl CasesPage {
    fn sel(&self, field: &str, v: &str) -> bool {
        let cur = match field {
            "region" => self.f.region.as_deref(),
            "status" => self.f.status.as_deref(),
            "source" => self.f.source.as_deref(),
            _ => None,
        };
        cur == Some(v)
    }
    fn month_selected(&self, m: &u32) -> bool {
        self.f.month() == Some(*m)
    }
    fn year_value(&self) -> String {
        self.f.year.map(|y| y.to_string()).unwrap_or_default()
    }
    fn q_value(&self) -> &str {
        self.f.q.as_deref().unwrap_or("")
    }
    fn date_value(&self, field: &str) -> String {
        let d = if field == "from" {
            self.f.from
        } else {
            self.f.to
        };
        d.map(|d| d.to_string()).unwrap_or_default()
    }
    /// The filters, order and page size as hidden fields of the page-jump form.
    fn jump_fields(&self) -> Vec<(&'static str, String)> {
        list_params(&self.f)
    }
    fn page_sizes(&self) -> &'static [i64] {
        &cases::PAGE_SIZES
    }
    /// A column header's link: sorts by `key`, flipping the direction when already sorted by it.
    fn sort_href(&self, key: &str) -> String {
        let current = cases::SortKey::parse(key) == Some(self.f.sort_key());
        let dir = if current && !self.f.ascending() {
            "asc"
        } else {
            "desc"
        };
        format!("/cases?{}sort={key}&dir={dir}", self.filter_query)
    }
    /// The header's arrow for `key` when the list is sorted by it.
    fn sort_mark(&self, key: &str) -> &'static str {
        match (
            cases::SortKey::parse(key) == Some(self.f.sort_key()),
            self.f.ascending(),
        ) {
            (false, _) => "",
            (true, true) => "↑",
            (true, false) => "↓",
        }
    }
}

/// The case list's filters, order and page size that are set, as (name, value).
fn list_params(f: &CaseFilter) -> Vec<(&'static str, String)> {
    [
        ("year", f.year.map(|y| y.to_string())),
        ("month", f.month().map(|m| m.to_string())),
        ("region", f.region.clone()),
        ("status", f.status.clone()),
        ("source", f.source.clone()),
        ("q", f.q.clone()),
        ("from", f.from.map(|d| d.to_string())),
        ("to", f.to.map(|d| d.to_string())),
        ("per_page", f.per_page.map(|n| n.to_string())),
        ("sort", f.sort.clone()),
        ("dir", f.dir.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v.filter(|v| !v.is_empty())?)))
    .collect()
}

/// Regions a user may filter by: their own and the ones below it.
pub(super) fn filter_regions(app: &AppState, u: &User) -> Vec<(String, String)> {
    app.org
        .all()
        .filter(|r| r.level != Level::Province && u.scope.covers(&r.code, &r.city_code))
        .map(|r| {
            let indent = if r.level == Level::County { "　" } else { "" };
            (r.code.clone(), format!("{indent}{}", r.name))
        })
        .collect()
}

pub async fn cases(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<CaseFilter>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/cases").await?;
    let area = super::area(&app, s.user(), f.region.as_deref(), "/cases").await?;
    let (rows, more, total) = app.case_lists.page(&app.db, &area, &f).await?;
    let params = list_params(&f);
    let query = |order: bool| {
        params
            .iter()
            .filter(|(k, _)| order || !matches!(*k, "sort" | "dir"))
            .map(|(k, v)| {
                let v =
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
                format!("{k}={v}&")
            })
            .collect::<String>()
    };
    let (filter_query, query_base) = (query(false), query(true));
    let size = f.page_size();
    render(CasesPage {
        nav: Nav::new(&app, &s, "cases"),
        rows,
        more,
        page: f.page.unwrap_or(1).max(1),
        total,
        pages: ((total + size - 1) / size).max(1),
        regions: filter_regions(&app, s.user()),
        statuses: &Status::ALL,
        sources: &CaseSource::ALL,
        filter_query,
        query_base,
        f,
    })
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    nav: Nav,
    units: Vec<(ecowarden_core::org::Unit, String, i64)>,
    can_roster: bool,
}

pub async fn org(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    let u = s.user();
    let counts = ecowarden_core::org::officer_counts(&app.db).await?;
    let units = ecowarden_core::org::units(&app.db)
        .await?
        .into_iter()
        .filter(|x| u.scope.covers(&x.region_code, &x.city_code))
        .map(|x| {
            let region = app.org.name(&x.region_code).to_owned();
            let n = counts.get(&x.id).copied().unwrap_or(0);
            (x, region, n)
        })
        .collect();
    render(OrgPage {
        nav: Nav::new(&app, &s, "org"),
        units,
        can_roster: u.can(Permission::ManageUsers),
    })
}

#[derive(Template)]
#[template(path = "roster.html")]
struct RosterPage {
    nav: Nav,
    officers: Vec<ecowarden_core::org::RosterEntry>,
    today: String,
}

/// The officers in scope with their certificates, for the leaders who staff cases and the
/// administrators who keep the roster.
pub async fn roster(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::ManageUsers, "/org/officers").await?;
    render(RosterPage {
        nav: Nav::new(&app, &s, "org"),
        officers: ecowarden_core::org::roster(&app.db, &s.user().scope).await?,
        today: clock::today().to_string(),
    })
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<auth::UserRow>,
    roles: &'static [Role],
    regions: Vec<(String, String)>,
    message: String,
    error: String,
}

impl UsersPage {
    fn role_label(&self, r: &str) -> &'static str {
        Role::parse(r).map(Role::label).unwrap_or("未知")
    }
}

async fn users_page(
    app: &AppState,
    s: &CurrentUser,
    message: String,
    error: String,
) -> Result<Response> {
    let users = auth::list_users(&app.db, &s.user().scope).await?;
    let regions = app
        .org
        .all()
        .filter(|r| s.user().scope.covers(&r.code, &r.city_code))
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    let page = UsersPage {
        nav: Nav::new(app, s, "users"),
        users,
        roles: &Role::ALL,
        regions,
        message,
        error: error.clone(),
    };
    let status = if error.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn users(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::ManageUsers, "/users").await?;
    users_page(&app, &s, String::new(), String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
    region_code: String,
}

pub async fn create_user(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<NewUserForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ManageUsers, "/users").await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let role = Role::parse(&f.role).ok_or_else(|| Error::BadRequest("未知角色".into()))?;
    let nu = NewUser {
        username: f.username,
        display_name: f.display_name,
        password: f.password,
        role,
        region_code: f.region_code,
    };
    check_account_scope(&app, s.user(), &nu.region_code, role).await?;
    match auth::create_user(&app.db, &app.org, &s.user().username, &nu).await {
        Ok(_) => {
            users_page(
                &app,
                &s,
                format!("已创建用户“{}”", nu.username.trim()),
                String::new(),
            )
            .await
        }
        Err(auth::AccountError::Store(e)) => Err(e.into()),
        Err(e) => users_page(&app, &s, String::new(), e.to_string()).await,
    }
}

/// Refuses (and records) an account the manager may not create ([`auth::may_manage_account`]).
pub(crate) async fn check_account_scope(
    app: &AppState,
    u: &User,
    region_code: &str,
    role: Role,
) -> Result<()> {
    let region = app.org.known(region_code).map_err(Error::Unprocessable)?;
    if !auth::may_manage_account(u, region, role) {
        return Err(refuse(app, u, "/users", Error::out_of_scope()).await);
    }
    Ok(())
}

async fn target_user(app: &AppState, u: &User, id: i64) -> Result<auth::UserRow> {
    require(app, u, Permission::ManageUsers, "/users").await?;
    let t = auth::get_user(&app.db, id).await?;
    if !u.scope.covers(&t.region_code, &t.city_code) {
        return Err(refuse(app, u, &format!("/users/{id}"), Error::out_of_scope()).await);
    }
    Ok(t)
}

pub async fn disable_user(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let t = target_user(&app, s.user(), id).await?;
    if t.id == s.user().id {
        return users_page(&app, &s, String::new(), "不能停用自己的账户".into()).await;
    }
    auth::set_disabled(&app.db, &s.user().username, id, true).await?;
    users_page(&app, &s, format!("已停用“{}”", t.username), String::new()).await
}

pub async fn enable_user(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let t = target_user(&app, s.user(), id).await?;
    auth::set_disabled(&app.db, &s.user().username, id, false).await?;
    users_page(&app, &s, format!("已启用“{}”", t.username), String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn reset_password(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    let t = target_user(&app, s.user(), id).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    match auth::reset_password(&app.db, &s.user().username, id, &f.password).await {
        Ok(()) => {
            users_page(
                &app,
                &s,
                format!("已重置“{}”的密码", t.username),
                String::new(),
            )
            .await
        }
        Err(auth::AccountError::Store(e)) => Err(e.into()),
        Err(e) => users_page(&app, &s, String::new(), e.to_string()).await,
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<super::ledger::HistoryRow>,
    more: bool,
    page: i64,
    f: audit_log::Filter,
    /// The filters as a query string (ending in `&`), for the page links.
    query_base: String,
    events: Vec<auth::SecurityEvent>,
}

impl AuditPage {
    fn entities(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        audit_log::ENTITIES
            .iter()
            .map(|e| (*e, audit_log::entity_label(e)))
    }
    fn value(&self, field: &str) -> String {
        let f = &self.f;
        match field {
            "entity" => f.entity.clone(),
            "actor" => f.actor.clone(),
            "case" => f.case.clone(),
            "from" => f.from.map(|d| d.to_string()),
            "to" => f.to.map(|d| d.to_string()),
            _ => None,
        }
        .unwrap_or_default()
    }
}

pub async fn audit(
    State(app): State<AppState>,
    s: CurrentUser,
    q: std::result::Result<Query<audit_log::Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadAudit, "/audit").await?;
    let Query(f) = q.map_err(|r| Error::BadRequest(format!("查询参数错误：{}", r.body_text())))?;
    let (entries, more) = audit_log::page(&app.db, &f).await?;
    let entries = super::ledger::history_rows(&app, entries).await?;
    let events = auth::recent_security_events(&app.db, 200).await?;
    let mut page = AuditPage {
        nav: Nav::new(&app, &s, "audit"),
        entries,
        more,
        page: f.page.unwrap_or(1).max(1),
        query_base: String::new(),
        f,
        events,
    };
    page.query_base = ["entity", "actor", "case", "from", "to"]
        .iter()
        .map(|k| (k, page.value(k)))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let v = percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC);
            format!("{k}={v}&")
        })
        .collect();
    render(page)
}

#[derive(Template)]
#[template(path = "module.html")]
struct ModulePage {
    nav: Nav,
    title: &'static str,
    purpose: &'static str,
}

/// A module of the mission that is not built yet says so plainly.
pub async fn module(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(name): Path<String>,
) -> Result<Response> {
    let m = MODULES
        .iter()
        .find(|m| m.slug == name && !m.built)
        .ok_or_else(|| Error::NotFound("没有这个模块".into()))?;
    render(ModulePage {
        nav: Nav::new(&app, &s, m.slug),
        title: m.title,
        purpose: m.purpose,
    })
}

#[cfg(test)]
mod tests {
    use super::same_period_end;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// 同比 of a year in progress compares with last year up to the same day; of a year that
    /// is over, with the whole of last year.
    #[test]
    fn the_same_period_of_last_year() {
        assert_eq!(
            same_period_end(2026, d("2026-12-06")),
            Some(d("2025-12-06"))
        );
        assert_eq!(
            same_period_end(2024, d("2024-02-29")),
            Some(d("2023-02-28"))
        );
        assert_eq!(same_period_end(2025, d("2026-12-06")), None);
    }
}
