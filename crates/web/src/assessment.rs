//! 效能评估: the rule editor (versions kept), tasks (挂图作战), runs with their ranking, chart
//! and map, each unit's score sheet, comparison of two runs, and the downloads (.xlsx and the
//! PDF bulletin). Who reads what is `ecowarden_assessment::access`; the rules and the SQL are
//! in `ecowarden_assessment`.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Form;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::error::{Error, Result};
use super::ledger_io::{attachment, xlsx};
use super::pages::{Nav, render, require};
use super::review::{MessageQuery, back};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_assessment::bulletin::{self, BulletinFont};
use ecowarden_assessment::compare::{self, Comparison};
use ecowarden_assessment::entries::{self, Entry, Holder, Listed};
use ecowarden_assessment::rule_sets::{self, Version};
use ecowarden_assessment::tasks::{self, Group, NewTask, Task};
use ecowarden_assessment::{self as assessment, AssessError, RunRow, access};
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::clock;
use ecowarden_core::scope::{Area, AreaError};
use ecowarden_ledger::stats::Period;
use ecowarden_scoring::Level;

/// The assessment pages' routes.
pub fn pages() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/assessment", get(overview))
        .route("/assessment/rules", get(rules_page).post(save_rules))
        .route("/assessment/rules/{id}", get(version_page))
        .route("/assessment/rules/{id}/export.toml", get(export_rules))
        .route("/assessment/tasks", get(board).post(create_task))
        .route("/assessment/tasks/{id}", post(update_task))
        .route("/assessment/tasks/{id}/evidence", get(task_evidence))
        .route("/assessment/entries", get(entries_page).post(enter_value))
        .route("/assessment/entries/{id}/file", get(entry_file))
        .route("/assessment/runs", post(create_run))
        .route("/assessment/runs/{id}", get(run_page))
        .route("/assessment/runs/{id}/units/{code}", get(sheet_page))
        .route("/assessment/runs/{id}/export.xlsx", get(export_run))
        .route("/assessment/runs/{id}/bulletin.pdf", get(bulletin_pdf))
        .route("/assessment/compare", get(compare_page))
}

/// An assessment error as the pages show it; refusals go to the security log.
async fn fail(app: &AppState, u: &User, path: &str, e: AssessError) -> Error {
    let e = match e {
        AssessError::Rules(r) => Error::Unprocessable(format!("评分细则有误：{r}")),
        AssessError::Invalid(m) => Error::Unprocessable(m),
        AssessError::Area(AreaError::Unknown(m)) => Error::BadRequest(m),
        AssessError::Area(AreaError::OutOfScope(_)) => Error::out_of_scope(),
        e @ AssessError::NoSuchRun(_) => Error::NotFound(e.to_string()),
        AssessError::NotFound(m) => Error::NotFound(m),
        AssessError::Forbidden(m) => Error::Forbidden(m),
        AssessError::Store(s) => s.into(),
    };
    if matches!(e, Error::Forbidden(_)) {
        refuse(app, u, path, e).await
    } else {
        e
    }
}

