//! 在线监控 pages and API: the outlet list, an outlet's charts (hourly and minute data per
//! factor, flags marked, the limit drawn), the registry's forms and import, and the
//! receiver's figures. Outlets belong to a facility's region: every list, page and write is
//! filtered by the caller's scope. The work is in `registry`, `archive` and `ingest`.

use std::collections::{BTreeMap, HashSet};

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::ledger_io::{ImportKind, ImportPage, read_uploads};
use super::pages::{Nav, filter_regions, render, require};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_core::auth::{Permission, Role, User};
use ecowarden_core::sheet::{Problem, Table};
use ecowarden_monitoring::archive::Message;
use ecowarden_monitoring::archive::query::{Filter, query};
use ecowarden_monitoring::defects;
use ecowarden_monitoring::evidence::Verdict;
use ecowarden_monitoring::ingest::stats::Limit;
use ecowarden_monitoring::registry::{
    self, AccessError, Outlet, OutletFilter, OutletRow, SaveError,
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/monitoring", get(outlets))
        .route("/monitoring/receiver", get(receiver))
        .route("/monitoring/outlets/new", get(new_outlet))
        .route("/monitoring/outlets", axum::routing::post(save_outlet))
        .route("/monitoring/outlets/{id}", get(outlet))
        .route("/monitoring/outlets/{id}/edit", get(edit_outlet))
        .route(
            "/monitoring/outlets/{id}/crc",
            axum::routing::post(set_crc_variant),
        )
        .route("/monitoring/registry/template.xlsx", get(registry_template))
        .route(
            "/monitoring/registry/import",
            get(import_form).post(import_upload),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/monitoring/outlets", get(api_outlets))
        .route("/monitoring/outlets/{id}/data", get(api_outlet_data))
        .route("/monitoring/receiver", get(api_receiver))
}

/// The outlet of `id` in the caller's scope; out of scope is refused and logged.
async fn outlet_in_scope(app: &AppState, u: &User, id: i64, path: &str) -> Result<Outlet> {
    match registry::get(&app.db, &u.scope, id).await {
        Ok(o) => Ok(o),
        Err(AccessError::NotFound) => Err(Error::NotFound("排放口不存在".into())),
        Err(AccessError::OutOfScope) => Err(refuse(app, u, path, Error::out_of_scope()).await),
        Err(AccessError::Store(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "monitoring_outlets.html")]
struct OutletsPage {
    nav: Nav,
    rows: Vec<(OutletRow, String)>,
    more: bool,
    page: i64,
    f: OutletFilter,
    regions: Vec<(String, String)>,
    query_base: String,
    can_write: bool,
}

impl OutletsPage {
    fn sel_region(&self, v: &str) -> bool {
        self.f.region.as_deref() == Some(v)
    }
    fn sel_st(&self, v: &str) -> bool {
        self.f.st.as_deref() == Some(v)
    }
    fn q_value(&self) -> &str {
        self.f.q.as_deref().unwrap_or("")
    }
}

/// `GET /monitoring`: outlets in scope, with the time of each one's last frame.
async fn outlets(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<OutletFilter>,
) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/monitoring").await?;
    let area = super::area(&app, u, f.region.as_deref(), "/monitoring").await?;
    let (rows, more) = registry::list(&app.db, &area, &f).await?;
    let seen = app
        .receiver
        .as_ref()
        .map(|r| r.stats.stations())
        .unwrap_or_default();
    let rows = rows
        .into_iter()
        .map(|r| {
            let last = seen
                .get(&r.mn)
                .map(|s| local_time(s.at_us / 1000))
                .unwrap_or_default();
            (r, last)
        })
        .collect();
    let mut query_base = String::new();
    for (k, v) in [("region", &f.region), ("st", &f.st), ("q", &f.q)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            query_base.push_str(&format!(
                "{k}={}&",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
    }
    render(OutletsPage {
        nav: Nav::new(&app, &s, "monitoring"),
        rows,
        more,
        page: f.page.unwrap_or(1).max(1),
        regions: filter_regions(&app, u),
        query_base,
        can_write: u.can(Permission::WriteLedger),
        f,
    })
}

/// `YYYY-MM-DD HH:MM:SS` in Beijing time.
fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&ecowarden_core::clock::cst())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// One factor's series for a chart: (DataTime ms, value, flag) of each message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// The emission limit, drawn on the chart.
    pub limit: Option<f64>,
    /// Which field is plotted: `ZsAvg` (converted at the reference O2) when sent, else `Avg`.
    pub field: String,
    pub hourly: Vec<(i64, f64, String)>,
    pub minute: Vec<(i64, f64, String)>,
}

/// The series of each registered factor (and any other factor sent) from the messages.
fn series(outlet: &Outlet, messages: &[Message]) -> Vec<Series> {
    let mut out: BTreeMap<String, Series> = BTreeMap::new();
    for f in &outlet.factor_specs {
        out.insert(
            f.code.clone(),
            Series {
                code: f.code.clone(),
                name: f.name().to_owned(),
                unit: f.unit.clone().unwrap_or_default(),
                limit: f
                    .emission_limit
                    .as_deref()
                    .and_then(hj212::Decimal::parse)
                    .map(hj212::Decimal::to_f64),
                field: String::new(),
                hourly: Vec::new(),
                minute: Vec::new(),
            },
        );
    }
    for m in messages {
        let hourly = match m.cn.as_str() {
            "2061" => true,
            "2051" => false,
            _ => continue,
        };
        let codes: HashSet<&str> = m.values.iter().map(|v| &*v.factor).collect();
        for code in codes.into_iter().filter(|c| !c.is_empty()) {
            let Some((field, v)) = ["ZsAvg", "Avg"]
                .iter()
                .find_map(|f| m.value(code, f).map(|v| (*f, v)))
            else {
                continue;
            };
            let Some(x) = hj212::Decimal::parse(&v.value) else {
                continue;
            };
            let s = out.entry(code.to_owned()).or_insert_with(|| Series {
                code: code.to_owned(),
                name: registry::factor_name(code).to_owned(),
                unit: String::new(),
                limit: None,
                field: String::new(),
                hourly: Vec::new(),
                minute: Vec::new(),
            });
            if s.field.is_empty() || field == "ZsAvg" {
                s.field = field.to_owned();
            }
            let point = (
                m.data_time_ms,
                x.to_f64(),
                v.flag.as_deref().unwrap_or_default().to_owned(),
            );
            if hourly {
                s.hourly.push(point);
            } else {
                s.minute.push(point);
            }
        }
    }
    out.into_values().collect()
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    /// The last day shown (YYYY-MM-DD); today by default.
    date: Option<String>,
}

#[derive(Template)]
#[template(path = "monitoring_outlet.html")]
struct OutletPage {
    nav: Nav,
    o: Outlet,
    region_name: String,
    date: String,
    chart_json: String,
    last_frame: String,
    can_write: bool,
    messages: usize,
    /// Frames rejected since the receiver started because their CRC was this variant.
    crc_suspect: Option<(hj212::CrcVariant, u64, String)>,
    /// A provincial administrator may set the CRC variant.
    can_set_crc: bool,
    /// The latest frames of this MN the receiver or an import refused.
    defects: Vec<DefectRow>,
}

/// One row of 报文缺陷.
struct DefectRow {
    at: String,
    kind: &'static str,
    label: &'static str,
    offset: u64,
    message: String,
    /// The evidence record (`segment:offset`).
    evidence: String,
}

impl OutletPage {
    fn crc_label(&self) -> &'static str {
        registry::crc_variant_label(self.o.row.crc_variant())
    }

    fn crc_variants(&self) -> Vec<(&'static str, &'static str, bool)> {
        hj212::CrcVariant::ALL
            .into_iter()
            .map(|v| {
                let label = registry::crc_variant_label(v);
                (v.as_str(), label, v == self.o.row.crc_variant())
            })
            .collect()
    }

    fn crc_suspect_label(&self) -> &'static str {
        self.crc_suspect
            .as_ref()
            .map_or("", |(v, _, _)| registry::crc_variant_label(*v))
    }
}

