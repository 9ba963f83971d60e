//! The monitoring registry (在线监控点位登记): facilities, their outlets, the data logger
//! that reports each outlet (HJ 212 MN, password, ST) and, per factor, the emission limit,
//! unit, instrument range, detection limit and reference O2 that screening needs.
//!
//! The receiver only accepts data from a registered MN with the right password, so this is
//! also the receiver's allow-list ([`stations`]). Every change goes through one write
//! transaction with its audit entries; a registry file is imported all or nothing.
//!
//! The registry file has one row per outlet × factor with exactly the headers of
//! [`HEADERS`]; an empty cell means "not applicable".

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

use ecowarden_core::audit_log::{Appender, Change};
use ecowarden_core::clock;
use ecowarden_core::ids::CreditCode;
use ecowarden_core::org::{Level, Org};
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::sheet::{Cell, Column, Problem, Table, column_letter};
use ecowarden_core::store::{Db, Result, Sql, StoreError, in_region, placeholders};

/// The registry file's columns, in the contract's order.
pub const HEADERS: [&str; 14] = [
    "mn",
    "password",
    "facility_name",
    "credit_code",
    "region_code",
    "outlet_name",
    "industry",
    "st",
    "factor",
    "limit",
    "unit",
    "range",
    "detection_limit",
    "o2_ref",
];

/// The columns' Chinese names, in [`HEADERS`] order: the template's header row. A file may
/// name each column either way.
pub const LABELS: [&str; 14] = [
    "MN号",
    "访问密码",
    "企业名称",
    "统一社会信用代码",
    "行政区划代码",
    "排放口名称",
    "行业",
    "系统编码",
    "监测因子",
    "排放限值",
    "单位",
    "量程",
    "检出限",
    "基准氧含量",
];

/// The column a header names, by its code name or its Chinese name.
pub fn column_of(header: &str) -> Option<usize> {
    HEADERS
        .iter()
        .position(|h| *h == header)
        .or_else(|| LABELS.iter().position(|l| *l == header))
}

/// The registry template: the Chinese header row, codes as text so Excel keeps their leading
/// zeros, and one example outlet line to copy.
pub fn template_xlsx() -> Vec<u8> {
    let build = || -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let text = rust_xlsxwriter::Format::new().set_num_format("@");
        let ws = wb.add_worksheet().set_name("排放口登记")?;
        for (col, label) in LABELS.iter().enumerate() {
            let col = col as u16;
            ws.write_string_with_format(0, col, *label, &bold)?;
            ws.set_column_width(col, 16)?;
            ws.set_column_format(col, &text)?;
        }
        let example = [
            "88888880000001",
            "123456",
            "福州示例电镀有限公司",
            "91350103MA2YK8LQ14",
            "350103",
            "废水总排口",
            "电镀",
            "32",
            "w01018",
            "50",
            "mg/L",
            "0-500",
            "4",
            "",
        ];
        for (col, v) in example.iter().enumerate() {
            ws.write_string(1, col as u16, *v)?;
        }
        ws.set_freeze_panes(1, 0)?;
        wb.save_to_buffer()
    };
    build().expect("a fixed template within Excel's limits")
}

/// What the registry knows of one factor of an outlet. Figures are exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FactorSpec {
    pub code: String,
    pub emission_limit: Option<String>,
    pub unit: Option<String>,
    pub range_low: Option<String>,
    pub range_high: Option<String>,
    pub detection_limit: Option<String>,
    pub o2_ref: Option<String>,
}

impl FactorSpec {
    /// The factor's name from the HJ 212 code table, or the code itself.
    pub fn name(&self) -> &str {
        factor_name(&self.code)
    }

    /// "0–500", "≤500" or "" for the instrument range.
    pub fn range_label(&self) -> String {
        match (&self.range_low, &self.range_high) {
            (Some(l), Some(h)) => format!("{l}–{h}"),
            (None, Some(h)) => format!("≤{h}"),
            _ => String::new(),
        }
    }
}

/// The Chinese name of a factor code (`a21026` → 二氧化硫), or the code when unknown.
pub fn factor_name(code: &str) -> &str {
    hj212::codes::factor(code).map_or(code, |f| f.name_zh)
}

/// The facility an outlet belongs to, as a registry file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilitySpec {
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub industry: String,
}

/// An outlet, its data logger and its factors, as a registry file or the edit form gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutletSpec {
    pub mn: String,
    pub password: String,
    pub st: String,
    pub name: String,
    pub facility: FacilitySpec,
    pub factors: Vec<FactorSpec>,
}