/// Refuses (and records) what the user may not read.
async fn forbid_unless(app: &AppState, u: &User, path: &str, allowed: bool) -> Result<()> {
    if allowed {
        Ok(())
    } else {
        Err(refuse(app, u, path, Error::out_of_scope()).await)
    }
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct OverviewPage {
    nav: Nav,
    message: String,
    runs: Vec<RunRow>,
    versions: Vec<Version>,
    manages: bool,
    reads_rankings: bool,
    /// The user's own unit, for an officer's link to their sheet.
    own_unit: String,
    regions: Vec<(String, String)>,
    year: i64,
}

/// `GET /assessment`: the runs, the run form and the comparison form.
async fn overview(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/assessment").await?;
    let runs = assessment::runs(&app.db)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let versions = rule_sets::list(&app.db)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    render(OverviewPage {
        nav: Nav::new(&app, &s, "assessment"),
        message: q.msg.unwrap_or_default(),
        runs,
        versions,
        manages: u.can(Permission::ManageAssessment),
        reads_rankings: access::reads_rankings(u),
        own_unit: u.region_code.clone(),
        regions: app
            .org
            .all()
            .filter(|r| r.level == ecowarden_core::org::Level::City)
            .map(|r| (r.code.clone(), r.name.clone()))
            .collect(),
        year: super::pages::latest_year(&app).await?,
    })
}

#[derive(Template)]
#[template(path = "assessment_rules.html")]
struct RulesPage {
    nav: Nav,
    message: String,
    versions: Vec<Version>,
    /// The version shown, if any.
    version: Option<Version>,
    /// The indicators of the version shown (id, name, max), for the task links.
    indicators: Vec<(String, String, f64)>,
    text: String,
    errors: Vec<String>,
    manages: bool,
    year: i64,
}

impl RulesPage {
    async fn new(app: &AppState, s: &CurrentUser, text: String) -> Result<RulesPage> {
        let versions = rule_sets::list(&app.db)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        Ok(RulesPage {
            nav: Nav::new(app, s, "assessment"),
            message: String::new(),
            versions,
            version: None,
            indicators: Vec::new(),
            text,
            errors: Vec::new(),
            manages: s.user().can(Permission::ManageAssessment),
            year: super::pages::latest_year(app).await?,
        })
    }

    fn answer(self) -> Result<Response> {
        let status = if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Ok((status, Html(self.render()?)).into_response())
    }
}

#[derive(Debug, Deserialize)]
pub struct TemplateQuery {
    /// `county` or `city`: load the shipped default of that level.
    template: Option<String>,
    year: Option<i32>,
    msg: Option<String>,
}

/// `GET /assessment/rules[?template=county&year=Y]`: the versions and the editor, empty or
/// holding the default rules of a level set to a year.
async fn rules_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<TemplateQuery>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/assessment/rules").await?;
    let mut page = RulesPage::new(&app, &s, String::new()).await?;
    if let Some(t) = q.template.as_deref().filter(|t| !t.is_empty()) {
        let level =
            Level::parse(t).ok_or_else(|| Error::BadRequest(format!("没有“{t}”级的默认细则")))?;
        let year = q.year.unwrap_or(page.year as i32);
        page.text = ecowarden_scoring::template(level, year)
            .ok_or_else(|| Error::BadRequest(format!("没有{}的默认细则", level.label())))?;
    }
    page.message = q.msg.unwrap_or_default();
    page.answer()
}

/// `GET /assessment/rules/{id}`: a kept version in the editor (read only but for the
/// administrator, whose save makes a new version) and its indicators' tasks.
async fn version_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/rules/{id}");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let (v, text) = match rule_sets::get(&app.db, id).await {
        Ok(x) => x,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    let mut page = RulesPage::new(&app, &s, text).await?;
    if let Ok(rules) = ecowarden_scoring::parse(&page.text) {
        page.indicators = rules
            .indicators
            .into_iter()
            .map(|i| (i.id, i.name, i.max))
            .collect();
    }
    page.version = Some(v);
    page.message = q.msg.unwrap_or_default();
    page.answer()
}

