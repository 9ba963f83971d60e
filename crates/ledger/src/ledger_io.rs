//! The case ledger in and out of spreadsheets: imports from .xlsx, .xls and CSV, the import
//! template, and exports of case lists and statistics to .xlsx.
//!
//! Units keep their ledgers in Excel, so an import must say exactly which cell is wrong and
//! why: every [`Problem`] names the file, the spreadsheet row (the header is row 1, as Excel
//! numbers it), the column (letter and header) and the reason in Chinese. Reading is kept
//! apart from recording: [`read`] only turns bytes into [`NewCase`]s (CPU work, run off the
//! async threads), then [`intake::record`] validates the whole batch and writes all of it or
//! nothing, so a file with one bad cell leaves the ledger untouched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rust_xlsxwriter::{Color, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use sqlx::Row;

use crate::cases::intake::{self, FIELDS, Field, FieldError, Input, IntakeError, NewCase};
use crate::cases::typed::by_case_ids;
use crate::cases::{self, CaseFilter};
use crate::checks::{self, Finding};
use crate::dossier::Checked;
use crate::stats::Stats;
use ecowarden_core::ids::{CaseNo, Money};
use ecowarden_core::org::Org;
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::sheet::{self, Cell};
use ecowarden_core::store::{Db, StoreError};

pub use ecowarden_core::sheet::{Column, Problem, column_letter};

/// A file to import: the name its problems are reported under, and its contents.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Cases read from one or more files, each remembering the file and row it came from.
#[derive(Debug, Default)]
pub struct Batch {
    pub cases: Vec<NewCase>,
    /// Per case: (index into `files`, spreadsheet row).
    origins: Vec<(usize, u32)>,
    files: Vec<FileLayout>,
}

/// Where a file keeps each field.
#[derive(Debug)]
struct FileLayout {
    name: String,
    /// Field key → 0-based column index.
    columns: HashMap<&'static str, u32>,
    cases: usize,
}