/// What the receiver needs to know about a data logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    pub outlet_id: i64,
    pub password: String,
    pub st: String,
    pub region_code: String,
    pub city_code: String,
    /// The CRC the logger is known to send (set by a provincial administrator).
    pub crc_variant: hj212::CrcVariant,
}

/// The registry snapshot the receiver judges frames against and the compactor partitions by:
/// MN → station.
pub type Stations = HashMap<String, Station>;

/// Every registered data logger by MN: the receiver's allow-list.
pub async fn stations(db: &Db) -> Result<Stations> {
    let rows = sqlx::query(
        "SELECT o.mn, o.id, o.password, o.st, f.region_code, f.city_code, o.crc_variant \
         FROM outlets o JOIN facilities f ON f.id = o.facility_id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                Station {
                    outlet_id: r.try_get(1)?,
                    password: r.try_get(2)?,
                    st: r.try_get(3)?,
                    region_code: r.try_get(4)?,
                    city_code: r.try_get(5)?,
                    crc_variant: crc_variant(&r.try_get::<String, _>(6)?),
                },
            ))
        })
        .collect()
}

/// An outlet as lists and pages show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutletRow {
    pub id: i64,
    pub name: String,
    pub mn: String,
    pub st: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub credit_code: String,
    pub industry: String,
    pub region_code: String,
    pub city_code: String,
    pub factors: i64,
    pub updated_at: String,
    /// `hj212` or `modbus_swapped` ([`hj212::CrcVariant::as_str`]).
    pub crc_variant: String,
}

in_region!(OutletRow);

impl OutletRow {
    /// 废气 / 废水 / the ST code.
    pub fn kind_label(&self) -> &str {
        st_label(&self.st)
    }

    /// The CRC the receiver accepts from this outlet's logger.
    pub fn crc_variant(&self) -> hj212::CrcVariant {
        crc_variant(&self.crc_variant)
    }
}

/// A stored CRC variant; anything unknown reads as the standard's, so nothing is accepted
/// that an administrator did not set.
fn crc_variant(name: &str) -> hj212::CrcVariant {
    hj212::CrcVariant::from_name(name).unwrap_or_default()
}

/// What the pages call a CRC variant.
pub fn crc_variant_label(v: hj212::CrcVariant) -> &'static str {
    match v {
        hj212::CrcVariant::Hj212 => "HJ 212 标准 CRC",
        hj212::CrcVariant::ModbusSwapped => "MODBUS CRC（字节交换）",
    }
}

/// Sets the CRC variant the receiver accepts from an outlet's logger, in the caller's scope,
/// audited (`set_crc_variant`, before and after). Only a provincial administrator may, which
/// the caller checks: accepting a non-standard CRC is a decision about evidence.
pub async fn set_crc_variant(
    db: &Db,
    scope: &Scope,
    actor: &str,
    id: i64,
    variant: hj212::CrcVariant,
) -> std::result::Result<(), AccessError> {
    let before = get(db, scope, id).await?.row.crc_variant;
    let mut w = db.write().await?;
    sqlx::query("UPDATE outlets SET crc_variant = $1, updated_at = $2 WHERE id = $3")
        .bind(variant.as_str())
        .bind(clock::now_rfc3339())
        .bind(id)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::from)?;
    ecowarden_core::audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "set_crc_variant",
            entity: "outlet",
            entity_id: id.to_string(),
            before: Some(serde_json::json!({ "crc_variant": before })),
            after: Some(serde_json::json!({ "crc_variant": variant.as_str() })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

/// What an ST code monitors, in the words of the pages.
pub fn st_label(st: &str) -> &str {
    match st {
        "31" => "废气",
        "32" => "废水",
        _ => hj212::codes::system(st).map_or(st, |s| s.name_zh),
    }
}

const OUTLET_SELECT: &str = "SELECT o.id, o.name, o.mn, o.st, o.facility_id, f.name AS facility_name, \
     f.credit_code, f.industry, f.region_code, f.city_code, \
     (SELECT COUNT(*) FROM outlet_factors x WHERE x.outlet_id = o.id) AS factors, o.updated_at, \
     o.crc_variant \
     FROM outlets o JOIN facilities f ON f.id = o.facility_id WHERE 1=1";

/// Filters of the outlet list; empty strings mean "any", as HTML forms send them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutletFilter {
    /// A city or county code inside the caller's scope.
    pub region: Option<String>,
    /// 31 flue gas, 32 wastewater.
    pub st: Option<String>,
    /// MN, outlet name or facility name, prefix match.
    pub q: Option<String>,
    /// 1-based page number.
    pub page: Option<i64>,
}

