//! Spreadsheet pages and downloads of the case ledger: the import template, the import form
//! and its upload (the page the monitoring registry's import shares), and .xlsx exports of
//! the case list and the statistics. The work is in [`ecowarden_ledger::ledger_io`]; these handlers
//! check role and scope and translate HTTP.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::{Error, Result};
use super::ledger::{StatsQuery, stats_for};
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use ecowarden_core::auth::Permission;
use ecowarden_ledger::cases::CaseFilter;
use ecowarden_ledger::ledger_io::{self, ExportError, ImportError, Problem, Upload};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An .xlsx download. The Chinese file name goes in `filename*` (RFC 6266); `filename` is
/// the ASCII fallback for old clients.
pub(super) fn xlsx(bytes: Vec<u8>, ascii_name: &str, name: &str) -> Response {
    attachment(bytes, XLSX, ascii_name, name)
}

/// A download: the bytes as a file of this type, named `name` (`ascii_name` for old clients).
pub(super) fn attachment(
    bytes: Vec<u8>,
    content_type: &'static str,
    ascii_name: &str,
    name: &str,
) -> Response {
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = format!("attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}");
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).expect("ASCII header"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /cases/template.xlsx`: the template holds no data; any signed-in user may have it.
pub async fn template(_s: CurrentUser) -> Response {
    xlsx(
        ledger_io::template_xlsx(),
        "case-import-template.xlsx",
        "案件导入模板.xlsx",
    )
}

/// Problems shown on the page at most; the rest are counted (the CLI prints them all).
const SHOWN_PROBLEMS: usize = 500;

/// Which all-or-nothing import a page takes: the case ledger or the monitoring registry.
/// Both are one upload form, its summary and the table of problems that refused it; they
/// differ only in their text and where the form posts.
#[derive(Clone, Copy)]
pub(super) enum ImportKind {
    Cases,
    Registry,
}

/// What, besides its introduction, one import page says and where it sits.
struct Words {
    title: &'static str,
    /// Where the form posts; also the path a refusal names.
    path: &'static str,
    /// The menu entry the page belongs to.
    section: &'static str,
    /// What a refused import has not written.
    unwritten: &'static str,
    /// The case import takes several files, all or nothing together; the registry import one.
    several_files: bool,
}

impl ImportKind {
    fn words(self) -> Words {
        match self {
            ImportKind::Cases => Words {
                title: "导入案件",
                path: "/cases/import",
                section: "cases",
                unwritten: "案件",
                several_files: true,
            },
            ImportKind::Registry => Words {
                title: "导入排放口登记表",
                path: "/monitoring/registry/import",
                section: "monitoring",
                unwritten: "内容",
                several_files: false,
            },
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
pub(super) struct ImportPage {
    nav: Nav,
    kind: ImportKind,
    words: Words,
    /// The success summary after an import.
    done: String,
    /// A problem with the request itself (no file chosen).
    error: String,
    problems: Vec<Problem>,
    more_problems: usize,
}

impl ImportPage {
    /// The registry's column names, as the page lists them (the code names are accepted too).
    fn registry_labels(&self) -> String {
        ecowarden_monitoring::registry::LABELS.join("、")
    }

    /// The empty form, for a user who may write the ledger.
    pub(super) async fn new(app: &AppState, s: &CurrentUser, kind: ImportKind) -> Result<Self> {
        let words = kind.words();
        require(app, s.user(), Permission::WriteLedger, words.path).await?;
        Ok(ImportPage {
            nav: Nav::new(app, s, words.section),
            kind,
            words,
            done: String::new(),
            error: String::new(),
            problems: Vec::new(),
            more_problems: 0,
        })
    }

    /// The form again, saying no file was chosen (422).
    pub(super) fn no_file(mut self) -> Result<Response> {
        self.error = "请选择要导入的文件".into();
        self.unprocessable()
    }

    /// The import's summary, or every problem that refused it by file, row and column (422).
    pub(super) fn answer(
        mut self,
        outcome: std::result::Result<String, Vec<Problem>>,
    ) -> Result<Response> {
        match outcome {
            Ok(summary) => {
                self.done = summary;
                render(self)
            }
            Err(mut problems) => {
                self.more_problems = problems.len().saturating_sub(SHOWN_PROBLEMS);
                problems.truncate(SHOWN_PROBLEMS);
                self.problems = problems;
                self.unprocessable()
            }
        }
    }

    fn unprocessable(self) -> Result<Response> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(self.render()?)).into_response())
    }
}

/// `GET /cases/import`: the upload form.
pub async fn import_form(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    render(ImportPage::new(&app, &s, ImportKind::Cases).await?)
}

/// `POST /cases/import`: imports the uploaded files in the user's scope, all or nothing, and
/// shows the summary or every problem by file, row and column (422).
pub async fn import_upload(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let page = ImportPage::new(&app, &s, ImportKind::Cases).await?;
    let uploads = read_uploads(form).await?;
    if uploads.is_empty() {
        return page.no_file();
    }
    let u = s.user();
    let outcome = match ledger_io::import(&app.db, &app.org, &u.scope, &u.username, uploads).await {
        Ok(done) => {
            // The latest year's checks are brought up to date before anyone asks for them.
            if let Err(e) = app.warm_checks().await {
                tracing::warn!("legal checks after an import: {e}");
            }
            Ok(done.summary())
        }
        Err(ImportError::Rejected(problems)) => Err(problems),
        Err(ImportError::Store(e)) => return Err(e.into()),
    };
    page.answer(outcome)
}

/// The non-empty files of an upload form's `file` fields.
pub(super) async fn read_uploads(
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Vec<Upload>> {
    let mut form =
        form.map_err(|r| Error::BadRequest(format!("请以文件上传表单提交：{}", r.body_text())))?;
    let mut uploads = Vec::new();
    while let Some(field) = form.next_field().await.map_err(upload_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("上传文件").to_owned();
        let bytes = field.bytes().await.map_err(upload_error)?;
        if !bytes.is_empty() {
            uploads.push(Upload {
                name,
                bytes: bytes.to_vec(),
            });
        }
    }
    Ok(uploads)
}

pub(super) fn upload_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge
    } else {
        Error::BadRequest(format!("上传内容无法解析：{}", e.body_text()))
    }
}

/// `GET /cases/export.xlsx?<the filters of /cases>`: every matching case in scope.
pub async fn export_cases(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(f): Query<CaseFilter>,
) -> Result<Response> {
    const PATH: &str = "/cases/export.xlsx";
    let u = s.user();
    require(&app, u, Permission::ReadLedger, PATH).await?;
    let area = super::area(&app, u, f.region.as_deref(), PATH).await?;
    match ledger_io::export_cases(&app.db, &area, &f).await {
        Ok(bytes) => Ok(xlsx(bytes, "cases.xlsx", "案件台账.xlsx")),
        Err(e @ ExportError::TooMany) => Err(Error::Unprocessable(e.to_string())),
        Err(ExportError::Store(e)) => Err(e.into()),
    }
}

/// `GET /stats/export.xlsx?year=&half=&region=`: the statistics page's figures (same query,
/// same role and scope checks) as a workbook, with the case numbers behind each figure.
pub async fn export_stats(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<StatsQuery>,
) -> Result<Response> {
    let stats = stats_for(&app, s.user(), &q, "/stats/export.xlsx").await?;
    let nos = ledger_io::figure_case_numbers(&app.db, &stats).await?;
    let name = format!("{}{}执法统计.xlsx", stats.region_name, stats.period_label);
    Ok(xlsx(
        ledger_io::stats_xlsx(&stats, &nos),
        "stats.xlsx",
        &name,
    ))
}
