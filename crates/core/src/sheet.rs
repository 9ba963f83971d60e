//! Uploaded tables as rows of text cells: the first worksheet of an .xlsx/.xls workbook, or
//! CSV text as Excel saves it (UTF-8 with or without BOM, or GBK on a Chinese Windows).
//! Imports (the case ledger, the monitoring registry) read files through here, interpret the
//! cells themselves and report each [`Problem`] where the officer sees it in Excel.

use std::io::Cursor;

use calamine::{Data, DataRef, Reader};

mod xls;
use serde::Serialize;

/// A cell as text, or why it cannot be read (an Excel error value such as #N/A).
pub type Cell = Result<String, String>;

/// The rows of a table; row numbers are as Excel shows them (1-based).
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// 0-based index of the first column of every row (a sheet's used range need not start
    /// at column A).
    pub first_col: u32,
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// One thing wrong with an import, located as the officer sees it in Excel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    /// Spreadsheet row, 1-based (the header is row 1); `None` for the file as a whole.
    pub row: Option<u32>,
    pub column: Option<Column>,
    pub message: String,
}

/// A column of a problem: its letter (`None` when the file lacks the column) and header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub letter: Option<String>,
    pub header: String,
}

impl Problem {
    /// The row as the error table shows it ("" for a problem of the whole file).
    pub fn row_label(&self) -> String {
        self.row.map(|r| r.to_string()).unwrap_or_default()
    }

    /// "F列（案件来源）", or "处罚决定日期（表中无此列）" for a field the file does not have.
    pub fn column_label(&self) -> String {
        match &self.column {
            None => String::new(),
            Some(Column {
                letter: Some(l),
                header,
            }) => format!("{l}列（{header}）"),
            Some(Column {
                letter: None,
                header,
            }) => format!("{header}（表中无此列）"),
        }
    }
}

impl std::fmt::Display for Problem {
    /// `cases.xlsx 第5行 F列（案件来源）：未知的案件来源“巡查”…`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(r) = self.row {
            write!(f, " 第{r}行")?;
        }
        if self.column.is_some() {
            write!(f, " {}", self.column_label())?;
        }
        write!(f, "：{}", self.message)
    }
}

