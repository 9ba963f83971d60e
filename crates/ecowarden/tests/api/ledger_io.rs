//! Spreadsheet import and export through the web pages and the command line: good files
//! import, every kind of bad input is refused by file, row and column with nothing written,
//! an export imports again elsewhere, and the statistics workbook holds the figures.

use std::collections::BTreeSet;
use std::io::Cursor;

use calamine::{Data, DataType, Reader};
use ecowarden_ledger::cases::intake::FIELDS;
use ecowarden_ledger::ledger_io::column_letter;
use rust_xlsxwriter::{ExcelDateTime, Workbook};

use crate::helpers::{TestApp, get_text, spawn_app};

/// The fixture's columns, by field key, in this order (A, B, …).
pub(crate) const COLS: &[&str] = &[
    "case_no",
    "region_code",
    "facility_name",
    "credit_code",
    "source",
    "violation",
    "discovered_on",
    "filed_on",
    "decided_on",
    "penalty_kinds",
    "fine",
    "officers",
    "tags",
    "third_party_subtype",
    "production_restriction_on",
    "production_restriction_kind",
];

pub(crate) type Row = Vec<(&'static str, String)>;

pub(crate) fn header(key: &str) -> &'static str {
    FIELDS.iter().find(|f| f.key == key).unwrap().header
}

/// "F列（案件来源）" for a fixture column.
pub(crate) fn column(key: &str) -> String {
    let i = COLS.iter().position(|k| *k == key).unwrap();
    format!("{}列（{}）", column_letter(i as u32), header(key))
}

/// A valid credit code of 鼓楼区 (check character computed).
pub(crate) fn credit_code(n: u32) -> String {
    let body = format!("91350102MB{n:07}");
    let c = ecowarden_core::ids::CreditCode::check_char(body.as_bytes()).unwrap() as char;
    format!("{body}{c}")
}

/// A decided 2024 case of 鼓楼区 with two of its officers.
pub(crate) fn good(n: u32) -> Row {
    vec![
        ("case_no", format!("榕鼓楼环罚〔2024〕{}号", 900 + n)),
        ("region_code", "350102".into()),
        ("facility_name", format!("福建鼓楼导入测试{n}有限公司")),
        ("credit_code", credit_code(n)),
        ("source", "日常检查".into()),
        ("violation", "超标排放水污染物".into()),
        ("discovered_on", "2024-03-01".into()),
        ("filed_on", "2024-03-05".into()),
        ("decided_on", "2024-05-20".into()),
        ("penalty_kinds", "罚款".into()),
        ("fine", "12345.5".into()),
        ("officers", "闽3501020001、闽3501020002".into()),
    ]
}

pub(crate) fn with(mut row: Row, key: &'static str, value: &str) -> Row {
    row.retain(|(k, _)| *k != key);
    row.push((key, value.to_owned()));
    row
}