/// Days of hourly data and of minute data an outlet page shows, ending on its date.
const HOURLY_DAYS: u64 = 7;
const MINUTE_DAYS: u64 = 1;

/// `GET /monitoring/outlets/{id}?date=`: the registry entry and a chart per factor.
async fn outlet(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DayQuery>,
) -> Result<Response> {
    let path = format!("/monitoring/outlets/{id}");
    let u = s.user();
    require(&app, u, Permission::ReadLedger, &path).await?;
    let o = outlet_in_scope(&app, u, id, &path).await?;
    let date = match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse::<chrono::NaiveDate>()
            .map_err(|_| Error::BadRequest(format!("日期“{d}”应为 YYYY-MM-DD")))?,
        None => ecowarden_core::clock::today(),
    };
    let end = ecowarden_core::clock::day_start_ms(date + chrono::Days::new(1));
    let messages = read_archive(
        &app,
        Filter {
            mns: Some(HashSet::from([o.row.mn.clone()])),
            cns: Some(HashSet::from(["2061".into(), "2051".into()])),
            from_ms: Some(end - HOURLY_DAYS as i64 * 86_400_000),
            to_ms: Some(end),
            ..Filter::default()
        },
    )
    .await?;
    let minute_from = end - MINUTE_DAYS as i64 * 86_400_000;
    let kept: Vec<Message> = messages
        .into_iter()
        .filter(|m| m.cn == "2061" || m.data_time_ms >= minute_from)
        .collect();
    let chart_json = serde_json::to_string(&series(&o, &kept))
        .expect("series serialise")
        .replace("</", "<\\/");
    let last_frame = app
        .receiver
        .as_ref()
        .and_then(|r| {
            r.stats
                .stations()
                .get(&o.row.mn)
                .map(|s| local_time(s.at_us / 1000))
        })
        .unwrap_or_default();
    let crc_suspect = app
        .receiver
        .as_ref()
        .and_then(|r| r.stats.crc_suspect_of(&o.row.mn))
        .filter(|s| s.variant != o.row.crc_variant())
        .map(|s| (s.variant, s.frames, local_time(s.last_us / 1000)));
    let defects = defects::latest(&app.db, &o.row.mn, defects::PAGE_DEFECTS)
        .await?
        .into_iter()
        .map(|d| DefectRow {
            at: local_time(d.received_us / 1000),
            kind: d.verdict.as_str(),
            label: d.verdict.label(),
            offset: d.offset,
            message: d.message,
            evidence: d.evidence.to_string(),
        })
        .collect();
    render(OutletPage {
        defects,
        crc_suspect,
        can_set_crc: u.role == Role::ProvincialAdmin,
        nav: Nav::new(&app, &s, "monitoring"),
        region_name: app.org.name(&o.row.region_code).to_owned(),
        date: date.to_string(),
        chart_json,
        last_frame,
        can_write: u.can(Permission::WriteLedger),
        messages: kept.len(),
        o,
    })
}