/// Spreadsheet column letters of a 0-based index: 0 → A, 25 → Z, 26 → AA.
pub fn column_letter(index: u32) -> String {
    let mut letters = Vec::new();
    let mut i = index;
    loop {
        letters.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// Bounds on what an uploaded workbook may make the reader build. A case ledger of 100,000
/// rows × 60 columns fits; a "zip bomb" or a sheet whose cells sit at A1 and XFD1048576 is
/// refused before anything of its size is allocated.
pub mod limits {
    /// Rows of a sheet (the header included).
    pub const MAX_ROWS: u32 = 200_000;
    /// Columns of a sheet (A to IV).
    pub const MAX_COLS: u32 = 256;
    /// Non-empty cells of a sheet.
    pub const MAX_CELLS: usize = 8_000_000;
    /// Worksheets of a workbook.
    pub const MAX_SHEETS: usize = 255;
    /// Entries (parts) of the zip container.
    pub const MAX_ENTRIES: usize = 10_000;
    /// Inflated bytes of the whole container, of one part, and the largest inflate ratio of a
    /// part of more than 1 MiB (Excel's own XML compresses about 10:1).
    pub const MAX_INFLATED: u64 = 1 << 30;
    pub const MAX_PART: u64 = 512 << 20;
    pub const MAX_RATIO: u64 = 300;
    /// UTF-8 bytes of all cell text: a shared string is copied into every cell that refers
    /// to it, so a small file can name a long string millions of times.
    pub const MAX_TEXT: u64 = 512 << 20;
}

/// Reads a table; the format is told by content, not by the file name. Only the first
/// worksheet of a workbook is read (templates keep instructions on the second).
pub fn read_table(bytes: &[u8]) -> Result<Table, String> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(ZIP) {
        read_xlsx(bytes)
    } else if bytes.starts_with(OLE) {
        read_xls(bytes)
    } else {
        let records = csv_records(&decode_text(bytes)?)?;
        if records.len() > limits::MAX_ROWS as usize {
            return Err(too_many_rows());
        }
        if let Some(i) = records
            .iter()
            .position(|r| r.len() > limits::MAX_COLS as usize)
        {
            return Err(format!(
                "第{}行有{}列，超过上限{}列",
                i + 1,
                records[i].len(),
                limits::MAX_COLS
            ));
        }
        Ok(Table {
            first_col: 0,
            rows: records
                .into_iter()
                .enumerate()
                .map(|(i, r)| (i as u32 + 1, r.into_iter().map(Ok).collect()))
                .collect(),
        })
    }
}

/// The first worksheet of a legacy .xls. calamine reads every sheet densely when it opens
/// the workbook, so [`xls::sanitize`] bounds what it will build first; a panic of the reader
/// on a damaged file is a refusal like any other.
fn read_xls(bytes: &[u8]) -> Result<Table, String> {
    let clean = xls::sanitize(bytes)?;
    let read = std::panic::catch_unwind(|| {
        let mut wb = calamine::Xls::new(Cursor::new(clean))
            .map_err(|e| format!("无法作为Excel工作簿读取（{e}）"))?;
        match wb.worksheet_range_at(0) {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(format!("无法读取第一个工作表（{e}）")),
            None => Err("工作簿中没有工作表".to_string()),
        }
    });
    let range = read.unwrap_or_else(|_| Err("无法作为Excel工作簿读取（文件已损坏）".into()))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    Ok(Table {
        first_col: col0,
        rows: range
            .rows()
            .enumerate()
            .map(|(i, cells)| (row0 + i as u32 + 1, cells.iter().map(cell_text).collect()))
            .collect(),
    })
}

fn too_many_rows() -> String {
    format!("行数超过上限{}行，请拆分为多个文件导入", limits::MAX_ROWS)
}

/// Inflates every part of the zip container once, counting bytes, before calamine opens it:
/// calamine keeps the shared strings in memory, and a part may lie about its size.
fn check_zip(bytes: &[u8]) -> Result<(), String> {
    use limits::*;
    use std::io::Read;
    let bad = |e: zip::result::ZipError| format!("无法作为Excel工作簿读取（{e}）");
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!(
            "工作簿含{}个部件，超过上限{MAX_ENTRIES}个，不是正常的Excel文件",
            zip.len()
        ));
    }
    let declared: u64 = (0..zip.len())
        .filter_map(|i| zip.by_index_raw(i).ok().map(|f| f.size()))
        .fold(0u64, u64::saturating_add);
    if declared > MAX_INFLATED {
        return Err(format!(
            "工作簿解压后超过{}MB，文件过大或已损坏，请拆分后导入",
            MAX_INFLATED >> 20
        ));
    }
    let mut total = 0u64;
    let mut sink = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(bad)?;
        let compressed = part.compressed_size().max(1);
        let name = part.name().map(|n| n.into_owned()).unwrap_or_default();
        let mut inflated = 0u64;
        loop {
            let n = part
                .read(&mut sink)
                .map_err(|e| format!("无法作为Excel工作簿读取（{name}：{e}）"))?;
            if n == 0 {
                break;
            }
            inflated += n as u64;
            total += n as u64;
            if inflated > MAX_PART || total > MAX_INFLATED {
                return Err(format!(
                    "工作簿解压后超过{}MB（部件{name}），文件过大或已损坏，请拆分后导入",
                    MAX_PART.min(MAX_INFLATED) >> 20
                ));
            }
            if inflated > 1 << 20 && inflated / compressed > MAX_RATIO {
                return Err(format!(
                    "工作簿部件{name}的压缩比超过{MAX_RATIO}倍，不是正常的Excel文件"
                ));
            }
        }
    }
    Ok(())
}

