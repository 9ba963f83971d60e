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
