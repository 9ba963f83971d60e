//! Uploaded tables as rows of text cells: the first worksheet of an .xlsx/.xls workbook, or
//! CSV text as Excel saves it (UTF-8 with or without BOM, or GBK on a Chinese Windows).
//! Imports (the case ledger, the monitoring registry) read files through here, interpret the
//! cells themselves and report each [`Problem`] where the officer sees it in Excel.

use std::io::Cursor;

use calamine::{Data, Reader};
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

/// Reads a table; the format is told by content, not by the file name. Only the first
/// worksheet of a workbook is read (templates keep instructions on the second).
pub fn read_table(bytes: &[u8]) -> Result<Table, String> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(ZIP) || bytes.starts_with(OLE) {
        let range = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
            .map_err(|e| format!("无法作为Excel工作簿读取（{e}）"))
            .and_then(|mut wb| match wb.worksheet_range_at(0) {
                Some(Ok(r)) => Ok(r),
                Some(Err(e)) => Err(format!("无法读取第一个工作表（{e}）")),
                None => Err("工作簿中没有工作表".into()),
            })?;
        let (row0, col0) = range.start().unwrap_or((0, 0));
        Ok(Table {
            first_col: col0,
            rows: range
                .rows()
                .enumerate()
                .map(|(i, cells)| (row0 + i as u32 + 1, cells.iter().map(cell_text).collect()))
                .collect(),
        })
    } else {
        let records = csv_records(&decode_text(bytes)?)?;
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
}