/// An .xlsx of the rows under the template's headers, as an officer fills it in: the
/// discovery date as a date cell and the fine as a number where they parse as such.
pub(crate) fn xlsx(rows: &[Row]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, key) in COLS.iter().enumerate() {
        ws.write_string(0, c as u16, header(key)).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (key, v) in row {
            let c = COLS.iter().position(|k| k == key).unwrap() as u16;
            let date = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
            match (*key, date, v.parse::<f64>()) {
                ("discovered_on", Some(d), _) => {
                    let d = ExcelDateTime::from_ymd(
                        chrono::Datelike::year(&d) as u16,
                        chrono::Datelike::month(&d) as u8,
                        chrono::Datelike::day(&d) as u8,
                    )
                    .unwrap();
                    let f = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
                    ws.write_date_with_format(r, c, &d, &f).unwrap();
                }
                ("fine", _, Ok(f)) => {
                    ws.write_number(r, c, f).unwrap();
                }
                _ => {
                    ws.write_string(r, c, v).unwrap();
                }
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

/// The same rows as CSV text (quoted where needed).
pub(crate) fn csv(rows: &[Row]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = COLS.iter().map(|k| header(k)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = COLS
            .iter()
            .map(|k| {
                row.iter()
                    .find(|(rk, _)| rk == k)
                    .map_or(String::new(), |(_, v)| quote(v))
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

pub(crate) const BOUNDARY: &str = "----ecowardenTestBoundary7MA4YWxkTrZu0gW";

/// One uploaded file of a multipart body, as the field `file`.
pub(crate) fn file_part(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(bytes);
    part.extend(b"\r\n");
    part
}

/// A multipart body as a browser sends the import form: the csrf field (if any) first.
pub(crate) fn multipart(csrf: Option<&str>, files: &[(&str, &[u8])], csrf_last: bool) -> Vec<u8> {
    let field = |csrf: &str| {
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes()
    };
    let mut body = Vec::new();
    if let (Some(c), false) = (csrf, csrf_last) {
        body.extend(field(c));
    }
    for (name, bytes) in files {
        body.extend(file_part(name, bytes));
    }
    if let (Some(c), true) = (csrf, csrf_last) {
        body.extend(field(c));
    }
    body.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    body
}

pub(crate) async fn post_import(
    app: &TestApp,
    c: &reqwest::Client,
    body: Vec<u8>,
) -> (u16, String) {
    let r = c
        .post(format!("{}/cases/import", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Uploads files through the import form as `user`.
pub(crate) async fn import_as(app: &TestApp, user: &str, files: &[(&str, &[u8])]) -> (u16, String) {
    let (c, csrf) = app.login(user).await;
    post_import(app, &c, multipart(Some(&csrf), files, false)).await
}

pub(crate) async fn case_count(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM cases").await
}

async fn case_nos(app: &TestApp, year: i64) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>("SELECT case_no FROM cases WHERE year = $1")
        .bind(year)
        .fetch_all(app.db.pool())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// The row of the error table for a problem (askama escapes quotes, not the Chinese ones).
pub(crate) fn problem_row(file: &str, row: u32, column: &str, message_start: &str) -> String {
    format!("<td>{file}</td><td class=\"num\">{row}</td><td>{column}</td><td>{message_start}")
}

#[tokio::test]
async fn good_files_import_every_case() {
    let app = spawn_app().await;
    let before = case_count(&app).await;
    // The third case has no number: it gets the unit's next serial of the year.
    let rows = [good(1), good(2), with(good(3), "case_no", "")];
    let (status, page) = import_as(&app, "gulou", &[("cases.xlsx", &xlsx(&rows))]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("已导入 3 件案件（cases.xlsx 3 件）"),
        "{page}"
    );
    assert_eq!(case_count(&app).await, before + 3);
    let (fine, discovered, officers): (i64, String, i64) = sqlx::query_as(
        "SELECT c.fine_fen, c.discovered_on, (SELECT COUNT(*) FROM case_officers o WHERE o.case_id = c.id) \
         FROM cases c WHERE c.case_no = $1",
    )
    .bind("榕鼓楼环罚〔2024〕901号")
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    // A date cell became the date, 12345.5 in a number cell the exact fine.
    assert_eq!(
        (fine, discovered.as_str(), officers),
        (1_234_550, "2024-03-01", 2)
    );
    let nos = case_nos(&app, 2024).await;
    assert_eq!(
        nos.into_iter().collect::<Vec<_>>(),
        [
            "榕鼓楼环罚〔2024〕901号",
            "榕鼓楼环罚〔2024〕902号",
            "榕鼓楼环罚〔2024〕903号"
        ]
    );

    // CSV from Excel on a Chinese Windows (GBK), and UTF-8 with a BOM, in one upload.
    let text = csv(&[good(4), good(5)]);
    let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
    assert!(!lossy);
    let bom = [b"\xEF\xBB\xBF".as_slice(), csv(&[good(6)]).as_bytes()].concat();
    let (status, page) = import_as(&app, "gulou", &[("gbk.csv", &gbk), ("utf8.csv", &bom)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("已导入 3 件案件（gbk.csv 2 件，utf8.csv 1 件）"),
        "{page}"
    );
    assert_eq!(case_count(&app).await, before + 6);
    let name: String = sqlx::query_scalar(
        "SELECT f.name FROM cases c JOIN facilities f ON f.id = c.facility_id WHERE c.case_no = $1",
    )
    .bind("榕鼓楼环罚〔2024〕904号")
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(name, "福建鼓楼导入测试4有限公司");
}

/// Each bad row, next to a good one, is refused with its row (3), column and reason; the
/// good row is not written either.
#[tokio::test]
async fn bad_input_is_refused_by_row_and_column_and_nothing_is_written() {
    let app = spawn_app().await;
    let existing: String = sqlx::query_scalar("SELECT case_no FROM cases ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let mut bad_code = credit_code(2);
    bad_code.replace_range(4..5, "I");
    let cases: Vec<(&str, Row, &str, String)> = vec![
        (
            "missing required field",
            with(good(2), "facility_name", ""),
            "facility_name",
            "“当事人名称”不能为空".into(),
        ),
        (
            "impossible date order",
            with(good(2), "filed_on", "2024-02-01"),
            "filed_on",
            "“立案日期”（2024-02-01）早于“发现日期”（2024-03-01），日期顺序不合理".into(),
        ),
        (
            "bad credit code",
            with(good(2), "credit_code", &bad_code),
            "credit_code",
            "统一社会信用代码第5位“I”不是允许的字符".into(),
        ),
        (
            "unknown region",
            with(good(2), "region_code", "350199"),
            "region_code",
            "行政区划代码“350199”不在本系统的组织机构中".into(),
        ),
        (
            "duplicate case number in the file",
            with(good(2), "case_no", "榕鼓楼环罚〔2024〕901号"),
            "case_no",
            "案号“榕鼓楼环罚〔2024〕901号”与第2行重复".into(),
        ),
        (
            "duplicate case number in the store",
            with(good(2), "case_no", &existing),
            "case_no",
            format!("案号“{existing}”已存在"),
        ),
        (
            "unknown measure",
            with(
                with(good(2), "production_restriction_on", "2024-04-01"),
                "production_restriction_kind",
                "减产",
            ),
            "production_restriction_kind",
            "“限产或停产”应为限产或停产，收到“减产”".into(),
        ),
        (
            "unknown third-party sub-type",
            with(
                with(good(2), "tags", "第三方弄虚作假"),
                "third_party_subtype",
                "伪造",
            ),
            "third_party_subtype",
            "未知的第三方弄虚作假类型“伪造”".into(),
        ),
        (
            "fine not a number",
            with(good(2), "fine", "一万二千元"),
            "fine",
            "金额“一万二千元”不是有效数字".into(),
        ),
        (
            "unknown officer",
            with(good(2), "officers", "闽3501020001、闽3501029999"),
            "officers",
            "执法证号“闽3501029999”不存在或已停用".into(),
        ),
        (
            "unknown case source",
            with(good(2), "source", "巡查"),
            "source",
            "未知的案件来源“巡查”".into(),
        ),
        (
            "region outside the importer's scope",
            with(
                with(good(2), "region_code", "350103"),
                "officers",
                "闽3501030001、闽3501030002",
            ),
            "region_code",
            "地区“台江区”（350103）不在您的管辖范围内".into(),
        ),
    ];
    let before = case_count(&app).await;
    let mut failures = Vec::new();
    for (what, bad, key, message) in cases {
        let (status, page) =
            import_as(&app, "gulou", &[("cases.xlsx", &xlsx(&[good(1), bad]))]).await;
        let expected = problem_row("cases.xlsx", 3, &column(key), &message);
        if status != 422 || !page.contains(&expected) || !page.contains("未写入任何案件") {
            failures.push(format!("{what}: status {status}, expected {expected}"));
        }
        assert_eq!(
            case_count(&app).await,
            before,
            "{what}: something was written"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn header_problems_name_the_column() {
    let app = spawn_app().await;
    let text =
        "案号,行政区划代码,巡查员,当事人名称,统一社会信用代码,违法行为,发现日期,执法人员证号\r\n";
    let (status, page) = import_as(&app, "gulou", &[("h.csv", text.as_bytes())]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&problem_row(
            "h.csv",
            1,
            "C列（巡查员）",
            "未知的列名“巡查员”"
        )),
        "{page}"
    );
    assert!(page.contains("缺少必填列“案件来源”"), "{page}");
    // A file that is neither a workbook nor text.
    let (status, page) = import_as(
        &app,
        "gulou",
        &[("x.xlsx", &[0xFF, 0xFE, 0x81, 0x20, 0xFF])],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("无法识别文件格式"), "{page}");
}

/// The CSRF token is the first field of an upload; without it, or after the file, the
/// upload is refused before anything is read.
#[tokio::test]
async fn upload_needs_the_csrf_field_first() {
    let app = spawn_app().await;
    let before = case_count(&app).await;
    let file = xlsx(&[good(1)]);
    let (c, csrf) = app.login("gulou").await;
    let (status, _) = post_import(&app, &c, multipart(None, &[("a.xlsx", &file)], false)).await;
    assert_eq!(status, 403);
    let (status, _) =
        post_import(&app, &c, multipart(Some(&csrf), &[("a.xlsx", &file)], true)).await;
    assert_eq!(status, 403);
    let (status, _) = post_import(
        &app,
        &c,
        multipart(Some("wrong"), &[("a.xlsx", &file)], false),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(case_count(&app).await, before);
    let (status, page) = post_import(
        &app,
        &c,
        multipart(Some(&csrf), &[("a.xlsx", &file)], false),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(case_count(&app).await, before + 1);
}

pub(crate) fn first_sheet(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// Exported cases import into another ledger with the same case numbers.
#[tokio::test]
async fn export_imports_again_elsewhere() {
    let a = spawn_app().await;
    let rows = [good(1), good(2), with(good(3), "case_no", "")];
    let (status, page) = import_as(&a, "gulou", &[("cases.xlsx", &xlsx(&rows))]).await;
    assert_eq!(status, 200, "{page}");
    let (c, _) = a.login("gulou").await;
    let r = c
        .get(format!("{}/cases/export.xlsx?year=2024", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let exported = r.bytes().await.unwrap().to_vec();
    let sheet = first_sheet(exported.clone());
    assert_eq!(sheet.len(), 4, "header and three cases");
    assert_eq!(sheet[0][0], Data::String("案号".into()));
    let fine_col = sheet[0]
        .iter()
        .position(|h| *h == Data::String("罚款金额（元）".into()))
        .unwrap();
    assert_eq!(sheet[1][fine_col], Data::Float(12345.5));

    let b = spawn_app().await;
    let (status, page) = import_as(&b, "gulou", &[("export.xlsx", &exported)]).await;
    assert_eq!(status, 200, "{page}");
    let nos = case_nos(&a, 2024).await;
    assert_eq!(nos.len(), 3);
    assert_eq!(case_nos(&b, 2024).await, nos);
    // Officers came along (they are required): the lead officer first.
    let officers: i64 = b
        .scalar("SELECT COUNT(*) FROM case_officers co JOIN cases c ON c.id = co.case_id WHERE c.year = 2024")
        .await;
    assert_eq!(officers, 6);
}

/// A case of 鼓楼区 with a value in every column of the import template, as CSV.
fn every_column_csv() -> String {
    let values: &[(&str, &str)] = &[
        ("case_no", "榕鼓楼环罚〔2024〕950号"),
        ("region_code", "350102"),
        ("facility_name", "福建鼓楼全列测试有限公司"),
        ("industry", "化工"),
        ("source", "信访投诉"),
        ("violation", "超标排放水污染物，且拒不改正"),
        ("legal_basis", "《中华人民共和国水污染防治法》第八十三条"),
        ("status", "已结案"),
        ("discovered_on", "2024-03-01"),
        ("filed_on", "2024-03-05"),
        ("investigation_on", "2024-03-08"),
        ("prior_notice_on", "2024-04-01"),
        ("hearing_requested_on", "2024-04-03"),
        ("hearing_held_on", "2024-04-15"),
        ("decided_on", "2024-05-20"),
        ("served_on", "2024-05-22"),
        ("paid_on", "2024-06-01"),
        ("closed_on", "2024-06-10"),
        ("penalty_kinds", "警告、罚款"),
        ("fine", "1,234,567.89"),
        ("officers", "闽3501020002、闽3501020001"),
        ("tags", "清水蓝天、第三方弄虚作假"),
        ("third_party_name", "福建全列检测有限公司"),
        ("third_party_subtype", "检测"),
        ("seal_and_seize_on", "2024-03-12"),
        ("seal_and_seize_items", "水泵2台"),
        ("production_restriction_on", "2024-03-15"),
        ("production_restriction_kind", "停产"),
        ("daily_penalty_on", "2024-05-25"),
        ("daily_penalty_days", "10"),
        ("daily_penalty_amount", "5000.5"),
        ("detention_referral_on", "2024-05-26"),
        ("criminal_referral_on", "2024-05-27"),
        ("market_referral_on", "2024-05-28"),
        ("referral_agency", "福州市公安局鼓楼分局"),
        ("violation_ended_on", "2024-02-20"),
        ("filing_extended_on", "2024-03-04"),
        ("term_extended_on", "2024-05-01"),
        ("term_discussed_on", "2024-05-12"),
        ("statement_waived_on", "2024-04-02"),
        ("hearing_notice_on", "2024-04-05"),
        ("legal_review_on", "2024-05-10"),
        ("collective_discussion_on", "2024-05-15"),
        ("decision_no", "榕鼓环罚字〔2024〕950号"),
        ("service_method", "直接送达"),
        ("disclosed_on", "2024-05-30"),
        ("closure_type", "执行完毕"),
        ("seal_and_seize_extended_on", "2024-04-10"),
        ("seal_and_seize_released_on", "2024-05-01"),
        ("continuing", "是"),
        ("special_limitation", "是"),
        ("notice_kind", "行政处罚听证告知"),
        ("statement_on", "2024-04-03"),
        ("hearing_host", "听证主持人甲"),
        (
            "violated_provisions",
            "《中华人民共和国水污染防治法》第三十九条；《中华人民共和国水污染防治法》第十条第二款",
        ),
        (
            "penalty_provisions",
            "《中华人民共和国水污染防治法》第八十三条第三项",
        ),
        ("discretion_item", "超标排放（超标1倍以内）"),
        ("discretion_factors", "从轻：主动改正"),
    ];
    let codes = [
        ("credit_code", credit_code(950)),
        ("third_party_credit_code", credit_code(951)),
    ];
    let value = |key: &str| {
        values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
            .or_else(|| {
                codes
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| panic!("no value for {key}"))
    };
    let quote = |s: String| format!("\"{}\"", s.replace('"', "\"\""));
    let header: Vec<String> = FIELDS.iter().map(|f| quote(f.header.to_owned())).collect();
    let row: Vec<String> = FIELDS.iter().map(|f| quote(value(f.key))).collect();
    format!("{}\r\n{}\r\n", header.join(","), row.join(","))
}

/// Issue #16: the ledger export has every column of the import template, each value as the
/// import reads it, so the whole test ledger imports into an empty store of the same
/// organisation as the same cases: every template field of every case equal, each case under
/// its own number.
#[tokio::test]
async fn the_whole_ledger_round_trips_through_its_export_field_by_field() {
    use ecowarden_core::scope::Scope;
    use ecowarden_ledger::cases::typed::typed;
    use ecowarden_ledger::ledger_io::{self, Upload};
    let a = spawn_app().await;
    let full = every_column_csv();
    let (status, page) = import_as(&a, "gulou", &[("full.csv", full.as_bytes())]).await;
    assert_eq!(status, 200, "{page}");
    let (c, _) = a.login("admin").await;
    let r = c
        .get(format!("{}/cases/export.xlsx", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let exported = r.bytes().await.unwrap().to_vec();
    let sheet = first_sheet(exported.clone());
    let headers: Vec<String> = sheet[0].iter().map(|h| h.to_string()).collect();
    let template: Vec<&str> = FIELDS.iter().map(|f| f.header).collect();
    assert_eq!(headers, template, "every template column, in its order");
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM cases ORDER BY id")
        .fetch_all(a.db.pool())
        .await
        .unwrap();
    assert_eq!(sheet.len(), ids.len() + 1, "a row per case");

    // An empty store of the same organisation: its regions and units, and its officers.
    let (b, _) = crate::helpers::empty_db().await;
    ecowarden_core::org::seed(&b).await.unwrap();
    type Officer = (i64, String, i64, Option<String>, String, String, i64);
    let officers: Vec<Officer> = sqlx::query_as(
        "SELECT id, name, unit_id, certificate_no, region_code, city_code, active FROM officers",
    )
    .fetch_all(a.db.pool())
    .await
    .unwrap();
    for o in officers {
        sqlx::query("INSERT INTO officers (id, name, unit_id, certificate_no, region_code, city_code, active) VALUES ($1,$2,$3,$4,$5,$6,$7)")
            .bind(o.0).bind(o.1).bind(o.2).bind(o.3).bind(o.4).bind(o.5).bind(o.6)
            .execute(b.pool())
            .await
            .unwrap();
    }
    let upload = Upload {
        name: "export.xlsx".into(),
        bytes: exported,
    };
    let imported = ledger_io::import(&b, &a.org, &Scope::Province, "admin", vec![upload]).await;
    let imported = match imported {
        Ok(i) => i,
        Err(ledger_io::ImportError::Rejected(problems)) => {
            let shown: Vec<String> = problems.iter().take(20).map(|p| p.to_string()).collect();
            panic!("{} problems: {shown:#?}", problems.len())
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(imported.ids.len(), ids.len());

    let before = typed(&a.db, &ids).await.unwrap();
    let after = typed(&b, &imported.ids).await.unwrap();
    let by_no: std::collections::HashMap<&str, _> =
        after.values().map(|v| (v.case_no.as_str(), v)).collect();
    let mut filled = BTreeSet::new();
    for v in before.values() {
        let w = by_no
            .get(v.case_no.as_str())
            .expect("the case keeps its number");
        for f in FIELDS {
            assert_eq!(v.get(f.key), w.get(f.key), "{}: {}", v.case_no, f.header);
            if !v.get(f.key).is_empty() {
                filled.insert(f.key);
            }
        }
    }
    assert_eq!(
        filled.len(),
        FIELDS.len(),
        "every column carried a value somewhere"
    );
    b.pool().close().await;
}

#[tokio::test]
async fn stats_workbook_holds_the_figures() {
    let app = spawn_app().await;
    let (c, _) = app.login("admin").await;
    let r = c
        .get(format!("{}/stats/export.xlsx?year=2023", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    let stats = ecowarden_ledger::stats::compute(
        &app.db,
        &app.org,
        &ecowarden_core::scope::Scope::Province
            .area(&app.org, None)
            .unwrap(),
        ecowarden_ledger::stats::Period {
            year: 2023,
            half: None,
        },
    )
    .await
    .unwrap();
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec!["统计指标", "分地区", "指标明细"]);
    let figures = wb.worksheet_range("统计指标").unwrap();
    let value = |label: &str| -> (f64, String) {
        let row = figures
            .rows()
            .find(|r| r.get(1) == Some(&Data::String(label.into())))
            .unwrap_or_else(|| panic!("no figure {label}"));
        (row[2].as_f64().unwrap(), row[3].to_string())
    };
    let total = stats.figure("cases.total").unwrap().value;
    assert!(total > 0);
    assert_eq!(value("立案查处案件"), (total as f64, "件".into()));
    let fine = stats.figure("cases.fine").unwrap().value;
    let (wan, unit) = value("罚没金额");
    assert_eq!(unit, "万元");
    assert!((wan - fine as f64 / 1_000_000.0).abs() < 1e-9);
    assert_eq!(
        figures.rows().count(),
        stats.figures.len() + 2,
        "title, header, one row per figure"
    );
    let regions = wb.worksheet_range("分地区").unwrap();
    assert_eq!(regions.rows().count(), stats.by_region.len() + 2);
    // The province's code counts the corps' own cases: the row keeps the code and says so,
    // in the workbook and on the page.
    let corps = stats
        .by_region
        .iter()
        .position(|r| r.region_code == "350000")
        .expect("the seeded year has cases of the corps");
    assert_eq!(stats.by_region[corps].name, "省总队直办");
    let row: Vec<String> = regions.rows().nth(corps + 1).unwrap()[..2]
        .iter()
        .map(Data::to_string)
        .collect();
    assert_eq!(row, ["350000", "省总队直办"]);
    let page = get_text(&c, format!("{}/stats?year=2023", app.base)).await;
    assert!(page.contains("<tr><td>省总队直办</td>"), "{page}");
    assert!(!page.contains("<tr><td>福建省</td>"), "{page}");
    // Drill-down: a figure with cases lists their numbers.
    let drill = wb.worksheet_range("指标明细").unwrap();
    let figure = stats
        .figures
        .iter()
        .find(|f| !f.case_ids.is_empty())
        .expect("the seeded year has tagged cases");
    let no: String = sqlx::query_scalar("SELECT case_no FROM cases WHERE id = $1")
        .bind(figure.case_ids[0])
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(drill.rows().any(|r| {
        r.get(1) == Some(&Data::String(figure.label.clone()))
            && r.get(2) == Some(&Data::String(no.clone()))
    }));
}

/// `ecowarden cases import` prints every problem as "file 第N行 X列（列名）：reason" and
/// exits 1; a good file imports; `report stats --format json` names the case numbers.
#[tokio::test]
async fn command_line_import_and_report() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!(
        "ew-import-{}",
        ecowarden_core::auth::random_token()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("cases.xlsx");
    std::fs::write(&bad, xlsx(&[good(1), with(good(2), "source", "巡查")])).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
            .arg("--database-url")
            .arg(&app.url)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let before = case_count(&app).await;
    let (code, _, err) = run(&["cases", "import", "--as", "gulou", "cases.xlsx"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "cases.xlsx 第3行 {}：未知的案件来源“巡查”",
            column("source")
        )),
        "{err}"
    );
    assert_eq!(case_count(&app).await, before);

    std::fs::write(dir.join("good.xlsx"), xlsx(&[good(1), good(2)])).unwrap();
    let (code, out, err) = run(&["cases", "import", "--as", "gulou", "good.xlsx"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("已导入 2 件案件"), "{out}");
    assert_eq!(case_count(&app).await, before + 2);

    let (code, _, err) = run(&["cases", "template", "--out", "t.xlsx"]);
    assert_eq!(code, Some(0), "{err}");
    let header = &first_sheet(std::fs::read(dir.join("t.xlsx")).unwrap())[0];
    assert_eq!(header.len(), FIELDS.len());

    let (code, out, err) = run(&["report", "stats", "--year", "2023", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The report is the province's; its row with the province's code is the corps' own cases.
    assert_eq!(v["region_name"], "福建省");
    assert!(
        v["by_region"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| { r["region_code"] == "350000" && r["name"] == "省总队直办" }),
        "{out}"
    );
    let figures = v["figures"].as_array().unwrap();
    assert!(figures.iter().all(|f| f.get("case_ids").is_none()));
    assert!(figures.iter().any(|f| {
        f["case_nos"]
            .as_array()
            .unwrap()
            .first()
            .and_then(|n| n.as_str())
            .is_some_and(|n| n.contains("〔2023〕"))
    }));
    let (code, _, err) = run(&[
        "report", "stats", "--year", "2023", "--half", "1", "--region", "350100", "--format",
        "xlsx", "--out", "s.xlsx",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!first_sheet(std::fs::read(dir.join("s.xlsx")).unwrap()).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A CSV of rows with whatever columns they name, in the order of the first row.
fn csv_of(rows: &[Row]) -> String {
    let keys: Vec<&str> = rows[0].iter().map(|(k, _)| *k).collect();
    let mut out = keys.iter().map(|k| header(k)).collect::<Vec<_>>().join(",");
    for row in rows {
        out.push_str("\r\n");
        let cells: Vec<&str> = row.iter().map(|(_, v)| v.as_str()).collect();
        out.push_str(&cells.join(","));
    }
    out
}

#[tokio::test]
async fn the_procedural_record_imports_from_its_own_columns() {
    let app = spawn_app().await;
    let record = |row: Row, continuing: &str, penalty: &str| {
        let mut row = row;
        row.extend([
            ("continuing", continuing.to_owned()),
            ("special_limitation", "否".to_owned()),
            ("notice_kind", "行政处罚听证告知".to_owned()),
            ("statement_on", "2024-05-10".to_owned()),
            ("hearing_host", "李法制".to_owned()),
            (
                "violated_provisions",
                "《中华人民共和国水污染防治法》第十条".to_owned(),
            ),
            ("penalty_provisions", penalty.to_owned()),
            ("discretion_item", "水-3 超标排放".to_owned()),
            ("discretion_factors", "首次违法；及时改正".to_owned()),
        ]);
        row
    };
    // A flag that is neither 是 nor 否, and a provision that does not read: refused by row
    // and column, nothing written.
    let before = case_count(&app).await;
    let bad = [
        record(
            good(1),
            "也许",
            "《中华人民共和国水污染防治法》第八十三条第二项",
        ),
        record(good(2), "是", "水污染防治法第83条"),
    ];
    let (status, page) = import_as(&app, "gulou", &[("bad.csv", csv_of(&bad).as_bytes())]).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("应为“是”或“否”，不是“也许”"), "{page}");
    assert!(
        page.contains("处罚依据条款") && page.contains("水污染防治法第83条"),
        "{page}"
    );
    assert_eq!(case_count(&app).await, before);
    let good_rows = [record(
        good(3),
        "是",
        "《中华人民共和国水污染防治法》第83条第2项",
    )];
    let (status, page) =
        import_as(&app, "gulou", &[("ok.csv", csv_of(&good_rows).as_bytes())]).await;
    assert_eq!(status, 200, "{page}");
    let (continuing, notice, host, statement, item): (i64, String, String, String, String) =
        sqlx::query_as(
            "SELECT continuing, notice_kind, hearing_host, statement_on, discretion_item FROM cases \
             WHERE case_no = '榕鼓楼环罚〔2024〕903号'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        (
            continuing,
            notice.as_str(),
            host.as_str(),
            statement.as_str(),
            item.as_str()
        ),
        (1, "hearing", "李法制", "2024-05-10", "水-3 超标排放")
    );
    let provisions: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT p.role, p.article, p.item FROM case_provisions p JOIN cases c ON c.id = p.case_id \
         WHERE c.case_no = '榕鼓楼环罚〔2024〕903号' ORDER BY p.role",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        provisions,
        [
            ("penalty".to_owned(), 83, Some(2)),
            ("violated".to_owned(), 10, None)
        ]
    );
}