#[derive(Debug, Deserialize)]
pub struct CrcForm {
    crc_variant: String,
}

/// `POST /monitoring/outlets/{id}/crc`: a provincial administrator sets which CRC the
/// receiver accepts from the outlet's logger (audited). Until then frames with a swapped
/// MODBUS CRC stay rejected: accepting them is a decision about evidence, never automatic.
async fn set_crc_variant(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<CrcForm>, FormRejection>,
) -> Result<Response> {
    let path = format!("/monitoring/outlets/{id}/crc");
    let u = s.user();
    if u.role != Role::ProvincialAdmin {
        return Err(refuse(&app, u, &path, Error::no_permission()).await);
    }
    let Form(f) = form.map_err(super::form_rejection)?;
    let variant = hj212::CrcVariant::from_name(&f.crc_variant)
        .ok_or_else(|| Error::BadRequest(format!("未知的 CRC 类型“{}”", f.crc_variant)))?;
    outlet_in_scope(&app, u, id, &path).await?;
    match registry::set_crc_variant(&app.db, &u.scope, &u.username, id, variant).await {
        Ok(()) => Ok(Redirect::to(&format!("/monitoring/outlets/{id}")).into_response()),
        Err(AccessError::Store(e)) => Err(e.into()),
        Err(_) => Err(Error::NotFound("排放口不存在".into())),
    }
}

/// Reads the archive (and the log's tail) off the async threads.
async fn read_archive(app: &AppState, filter: Filter) -> Result<Vec<Message>> {
    let dir = app.settings.data_dir.clone();
    tokio::task::spawn_blocking(move || query(&dir, &filter))
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .map_err(Error::Internal)
}