/// The first worksheet of an .xlsx, read cell by cell (never as a dense range): a cell beyond
/// the row or column bound, or too many cells, is refused as soon as it is met.
fn read_xlsx(bytes: &[u8]) -> Result<Table, String> {
    use limits::*;
    check_zip(bytes)?;
    let mut wb = calamine::Xlsx::new(Cursor::new(bytes))
        .map_err(|e| format!("无法作为Excel工作簿读取（{e}）"))?;
    let names = wb.sheet_names();
    if names.len() > MAX_SHEETS {
        return Err(format!(
            "工作簿有{}个工作表，超过上限{MAX_SHEETS}个",
            names.len()
        ));
    }
    let Some(first) = names.first().cloned() else {
        return Err("工作簿中没有工作表".into());
    };
    let mut reader = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| format!("无法读取第一个工作表（{e}）"))?;
    let mut rows: std::collections::BTreeMap<u32, Vec<(u32, Cell)>> = Default::default();
    let mut cells = 0usize;
    let mut text = 0u64;
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| format!("无法读取第一个工作表（{e}）"))?
    {
        let (row, col) = cell.get_position();
        let value = cell.get_value();
        if matches!(value, DataRef::Empty) {
            continue;
        }
        let at = || {
            format!(
                "工作表“{first}”{}{}单元格",
                column_letter(col),
                row as u64 + 1
            )
        };
        if row >= MAX_ROWS {
            return Err(format!("{}有内容：{}", at(), too_many_rows()));
        }
        if col >= MAX_COLS {
            return Err(format!(
                "{}有内容：列数超过上限{MAX_COLS}列（A至{}列）",
                at(),
                column_letter(MAX_COLS - 1)
            ));
        }
        cells += 1;
        if cells > MAX_CELLS {
            return Err(format!(
                "非空单元格超过上限{MAX_CELLS}个，请拆分为多个文件导入"
            ));
        }
        // Measured before the text is copied out of the shared strings.
        text += match value {
            DataRef::SharedString(s) => s.len() as u64,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
                s.len() as u64
            }
            _ => 32,
        };
        if text > MAX_TEXT {
            return Err(format!(
                "单元格文字超过上限{}MB，请拆分为多个文件导入",
                MAX_TEXT >> 20
            ));
        }
        let value: Data = value.clone().into();
        rows.entry(row).or_default().push((col, cell_text(&value)));
    }
    let first_col = rows
        .values()
        .flat_map(|r| r.iter().map(|(c, _)| *c))
        .min()
        .unwrap_or(0);
    // Rows are filled out to their last cell: bound what that builds, too.
    let dense: u64 = rows
        .values()
        .map(|r| r.iter().map(|(c, _)| c - first_col + 1).max().unwrap_or(0) as u64)
        .sum();
    if dense > MAX_CELLS as u64 {
        return Err(format!(
            "工作表“{first}”的单元格（含行内空格）超过上限{MAX_CELLS}个，请删除多余的行列或拆分导入"
        ));
    }
    Ok(Table {
        first_col,
        rows: rows
            .into_iter()
            .map(|(row, mut cells)| {
                cells.sort_by_key(|(c, _)| *c);
                let width = cells.last().map_or(0, |(c, _)| c - first_col + 1);
                let mut dense = vec![Ok(String::new()); width as usize];
                for (c, text) in cells {
                    dense[(c - first_col) as usize] = text;
                }
                (row + 1, dense)
            })
            .collect(),
    })
}

/// A cell as the text an officer sees: dates as YYYY-MM-DD, numbers without float noise.
fn cell_text(d: &Data) -> Cell {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Float(f) => number_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("单元格是错误值“{e}”，请填写实际内容")),
    })
}

/// Excel shows at most 15 significant digits; rounding to them drops binary noise
/// (0.1 + 0.2 → 0.3), and Rust's shortest round-trip formatting drops a whole number's ".0"
/// (12345.0 → "12345", 963.5 → "963.5") and never uses an exponent.
fn number_text(f: f64) -> String {
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if rounded == 0.0 {
        "0".into()
    } else {
        rounded.to_string()
    }
}