/// The text fields and the first non-empty `file` of a multipart form.
async fn read_multipart(
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<(HashMap<String, String>, Option<(String, Vec<u8>)>)> {
    let mut form =
        form.map_err(|r| Error::BadRequest(format!("请以文件上传表单提交：{}", r.body_text())))?;
    let mut fields = HashMap::new();
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(super::ledger_io::upload_error)?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("上传文件").to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(super::ledger_io::upload_error)?;
            if !bytes.is_empty() && file.is_none() {
                file = Some((file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(super::ledger_io::upload_error)?;
            fields.insert(name, text);
        }
    }
    Ok((fields, file))
}

/// `POST /assessment/rules` (multipart: `text`, or an imported `file`): checks the rule file
/// and keeps it as a new version; a bad file is shown again with every problem and its line.
async fn save_rules(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ManageAssessment, "/assessment/rules").await?;
    let (mut fields, file) = read_multipart(form).await?;
    let text = match file {
        Some((name, bytes)) => String::from_utf8(bytes)
            .map_err(|_| Error::Unprocessable(format!("“{name}”不是 UTF-8 编码的 TOML 文本")))?,
        None => fields.remove("text").unwrap_or_default(),
    };
    // Browsers send a textarea's line breaks as CRLF; the kept text uses LF.
    let text = text.replace("\r\n", "\n");
    match rule_sets::save(&app.db, &text, &u.username).await {
        Ok(id) => Ok(back(
            &format!("/assessment/rules/{id}"),
            &format!("已保存为评分细则版本 {id}"),
        )),
        Err(AssessError::Rules(r)) => {
            let mut page = RulesPage::new(&app, &s, text).await?;
            page.errors = r.0.iter().map(ToString::to_string).collect();
            page.answer()
        }
        Err(e) => Err(fail(&app, u, "/assessment/rules", e).await),
    }
}

/// `GET /assessment/rules/{id}/export.toml`: a kept version as its file.
async fn export_rules(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/rules/{id}/export.toml");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let (v, text) = match rule_sets::get(&app.db, id).await {
        Ok(x) => x,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    Ok(attachment(
        text.into_bytes(),
        "application/toml",
        &format!("rules-{id}.toml"),
        &format!("{}.toml", v.name),
    ))
}

#[derive(Template)]
#[template(path = "assessment_tasks.html")]
struct BoardPage {
    nav: Nav,
    message: String,
    by_owner: bool,
    groups: Vec<Group>,
    /// (value `rule set/indicator`, label) for the new-task form.
    indicators: Vec<(String, String)>,
    manages: bool,
    today: chrono::NaiveDate,
    /// Task ids the user may update.
    mine: Vec<i64>,
    /// Display names of officers and regions, for the owners.
    names: HashMap<String, String>,
}

impl BoardPage {
    fn owner_name<'a>(&'a self, t: &'a Task) -> &'a str {
        self.names
            .get(&t.owner)
            .map_or(t.owner.as_str(), String::as_str)
    }
    fn overdue(&self, t: &Task) -> bool {
        t.overdue(self.today)
    }
    fn mine_has(&self, t: &Task) -> bool {
        self.mine.contains(&t.id)
    }
}

#[derive(Debug, Deserialize)]
pub struct BoardQuery {
    by: Option<String>,
    msg: Option<String>,
}

/// `GET /assessment/tasks[?by=owner]`: the tasks in scope, grouped by indicator (or owner);
/// the form to decompose an indicator for whoever keeps the rules; an update form on the
/// tasks the user owns.
async fn board(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<BoardQuery>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/assessment/tasks").await?;
    let manages = u.can(Permission::ManageAssessment);
    let list = tasks::list(&app.db, &Area::whole(&u.scope))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let versions = rule_sets::parsed(&app.db)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let mut indicators = Vec::new();
    let mut indicator_names = HashMap::new();
    for (v, rules) in versions {
        for i in rules.indicators {
            let label = format!("版本 {} · {} {}", v.id, i.id, i.name);
            indicator_names.insert((v.id, i.id.clone()), label.clone());
            indicators.push((format!("{}/{}", v.id, i.id), label));
        }
    }
    let mut names: HashMap<String, String> = ecowarden_core::auth::display_names(&app.db).await?;
    names.extend(app.org.all().map(|r| (r.code.clone(), r.name.clone())));
    let mine = list
        .iter()
        .filter(|t| t.may_update(u, manages))
        .map(|t| t.id)
        .collect();
    let by_owner = q.by.as_deref() == Some("owner");
    let groups = if by_owner {
        tasks::group(list, |t| {
            names
                .get(&t.owner)
                .cloned()
                .unwrap_or_else(|| t.owner.clone())
        })
    } else {
        tasks::group(list, |t| {
            indicator_names
                .get(&(t.rule_set_id, t.indicator_id.clone()))
                .cloned()
                .unwrap_or_else(|| format!("版本 {} · {}", t.rule_set_id, t.indicator_id))
        })
    };
    render(BoardPage {
        nav: Nav::new(&app, &s, "assessment"),
        message: q.msg.unwrap_or_default(),
        by_owner,
        groups,
        indicators,
        manages,
        today: clock::today(),
        mine,
        names,
    })
}

#[derive(Debug, Deserialize)]
pub struct TaskForm {
    /// `rule set id/indicator id`.
    indicator: String,
    title: String,
    owner: String,
    deadline: String,
}

/// `POST /assessment/tasks`: decomposes an indicator into a task.
async fn create_task(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<TaskForm>, FormRejection>,
) -> Result<Response> {
    const PATH: &str = "/assessment/tasks";
    let u = s.user();
    require(&app, u, Permission::ManageAssessment, PATH).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let (set, indicator) = f
        .indicator
        .split_once('/')
        .and_then(|(s, i)| Some((s.parse().ok()?, i.to_owned())))
        .ok_or_else(|| Error::BadRequest("请选择要分解的指标".into()))?;
    let t = NewTask {
        rule_set_id: set,
        indicator_id: indicator,
        title: f.title,
        owner: f.owner,
        deadline: f.deadline,
    };
    match tasks::create(&app.db, &app.org, u, &t).await {
        Ok(id) => Ok(back(PATH, &format!("已分解任务 {id}"))),
        Err(e) => Err(fail(&app, u, PATH, e).await),
    }
}

/// `POST /assessment/tasks/{id}` (multipart: `progress`, `done`, `evidence`, `file`): an
/// owner's progress report.
async fn update_task(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/tasks/{id}");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let task = match tasks::get(&app.db, &Area::whole(&u.scope), id).await {
        Ok(t) => t,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    let manages = u.can(Permission::ManageAssessment);
    // Refused before the upload is read: only owners send files.
    if !task.may_update(u, manages) {
        return Err(refuse(&app, u, &path, Error::Forbidden(tasks::NOT_OWNER.into())).await);
    }
    let (fields, file) = read_multipart(form).await?;
    let field = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let progress = field("progress");
    let up = tasks::Update {
        progress: progress
            .parse()
            .map_err(|_| Error::Unprocessable(format!("进度“{progress}”应为 0 到 100 的整数")))?,
        done: !field("done").is_empty(),
        evidence: field("evidence"),
        file,
    };
    match tasks::update(&app.db, &app.settings.data_dir, &task, u, manages, up).await {
        Ok(()) => Ok(back("/assessment/tasks", &format!("已更新任务 {id}"))),
        Err(e) => Err(fail(&app, u, &path, e).await),
    }
}

/// `GET /assessment/tasks/{id}/evidence`: a task's uploaded evidence file.
async fn task_evidence(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/tasks/{id}/evidence");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let task = match tasks::get(&app.db, &Area::whole(&u.scope), id).await {
        Ok(t) => t,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    let (name, bytes) = tasks::evidence_file(&app.settings.data_dir, &task)
        .ok_or_else(|| Error::NotFound("该任务没有上传证明材料".into()))?;
    Ok(attachment(
        bytes,
        "application/octet-stream",
        &format!("task-{id}-evidence"),
        &name,
    ))
}

/// A period as the forms send it: a year and a half (empty for the whole year).
fn period(year: &str, half: &str) -> std::result::Result<Period, String> {
    let year = year
        .trim()
        .parse()
        .map_err(|_| format!("年度“{}”应为数字", year.trim()))?;
    let half = match half.trim() {
        "" => None,
        "1" => Some(1),
        "2" => Some(2),
        h => return Err(format!("半年“{h}”应为 1 或 2")),
    };
    Ok(Period { year, half })
}

/// The entry form as typed: shown again as it was when an entry is refused.
#[derive(Debug, Default)]
struct EntryFields {
    year: String,
    half: String,
    unit: String,
    officer: String,
    metric: String,
    value: String,
    justification: String,
}

impl EntryFields {
    fn from_multipart(mut fields: HashMap<String, String>) -> EntryFields {
        let mut take = |k: &str| fields.remove(k).unwrap_or_default();
        EntryFields {
            year: take("year"),
            half: take("half"),
            unit: take("unit"),
            officer: take("officer"),
            metric: take("metric").trim().to_owned(),
            value: take("value"),
            justification: take("justification"),
        }
    }

    /// The period and the entry the fields name; the file is the upload's.
    fn entry(
        &self,
        file: Option<(String, Vec<u8>)>,
    ) -> std::result::Result<(Period, Entry), AssessError> {
        let period = period(&self.year, &self.half).map_err(AssessError::Invalid)?;
        let value = self.value.trim();
        let value = value
            .parse()
            .map_err(|_| AssessError::Invalid(format!("填报值“{value}”应为数字")))?;
        Ok((
            period,
            Entry {
                holder: Holder::chosen(&self.unit, &self.officer)?,
                metric: self.metric.clone(),
                value,
                justification: self.justification.clone(),
                file,
            },
        ))
    }
}

#[derive(Template)]
#[template(path = "assessment_entries.html")]
struct EntriesPage {
    nav: Nav,
    message: String,
    /// Why the entry was refused, with the form as typed.
    error: String,
    period: String,
    /// The listed period, as the period form sends it.
    year: i32,
    half: String,
    entries: Vec<Listed>,
    /// Metrics entered by hand with their rules' names.
    named: BTreeMap<String, String>,
    manages: bool,
    /// (code, name) of every unit; (certificate, name · unit) of every officer.
    units: Vec<(String, String)>,
    officers: Vec<(String, String)>,
    form: EntryFields,
    /// Display names of the accounts, for who entered.
    users: HashMap<String, String>,
}

impl EntriesPage {
    async fn new(
        app: &AppState,
        s: &CurrentUser,
        listed: Period,
        form: EntryFields,
    ) -> Result<EntriesPage> {
        let u = s.user();
        let internal = |e: AssessError| Error::Internal(e.into());
        let manages = u.can(Permission::ManageAssessment);
        let officers = if manages {
            ecowarden_core::org::roster(&app.db, &u.scope)
                .await?
                .into_iter()
                .filter_map(|o| Some((o.certificate_no?, format!("{} · {}", o.name, o.unit_name))))
                .collect()
        } else {
            Vec::new()
        };
        Ok(EntriesPage {
            nav: Nav::new(app, s, "assessment"),
            message: String::new(),
            error: String::new(),
            period: bulletin::period_label(listed.year.into(), listed.half.map(i64::from)),
            year: listed.year,
            half: listed.half.map(|h| h.to_string()).unwrap_or_default(),
            entries: entries::list(&app.db, &app.org, &u.scope, listed)
                .await
                .map_err(internal)?,
            named: entries::named(&app.db).await.map_err(internal)?,
            manages,
            units: app
                .org
                .all()
                .filter(|r| u.scope.covers(&r.code, &r.city_code))
                .map(|r| (r.code.clone(), r.name.clone()))
                .collect(),
            officers,
            form,
            users: ecowarden_core::auth::display_names(&app.db).await?,
        })
    }

    /// A metric with the name its rule gives it, if any.
    fn metric_label(&self, metric: &str) -> String {
        match self.named.get(metric).filter(|l| !l.is_empty()) {
            Some(label) => format!("{label}（{metric}）"),
            None => metric.to_owned(),
        }
    }

    fn user_name<'a>(&'a self, username: &'a str) -> &'a str {
        self.users.get(username).map_or(username, String::as_str)
    }
}

#[derive(Debug, Deserialize)]
pub struct EntriesQuery {
    year: Option<String>,
    #[serde(default)]
    half: String,
    msg: Option<String>,
}

/// `GET /assessment/entries?year=Y&half=H`: the values entered by hand for a period (in the
/// user's scope, for those who read rankings) and, for whoever keeps the rules, the form to
/// enter one.
async fn entries_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<EntriesQuery>,
) -> Result<Response> {
    const PATH: &str = "/assessment/entries";
    let u = s.user();
    require(&app, u, Permission::ReadLedger, PATH).await?;
    forbid_unless(&app, u, PATH, access::reads_rankings(u)).await?;
    let year = match q.year {
        Some(y) => y,
        None => super::pages::latest_year(&app).await?.to_string(),
    };
    let listed = period(&year, &q.half).map_err(Error::BadRequest)?;
    let form = EntryFields {
        year,
        half: q.half,
        ..EntryFields::default()
    };
    let mut page = EntriesPage::new(&app, &s, listed, form).await?;
    page.message = q.msg.unwrap_or_default();
    render(page)
}