pub const PAGE_SIZE: i64 = 50;

/// One page of outlets in an area (`f.region` resolved by the caller), by region and
/// facility; and whether there is a next page.
pub async fn list(db: &Db, area: &Area, f: &OutletFilter) -> Result<(Vec<OutletRow>, bool)> {
    let mut sql = Sql::new(OUTLET_SELECT);
    sql.scope(area, "f");
    if let Some(st) = f.st.as_deref().filter(|s| !s.is_empty()) {
        sql.push(" AND o.st = ").bind(st);
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let like = format!("{}%", q.replace(['%', '_'], ""));
        sql.push(" AND (o.mn LIKE ")
            .bind(like.clone())
            .push(" OR o.name LIKE ")
            .bind(like.clone())
            .push(" OR f.name LIKE ")
            .bind(like)
            .push(")");
    }
    sql.fetch_page(db, "f.region_code, f.name, o.name", f.page, PAGE_SIZE)
        .await
}

/// Outlets in scope by MN, for the receiver page (which stations are silent).
pub async fn all_in_scope(db: &Db, scope: &Scope) -> Result<Vec<OutletRow>> {
    let mut sql = Sql::new(OUTLET_SELECT);
    sql.scope(scope, "f");
    sql.push(" ORDER BY f.region_code, f.name, o.name");
    sql.fetch_all(db).await
}

/// An outlet with its password and factors.
#[derive(Debug, Clone, Serialize)]
pub struct Outlet {
    #[serde(flatten)]
    pub row: OutletRow,
    #[serde(skip)]
    pub password: String,
    pub factor_specs: Vec<FactorSpec>,
}

/// Why an outlet could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("排放口不存在")]
    NotFound,
    /// The outlet exists but lies outside the caller's scope.
    #[error("无权访问其他地区的排放口")]
    OutOfScope,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AccessError::NotFound,
            StoreError::OutOfScope => AccessError::OutOfScope,
            e => AccessError::Store(e),
        }
    }
}

/// An outlet in scope.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> std::result::Result<Outlet, AccessError> {
    let mut sql = Sql::new(OUTLET_SELECT);
    sql.push(" AND o.id = ").bind(id);
    let row: OutletRow = sql.fetch_in_scope(db, scope).await?;
    let password: String = sqlx::query_scalar("SELECT password FROM outlets WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await
        .map_err(StoreError::from)?;
    let factor_specs = factors(db, id).await?;
    Ok(Outlet {
        row,
        password,
        factor_specs,
    })
}

/// The factors of an outlet, by code.
pub async fn factors(db: &Db, outlet_id: i64) -> Result<Vec<FactorSpec>> {
    Ok(sqlx::query_as(
        "SELECT code, emission_limit, unit, range_low, range_high, detection_limit, o2_ref \
         FROM outlet_factors WHERE outlet_id = $1 ORDER BY code",
    )
    .bind(outlet_id)
    .fetch_all(db.pool())
    .await?)
}

/// An outlet by MN in scope (the archive and its pages are keyed by MN).
pub async fn by_mn(db: &Db, scope: &Scope, mn: &str) -> std::result::Result<Outlet, AccessError> {
    let id: i64 = sqlx::query_scalar("SELECT id FROM outlets WHERE mn = $1")
        .bind(mn)
        .fetch_optional(db.pool())
        .await
        .map_err(StoreError::from)?
        .ok_or(AccessError::NotFound)?;
    get(db, scope, id).await
}

/// What an import or a save wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub facilities_created: usize,
    pub outlets_created: usize,
    pub outlets_updated: usize,
    pub outlets_unchanged: usize,
    pub factors: usize,
}