/// Reads every file into one batch; all problems of all files at once, or the cases.
/// Files are read by [`sheet::read_table`] (.xlsx, .xls or CSV, told by content).
pub fn read(uploads: &[Upload]) -> Result<Batch, Vec<Problem>> {
    let mut batch = Batch::default();
    let mut problems = Vec::new();
    for u in uploads {
        match sheet::read_table(&u.bytes) {
            Ok(t) => batch.add_file(&u.name, t.first_col, t.rows.into_iter(), &mut problems),
            Err(message) => problems.push(Problem {
                file: u.name.clone(),
                row: None,
                column: None,
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(batch)
    } else {
        Err(problems)
    }
}

impl Batch {
    /// Reads the header row and the data rows of one file. `first_col` is the index of the
    /// first cell of each row (a sheet's used range need not start at column A).
    fn add_file(
        &mut self,
        name: &str,
        first_col: u32,
        mut rows: impl Iterator<Item = (u32, Vec<Cell>)>,
        problems: &mut Vec<Problem>,
    ) {
        let at = |row: u32, col: u32, header: &str, message: String| Problem {
            file: name.to_owned(),
            row: Some(row),
            column: Some(Column {
                letter: Some(column_letter(col)),
                header: header.to_owned(),
            }),
            message,
        };
        let Some((header_row, header)) = rows.next() else {
            problems.push(Problem {
                file: name.to_owned(),
                row: None,
                column: None,
                message: "文件是空的，第1行应为导入模板的列名".into(),
            });
            return;
        };
        let before = problems.len();
        let mut fields: Vec<Option<&'static Field>> = Vec::with_capacity(header.len());
        let mut columns = HashMap::new();
        for (i, cell) in header.iter().enumerate() {
            let col = first_col + i as u32;
            // The template marks required columns with a leading *.
            let text = cell
                .as_deref()
                .unwrap_or("")
                .trim()
                .trim_start_matches(['*', '＊'])
                .trim();
            let field = match FIELDS.iter().find(|f| f.header == text) {
                _ if text.is_empty() => None,
                Some(f) => match columns.insert(f.key, col) {
                    Some(first) => {
                        problems.push(at(
                            header_row,
                            col,
                            text,
                            format!("与{}列重复", column_letter(first)),
                        ));
                        None
                    }
                    None => Some(f),
                },
                None => {
                    problems.push(at(
                        header_row,
                        col,
                        text,
                        format!("未知的列名“{text}”，请使用导入模板中的列名"),
                    ));
                    None
                }
            };
            fields.push(field);
        }
        for f in FIELDS
            .iter()
            .filter(|f| f.required && !columns.contains_key(f.key))
        {
            problems.push(Problem {
                file: name.to_owned(),
                row: Some(header_row),
                column: None,
                message: format!("缺少必填列“{}”", f.header),
            });
        }
        if problems.len() > before {
            // Without the right columns the rows cannot be read meaningfully.
            return;
        }
        let file = self.files.len();
        let mut count = 0;
        for (row, cells) in rows {
            if cells
                .iter()
                .all(|c| c.as_deref().is_ok_and(|s| s.trim().is_empty()))
            {
                continue;
            }
            let mut case = NewCase::default();
            for (i, cell) in cells.into_iter().enumerate() {
                let col = first_col + i as u32;
                let field = fields.get(i).copied().flatten();
                match (field, cell) {
                    (Some(f), Ok(v)) => {
                        case.set(f.key, v);
                    }
                    (f, Err(why)) => problems.push(at(row, col, f.map_or("", |f| f.header), why)),
                    (None, Ok(v)) if !v.trim().is_empty() => {
                        problems.push(at(row, col, "", "此列没有列名，无法识别其内容".into()))
                    }
                    (None, Ok(_)) => {}
                }
            }
            self.cases.push(case);
            self.origins.push((file, row));
            count += 1;
        }
        if count == 0 {
            problems.push(Problem {
                file: name.to_owned(),
                row: None,
                column: None,
                message: "文件中没有案件数据（第1行为列名，案件从第2行起）".into(),
            });
        }
        self.files.push(FileLayout {
            name: name.to_owned(),
            columns,
            cases: count,
        });
    }

    /// Places intake's problems (by batch index and field) in their files, rows and columns.
    fn locate(&self, errors: Vec<(usize, FieldError)>) -> Vec<Problem> {
        let first_of_no = self.first_rows_by_case_no();
        errors
            .into_iter()
            .map(|(i, e)| {
                let (file, row) = self.origins[i.min(self.origins.len() - 1)];
                let layout = &self.files[file];
                let mut message = e.message.clone();
                // intake names the earlier row of a duplicate by its place in the batch
                // ("与第1行重复"), which in a spreadsheet is the header. Name the real row.
                if e.field == "case_no" && message.contains("重复") {
                    let no = self.cases[i].case_no.trim().parse::<CaseNo>();
                    if let Some(&first) = no.ok().and_then(|n| first_of_no.get(n.as_str())) {
                        let (f, r) = self.origins[first];
                        let place = if f == file {
                            format!("第{r}行")
                        } else {
                            format!("{} 第{r}行", self.files[f].name)
                        };
                        message =
                            format!("案号“{}”与{place}重复", self.cases[first].case_no.trim());
                    }
                }
                Problem {
                    file: layout.name.clone(),
                    row: Some(row),
                    column: Some(Column {
                        letter: layout.columns.get(e.field).map(|c| column_letter(*c)),
                        header: e.header().to_owned(),
                    }),
                    message,
                }
            })
            .collect()
    }

    /// Canonical case number → index of its first case in the batch.
    fn first_rows_by_case_no(&self) -> HashMap<String, usize> {
        let mut first = HashMap::new();
        for (i, c) in self.cases.iter().enumerate() {
            if let Ok(no) = c.case_no.trim().parse::<CaseNo>() {
                first.entry(no.as_str().to_owned()).or_insert(i);
            }
        }
        first
    }
}

/// What an import wrote.
#[derive(Debug)]
pub struct Imported {
    pub ids: Vec<i64>,
    /// (file name, cases read from it).
    pub files: Vec<(String, usize)>,
    /// Reading and parsing the files.
    pub read_time: Duration,
    /// Validating against the rules and the store, and writing.
    pub record_time: Duration,
}

impl Imported {
    /// "已导入 3 件案件（a.xlsx 2 件，b.csv 1 件）"
    pub fn summary(&self) -> String {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(name, n)| format!("{name} {n} 件"))
            .collect();
        format!("已导入 {} 件案件（{}）", self.ids.len(), files.join("，"))
    }
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("导入失败，未写入任何案件：共 {} 处错误", .0.len())]
    Rejected(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the files and records their cases in the importer's scope, all or nothing.
pub async fn import(
    db: &Db,
    org: &Org,
    scope: &Scope,
    actor: &str,
    uploads: Vec<Upload>,
) -> Result<Imported, ImportError> {
    let started = Instant::now();
    let batch = tokio::task::spawn_blocking(move || read(&uploads))
        .await
        .expect("reading files does not panic")
        .map_err(ImportError::Rejected)?;
    let read_time = started.elapsed();
    let started = Instant::now();
    match intake::record(db, org, scope, actor, &batch.cases).await {
        Ok(ids) => Ok(Imported {
            ids,
            files: batch
                .files
                .iter()
                .map(|f| (f.name.clone(), f.cases))
                .collect(),
            read_time,
            record_time: started.elapsed(),
        }),
        Err(IntakeError::Invalid(errors)) => Err(ImportError::Rejected(batch.locate(errors))),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

/// Runs a workbook builder. Our sheets have fixed names and stay inside Excel's limits
/// (callers cap the rows), so a failure is a bug, not an input problem.
fn workbook(build: impl FnOnce(&mut Workbook) -> Result<(), XlsxError>) -> Vec<u8> {
    let mut wb = Workbook::new();
    build(&mut wb)
        .and_then(|()| wb.save_to_buffer())
        .expect("workbook within Excel's limits")
}

/// Stored text as an Excel cell holds it: at most 32,767 characters, longer text cut with a
/// marker (text stored before fields were bounded must not make an export fail).
fn excel_text(s: &str) -> std::borrow::Cow<'_, str> {
    const MARK: &str = "…（超出Excel单元格长度上限，已截断）";
    let max = crate::cases::fields::limits::EXCEL_CELL_CHARS;
    if s.chars().count() <= max {
        return s.into();
    }
    let keep = max - MARK.chars().count();
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(MARK);
    out.into()
}

fn bold() -> Format {
    Format::new().set_bold()
}

const DATE_FORMAT: &str = "yyyy-mm-dd";

/// Writes a bold header row and sets each column's width.
fn header_row(ws: &mut Worksheet, row: u32, headers: &[(&str, f64)]) -> Result<(), XlsxError> {
    for (col, (h, width)) in headers.iter().enumerate() {
        ws.write_string_with_format(row, col as u16, *h, &bold())?;
        ws.set_column_width(col as u16, *width)?;
    }
    Ok(())
}

/// A plausible case for the template's instructions, by field key.
const SAMPLE: &[(&str, &str)] = &[
    ("case_no", "榕鼓楼环罚〔2024〕12号"),
    ("region_code", "350102"),
    ("facility_name", "福建鼓楼恒通化工有限公司"),
    ("credit_code", "91350102MA2YK8LQ1M"),
    ("industry", "化工"),
    ("source", "日常检查"),
    ("violation", "超标排放水污染物"),
    (
        "legal_basis",
        "《中华人民共和国水污染防治法》第八十三条第二项",
    ),
    ("discovered_on", "2024-03-01"),
    ("filed_on", "2024-03-05"),
    ("decided_on", "2024-05-20"),
    ("penalty_kinds", "罚款"),
    ("fine", "120000"),
    ("officers", "闽3501020001、闽3501020002"),
    ("tags", "清水蓝天"),
];

/// The import template: sheet 1 has the headers in [`FIELDS`] order, required ones marked
/// with * in red; sheet 2 (填写说明) explains every column with an example value. The example
/// is kept out of sheet 1 so that a template filled in below it cannot import a made-up case.
pub fn template_xlsx() -> Vec<u8> {
    workbook(|wb| {
        let required = bold().set_font_color(Color::Red);
        // Codes typed into a General cell lose leading zeros or turn into 9.1E+17: text.
        let text = Format::new().set_num_format("@");
        let date = Format::new().set_num_format(DATE_FORMAT);
        let ws = wb.add_worksheet().set_name("案件")?;
        for (col, f) in FIELDS.iter().enumerate() {
            let col = col as u16;
            if f.required {
                ws.write_string_with_format(0, col, format!("*{}", f.header), &required)?;
            } else {
                ws.write_string_with_format(0, col, f.header, &bold())?;
            }
            ws.set_column_width(col, (f.header.chars().count() as f64 * 2.2).max(12.0))?;
            if f.key.ends_with("_on") {
                ws.set_column_format(col, &date)?;
            } else if f.key.contains("code") || f.key == "case_no" || f.key == "officers" {
                ws.set_column_format(col, &text)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;

        let help = wb.add_worksheet().set_name("填写说明")?;
        header_row(
            help,
            0,
            &[
                ("列", 6.0),
                ("列名", 24.0),
                ("是否必填", 10.0),
                ("填写说明", 60.0),
                ("示例", 40.0),
            ],
        )?;
        for (i, f) in FIELDS.iter().enumerate() {
            let row = i as u32 + 1;
            let sample = SAMPLE.iter().find(|(k, _)| *k == f.key).map_or("", |s| s.1);
            help.write_string(row, 0, column_letter(i as u32))?;
            help.write_string(row, 1, f.header)?;
            help.write_string(row, 2, if f.required { "必填" } else { "选填" })?;
            help.write_string(row, 3, f.hint_text())?;
            help.write_string(row, 4, sample)?;
        }
        let note = FIELDS.len() as u32 + 2;
        help.write_string(
            note,
            0,
            "在“案件”工作表第2行起每行填写一件案件；带*的列为必填；日期格式为YYYY-MM-DD；\
             整批校验，任何一处错误都不会写入任何案件。",
        )?;
        Ok(())
    })
}

/// The most cases one export holds: far above a province-year (a few thousand), and the
/// list is paged out of the store 50 rows at a time.
pub const EXPORT_LIMIT: usize = 50_000;

/// Every case as .xlsx under the import template's headers, every column of it in its order,
/// each value as the import reads it: dates as date cells, amounts in yuan as numbers with
/// two decimals, day counts as numbers, the rest as text. An export imports again as the same
/// cases (issue #16).
pub fn export_cases_xlsx(cases: &[NewCase]) -> Vec<u8> {
    workbook(|wb| {
        let date = Format::new().set_num_format(DATE_FORMAT);
        let money = Format::new().set_num_format("#,##0.00");
        let ws = wb.add_worksheet().set_name("案件台账")?;
        let headers: Vec<(&str, f64)> = FIELDS.iter().map(|f| (f.header, 16.0)).collect();
        header_row(ws, 0, &headers)?;
        ws.set_freeze_panes(1, 0)?;
        for (i, c) in cases.iter().enumerate() {
            let row = i as u32 + 1;
            for (col, f) in FIELDS.iter().enumerate() {
                let col = col as u16;
                let v = c.get(f.key);
                if v.is_empty() {
                    continue;
                }
                match f.input() {
                    Input::Date => match excel_date(v) {
                        Some(x) => ws.write_date_with_format(row, col, &x, &date)?,
                        None => ws.write_string(row, col, excel_text(v))?,
                    },
                    Input::Amount => match v.parse::<Money>() {
                        Ok(m) => {
                            ws.write_number_with_format(row, col, m.fen() as f64 / 100.0, &money)?
                        }
                        Err(_) => ws.write_string(row, col, excel_text(v))?,
                    },
                    Input::Days => match v.parse::<i64>() {
                        Ok(n) => ws.write_number(row, col, n as f64)?,
                        Err(_) => ws.write_string(row, col, excel_text(v))?,
                    },
                    _ => ws.write_string(row, col, excel_text(v))?,
                };
            }
        }
        Ok(())
    })
}

fn excel_date(iso: &str) -> Option<ExcelDateTime> {
    let d = NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()?;
    ExcelDateTime::from_ymd(
        u16::try_from(chrono::Datelike::year(&d)).ok()?,
        chrono::Datelike::month(&d) as u8,
        chrono::Datelike::day(&d) as u8,
    )
    .ok()
}

/// Money figures are in fen; reports show them in 万元.
fn wan_yuan(fen: i64) -> f64 {
    fen as f64 / 1_000_000.0
}

/// Statistics as .xlsx: sheet 1 the figures by group (money in 万元), sheet 2 the regions,
/// sheet 3 the drill-down, one row per figure and case number behind it.
pub fn stats_xlsx(stats: &Stats, case_nos: &HashMap<i64, String>) -> Vec<u8> {
    workbook(|wb| {
        let two = Format::new().set_num_format("0.00");
        let title = bold().set_font_size(14);
        let ws = wb.add_worksheet().set_name("统计指标")?;
        ws.write_string_with_format(
            0,
            0,
            format!(
                "{}{}生态环境执法统计",
                stats.region_name, stats.period_label
            ),
            &title,
        )?;
        header_row(
            ws,
            1,
            &[
                ("分组", 16.0),
                ("指标", 30.0),
                ("数值", 14.0),
                ("单位", 8.0),
            ],
        )?;
        for (i, f) in stats.figures.iter().enumerate() {
            let row = i as u32 + 2;
            ws.write_string(row, 0, f.group)?;
            ws.write_string(row, 1, &f.label)?;
            if f.unit == "元" {
                ws.write_number_with_format(row, 2, wan_yuan(f.value), &two)?;
                ws.write_string(row, 3, "万元")?;
            } else {
                ws.write_number(row, 2, f.value as f64)?;
                ws.write_string(row, 3, f.unit)?;
            }
        }
        ws.set_freeze_panes(2, 0)?;

        let ws = wb.add_worksheet().set_name("分地区")?;
        header_row(
            ws,
            0,
            &[
                ("地区代码", 12.0),
                ("地区", 16.0),
                ("查处案件（件）", 16.0),
                ("罚没金额（万元）", 18.0),
                ("已结案（件）", 14.0),
            ],
        )?;
        let mut total = (0, 0, 0);
        for (i, r) in stats.by_region.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &r.region_code)?;
            ws.write_string(row, 1, &r.name)?;
            ws.write_number(row, 2, r.cases as f64)?;
            ws.write_number_with_format(row, 3, wan_yuan(r.fine_fen), &two)?;
            ws.write_number(row, 4, r.closed as f64)?;
            total = (
                total.0 + r.cases,
                i64::saturating_add(total.1, r.fine_fen),
                total.2 + r.closed,
            );
        }
        let row = stats.by_region.len() as u32 + 1;
        ws.write_string_with_format(row, 1, "合计", &bold())?;
        ws.write_number(row, 2, total.0 as f64)?;
        ws.write_number_with_format(row, 3, wan_yuan(total.1), &two)?;
        ws.write_number(row, 4, total.2 as f64)?;

        let ws = wb.add_worksheet().set_name("指标明细")?;
        header_row(ws, 0, &[("分组", 16.0), ("指标", 30.0), ("案号", 30.0)])?;
        let mut row = 1;
        for f in &stats.figures {
            // Figures over all cases of the period carry no list: the ledger is the list.
            let nos: Vec<&str> = if f.case_ids.is_empty() && f.value != 0 {
                vec!["（本期全部案件，见案件台账）"]
            } else {
                f.case_ids
                    .iter()
                    .map(|id| case_nos.get(id).map_or("（案件已删除）", String::as_str))
                    .collect()
            };
            for no in nos {
                ws.write_string(row, 0, f.group)?;
                ws.write_string(row, 1, &f.label)?;
                ws.write_string(row, 2, no)?;
                row += 1;
            }
        }
        Ok(())
    })
}

/// The case numbers of the given cases.
async fn case_numbers(db: &Db, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    by_case_ids(db, "SELECT id, case_no FROM cases WHERE id IN (", ids, ")")
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Why an export was not made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("符合条件的案件超过 {EXPORT_LIMIT} 件，请缩小筛选范围（如按年份或地区）后再导出")]
    TooMany,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every case of a filter in an area (the filter's page is ignored), as .xlsx.
pub async fn export_cases(
    db: &Db,
    area: &Area,
    filter: &CaseFilter,
) -> Result<Vec<u8>, ExportError> {
    let mut rows = Vec::new();
    let mut f = filter.clone();
    for page in 1.. {
        f.page = Some(page);
        let (chunk, more) = cases::list(db, area, &f).await?;
        rows.extend(chunk);
        if rows.len() > EXPORT_LIMIT {
            return Err(ExportError::TooMany);
        }
        if !more {
            break;
        }
    }
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut typed = cases::typed::typed(db, &ids).await?;
    let cases: Vec<NewCase> = ids.iter().filter_map(|id| typed.remove(id)).collect();
    Ok(export_cases_xlsx(&cases))
}

/// The case numbers behind every figure of `stats`, for drill-down lists.
pub async fn figure_case_numbers(
    db: &Db,
    stats: &Stats,
) -> Result<HashMap<i64, String>, StoreError> {
    let mut ids: Vec<i64> = stats
        .figures
        .iter()
        .flat_map(|f| f.case_ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    case_numbers(db, &ids).await
}

/// Statistics as JSON, each figure listing its case numbers (`case_nos`) instead of ids.
/// The failed legal checks of some cases, one row a finding (案号, 地区, 检查项 …).
pub fn checks_xlsx(rows: &[Checked], org: &Org) -> Vec<u8> {
    workbook(|wb| {
        let ws = wb.add_worksheet().set_name("案卷检查")?;
        header_row(
            ws,
            0,
            &[
                ("案号", 26.0),
                ("地区", 14.0),
                ("检查项", 8.0),
                ("名称", 16.0),
                ("结论", 8.0),
                ("依据", 40.0),
                ("说明", 60.0),
                ("相关日期", 40.0),
            ],
        )?;
        let mut row = 1;
        for c in rows {
            for f in &c.findings {
                let dates: Vec<String> = f.dates.iter().map(|(k, v)| format!("{k}={v}")).collect();
                ws.write_string(row, 0, excel_text(&c.case_no))?;
                ws.write_string(row, 1, org.name(&c.region_code))?;
                ws.write_string(row, 2, f.check)?;
                ws.write_string(row, 3, checks::check_name(f.check))?;
                ws.write_string(row, 4, f.severity.label())?;
                ws.write_string(row, 5, f.article)?;
                ws.write_string(row, 6, excel_text(&f.message))?;
                ws.write_string(row, 7, dates.join("；"))?;
                row += 1;
            }
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(())
    })
}

/// One finding as a JSON line of `ecowarden dossier check`:
/// `{"case_no", "check", "severity", "article", "message", "dates": {…}}`.
pub fn finding_json(case_no: &str, f: &Finding) -> serde_json::Value {
    serde_json::json!({
        "case_no": case_no,
        "check": f.check,
        "severity": f.severity.as_str(),
        "article": f.article,
        "message": f.message,
        "dates": f.dates,
    })
}

pub fn stats_json(stats: &Stats, case_nos: &HashMap<i64, String>) -> serde_json::Value {
    let mut v = serde_json::to_value(stats).expect("plain data serialises");
    let figures = v["figures"].as_array_mut().expect("figures is a list");
    for (json, figure) in figures.iter_mut().zip(&stats.figures) {
        let obj = json.as_object_mut().expect("figure is an object");
        obj.remove("case_ids");
        let nos: Vec<&str> = figure
            .case_ids
            .iter()
            .filter_map(|id| case_nos.get(id).map(String::as_str))
            .collect();
        obj.insert("case_nos".into(), serde_json::json!(nos));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #16: a 违法行为 over 32,767 characters made the ledger export panic.
    #[test]
    fn over_long_text_is_cut_for_excel_with_a_marker() {
        let long = "污".repeat(40_000);
        let cut = excel_text(&long);
        assert_eq!(cut.chars().count(), 32_767);
        assert!(cut.ends_with("已截断）"));
        assert_eq!(excel_text("短文本"), "短文本");
    }
    use calamine::Reader;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(5), "F");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn problems_read_as_in_excel() {
        let p = Problem {
            file: "cases.xlsx".into(),
            row: Some(5),
            column: Some(Column {
                letter: Some("F".into()),
                header: "案件来源".into(),
            }),
            message: "未知的案件来源“巡查”".into(),
        };
        assert_eq!(
            p.to_string(),
            "cases.xlsx 第5行 F列（案件来源）：未知的案件来源“巡查”"
        );
        let missing = Problem {
            column: Some(Column {
                letter: None,
                header: "处罚决定日期".into(),
            }),
            ..p
        };
        assert_eq!(missing.column_label(), "处罚决定日期（表中无此列）");
    }

    fn upload(name: &str, text: &str) -> Upload {
        Upload {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn headers_name_their_column() {
        let errs = read(&[upload(
            "a.csv",
            "案号,*行政区划代码,巡查员,当事人名称,统一社会信用代码,案件来源,违法行为,发现日期,执法人员证号\n",
        )])
        .unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            errs[0].to_string(),
            "a.csv 第1行 C列（巡查员）：未知的列名“巡查员”，请使用导入模板中的列名"
        );
        let errs = read(&[upload("b.csv", "案号,当事人名称\n")]).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.to_string() == "b.csv 第1行：缺少必填列“案件来源”"),
            "{errs:?}"
        );
    }

    #[test]
    fn template_headers_read_back_as_fields() {
        let bytes = template_xlsx();
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["案件", "填写说明"]);
        let errs = read(&[Upload {
            name: "t.xlsx".into(),
            bytes: template_xlsx(),
        }])
        .unwrap_err();
        // Every header is recognised; only the missing data is reported.
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].message.contains("没有案件数据"));
        let help = wb.worksheet_range("填写说明").unwrap();
        assert_eq!(help.rows().count(), FIELDS.len() + 3);
    }
}