/// `POST /assessment/entries` (multipart: the period, `unit` or `officer`, `metric`, `value`,
/// `justification`, `file`): enters (or replaces) a value; a refused one is shown again as
/// typed with the reason (422).
async fn enter_value(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    const PATH: &str = "/assessment/entries";
    let u = s.user();
    require(&app, u, Permission::ManageAssessment, PATH).await?;
    let (fields, file) = read_multipart(form).await?;
    let form = EntryFields::from_multipart(fields);
    let outcome = match form.entry(file) {
        Ok((period, entry)) => entries::enter(&app.db, &app.org, period, &entry, &u.username)
            .await
            .map(|id| (period, id)),
        Err(e) => Err(e),
    };
    match outcome {
        Ok((p, id)) => Ok(back(
            &format!(
                "{PATH}?year={}&half={}",
                p.year,
                p.half.map(|h| h.to_string()).unwrap_or_default()
            ),
            &format!("已保存填报 {id}"),
        )),
        Err(AssessError::Invalid(m)) => {
            let listed = period(&form.year, &form.half).unwrap_or(Period {
                year: super::pages::latest_year(&app).await? as i32,
                half: None,
            });
            let mut page = EntriesPage::new(&app, &s, listed, form).await?;
            page.error = m;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(e) => Err(fail(&app, u, PATH, e).await),
    }
}

/// `GET /assessment/entries/{id}/file`: an entry's uploaded evidence, for those who read the
/// entry.
async fn entry_file(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/entries/{id}/file");
    require(&app, u, Permission::ReadLedger, &path).await?;
    forbid_unless(&app, u, &path, access::reads_rankings(u)).await?;
    let (name, bytes) = match entries::file(&app.db, &app.org, &u.scope, id).await {
        Ok(f) => f,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    Ok(attachment(
        bytes,
        "application/octet-stream",
        &format!("entry-{id}-evidence"),
        &name,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RunForm {
    rule_set: String,
    year: String,
    #[serde(default)]
    half: String,
    #[serde(default)]
    region: String,
}

/// `POST /assessment/runs`: runs an evaluation with a kept rule set, as `assess run` does.
async fn create_run(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<RunForm>, FormRejection>,
) -> Result<Response> {
    const PATH: &str = "/assessment/runs";
    let u = s.user();
    require(&app, u, Permission::ManageAssessment, PATH).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    let set = f.rule_set.trim().parse::<i64>().map_err(|_| {
        Error::Unprocessable(format!("评分细则版本“{}”应为数字", f.rule_set.trim()))
    })?;
    let period = period(&f.year, &f.half).map_err(Error::Unprocessable)?;
    let region = Some(f.region.trim()).filter(|r| !r.is_empty());
    let outcome = match rule_sets::get(&app.db, set).await {
        Ok((_, text)) => {
            assessment::run(&app.db, &app.org, &text, period, region, &u.username).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(run) => Ok(back(
            &format!("/assessment/runs/{}", run.id),
            &format!("已完成考核 {}", run.id),
        )),
        Err(e) => Err(fail(&app, u, PATH, e).await),
    }
}

/// A stored run with only the units the user reads in a ranking; officers are refused.
async fn visible_run(
    app: &AppState,
    u: &User,
    id: i64,
    path: &str,
) -> Result<assessment::StoredRun> {
    require(app, u, Permission::ReadLedger, path).await?;
    forbid_unless(app, u, path, access::reads_rankings(u)).await?;
    let mut run = match assessment::load(&app.db, id).await {
        Ok(r) => r,
        Err(e) => return Err(fail(app, u, path, e).await),
    };
    run.result = access::visible(u, &app.org, run.result);
    Ok(run)
}

#[derive(Template)]
#[template(path = "assessment_run.html")]
struct RunPage {
    nav: Nav,
    message: String,
    run: assessment::StoredRun,
    units: Vec<Value>,
    indicators: Vec<String>,
    period: String,
    region_name: String,
    map_svg: String,
    chart_json: String,
    /// The whole run is the user's (downloads of every unit).
    downloads: bool,
}

/// `GET /assessment/runs/{id}`: the ranking, its chart and map, links to each unit's sheet.
async fn run_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    let u = s.user();
    let run = visible_run(&app, u, id, &format!("/assessment/runs/{id}")).await?;
    let units = run.result["units"].as_array().cloned().unwrap_or_default();
    let indicators = units
        .first()
        .and_then(|x| x["indicators"].as_array())
        .map(|is| {
            is.iter()
                .map(|i| {
                    format!(
                        "{} {}",
                        i["id"].as_str().unwrap_or_default(),
                        i["name"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let b = bulletin::compose(&run, &app.org);
    let chart_json = serde_json::json!({
        "names": b.ranking.rows.iter().map(|r| &r.name).collect::<Vec<_>>(),
        "scores": b.ranking.rows.iter().map(|r| r.score).collect::<Vec<_>>(),
    })
    .to_string()
    .replace("</", "<\\/");
    render(RunPage {
        nav: Nav::new(&app, &s, "assessment"),
        message: q.msg.unwrap_or_default(),
        period: bulletin::period_label(
            run.result["year"].as_i64().unwrap_or_default(),
            run.result["half"].as_i64(),
        ),
        region_name: app.org.name(&run.region_code).to_owned(),
        map_svg: bulletin::map::svg(&b.ranking, &app.org),
        downloads: whole_run(&app, u, &run),
        chart_json,
        indicators,
        units,
        run,
    })
}

/// Whether the user's scope covers the run's whole area, so the downloads (every unit) are
/// theirs.
fn whole_run(app: &AppState, u: &User, run: &assessment::StoredRun) -> bool {
    app.org
        .region(&run.region_code)
        .is_some_and(|r| u.scope.covers(&r.code, &r.city_code))
}

#[derive(Template)]
#[template(path = "assessment_sheet.html")]
struct SheetPage {
    nav: Nav,
    run_id: i64,
    rules_name: String,
    period: String,
    unit: Value,
    units_total: usize,
    evidence: std::collections::BTreeMap<String, Vec<i64>>,
    reads_rankings: bool,
}

impl SheetPage {
    fn ids(&self, metric: &Value) -> &[i64] {
        self.evidence
            .get(metric.as_str().unwrap_or_default())
            .map_or(&[], Vec::as_slice)
    }
    fn previous(&self, metric: &Value) -> &[i64] {
        self.evidence
            .get(&ecowarden_scoring::previous_key(
                metric.as_str().unwrap_or_default(),
            ))
            .map_or(&[], Vec::as_slice)
    }
    /// Where an evidence id leads: a case, a task, or an entry (no page).
    fn href(&self, metric: &Value, id: &i64) -> String {
        let m = metric.as_str().unwrap_or_default();
        if m == "tasks.completion" {
            format!("/assessment/tasks#task-{id}")
        } else if ecowarden_assessment::entries::is_manual(m) {
            String::new()
        } else {
            format!("/cases/{id}")
        }
    }
}

/// Evidence ids listed on a sheet per rule; the count says how many there are in all.
const SHEET_LINKS: usize = 50;

/// `GET /assessment/runs/{id}/units/{code}`: one unit's score sheet, every point with its
/// value and the records behind it.
async fn sheet_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/runs/{id}/units/{code}");
    require(&app, u, Permission::ReadLedger, &path).await?;
    let run = match assessment::load(&app.db, id).await {
        Ok(r) => r,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    let units = run.result["units"].as_array().cloned().unwrap_or_default();
    let unit = units
        .iter()
        .find(|x| sheet_key(x) == code.as_str())
        .cloned();
    let reads = match &unit {
        Some(sheet) if sheet.get("officer").is_some() => {
            let own = ecowarden_core::auth::officer_of(&app.db, u.id).await?;
            ecowarden_assessment::officers::reads_sheet(u, own.as_deref(), &app.org, sheet)
        }
        // Whether the run has no such sheet is told only to whom the code's region is theirs.
        _ => access::reads_sheet(u, &app.org, &code),
    };
    forbid_unless(&app, u, &path, reads).await?;
    let unit = unit.ok_or_else(|| Error::NotFound(format!("考核 {id} 没有单位 {code}")))?;
    let evidence = assessment::unit_evidence(&app.db, id, &code)
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    render(SheetPage {
        nav: Nav::new(&app, &s, "assessment"),
        run_id: id,
        rules_name: run.rules_name.clone(),
        period: bulletin::period_label(
            run.result["year"].as_i64().unwrap_or_default(),
            run.result["half"].as_i64(),
        ),
        unit,
        units_total: units.len(),
        evidence,
        reads_rankings: access::reads_rankings(u),
    })
}

/// A run the user may download whole.
async fn downloadable(
    app: &AppState,
    u: &User,
    id: i64,
    path: &str,
) -> Result<assessment::StoredRun> {
    let run = visible_run(app, u, id, path).await?;
    forbid_unless(app, u, path, whole_run(app, u, &run)).await?;
    // The download holds every unit: the run as stored, not as filtered.
    assessment::load(&app.db, id)
        .await
        .map_err(|e| Error::Internal(e.into()))
}

/// `GET /assessment/runs/{id}/export.xlsx`.
async fn export_run(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let path = format!("/assessment/runs/{id}/export.xlsx");
    let run = downloadable(&app, s.user(), id, &path).await?;
    let bytes = assessment::to_xlsx(&run.result).map_err(|e| Error::Internal(e.into()))?;
    Ok(xlsx(
        bytes,
        &format!("assessment-{id}.xlsx"),
        &format!("考核结果{id}.xlsx"),
    ))
}

/// `GET /assessment/runs/{id}/bulletin.pdf`: the run's bulletin (通报).
async fn bulletin_pdf(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let u = s.user();
    let path = format!("/assessment/runs/{id}/bulletin.pdf");
    let run = downloadable(&app, u, id, &path).await?;
    let font = match BulletinFont::load(&app.settings.assessment.bulletin_font) {
        Ok(f) => f,
        Err(e) => return Err(fail(&app, u, &path, e).await),
    };
    let pdf = bulletin::to_pdf(&bulletin::compose(&run, &app.org), &app.org, &font)
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(attachment(
        pdf,
        "application/pdf",
        &format!("bulletin-{id}.pdf"),
        &format!("考核通报{id}.pdf"),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    a: String,
    b: String,
}

#[derive(Template)]
#[template(path = "assessment_compare.html")]
struct ComparePage {
    nav: Nav,
    a: assessment::StoredRun,
    b: assessment::StoredRun,
    c: Comparison,
}

impl ComparePage {
    fn signed(x: &f64) -> String {
        if *x > 0.0 {
            format!("+{x:.2}")
        } else {
            format!("{x:.2}")
        }
    }
    /// ↑n places gained, ↓n lost, — unchanged, empty unless in both runs.
    fn places(r: &compare::UnitChange) -> String {
        match r.rank_change() {
            Some(d) if d > 0 => format!("↑{d}"),
            Some(d) if d < 0 => format!("↓{}", -d),
            Some(_) => "—".into(),
            None => String::new(),
        }
    }
    /// The i-th indicator's score of a side, empty when the side lacks it.
    fn indicator(side: &Option<compare::Side>, i: &usize) -> String {
        side.as_ref()
            .and_then(|x| *x.indicators.get(*i)?)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
    fn indicator_change(r: &compare::UnitChange, i: &usize) -> String {
        r.indicator_change(*i)
            .map(|d| Self::signed(&d))
            .unwrap_or_default()
    }
}

/// The array under a key of a run's JSON (empty when absent), for the templates.
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map_or(&[], Vec::as_slice)
}

/// What names a sheet in a run: the officer's certificate number in an individual run (several
/// officers share a unit's region), the unit's region code otherwise.
fn sheet_key(u: &Value) -> &str {
    u["officer"]["cert_no"]
        .as_str()
        .or_else(|| u["region_code"].as_str())
        .unwrap_or_default()
}

/// A sheet's name: the unit, or the officer and their unit.
fn sheet_name(u: &Value) -> String {
    let unit = u["name"].as_str().unwrap_or_default();
    match u["officer"]["name"].as_str() {
        Some(officer) => format!("{officer}（{unit}）"),
        None => unit.to_owned(),
    }
}

/// `GET /assessment/compare?a=RUN&b=RUN`: two runs of one level side by side.
async fn compare_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<CompareQuery>,
) -> Result<Response> {
    const PATH: &str = "/assessment/compare";
    let u = s.user();
    let id = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| Error::BadRequest(format!("考核编号“{}”应为数字", v.trim())))
    };
    let a = visible_run(&app, u, id(&q.a)?, PATH).await?;
    let b = visible_run(&app, u, id(&q.b)?, PATH).await?;
    let c = compare::compare(&a.result, &b.result).map_err(Error::Unprocessable)?;
    render(ComparePage {
        nav: Nav::new(&app, &s, "assessment"),
        a,
        b,
        c,
    })
}