impl Imported {
    /// "新增企业 2 家，新增排放口 3 个，更新 1 个，未变 0 个（监测因子 24 项）"
    pub fn summary(&self) -> String {
        format!(
            "新增企业 {} 家，新增排放口 {} 个，更新 {} 个，未变 {} 个（监测因子 {} 项）",
            self.facilities_created,
            self.outlets_created,
            self.outlets_updated,
            self.outlets_unchanged,
            self.factors
        )
    }
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("登记信息有 {} 处错误，未写入任何内容", .0.len())]
    Rejected(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SaveError {
    fn from(e: sqlx::Error) -> Self {
        SaveError::Store(e.into())
    }
}

/// Reads a registry table (the first sheet of a workbook, or CSV) into outlets, grouping the
/// outlet × factor rows by MN. Every problem of the file at once, or the outlets.
pub fn parse_table(
    file: &str,
    table: &Table,
) -> std::result::Result<Vec<OutletSpec>, Vec<Problem>> {
    let mut problems = Vec::new();
    let whole = |message: String| Problem {
        file: file.to_owned(),
        row: None,
        column: None,
        message,
    };
    let Some((header_row, header)) = table.rows.first() else {
        return Err(vec![whole(format!(
            "文件是空的，第1行应为列名：{}",
            LABELS.join(",")
        ))]);
    };
    let mut columns = [None; HEADERS.len()];
    for (i, cell) in header.iter().enumerate() {
        let text = cell.as_deref().unwrap_or("").trim();
        let col = table.first_col + i as u32;
        let at = |message: String| Problem {
            file: file.to_owned(),
            row: Some(*header_row),
            column: Some(Column {
                letter: Some(column_letter(col)),
                header: text.to_owned(),
            }),
            message,
        };
        match column_of(text) {
            _ if text.is_empty() => {}
            Some(k) if columns[k].is_some() => problems.push(at("列名重复".into())),
            Some(k) => columns[k] = Some(i),
            None => problems.push(at(format!("未知的列名，应为：{}", LABELS.join(",")))),
        }
    }
    for (k, c) in columns.iter().enumerate() {
        if c.is_none() {
            problems.push(Problem {
                file: file.to_owned(),
                row: Some(*header_row),
                column: Some(Column {
                    letter: None,
                    header: LABELS[k].to_owned(),
                }),
                message: "缺少此列".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let columns = columns.map(|c| c.expect("checked above"));

    // MN → (first row, outlet), in the file's order.
    let mut outlets: Vec<(u32, OutletSpec)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows[1..] {
        if cells
            .iter()
            .all(|c| c.as_deref().is_ok_and(|s| s.trim().is_empty()))
        {
            continue;
        }
        let mut cell = RowReader {
            file,
            row: *row,
            first_col: table.first_col,
            cells,
            columns: &columns,
            problems: &mut problems,
        };
        let Some((spec, factor)) = cell.outlet_row() else {
            continue;
        };
        match index.get(&spec.mn) {
            None => {
                index.insert(spec.mn.clone(), outlets.len());
                let mut spec = spec;
                spec.factors.push(factor);
                outlets.push((*row, spec));
            }
            Some(&i) => {
                let (first, existing) = &mut outlets[i];
                let differs = [
                    ("password", existing.password != spec.password),
                    (
                        "facility_name",
                        existing.facility.name != spec.facility.name,
                    ),
                    (
                        "credit_code",
                        existing.facility.credit_code != spec.facility.credit_code,
                    ),
                    (
                        "region_code",
                        existing.facility.region_code != spec.facility.region_code,
                    ),
                    ("outlet_name", existing.name != spec.name),
                    (
                        "industry",
                        existing.facility.industry != spec.facility.industry,
                    ),
                    ("st", existing.st != spec.st),
                ];
                for (key, _) in differs.iter().filter(|(_, d)| *d) {
                    cell.problem(key, format!("与第{first}行同一MN的取值不一致"));
                }
                if existing.factors.iter().any(|f| f.code == factor.code) {
                    cell.problem(
                        "factor",
                        format!("MN“{}”的因子“{}”重复", spec.mn, factor.code),
                    );
                } else {
                    existing.factors.push(factor);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(outlets.into_iter().map(|(_, o)| o).collect())
    } else {
        Err(problems)
    }
}

/// Reads the cells of one registry row, recording problems with their column.
struct RowReader<'a> {
    file: &'a str,
    row: u32,
    first_col: u32,
    cells: &'a [Cell],
    columns: &'a [usize; HEADERS.len()],
    problems: &'a mut Vec<Problem>,
}

impl RowReader<'_> {
    fn problem(&mut self, key: &str, message: String) {
        let k = HEADERS.iter().position(|h| *h == key).expect("a header");
        self.problems.push(Problem {
            file: self.file.to_owned(),
            row: Some(self.row),
            column: Some(Column {
                letter: Some(column_letter(self.first_col + self.columns[k] as u32)),
                header: key.to_owned(),
            }),
            message,
        });
    }

    /// The trimmed text of a cell; `None` (and a problem) for an Excel error value.
    fn text(&mut self, key: &str) -> Option<String> {
        let k = HEADERS.iter().position(|h| *h == key).expect("a header");
        match self.cells.get(self.columns[k]) {
            None => Some(String::new()),
            Some(Ok(s)) => Some(s.trim().to_owned()),
            Some(Err(e)) => {
                let e = e.clone();
                self.problem(key, e);
                None
            }
        }
    }

    fn required(&mut self, key: &str) -> Option<String> {
        let t = self.text(key)?;
        if t.is_empty() {
            self.problem(key, "不能为空".into());
            return None;
        }
        Some(t)
    }

    fn optional_decimal(&mut self, key: &str) -> Option<Option<String>> {
        let t = self.text(key)?;
        if t.is_empty() {
            return Some(None);
        }
        match check_decimal(&t) {
            Ok(()) => Some(Some(t)),
            Err(m) => {
                self.problem(key, m);
                None
            }
        }
    }

    /// The outlet (without factors) and the factor of this row.
    fn outlet_row(&mut self) -> Option<(OutletSpec, FactorSpec)> {
        let before = self.problems.len();
        let mn = self.required("mn");
        let password = self.required("password");
        let facility_name = self.required("facility_name");
        let credit_code = self.required("credit_code");
        let region_code = self.required("region_code");
        let outlet_name = self.required("outlet_name");
        let industry = self.text("industry");
        let st = self.required("st");
        let factor = self.required("factor");
        let limit = self.optional_decimal("limit");
        let unit = self.text("unit");
        let range = self.text("range");
        let detection_limit = self.optional_decimal("detection_limit");
        let o2_ref = self.optional_decimal("o2_ref");
        let checks: [(&str, Option<&String>, Check); 6] = [
            ("mn", mn.as_ref(), check_mn),
            ("password", password.as_ref(), check_password),
            ("credit_code", credit_code.as_ref(), check_credit_code),
            ("region_code", region_code.as_ref(), check_region_shape),
            ("st", st.as_ref(), check_st),
            ("factor", factor.as_ref(), check_factor),
        ];
        for (key, value, check) in checks {
            if let Some(Err(m)) = value.map(|v| check(v)) {
                self.problem(key, m);
            }
        }
        let (range_low, range_high) = match range.as_deref().map(parse_range) {
            Some(Ok(r)) => r,
            Some(Err(m)) => {
                self.problem("range", m);
                (None, None)
            }
            None => (None, None),
        };
        if self.problems.len() > before {
            return None;
        }
        let empty_none = |s: String| (!s.is_empty()).then_some(s);
        Some((
            OutletSpec {
                mn: mn?,
                password: password?,
                st: st?,
                name: outlet_name?,
                facility: FacilitySpec {
                    name: facility_name?,
                    credit_code: credit_code?.to_ascii_uppercase(),
                    region_code: region_code?,
                    industry: industry?,
                },
                factors: Vec::new(),
            },
            FactorSpec {
                code: factor?,
                emission_limit: limit?,
                unit: unit.and_then(empty_none),
                range_low,
                range_high,
                detection_limit: detection_limit?,
                o2_ref: o2_ref?,
            },
        ))
    }
}

/// A check of a cell's text; the error is the message for the officer.
type Check = fn(&str) -> std::result::Result<(), String>;

fn check_decimal(t: &str) -> std::result::Result<(), String> {
    match hj212::Decimal::parse(t) {
        Some(_) => Ok(()),
        None => Err(format!("“{t}”不是数字")),
    }
}

/// MNs in the field are 13–24 characters (the standard says 24 hex); shorter test codes exist.
fn check_mn(t: &str) -> std::result::Result<(), String> {
    if t.len() > 24 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("MN“{t}”应为不超过24位的字母或数字"));
    }
    Ok(())
}

fn check_password(t: &str) -> std::result::Result<(), String> {
    if t.len() > 24
        || t.bytes()
            .any(|b| b <= b' ' || matches!(b, b';' | b',' | b'=' | b'&'))
    {
        return Err("访问密码应为不超过24位、不含空格和;,=&的字符".into());
    }
    Ok(())
}

fn check_credit_code(t: &str) -> std::result::Result<(), String> {
    t.parse::<CreditCode>().map(|_| ()).map_err(|e| e.0)
}

fn check_region_shape(t: &str) -> std::result::Result<(), String> {
    t.parse::<ecowarden_core::ids::RegionCode>()
        .map(|_| ())
        .map_err(|e| e.0)
}

fn check_st(t: &str) -> std::result::Result<(), String> {
    match t.as_bytes() {
        [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_digit() => Ok(()),
        _ => Err(format!("系统编码ST“{t}”应为2位，如31（废气）、32（废水）")),
    }
}

fn check_factor(t: &str) -> std::result::Result<(), String> {
    if t.len() > 16 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("因子编码“{t}”应为字母和数字，如a21026、w01018"));
    }
    Ok(())
}

/// "500" (upper bound), "0-500" or "0~500"; empty means no range.
fn parse_range(t: &str) -> std::result::Result<(Option<String>, Option<String>), String> {
    if t.is_empty() {
        return Ok((None, None));
    }
    let bad = || format!("量程“{t}”应写作上限（500）或下限-上限（0-500）");
    // A leading '-' is a sign, not the separator.
    let split = t
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, '-' | '~' | '～' | '－'));
    let (low, high) = match split {
        Some((i, c)) => (
            Some(t[..i].trim().to_owned()),
            t[i + c.len_utf8()..].trim().to_owned(),
        ),
        None => (None, t.to_owned()),
    };
    for v in low.iter().chain([&high]) {
        check_decimal(v).map_err(|_| bad())?;
    }
    if let (Some(l), Some(lo), Some(hi)) = (
        &low,
        low.as_deref().and_then(hj212::Decimal::parse),
        hj212::Decimal::parse(&high),
    ) && lo.to_f64() >= hi.to_f64()
    {
        return Err(format!("量程下限{l}应小于上限{high}"));
    }
    Ok((low, Some(high)))
}

/// Records outlets (and facilities new to the store), all or nothing, in the caller's scope.
/// An outlet is matched by MN: a new MN is created, a known one replaced by what the file
/// says (its factors included); outlets not in the file stay as they are.
/// The refusal of an outlet or enterprise registered outside the caller's area: one message
/// that names neither the other region nor what of the row is registered there.
fn out_of_reach(mn: &str) -> String {
    format!("MN“{mn}”：无法在本辖区登记或修改，请核对MN和统一社会信用代码，或联系上级管理员")
}

pub async fn save(
    db: &Db,
    org: &Org,
    scope: &Scope,
    actor: &str,
    file: &str,
    outlets: &[OutletSpec],
) -> std::result::Result<Imported, SaveError> {
    let problem = |message: String| Problem {
        file: file.to_owned(),
        row: None,
        column: None,
        message,
    };
    let mut problems = Vec::new();
    for o in outlets {
        match org.known(&o.facility.region_code) {
            Err(m) => problems.push(problem(format!("MN“{}”：{m}", o.mn))),
            Ok(r) if r.level == Level::Province => problems.push(problem(format!(
                "MN“{}”：企业应登记在市或县（区），不能是“{}”",
                o.mn, r.name
            ))),
            Ok(r) if !scope.covers(&r.code, &r.city_code) => problems.push(problem(format!(
                "MN“{}”：无权登记“{}”的排放口",
                o.mn, r.name
            ))),
            Ok(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(SaveError::Rejected(problems));
    }

    let mut w = db.write().await?;
    // The audit entries, in the order of the changes, appended together at the end.
    let mut changes: Vec<Change> = Vec::new();
    let mut done = Imported::default();
    let now = clock::now_rfc3339();
    // Credit code → (facility id, region code), for the facilities this save touches.
    let mut facilities: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for o in outlets {
        let f = &o.facility;
        let facility_id = match facilities.get(&f.credit_code) {
            Some((id, _)) => *id,
            None => {
                let existing = sqlx::query(
                    "SELECT id, region_code, name FROM facilities WHERE credit_code = $1",
                )
                .bind(&f.credit_code)
                .fetch_optional(&mut *w.tx)
                .await?;
                let (id, region) = match existing {
                    Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?),
                    None => {
                        let region = org.region(&f.region_code).expect("checked above");
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO facilities (name, credit_code, region_code, city_code, industry) \
                             VALUES ($1,$2,$3,$4,$5) RETURNING id",
                        )
                        .bind(&f.name)
                        .bind(&f.credit_code)
                        .bind(&region.code)
                        .bind(&region.city_code)
                        .bind(&f.industry)
                        .fetch_one(&mut *w.tx)
                        .await
                        .map_err(StoreError::from)?;
                        changes.push(Change {
                            actor,
                            action: "create",
                            entity: "facility",
                            entity_id: id.to_string(),
                            before: None,
                            after: Some(serde_json::json!({
                                "name": f.name, "credit_code": f.credit_code,
                                "region_code": region.code, "industry": f.industry,
                            })),
                        });
                        done.facilities_created += 1;
                        (id, region.code.clone())
                    }
                };
                facilities.insert(f.credit_code.clone(), (id, region));
                id
            }
        };
        let (_, facility_region) = &facilities[&f.credit_code];
        if *facility_region != f.region_code {
            // Where an enterprise outside the caller's area is registered is not theirs to
            // learn: name the region only when the caller can see it.
            let message = match org.region(facility_region) {
                Some(r) if scope.covers(&r.code, &r.city_code) => format!(
                    "MN“{}”：统一社会信用代码{}已登记在{}，不是{}",
                    o.mn,
                    f.credit_code,
                    r.name,
                    org.name(&f.region_code)
                ),
                _ => out_of_reach(&o.mn),
            };
            problems.push(problem(message));
            continue;
        }
        let after = outlet_json(facility_id, o);
        let existing = sqlx::query("SELECT id, facility_id FROM outlets WHERE mn = $1")
            .bind(&o.mn)
            .fetch_optional(&mut *w.tx)
            .await?;
        let (outlet_id, action, before) = match existing {
            None => {
                let id: i64 = match sqlx::query_scalar(
                    "INSERT INTO outlets (facility_id, name, mn, password, st, created_at, updated_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$6) RETURNING id",
                )
                .bind(facility_id)
                .bind(&o.name)
                .bind(&o.mn)
                .bind(&o.password)
                .bind(&o.st)
                .bind(&now)
                .fetch_one(&mut *w.tx)
                .await
                .map_err(StoreError::from)
                {
                    Ok(id) => id,
                    Err(StoreError::Conflict(_)) => {
                        problems.push(problem(format!(
                            "MN“{}”：该企业已有名为“{}”的排放口",
                            o.mn, o.name
                        )));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                done.outlets_created += 1;
                (id, "create", None)
            }
            Some(r) => {
                let id: i64 = r.try_get(0)?;
                let old_facility: i64 = r.try_get(1)?;
                let old = stored_outlet(&mut w.tx, id).await?;
                let before = outlet_json(old_facility, &old);
                if before == after {
                    done.outlets_unchanged += 1;
                    continue;
                }
                let (region, city) = scope_of_facility(&mut w.tx, old_facility).await?;
                if !scope.covers(&region, &city) {
                    problems.push(problem(out_of_reach(&o.mn)));
                    continue;
                }
                if let Err(StoreError::Conflict(_)) = sqlx::query(
                    "UPDATE outlets SET facility_id = $1, name = $2, password = $3, st = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(facility_id)
                .bind(&o.name)
                .bind(&o.password)
                .bind(&o.st)
                .bind(&now)
                .bind(id)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::from)
                {
                    problems.push(problem(format!(
                        "MN“{}”：该企业已有名为“{}”的排放口",
                        o.mn, o.name
                    )));
                    continue;
                }
                sqlx::query("DELETE FROM outlet_factors WHERE outlet_id = $1")
                    .bind(id)
                    .execute(&mut *w.tx)
                    .await?;
                done.outlets_updated += 1;
                (id, "update", Some(before))
            }
        };
        if !o.factors.is_empty() {
            const COLS: usize = 8;
            let sql = format!(
                "INSERT INTO outlet_factors (outlet_id, code, emission_limit, unit, range_low, range_high, detection_limit, o2_ref) \
                 VALUES {}",
                placeholders(o.factors.len(), COLS)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for fac in &o.factors {
                q = q
                    .bind(outlet_id)
                    .bind(&fac.code)
                    .bind(&fac.emission_limit)
                    .bind(&fac.unit)
                    .bind(&fac.range_low)
                    .bind(&fac.range_high)
                    .bind(&fac.detection_limit)
                    .bind(&fac.o2_ref);
            }
            q.execute(&mut *w.tx).await?;
            done.factors += o.factors.len();
        }
        changes.push(Change {
            actor,
            action,
            entity: "outlet",
            entity_id: outlet_id.to_string(),
            before,
            after: Some(after),
        });
    }
    if !problems.is_empty() {
        return Err(SaveError::Rejected(problems));
    }
    Appender::start(&mut w)
        .await?
        .append_many(&mut w.tx, &changes)
        .await?;
    w.commit().await?;
    Ok(done)
}

/// The outlet as stored, in the shape of a spec (the facility part is not compared).
async fn stored_outlet(conn: &mut sqlx::AnyConnection, id: i64) -> Result<OutletSpec> {
    let r = sqlx::query("SELECT mn, password, st, name FROM outlets WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let factors = sqlx::query_as(
        "SELECT code, emission_limit, unit, range_low, range_high, detection_limit, o2_ref \
         FROM outlet_factors WHERE outlet_id = $1 ORDER BY code",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(OutletSpec {
        mn: r.try_get(0)?,
        password: r.try_get(1)?,
        st: r.try_get(2)?,
        name: r.try_get(3)?,
        facility: FacilitySpec {
            name: String::new(),
            credit_code: String::new(),
            region_code: String::new(),
            industry: String::new(),
        },
        factors,
    })
}

async fn scope_of_facility(conn: &mut sqlx::AnyConnection, id: i64) -> Result<(String, String)> {
    let r = sqlx::query("SELECT region_code, city_code FROM facilities WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok((r.try_get(0)?, r.try_get(1)?))
}

/// The audited form of an outlet: what it is, without the password in clear (only whether it
/// changed matters to an auditor, and the audit log is readable by auditors).
fn outlet_json(facility_id: i64, o: &OutletSpec) -> serde_json::Value {
    use sha2::{Digest, Sha256};
    let mut factors = o.factors.clone();
    factors.sort_by(|a, b| a.code.cmp(&b.code));
    serde_json::json!({
        "facility_id": facility_id,
        "name": o.name,
        "mn": o.mn,
        "st": o.st,
        "password_sha256": hex::encode(Sha256::digest(o.password.as_bytes())),
        "factors": factors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_chinese_headers_and_its_example_parses() {
        let t = ecowarden_core::sheet::read_table(&template_xlsx()).unwrap();
        let head: Vec<String> = t.rows[0].1.iter().map(|c| c.clone().unwrap()).collect();
        assert_eq!(head, LABELS);
        let outlets = parse_table("模板.xlsx", &t).unwrap();
        assert_eq!(outlets.len(), 1);
        assert_eq!(outlets[0].mn, "88888880000001");
        // Code names and Chinese names may be mixed.
        assert_eq!(column_of("mn"), Some(0));
        assert_eq!(column_of("监测因子"), Some(8));
        assert_eq!(column_of("因子"), None);
    }

    fn table(csv: &str) -> Table {
        Table {
            first_col: 0,
            rows: csv
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    (
                        i as u32 + 1,
                        l.split(',').map(|c| Ok(c.to_owned())).collect(),
                    )
                })
                .collect(),
        }
    }

    const HEAD: &str = "mn,password,facility_name,credit_code,region_code,outlet_name,industry,st,factor,limit,unit,range,detection_limit,o2_ref";

    #[test]
    fn groups_rows_by_mn() {
        let csv = format!(
            "{HEAD}\n\
             MN001,123456,福建甲化工有限公司,91350102MA2YK8LQ1M,350102,1号排口,化工,31,a21026,35,mg/m3,0-500,3,6\n\
             MN001,123456,福建甲化工有限公司,91350102MA2YK8LQ1M,350102,1号排口,化工,31,a19001,,%,0~25,,\n\
             MN002,654321,福建甲化工有限公司,91350102MA2YK8LQ1M,350102,废水总排口,化工,32,w01018,50,mg/L,500,4,\n"
        );
        let outlets = parse_table("r.csv", &table(&csv)).unwrap();
        assert_eq!(outlets.len(), 2);
        assert_eq!(outlets[0].factors.len(), 2);
        let so2 = &outlets[0].factors[0];
        assert_eq!(so2.emission_limit.as_deref(), Some("35"));
        assert_eq!(
            (so2.range_low.as_deref(), so2.range_high.as_deref()),
            (Some("0"), Some("500"))
        );
        assert_eq!(outlets[0].factors[1].emission_limit, None);
        assert_eq!(outlets[1].factors[0].range_low, None);
        assert_eq!(outlets[1].factors[0].range_high.as_deref(), Some("500"));
    }

    #[test]
    fn problems_name_row_and_column() {
        let csv = format!(
            "{HEAD}\n\
             MN001,123456,甲,91350102MA2YK8LQ1M,350102,1号排口,化工,31,a21026,abc,mg/m3,500-0,3,6\n\
             MN001,999999,甲,91350102MA2YK8LQ1M,350102,1号排口,化工,31,a21002,,,,,\n"
        );
        let problems = parse_table("r.csv", &table(&csv)).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.contains("第2行 J列（limit）")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|p| p.contains("第2行 L列（range）")),
            "{text:?}"
        );
        // Row 2 was refused, so row 3 starts the outlet and has nothing to disagree with.
        assert_eq!(problems.len(), 2, "{text:?}");

        let missing = parse_table("r.csv", &table("mn,password,extra\n")).unwrap_err();
        assert!(missing.iter().any(|p| p.to_string().contains("extra")));
        assert!(
            missing
                .iter()
                .any(|p| p.to_string().contains("基准氧含量（表中无此列）"))
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("").unwrap(), (None, None));
        assert_eq!(parse_range("14").unwrap(), (None, Some("14".into())));
        assert_eq!(
            parse_range("-10~40").unwrap(),
            (Some("-10".into()), Some("40".into()))
        );
        assert!(parse_range("40-10").is_err());
        assert!(parse_range("a-b").is_err());
    }
}
