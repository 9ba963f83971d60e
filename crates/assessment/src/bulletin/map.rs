//! The bulletin's map: a tile cartogram of Fujian generated from the region tree
//! (`fujian_divisions.csv` in core), not drawn from boundary data.
//!
//! Each of the ten city-level units (the nine cities and 平潭综合实验区, a peer of the cities)
//! is one square tile, placed by hand on a 4 × 4 grid so that neighbours stay neighbours:
//! 南平 and 宁德 in the north, 三明 and 福州 in the middle with the island of 平潭 off the
//! coast, 龙岩, 泉州 and 莆田 below, 漳州 and 厦门 in the south. When counties are ranked, a
//! tile is divided into one cell per county unit of that city. Equal areas per unit suit a
//! score map better than true areas would: a small coastal district counts as much as a
//! large mountain county.

use ecowarden_core::org::Org;

use super::Ranking;

/// City-level code, short name, column and row on the grid.
const TILES: [(&str, &str, u8, u8); 10] = [
    ("350700", "南平", 1, 0),
    ("350900", "宁德", 2, 0),
    ("350400", "三明", 1, 1),
    ("350100", "福州", 2, 1),
    ("350128", "平潭", 3, 1),
    ("350800", "龙岩", 0, 2),
    ("350500", "泉州", 1, 2),
    ("350300", "莆田", 2, 2),
    ("350600", "漳州", 0, 3),
    ("350200", "厦门", 1, 3),
];

/// The grid's size in tiles.
pub const COLUMNS: u8 = 4;
pub const ROWS: u8 = 4;

/// A city-level unit's tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub code: String,
    pub name: String,
    pub column: u8,
    pub row: u8,
    /// One cell for the tile itself when it is a scored unit (or when the province is),
    /// else one per county unit of the city, in code order; empty for 平潭 in a county run.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub code: String,
    pub name: String,
    /// `None`: not among the run's units (outside its area).
    pub score: Option<f64>,
}

/// The tiles of a run's ranking.
pub fn tiles(ranking: &Ranking, org: &Org) -> Vec<Tile> {
    let score = |code: &str| {
        ranking
            .rows
            .iter()
            .find(|r| r.region_code == code)
            .map(|r| r.score)
    };
    let province = score(&org.province().code);
    TILES
        .iter()
        .map(|&(code, name, column, row)| {
            let own = province.or_else(|| score(code));
            let cells = if own.is_some() {
                vec![Cell {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    score: own,
                }]
            } else {
                org.counties_of(code)
                    .map(|c| Cell {
                        code: c.code.clone(),
                        name: c.name.clone(),
                        score: score(&c.code),
                    })
                    .collect()
            };
            Tile {
                code: code.to_owned(),
                name: name.to_owned(),
                column,
                row,
                cells,
            }
        })
        .collect()
}

/// The fill of a score between the lowest and the highest of the run: light to dark blue;
/// grey for a unit outside the run.
pub fn colour(score: Option<f64>, low: f64, high: f64) -> (u8, u8, u8) {
    const LIGHT: (f64, f64, f64) = (222.0, 235.0, 247.0);
    const DARK: (f64, f64, f64) = (8.0, 81.0, 156.0);
    let Some(s) = score else {
        return (224, 224, 224);
    };
    let t = if high > low {
        ((s - low) / (high - low)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    (
        mix(LIGHT.0, DARK.0),
        mix(LIGHT.1, DARK.1),
        mix(LIGHT.2, DARK.2),
    )
}

/// The lowest and highest score of a ranking ((0, 0) when empty).
pub fn bounds(ranking: &Ranking) -> (f64, f64) {
    let scores = ranking.rows.iter().map(|r| r.score);
    let low = scores.clone().fold(f64::INFINITY, f64::min);
    let high = scores.fold(f64::NEG_INFINITY, f64::max);
    if low.is_finite() {
        (low, high)
    } else {
        (0.0, 0.0)
    }
}

/// Text colour readable on a fill: white on dark, black on light.
pub fn ink((r, g, b): (u8, u8, u8)) -> (u8, u8, u8) {
    let luminance = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
    if luminance < 140.0 {
        (255, 255, 255)
    } else {
        (0, 0, 0)
    }
}

/// A county's name without its 区/县/市 suffix, to fit a cell.
pub fn short_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() > 2 && matches!(chars.last(), Some('区' | '县' | '市')) {
        chars[..chars.len() - 1].iter().collect()
    } else {
        name.to_owned()
    }
}

/// The boxes (x, y, width, height) of `n` cells in a near-square grid filling a `w` × `h`
/// area at (x, y), row by row.
pub fn cell_boxes(n: usize, x: f32, y: f32, w: f32, h: f32) -> Vec<(f32, f32, f32, f32)> {
    if n == 0 {
        return Vec::new();
    }
    let cols = (n as f32).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let (cw, ch) = (w / cols as f32, h / rows as f32);
    (0..n)
        .map(|i| {
            (
                x + cw * (i % cols) as f32,
                y + ch * (i / cols) as f32,
                cw,
                ch,
            )
        })
        .collect()
}

/// The map as an SVG element for a page: the same tiles and colours as the bulletin's,
/// each cell titled with its unit and score.
pub fn svg(ranking: &Ranking, org: &Org) -> String {
    let (low, high) = bounds(ranking);
    let (size, gap, band) = (120.0_f32, 4.0_f32, 18.0_f32);
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let rgb = |(r, g, b): (u8, u8, u8)| format!("rgb({r},{g},{b})");
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="tile-map" role="img" aria-label="得分示意图" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-size="11">"#,
        w = size * f32::from(COLUMNS),
        h = size * f32::from(ROWS),
    );
    for t in tiles(ranking, org) {
        let x = size * f32::from(t.column) + gap / 2.0;
        let y = size * f32::from(t.row) + gap / 2.0;
        let s = size - gap;
        out.push_str(&format!(
            r##"<g data-code="{}"><rect x="{x}" y="{y}" width="{s}" height="{s}" fill="#fafafa" stroke="#ccc"/><text x="{}" y="{}" text-anchor="middle">{}</text>"##,
            t.code,
            x + s / 2.0,
            y + 13.0,
            esc(&t.name)
        ));
        if t.cells.is_empty() {
            out.push_str(&format!(
                r#"<rect x="{x}" y="{}" width="{s}" height="{}" fill="{}"><title>未参评</title></rect>"#,
                y + band,
                s - band,
                rgb(colour(None, low, high))
            ));
        }
        for (c, (cx, cy, cw, ch)) in
            t.cells
                .iter()
                .zip(cell_boxes(t.cells.len(), x, y + band, s, s - band))
        {
            let fill = colour(c.score, low, high);
            let score = c.score.map_or("未参评".to_owned(), |v| format!("{v:.2}"));
            out.push_str(&format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-score="{score}"><title>{}：{score}</title></rect><text x="{}" y="{}" text-anchor="middle" font-size="9" fill="{}">{}</text>"#,
                cx + 0.5,
                cy + 0.5,
                cw - 1.0,
                ch - 1.0,
                rgb(fill),
                esc(&c.name),
                cx + cw / 2.0,
                cy + ch / 2.0 + 3.0,
                rgb(ink(fill)),
                esc(&short_name(&c.name)),
            ));
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}
