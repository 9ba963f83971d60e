//! End-to-end import benchmark: a generated .xlsx of 100,000 cases (the size of a province's
//! multi-year ledger migration) imported by the release binary, `ecowarden cases import`,
//! into a SQLite store seeded with the demo province-year. Target: under 30 s.
//!
//! `cargo bench -p ecowarden --bench import [-- ROWS]`
//!
//! Besides the end-to-end time it reports where the time goes: parsing the workbook
//! (`ledger_io::read`), validating the rows (`NewCase::validate`, CPU only), and the rest of
//! `intake::record` (the cross-row and store checks, and the writes), as the binary reports
//! its own read and record times.

use std::process::Command;
use std::time::Instant;

use ecowarden_core::org::{Level, Org};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::Db;
use ecowarden_ledger::cases::intake::FIELDS;
use ecowarden_ledger::ledger_io::{self, Upload};
use rust_xlsxwriter::Workbook;

const BIN: &str = env!("CARGO_BIN_EXE_ecowarden");

/// The columns a migrated ledger typically fills, by field key.
const COLS: &[&str] = &[
    "case_no",
    "region_code",
    "facility_name",
    "credit_code",
    "industry",
    "source",
    "violation",
    "legal_basis",
    "discovered_on",
    "filed_on",
    "decided_on",
    "closed_on",
    "penalty_kinds",
    "fine",
    "officers",
    "tags",
    "seal_and_seize_on",
];

const SOURCES: &[&str] = &[
    "日常检查",
    "信访投诉",
    "非现场筛查线索",
    "部门移送",
    "上级交办",
];

/// Case `i` of the generated ledger: spread over the counties, ~3,000 facilities, a year of
/// dates; most decided with a fine, some closed, tagged or with a seizure.
fn row(i: usize, counties: &[&str]) -> Vec<String> {
    let facility = i % 3000;
    let region = counties[facility % counties.len()];
    let body = format!("91{region}MC{facility:07}");
    let check =
        ecowarden_core::ids::CreditCode::check_char(body.as_bytes()).expect("charset") as char;
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    let day = |d: usize| (start + chrono::Duration::days(d as i64)).to_string();
    let discovered = i % 300;
    let decided = i % 10 < 7;
    let closed = decided && i % 10 < 4;
    let value = |key: &str| -> String {
        match key {
            "case_no" => format!("闽{region}环罚〔2024〕{}号", i + 1),
            "region_code" => region.into(),
            "facility_name" => format!("福建测试{region}第{facility}号有限公司"),
            "credit_code" => format!("{body}{check}"),
            "industry" => "化工".into(),
            "source" => SOURCES[i % SOURCES.len()].into(),
            "violation" => "超标排放水污染物".into(),
            "legal_basis" => "《中华人民共和国水污染防治法》第八十三条第二项".into(),
            "discovered_on" => day(discovered),
            "filed_on" => day(discovered + 3),
            "decided_on" if decided => day(discovered + 40),
            "closed_on" if closed => day(discovered + 80),
            "penalty_kinds" if decided => "罚款".into(),
            "fine" if decided => format!("{}.50", (i % 50 + 1) * 1000),
            "officers" => format!("闽{region}0001、闽{region}0002"),
            "tags" if i.is_multiple_of(7) => "清水蓝天".into(),
            "seal_and_seize_on" if i.is_multiple_of(20) => day(discovered + 5),
            _ => String::new(),
        }
    };
    COLS.iter().map(|k| value(k)).collect()
}

fn generate(rows: usize, counties: &[&str]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, key) in COLS.iter().enumerate() {
        let header = FIELDS.iter().find(|f| f.key == *key).expect("field").header;
        ws.write_string(0, c as u16, header).expect("cell");
    }
    for i in 0..rows {
        for (c, v) in row(i, counties).iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(i as u32 + 1, c as u16, v).expect("cell");
            }
        }
    }
    wb.save_to_buffer().expect("workbook")
}

fn ecowarden(url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .output()
        .expect("run ecowarden");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ecowarden {args:?} failed:\n{text}");
    text
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("ew-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite:{}", dir.join("bench.sqlite").display());
    eprintln!("seeding {url} …");
    ecowarden(&url, &["demo", "--seed-only"]);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let org = rt.block_on(async {
        let db = Db::connect(&url).await.expect("store");
        let org = Org::load(&db).await.expect("org");
        db.pool().close().await;
        org
    });
    let counties: Vec<&str> = org
        .all()
        .filter(|r| r.level == Level::County)
        .map(|r| r.code.as_str())
        .collect();

    let t = Instant::now();
    let xlsx = generate(rows, &counties);
    let file = dir.join("cases.xlsx");
    std::fs::write(&file, &xlsx).expect("write workbook");
    eprintln!(
        "generated {rows} rows, {:.1} MB, in {:.1} s",
        xlsx.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let batch = ledger_io::read(&[Upload {
        name: "cases.xlsx".into(),
        bytes: xlsx,
    }])
    .expect("generated rows read");
    let parse = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let invalid = batch
        .cases
        .iter()
        .filter(|c| c.validate(&org, &Scope::Province).is_err())
        .count();
    let validate = t.elapsed().as_secs_f64();
    assert_eq!(invalid, 0, "generated rows are valid");

    let t = Instant::now();
    let out = ecowarden(
        &url,
        &[
            "cases",
            "import",
            "--as",
            "admin",
            &file.display().to_string(),
        ],
    );
    let total = t.elapsed().as_secs_f64();
    print!("{out}");
    println!("rows                 {rows}");
    println!(
        "end to end           {total:.1} s  ({:.0} rows/s)",
        rows as f64 / total
    );
    println!("  parse (in-process) {parse:.1} s");
    println!("  validate (CPU)     {validate:.1} s");
    println!(
        "  target             < 30 s: {}",
        if total < 30.0 { "met" } else { "MISSED" }
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}