#[derive(Template)]
#[template(path = "monitoring_outlet_form.html")]
struct OutletForm {
    nav: Nav,
    /// The outlet being edited (`None`: a new one).
    id: Option<i64>,
    f: OutletFields,
    regions: Vec<(String, String)>,
    problems: Vec<Problem>,
}

/// The fields of the outlet form. Factors are one a line:
/// `factor,limit,unit,range,detection_limit,o2_ref`, the registry file's last six columns.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutletFields {
    mn: String,
    password: String,
    st: String,
    outlet_name: String,
    facility_name: String,
    credit_code: String,
    region_code: String,
    industry: String,
    factors: String,
}

impl OutletForm {
    fn sel_region(&self, v: &str) -> bool {
        self.f.region_code == v
    }

    /// "第2个因子 " for a problem of a factor line (row 1 of the form's table is its header).
    fn factor_line(&self, p: &Problem) -> String {
        match p.row {
            Some(r) if r > 1 => format!("第{}个因子 ", r - 1),
            _ => String::new(),
        }
    }
}

/// `GET /monitoring/outlets/new`.
async fn new_outlet(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(
        &app,
        s.user(),
        Permission::WriteLedger,
        "/monitoring/outlets/new",
    )
    .await?;
    render(OutletForm {
        nav: Nav::new(&app, &s, "monitoring"),
        id: None,
        f: OutletFields {
            st: "31".into(),
            factors: "a21026,35,mg/m3,0-500,3,6\na21002,50,mg/m3,0-500,3,6\na34013,10,mg/m3,0-200,1,6\na19001,,%,0-25,,".into(),
            ..OutletFields::default()
        },
        regions: filter_regions(&app, s.user()),
        problems: Vec::new(),
    })
}

/// `GET /monitoring/outlets/{id}/edit`.
async fn edit_outlet(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let path = format!("/monitoring/outlets/{id}/edit");
    let u = s.user();
    require(&app, u, Permission::WriteLedger, &path).await?;
    let o = outlet_in_scope(&app, u, id, &path).await?;
    let factors: Vec<String> = o
        .factor_specs
        .iter()
        .map(|f| {
            let range = match (&f.range_low, &f.range_high) {
                (Some(l), Some(h)) => format!("{l}-{h}"),
                (None, Some(h)) => h.clone(),
                _ => String::new(),
            };
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            [
                f.code.clone(),
                opt(&f.emission_limit),
                opt(&f.unit),
                range,
                opt(&f.detection_limit),
                opt(&f.o2_ref),
            ]
            .join(",")
        })
        .collect();
    render(OutletForm {
        nav: Nav::new(&app, &s, "monitoring"),
        id: Some(id),
        f: OutletFields {
            mn: o.row.mn.clone(),
            password: o.password.clone(),
            st: o.row.st.clone(),
            outlet_name: o.row.name.clone(),
            facility_name: o.row.facility_name.clone(),
            credit_code: o.row.credit_code.clone(),
            region_code: o.row.region_code.clone(),
            industry: o.row.industry.clone(),
            factors: factors.join("\n"),
        },
        regions: filter_regions(&app, u),
        problems: Vec::new(),
    })
}

/// The form as a registry table: one row per factor line, outlet fields repeated.
fn form_table(f: &OutletFields) -> Table {
    let mut rows = vec![(
        1,
        registry::HEADERS
            .iter()
            .map(|h| Ok((*h).to_owned()))
            .collect(),
    )];
    for (i, line) in f
        .factors
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        let mut cells: Vec<_> = [
            &f.mn,
            &f.password,
            &f.facility_name,
            &f.credit_code,
            &f.region_code,
            &f.outlet_name,
            &f.industry,
            &f.st,
        ]
        .iter()
        .map(|v| Ok(v.trim().to_owned()))
        .collect();
        cells.extend(line.split(',').map(|c| Ok(c.trim().to_owned())));
        rows.push((i as u32 + 2, cells));
    }
    Table { first_col: 0, rows }
}