/// CSV as saved by Excel: UTF-8 (with or without BOM), or GBK on a Chinese Windows. A file
/// that is valid UTF-8 is taken as UTF-8 (GBK text of any length almost never is).
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_owned());
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err("无法识别文件格式：不是Excel工作簿，也不是UTF-8或GBK编码的CSV文本".into());
    }
    Ok(text.into_owned())
}

/// Splits CSV text into records (RFC 4180): fields separated by commas, quoted fields may
/// hold commas, line breaks and doubled quotes. A record is one spreadsheet row, however
/// many lines it spans, as Excel opens it.
fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n' | '\r') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "第{}行的引号没有闭合，CSV文件不完整",
            records.len() + 1
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_bom_and_gbk() {
        let t = read_table("\u{feff}a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n".as_bytes()).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].1, vec![Ok("x,1".into()), Ok("say \"hi\"".into())]);
        let (gbk, _, _) = encoding_rs::GBK.encode("排口,废水\n");
        let t = read_table(&gbk).unwrap();
        assert_eq!(t.rows[0].1[0], Ok("排口".into()));
        assert!(read_table(b"\"open").is_err());
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(12345.0), "12345");
        assert_eq!(number_text(963.5), "963.5");
    }

    /// A workbook written by hand: `sheets` worksheets named S1…, the first holding
    /// `sheet_data` (the inside of `<sheetData>`), and the given shared strings part.
    fn workbook(sheets: usize, sheet_data: &str, sst: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9));
        let mut put = |name: &str, body: &[u8]| {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body).unwrap();
        };
        put("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#);
        put("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#);
        let mut wb = String::from(
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
        );
        let mut rels = String::from(
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        for i in 1..=sheets {
            wb += &format!(r#"<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>"#);
            rels += &format!(
                r#"<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>"#
            );
        }
        wb += "</sheets></workbook>";
        if sst.is_some() {
            rels += r#"<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#;
        }
        rels += "</Relationships>";
        put("xl/workbook.xml", wb.as_bytes());
        put("xl/_rels/workbook.xml.rels", rels.as_bytes());
        for i in 1..=sheets {
            let data = if i == 1 { sheet_data } else { "" };
            put(
                &format!("xl/worksheets/sheet{i}.xml"),
                format!(r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#).as_bytes(),
            );
        }
        if let Some(sst) = sst {
            put("xl/sharedStrings.xml", sst);
        }
        zip.finish().unwrap().into_inner()
    }

    fn text_cell(r: &str, text: &str) -> String {
        format!(r#"<c r="{r}" t="inlineStr"><is><t>{text}</t></is></c>"#)
    }

    #[test]
    fn a_workbook_is_read_sparsely_from_its_first_cell() {
        let data = format!(
            r#"<row r="2">{}{}</row><row r="4">{}</row>"#,
            text_cell("B2", "案号"),
            text_cell("D2", "罚款"),
            text_cell("C4", "x")
        );
        let t = read_table(&workbook(2, &data, None)).unwrap();
        assert_eq!(t.first_col, 1);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].0, 2);
        assert_eq!(
            t.rows[0].1,
            vec![Ok("案号".into()), Ok(String::new()), Ok("罚款".into())]
        );
        assert_eq!(t.rows[1], (4, vec![Ok(String::new()), Ok("x".into())]));
    }

    /// Issue #16: A1 and XFD1048576 made calamine allocate 17 billion cells and abort.
    #[test]
    fn a_far_cell_is_refused_before_anything_dense_is_built() {
        let data = format!(
            r#"<row r="1">{}</row><row r="1048576">{}</row>"#,
            text_cell("A1", "a"),
            text_cell("XFD1048576", "b")
        );
        let bytes = workbook(1, &data, None);
        assert!(bytes.len() < 4096);
        let e = read_table(&bytes).unwrap_err();
        assert!(e.contains("XFD1048576") && e.contains("上限"), "{e}");
        // The far row alone, within the columns.
        let data = format!(r#"<row r="300000">{}</row>"#, text_cell("A300000", "b"));
        let e = read_table(&workbook(1, &data, None)).unwrap_err();
        assert!(e.contains("A300000") && e.contains("行数超过上限"), "{e}");
        // Many short rows stretched to the last column: the dense size is bounded too.
        let mut data = String::new();
        for r in 1..=40_000 {
            data += &format!(
                r#"<row r="{r}">{}{}</row>"#,
                text_cell(&format!("A{r}"), "a"),
                text_cell(&format!("IV{r}"), "b")
            );
        }
        let e = read_table(&workbook(1, &data, None)).unwrap_err();
        assert!(e.contains("单元格") && e.contains("上限"), "{e}");
    }

    #[test]
    fn zip_bombs_are_refused() {
        // A worksheet part that inflates far beyond its size.
        let padding = " ".repeat(16 << 20);
        let e = read_table(&workbook(1, &padding, None)).unwrap_err();
        assert!(e.contains("压缩比"), "{e}");
        // A shared-strings table of millions of empty strings.
        let mut sst = String::from(
            r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        sst += &"<si><t></t></si>".repeat(2_000_000);
        sst += "</sst>";
        let e = read_table(&workbook(1, "", Some(sst.as_bytes()))).unwrap_err();
        assert!(e.contains("sharedStrings.xml"), "{e}");
        // Many worksheets.
        let e = read_table(&workbook(limits::MAX_SHEETS + 1, "", None)).unwrap_err();
        assert!(e.contains("工作表") && e.contains("上限"), "{e}");
        // A part that declares less than it inflates to is still counted as it inflates.
        assert!(read_table(b"PK\x03\x04garbage").is_err());
    }

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend((data.len() as u16).to_le_bytes());
        r.extend(data);
        r
    }

    /// A BIFF8 workbook written by hand: `sheets` worksheets, each holding `sheet` (its
    /// records between BOF and EOF), with the shared strings `sst` (an SST record's data).
    fn xls_workbook(sheets: usize, sheet: &[u8], sst: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write;
        let bof = |dt: u8| {
            record(
                0x0809,
                &[0x00, 0x06, dt, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            )
        };
        let boundsheet = |pos: u32, i: usize| {
            let name = format!("S{i}");
            let mut d = pos.to_le_bytes().to_vec();
            d.extend([0, 0, name.len() as u8, 0]);
            d.extend(name.as_bytes());
            record(0x0085, &d)
        };
        let globals = |positions: &[u32]| {
            let mut g = bof(0x05);
            for (i, pos) in positions.iter().enumerate() {
                g.extend(boundsheet(*pos, i));
            }
            if let Some(sst) = sst {
                g.extend(record(0x00FC, sst));
            }
            g.extend(record(0x000A, &[]));
            g
        };
        // BOUNDSHEET records are of fixed size: the globals' length does not depend on them.
        let start = globals(&vec![0; sheets]).len();
        let mut body = Vec::new();
        let mut positions = Vec::new();
        for _ in 0..sheets {
            positions.push((start + body.len()) as u32);
            body.extend(bof(0x10));
            body.extend(sheet);
            body.extend(record(0x000A, &[]));
        }
        let mut stream = globals(&positions);
        stream.extend(body);
        let mut file =
            cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
                .unwrap();
        file.create_stream("/Workbook")
            .unwrap()
            .write_all(&stream)
            .unwrap();
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    /// A LABELSST cell: row, column, format 0, shared string `i`.
    fn label_sst(row: u16, col: u16, i: u32) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend(col.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(i.to_le_bytes());
        record(0x00FD, &d)
    }

    /// An SST of the given strings (8-bit characters, no CONTINUE).
    fn sst(strings: &[&str]) -> Vec<u8> {
        let mut d = (strings.len() as u32).to_le_bytes().to_vec();
        d.extend((strings.len() as u32).to_le_bytes());
        for s in strings {
            d.extend((s.len() as u16).to_le_bytes());
            d.push(0);
            d.extend(s.as_bytes());
        }
        d
    }

    #[test]
    fn an_xls_is_read() {
        let sst = sst(&["6", "abc"]);
        let mut sheet = label_sst(0, 0, 1);
        sheet.extend(label_sst(2, 1, 0));
        let t = read_table(&xls_workbook(1, &sheet, Some(&sst))).unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0], (1, vec![Ok("abc".into()), Ok(String::new())]));
        assert_eq!(t.rows[2], (3, vec![Ok(String::new()), Ok("6".into())]));
    }

    /// Issue #16: calamine reads an .xls densely and eagerly; each of these is a small file
    /// that made it build gigabytes.
    #[test]
    fn xls_bombs_are_refused() {
        let strings = sst(&["x"]);
        // Cells at A1 and IV65536: 16.7 million dense cells.
        let mut far = label_sst(0, 0, 0);
        far.extend(label_sst(65535, 255, 0));
        let bytes = xls_workbook(1, &far, Some(&strings));
        assert!(bytes.len() < 8192);
        let e = read_table(&bytes).unwrap_err();
        assert!(e.contains("上限"), "{e}");
        // A DIMENSIONS record claiming 4 billion rows: calamine reserves them.
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend(u32::MAX.to_le_bytes());
        dims.extend([0, 0, 0, 1, 0, 0]);
        let e = read_table(&xls_workbook(1, &record(0x0200, &dims), None)).unwrap_err();
        assert!(e.contains("区域超过上限"), "{e}");
        // A long shared string named by many cells: copied into each.
        let long = "y".repeat(30_000);
        let strings = sst(&[&long]);
        let mut many = Vec::new();
        for r in 0..5_000u16 {
            for c in 0..4 {
                many.extend(label_sst(r, c, 0));
            }
        }
        let bytes = xls_workbook(1, &many, Some(&strings));
        assert!(bytes.len() < 512 << 10);
        let e = read_table(&bytes).unwrap_err();
        assert!(e.contains("文字超过上限"), "{e}");
        // Many sheets, each filled out densely: counted together.
        let mut block = Vec::new();
        block.extend(label_sst(0, 0, 0));
        block.extend(label_sst(9999, 99, 0));
        let e = read_table(&xls_workbook(100, &block, Some(&sst(&["z"])))).unwrap_err();
        assert!(e.contains("上限"), "{e}");
        let e = read_table(&xls_workbook(limits::MAX_SHEETS + 1, &[], None)).unwrap_err();
        assert!(e.contains("工作表超过上限"), "{e}");
        // Damaged files are refused, not panicked on.
        assert!(read_table(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]).is_err());
        let short = xls_workbook(1, &record(0x00FD, &[1, 0]), Some(&sst(&["a"])));
        let e = read_table(&short).unwrap_err();
        assert!(e.contains("第1个工作表") && e.contains("已损坏"), "{e}");
    }

    /// Issue #16: a shared string of 1 MiB named by every cell of an .xlsx.
    #[test]
    fn xlsx_text_is_bounded_before_it_is_copied() {
        // Letters that do not compress much, so the zip checks pass.
        let mut seed = 12345u64;
        let long: String = (0..1 << 20)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + (seed >> 59) as u8)
            })
            .collect();
        let mut sst = String::from(
            r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        sst += &format!("<si><t>{long}</t></si></sst>");
        let mut data = String::new();
        for r in 1..=700 {
            data += &format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>"#);
        }
        let e = read_table(&workbook(1, &data, Some(sst.as_bytes()))).unwrap_err();
        assert!(e.contains("文字超过上限"), "{e}");
    }

    #[test]
    fn csv_rows_and_columns_are_bounded() {
        let wide = vec!["x"; limits::MAX_COLS as usize + 1].join(",");
        let e = read_table(format!("a\n{wide}\n").as_bytes()).unwrap_err();
        assert!(e.contains("第2行") && e.contains("上限"), "{e}");
        let tall = "a\n".repeat(limits::MAX_ROWS as usize + 1);
        assert!(
            read_table(tall.as_bytes())
                .unwrap_err()
                .contains("行数超过上限")
        );
    }
}
