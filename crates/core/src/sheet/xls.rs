//! Bounds on a legacy .xls (BIFF in a compound file) before calamine reads it. calamine parses
//! every worksheet of an .xls eagerly and densely when the workbook is opened: it reserves
//! what a sheet's DIMENSIONS record claims, fills each sheet out to a rectangle from its
//! first to its last cell, copies a shared string for every cell that refers to it, and walks
//! the compound file's sector chains without a loop check. So the file is taken apart here
//! first (the `cfb` crate validates the chains), every record that makes calamine allocate
//! is counted against [`super::limits`], and calamine is handed a fresh compound file that
//! holds only the workbook stream.

use std::io::{Cursor, Read, Write};

use super::limits::*;

/// Record types of MS-XLS that matter here.
const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CONTINUE: u16 = 0x003C;
const BOUNDSHEET: u16 = 0x0085;
const SST: u16 = 0x00FC;
const DIMENSIONS: u16 = 0x0200;
const LABEL_SST: u16 = 0x00FD;
const MUL_RK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;
/// Cells whose record starts with row and column (Number, Label, RString, BoolErr, Rk).
const CELLS: [u16; 5] = [0x0203, 0x0204, 0x00D6, 0x0205, 0x027E];

/// The workbook stream of an .xls, checked, in a compound file of its own for calamine.
pub(super) fn sanitize(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let stream = workbook_stream(bytes)?;
    check_workbook(&stream)?;
    let mut out = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .map_err(unreadable)?;
    out.create_stream("/Workbook")
        .and_then(|mut s| s.write_all(&stream))
        .map_err(unreadable)?;
    out.flush().map_err(unreadable)?;
    Ok(out.into_inner().into_inner())
}

fn unreadable(e: impl std::fmt::Display) -> String {
    format!("无法作为Excel工作簿读取（{e}）")
}

fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(unreadable)?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| file.is_stream(n))
        .ok_or("不是Excel工作簿：文件中没有工作簿数据")?;
    let stream = file.open_stream(name).map_err(unreadable)?;
    // A stream cannot hold more than the file; a damaged header may claim more.
    let mut data = Vec::new();
    stream
        .take((bytes.len() as u64).min(MAX_PART))
        .read_to_end(&mut data)
        .map_err(unreadable)?;
    Ok(data)
}

/// A BIFF record and the CONTINUE records that follow it (calamine joins them).
struct Record<'a> {
    typ: u16,
    parts: Vec<&'a [u8]>,
}

/// Records from `at` on; an error names the byte offset of a record that runs past the end.
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = Result<Record<'_>, String>> {
    let head = move |at: usize| -> Option<Result<(u16, &[u8]), String>> {
        let h = stream.get(at..at + 4)?;
        let (typ, len) = (
            u16::from_le_bytes([h[0], h[1]]),
            u16::from_le_bytes([h[2], h[3]]) as usize,
        );
        Some(
            stream
                .get(at + 4..at + 4 + len)
                .map(|d| (typ, d))
                .ok_or_else(|| format!("工作簿数据在第{at}字节处的记录不完整，文件已损坏")),
        )
    };
    std::iter::from_fn(move || {
        let (typ, data) = match head(at)? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        at += 4 + data.len();
        let mut parts = vec![data];
        while let Some(Ok((CONTINUE, more))) = head(at) {
            at += 4 + more.len();
            parts.push(more);
            if parts.len() > MAX_CONTINUE {
                return Some(Err(format!(
                    "工作簿数据在第{at}字节前有超过{MAX_CONTINUE}个续接记录，不是正常的Excel文件"
                )));
            }
        }
        Some(Ok(Record { typ, parts }))
    })
}

/// Continue records after one record (an 8 MiB shared-strings table has about 1,000);
/// calamine takes each from the front of a list, quadratic in their number.
const MAX_CONTINUE: usize = 20_000;