/// `POST /monitoring/outlets`: creates or replaces the outlet of the form's MN in the caller's
/// scope, then shows it (303); problems re-show the form (422).
async fn save_outlet(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<OutletFields>, FormRejection>,
) -> Result<Response> {
    const PATH: &str = "/monitoring/outlets";
    let u = s.user();
    require(&app, u, Permission::WriteLedger, PATH).await?;
    let Form(f) = form.map_err(super::form_rejection)?;
    // Scope first: where the outlet is to be, and where it is now if it exists.
    super::area(&app, u, Some(&f.region_code), PATH).await?;
    let existing = match registry::by_mn(&app.db, &u.scope, f.mn.trim()).await {
        Ok(o) => Some(o.row.id),
        Err(AccessError::NotFound) => None,
        Err(AccessError::OutOfScope) => {
            return Err(refuse(&app, u, PATH, Error::out_of_scope()).await);
        }
        Err(AccessError::Store(e)) => return Err(e.into()),
    };
    let result = match registry::parse_table("表单", &form_table(&f)) {
        Ok(outlets) => {
            registry::save(&app.db, &app.org, &u.scope, &u.username, "表单", &outlets).await
        }
        Err(p) => Err(SaveError::Rejected(p)),
    };
    match result {
        Ok(_) => {
            let id = match existing {
                Some(id) => id,
                None => {
                    registry::by_mn(&app.db, &u.scope, f.mn.trim())
                        .await
                        .map_err(|_| Error::NotFound("排放口不存在".into()))?
                        .row
                        .id
                }
            };
            Ok(Redirect::to(&format!("/monitoring/outlets/{id}")).into_response())
        }
        Err(SaveError::Rejected(problems)) => {
            let page = OutletForm {
                nav: Nav::new(&app, &s, "monitoring"),
                id: existing,
                regions: filter_regions(&app, u),
                f,
                problems,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

/// `GET /monitoring/registry/template.xlsx`: the registry's columns with their Chinese names.
async fn registry_template(_s: CurrentUser) -> Response {
    super::ledger_io::xlsx(
        registry::template_xlsx(),
        "registry-template.xlsx",
        "排放口登记模板.xlsx",
    )
}

/// `GET /monitoring/registry/import`.
async fn import_form(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    render(ImportPage::new(&app, &s, ImportKind::Registry).await?)
}

/// `POST /monitoring/registry/import`: a registry file (.xlsx or CSV) in the caller's scope,
/// all or nothing; the summary, or every problem by row and column (422).
async fn import_upload(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let page = ImportPage::new(&app, &s, ImportKind::Registry).await?;
    let uploads = read_uploads(form).await?;
    let Some(file) = uploads.into_iter().next() else {
        return page.no_file();
    };
    let parsed = ecowarden_core::sheet::read_table(&file.bytes)
        .map_err(|m| {
            vec![Problem {
                file: file.name.clone(),
                row: None,
                column: None,
                message: m,
            }]
        })
        .and_then(|t| registry::parse_table(&file.name, &t));
    let outlets = match parsed {
        Ok(outlets) => outlets,
        Err(problems) => return page.answer(Err(problems)),
    };
    let u = s.user();
    let outcome = match registry::save(
        &app.db,
        &app.org,
        &u.scope,
        &u.username,
        &file.name,
        &outlets,
    )
    .await
    {
        Ok(done) => Ok(done.summary()),
        Err(SaveError::Rejected(problems)) => Err(problems),
        Err(SaveError::Store(e)) => return Err(e.into()),
    };
    page.answer(outcome)
}

/// The receiver's figures, limited to the caller's scope where they name stations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiverOut {
    /// False when no receiver runs in this server process.
    pub running: bool,
    pub open_connections: u64,
    pub connections_accepted: u64,
    /// Frames per second over the last 10 seconds.
    pub frames_per_second: f64,
    /// Frames per second, one a second, for the last minute.
    pub history: Vec<f64>,
    pub frames: u64,
    pub acks: u64,
    /// (verdict, label, frames).
    pub verdicts: Vec<(String, String, u64)>,
    /// (limit, times hit).
    pub limits: Vec<(String, u64)>,
    /// Outlets in scope by their last frame, latest first.
    pub stations: Vec<StationOut>,
    /// Outlets in scope silent for longer than `silent_after_secs` (or never heard).
    pub silent: Vec<StationOut>,
    pub silent_after_secs: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StationOut {
    pub outlet_id: i64,
    pub mn: String,
    pub facility_name: String,
    pub outlet_name: String,
    pub region_code: String,
    /// `YYYY-MM-DD HH:MM:SS` (Beijing), empty if never heard since the receiver started.
    pub last_frame: String,
    pub last_cn: String,
    pub peer: String,
    pub frames: u64,
}

/// Rows of the station tables at most.
const STATION_ROWS: usize = 200;

async fn receiver_figures(app: &AppState, u: &User) -> Result<ReceiverOut> {
    let silent_after = app.settings.ingest.silent_after_secs;
    let Some(r) = &app.receiver else {
        return Ok(ReceiverOut {
            running: false,
            open_connections: 0,
            connections_accepted: 0,
            frames_per_second: 0.0,
            history: Vec::new(),
            frames: 0,
            acks: 0,
            verdicts: Vec::new(),
            limits: Vec::new(),
            stations: Vec::new(),
            silent: Vec::new(),
            silent_after_secs: silent_after,
        });
    };
    use std::sync::atomic::Ordering::Relaxed;
    let st = &r.stats;
    let seen = st.stations();
    let now_us = ecowarden_monitoring::ingest::now_us();
    let mut heard = Vec::new();
    let mut silent = Vec::new();
    for o in registry::all_in_scope(&app.db, &u.scope).await? {
        let s = seen.get(&o.mn);
        let row = StationOut {
            outlet_id: o.id,
            mn: o.mn.clone(),
            facility_name: o.facility_name.clone(),
            outlet_name: o.name.clone(),
            region_code: o.region_code.clone(),
            last_frame: s.map(|s| local_time(s.at_us / 1000)).unwrap_or_default(),
            last_cn: s.map(|s| s.cn.clone()).unwrap_or_default(),
            peer: s.map(|s| s.peer.clone()).unwrap_or_default(),
            frames: s.map_or(0, |s| s.frames),
        };
        let at = s.map_or(0, |s| s.at_us);
        if now_us - at > silent_after as i64 * 1_000_000 {
            silent.push(row);
        } else {
            heard.push((at, row));
        }
    }
    heard.sort_by_key(|h| std::cmp::Reverse(h.0));
    Ok(ReceiverOut {
        running: true,
        open_connections: st.open.load(Relaxed),
        connections_accepted: st.accepted_connections.load(Relaxed),
        frames_per_second: st.rate(std::time::Duration::from_secs(10)),
        history: st.history(),
        frames: st.frames.load(Relaxed),
        acks: st.acks.load(Relaxed),
        verdicts: Verdict::ALL
            .iter()
            .map(|v| {
                (
                    v.as_str().to_owned(),
                    v.label().to_owned(),
                    st.verdict_count(*v),
                )
            })
            .collect(),
        limits: Limit::ALL
            .iter()
            .map(|l| (l.label().to_owned(), st.limit_count(*l)))
            .collect(),
        stations: heard
            .into_iter()
            .take(STATION_ROWS)
            .map(|(_, r)| r)
            .collect(),
        silent: silent.into_iter().take(STATION_ROWS).collect(),
        silent_after_secs: silent_after,
    })
}

#[derive(Template)]
#[template(path = "monitoring_receiver.html")]
struct ReceiverPage {
    nav: Nav,
    r: ReceiverOut,
    chart_json: String,
}

impl ReceiverPage {
    fn rejected(&self) -> u64 {
        self.r
            .verdicts
            .iter()
            .filter(|v| v.0 != "accepted")
            .map(|v| v.2)
            .sum()
    }
    fn fps(&self) -> String {
        format!("{:.1}", self.r.frames_per_second)
    }
}

/// `GET /monitoring/receiver`.
async fn receiver(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    let u = s.user();
    require(&app, u, Permission::ReadLedger, "/monitoring/receiver").await?;
    let r = receiver_figures(&app, u).await?;
    let chart_json = serde_json::json!({
        "history": r.history,
        "verdicts": r.verdicts.iter().filter(|v| v.2 > 0).map(|v| serde_json::json!({"name": v.1, "value": v.2})).collect::<Vec<_>>(),
    })
    .to_string()
    .replace("</", "<\\/");
    render(ReceiverPage {
        nav: Nav::new(&app, &s, "monitoring"),
        r,
        chart_json,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutletList {
    items: Vec<OutletRow>,
    page: i64,
    more: bool,
}

/// Outlets in the caller's scope.
#[utoipa::path(get, path = "/api/v1/monitoring/outlets", tag = "monitoring",
    params(OutletFilter), responses((status = 200, body = OutletList)))]
pub async fn api_outlets(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<OutletFilter>,
) -> Result<Json<OutletList>> {
    let u = s.user();
    const PATH: &str = "/api/v1/monitoring/outlets";
    require(&app, u, Permission::ReadLedger, PATH).await?;
    let area = super::area(&app, u, f.region.as_deref(), PATH).await?;
    let (items, more) = registry::list(&app.db, &area, &f).await?;
    Ok(Json(OutletList {
        items,
        page: f.page.unwrap_or(1).max(1),
        more,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DataQuery {
    /// Only this factor (e.g. a21026).
    factor: Option<String>,
    /// Only this command: 2011 real-time, 2051 minute, 2061 hourly, 2031 daily.
    cn: Option<String>,
    /// First DataTime date, YYYY-MM-DD (inclusive); default: the last day. At most 31 days
    /// ending at `to` are answered: an earlier `from` answers those 31 days, a `from` after
    /// `to` none.
    from: Option<chrono::NaiveDate>,
    /// Last DataTime date, YYYY-MM-DD (inclusive); default: today.
    to: Option<chrono::NaiveDate>,
}

/// One archived message of an outlet.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageOut {
    mn: String,
    qn: Option<String>,
    cn: String,
    data_time: String,
    /// factor → field → value as sent.
    #[schema(value_type = Object)]
    values: BTreeMap<String, BTreeMap<String, String>>,
}

/// Days of `DataTime` one request answers at most (the last of the asked span). A longer span
/// is cut rather than refused: JSON Schema cannot say a bound between two parameters, and a
/// request the document allows must not be refused.
const MAX_DATA_DAYS: i64 = 31;

/// An outlet's data by factor, command and `DataTime`, from the archive and what the receiver
/// got since the last compaction.
#[utoipa::path(get, path = "/api/v1/monitoring/outlets/{id}/data", tag = "monitoring",
    params(("id" = i64, Path), DataQuery), responses((status = 200, body = [MessageOut])))]
pub async fn api_outlet_data(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DataQuery>,
) -> Result<Json<Vec<MessageOut>>> {
    let path = format!("/api/v1/monitoring/outlets/{id}/data");
    let u = s.user();
    require(&app, u, Permission::ReadLedger, &path).await?;
    let o = outlet_in_scope(&app, u, id, &path).await?;
    let to = q.to.unwrap_or_else(ecowarden_core::clock::today);
    let from = q
        .from
        .unwrap_or(to)
        .max(to - chrono::Days::new(MAX_DATA_DAYS as u64 - 1));
    if from > to {
        return Ok(Json(Vec::new()));
    }
    let messages = read_archive(
        &app,
        Filter {
            mns: Some(HashSet::from([o.row.mn.clone()])),
            cns: q.cn.map(|c| HashSet::from([c])),
            factor: q.factor,
            from_ms: Some(ecowarden_core::clock::day_start_ms(from)),
            to_ms: Some(ecowarden_core::clock::day_start_ms(
                to + chrono::Days::new(1),
            )),
        },
    )
    .await?;
    Ok(Json(
        messages
            .iter()
            .map(|m| MessageOut {
                mn: m.mn.clone(),
                qn: m.qn.clone(),
                cn: m.cn.clone(),
                data_time: m.data_time_rfc3339(),
                values: m
                    .values_by_factor()
                    .into_iter()
                    .map(|(f, vs)| {
                        (
                            f.to_owned(),
                            vs.into_iter()
                                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                                .collect(),
                        )
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// The receiver's figures (stations limited to the caller's scope).
#[utoipa::path(get, path = "/api/v1/monitoring/receiver", tag = "monitoring",
    responses((status = 200, body = ReceiverOut)))]
pub async fn api_receiver(
    State(app): State<AppState>,
    s: CurrentUser,
) -> Result<Json<ReceiverOut>> {
    let u = s.user();
    require(
        &app,
        u,
        Permission::ReadLedger,
        "/api/v1/monitoring/receiver",
    )
    .await?;
    Ok(Json(receiver_figures(&app, u).await?))
}
