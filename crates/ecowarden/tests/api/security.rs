//! Regression tests of issue #16 (a black-box probe): each defect the probe found, refused.

use rust_xlsxwriter::Workbook;

use crate::helpers::spawn_app;
use crate::ledger_io::{BOUNDARY, case_count, import_as, multipart};

/// The probe's file: a few-KB workbook whose only cells are A1 and XFD1048576.
fn far_cell_workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "案号").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_far_cell_workbook_is_refused_and_the_server_stays_up() {
    let app = spawn_app().await;
    let bomb = far_cell_workbook();
    assert!(bomb.len() < 8192, "{}", bomb.len());
    let before = case_count(&app).await;
    let (status, page) = import_as(&app, "gulou", &[("bomb.xlsx", &bomb)]).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("XFD1048576单元格有内容") && page.contains("上限"),
        "{page}"
    );
    assert_eq!(case_count(&app).await, before);
    // The registry import reads the same way.
    let (c, csrf) = app.login("admin").await;
    let r = c
        .post(format!("{}/monitoring/registry/import", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(Some(&csrf), &[("bomb.xlsx", &bomb)], false))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page = r.text().await.unwrap();
    assert!(page.contains("XFD1048576"), "{status} {page}");
    // Still serving.
    let r = c.get(format!("{}/cases", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The command line refuses it too, by file.
    let dir =
        std::env::temp_dir().join(format!("ew-bomb-{}", ecowarden_core::auth::random_token()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bomb.xlsx"), &bomb).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecowarden"))
        .arg("--database-url")
        .arg(&app.url)
        .args(["cases", "import", "--as", "gulou", "bomb.xlsx"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bomb.xlsx") && err.contains("XFD1048576"),
        "{err}"
    );
}