fn u16_at(d: &[u8], i: usize) -> Option<u32> {
    d.get(i..i + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
}

fn u32_at(d: &[u8], i: usize) -> Option<u32> {
    d.get(i..i + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn check_workbook(stream: &[u8]) -> Result<(), String> {
    let mut sheets = Vec::new();
    let mut strings: Vec<u32> = Vec::new();
    for r in records(stream, 0) {
        let r = r?;
        match r.typ {
            BOUNDSHEET => {
                let pos = u32_at(r.parts[0], 0).ok_or("工作表目录记录不完整，文件已损坏")?;
                if pos as usize >= stream.len() {
                    return Err("工作表目录指向文件之外，文件已损坏".into());
                }
                sheets.push(pos as usize);
                if sheets.len() > MAX_SHEETS {
                    return Err(format!("工作簿的工作表超过上限{MAX_SHEETS}个"));
                }
            }
            SST => strings = string_lengths(&r.parts)?,
            EOF => break,
            _ => {}
        }
    }
    let mut budget = Budget::default();
    for (i, pos) in sheets.into_iter().enumerate() {
        check_sheet(stream, pos, &strings, &mut budget)
            .map_err(|e| format!("第{}个工作表：{e}", i + 1))?;
    }
    Ok(())
}

/// What calamine builds for all worksheets together.
#[derive(Default)]
struct Budget {
    reserved: u64,
    dense: u64,
    cells: u64,
    text: u64,
}

/// The bounding rectangle of a set of cells.
#[derive(Default)]
struct Extent(Option<(u32, u32, u32, u32)>);

impl Extent {
    fn add(&mut self, row: u32, col: u32) {
        let (r0, r1, c0, c1) = self.0.unwrap_or((row, row, col, col));
        self.0 = Some((r0.min(row), r1.max(row), c0.min(col), c1.max(col)));
    }

    fn area(&self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            (r1 - r0 + 1) as u64 * (c1 - c0 + 1) as u64
        })
    }
}

fn check_sheet(
    stream: &[u8],
    pos: usize,
    strings: &[u32],
    budget: &mut Budget,
) -> Result<(), String> {
    let damaged = |what: &str| format!("{what}记录不完整，文件已损坏");
    let mut values = Extent::default();
    let mut formulas = Extent::default();
    let mut cell = |row: u32, col: u32, budget: &mut Budget| -> Result<(), String> {
        let at = || format!("{}{}单元格有内容：", super::column_letter(col), row + 1);
        if row >= MAX_ROWS {
            return Err(format!("{}{}", at(), super::too_many_rows()));
        }
        if col >= MAX_COLS {
            return Err(format!("{}列数超过上限{MAX_COLS}列", at()));
        }
        values.add(row, col);
        budget.cells += 1;
        Ok(())
    };
    let (mut depth, mut seen_bof) = (0usize, false);
    for r in records(stream, pos) {
        let r = r?;
        let d = r.parts[0];
        // Embedded charts are substreams of their own; calamine skips them.
        if depth > 0 {
            match r.typ {
                BOF => depth += 1,
                EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        match r.typ {
            BOF if seen_bof => depth += 1,
            BOF => seen_bof = true,
            EOF => break,
            DIMENSIONS => budget.reserved += dimensions(d).ok_or_else(|| damaged("区域"))?,
            t if CELLS.contains(&t) => {
                let (row, col) = u16_at(d, 0)
                    .zip(u16_at(d, 2))
                    .ok_or_else(|| damaged("单元格"))?;
                cell(row, col, budget)?;
                // Inline text: at most 4 bytes of UTF-8 per byte of the record.
                budget.text += 4 * r.parts.iter().map(|p| p.len() as u64).sum::<u64>();
            }
            LABEL_SST => {
                let (row, col) = u16_at(d, 0)
                    .zip(u16_at(d, 2))
                    .ok_or_else(|| damaged("单元格"))?;
                let i = u32_at(d, 6).ok_or_else(|| damaged("单元格"))?;
                if let Some(chars) = strings.get(i as usize) {
                    cell(row, col, budget)?;
                    budget.text += 4 * *chars as u64;
                }
            }
            MUL_RK => {
                let row = u16_at(d, 0).ok_or_else(|| damaged("单元格"))?;
                let first = u16_at(d, 2).ok_or_else(|| damaged("单元格"))?;
                let last = d
                    .len()
                    .checked_sub(2)
                    .and_then(|i| u16_at(d, i))
                    .filter(|l| *l >= first)
                    .ok_or_else(|| damaged("单元格"))?;
                cell(row, first, budget)?;
                cell(row, last, budget)?;
                budget.cells += (last - first) as u64;
            }
            FORMULA => {
                let (row, col) = u16_at(d, 0)
                    .zip(u16_at(d, 2))
                    .ok_or_else(|| damaged("公式"))?;
                cell(row, col, budget)?;
                formulas.add(row, col);
                // calamine spells each formula out: a 5-byte reference to a defined name
                // becomes up to 255 characters of it.
                budget.text += 160 * d.len() as u64;
            }
            _ => {}
        }
        if budget.cells > MAX_CELLS as u64 {
            return Err(format!(
                "非空单元格超过上限{MAX_CELLS}个，请拆分为多个文件导入"
            ));
        }
        if budget.reserved > MAX_CELLS as u64 {
            return Err(format!(
                "声明的区域超过上限{MAX_CELLS}个单元格，文件已损坏或过大"
            ));
        }
        if budget.text > MAX_TEXT {
            return Err(format!(
                "单元格文字超过上限{}MB，请拆分为多个文件导入",
                MAX_TEXT >> 20
            ));
        }
    }
    budget.dense += values.area() + formulas.area();
    if budget.dense > MAX_CELLS as u64 {
        return Err(format!(
            "单元格（含行内空格）超过上限{MAX_CELLS}个，请删除多余的行列或拆分导入"
        ));
    }
    Ok(())
}

/// Cells a DIMENSIONS record makes calamine reserve, read as calamine reads it; `None` for a
/// record calamine would mis-read (a short one, or a last row or column before the first).
fn dimensions(d: &[u8]) -> Option<u64> {
    let (rf, rl, cf, cl) = match d.len() {
        10 => (u16_at(d, 0)?, u16_at(d, 2)?, u16_at(d, 4)?, u16_at(d, 6)?),
        14 | 16 => (u32_at(d, 0)?, u32_at(d, 4)?, u16_at(d, 8)?, u16_at(d, 10)?),
        _ => return None,
    };
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl == 0 || cl == 0 {
        return Some(1);
    }
    let rows = (rl - 1).checked_sub(rf)? as u64 + 1;
    let cols = (cl - 1).checked_sub(cf)? as u64 + 1;
    Some(rows * cols)
}

/// Characters of each string of the shared-strings table (SST), read as calamine reads it:
/// a string's characters may continue in the next record behind a flags byte.
fn string_lengths<'a>(parts: &[&'a [u8]]) -> Result<Vec<u32>, String> {
    let damaged = || "共享字符串表不完整，文件已损坏".to_string();
    let mut seg = 0;
    let mut data = parts[0].get(8..).ok_or_else(damaged)?;
    let mut lens = Vec::new();
    let next = |seg: &mut usize, data: &mut &'a [u8]| -> bool {
        *seg += 1;
        parts.get(*seg).map(|p| *data = p).is_some()
    };
    loop {
        if data.is_empty() && !next(&mut seg, &mut data) {
            return Ok(lens);
        }
        if data.len() < 3 {
            return Err(damaged());
        }
        let cch = u16_at(data, 0).ok_or_else(damaged)?;
        let flags = data[2];
        let mut at = 3;
        let mut runs = 0u64;
        if flags & 0x8 != 0 {
            runs = u16_at(data, at).ok_or_else(damaged)? as u64 * 4;
            at += 2;
        }
        let mut ext = 0u64;
        if flags & 0x4 != 0 {
            ext = u32_at(data, at).ok_or_else(damaged)? as u64;
            at += 4;
        }
        data = data.get(at..).ok_or_else(damaged)?;
        let (mut left, mut wide) = (cch as usize, flags & 0x1 != 0);
        while left > 0 {
            let width = if wide { 2 } else { 1 };
            let take = left.min(data.len() / width);
            data = &data[take * width..];
            left -= take;
            if left > 0 {
                if !next(&mut seg, &mut data) || data.is_empty() {
                    return Err(damaged());
                }
                wide = data[0] & 0x1 != 0;
                data = &data[1..];
            }
        }
        let mut skip = runs + ext;
        while skip > 0 {
            if data.is_empty() && !next(&mut seg, &mut data) {
                return Err(damaged());
            }
            let n = skip.min(data.len() as u64);
            data = &data[n as usize..];
            skip -= n;
        }
        lens.push(cch);
        if lens.len() > MAX_CELLS {
            return Err(format!(
                "共享字符串超过上限{MAX_CELLS}个，请拆分为多个文件导入"
            ));
        }
    }
}
