//! The organisation: regions (GB/T 2260), enforcement units and officers.
//!
//! Fujian is one province, 9 cities and their county units. Two facts of the real organisation
//! are encoded here rather than derived from code shapes: 金门县 (350527) is listed in GB/T 2260
//! but administered from Taiwan, so it has no unit; 平潭综合实验区 (code 350128, a county of
//! 福州 on paper) reports to the province as a peer of the cities. That is why every record
//! carries both its `region_code` and the `city_code` it reports to, and scope checks use the
//! latter instead of a 4-digit prefix.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;

use crate::ids::RegionCode;
use crate::store::{Db, Result};

/// GB/T 2260 codes of Fujian, as published (see data/fujian_divisions.csv).
const DIVISIONS_CSV: &str = include_str!("../data/fujian_divisions.csv");
/// Listed in GB/T 2260 but not administered by Fujian.
const NOT_ADMINISTERED: &[&str] = &["350527"];
/// 平潭综合实验区: reports to the province like a city.
pub const PINGTAN: &str = "350128";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province,
    City,
    County,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "province" => Level::Province,
            "city" => Level::City,
            _ => Level::County,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_code: Option<String>,
    /// The city this region reports to; a city (or a peer of one) reports to itself.
    pub city_code: String,
}

/// The region tree, loaded once at start; small (94 entries) and read on every request.
#[derive(Debug, Clone, Default)]
pub struct Org {
    regions: BTreeMap<String, Region>,
}

impl Org {
    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.get(code)
    }

    /// Parses a code and checks that it is a region of this organisation.
    pub fn known(&self, code: &str) -> Result<&Region, String> {
        let rc: RegionCode = code.parse().map_err(|e: crate::ids::ParseIdError| e.0)?;
        self.region(rc.as_str())
            .ok_or_else(|| format!("行政区划代码“{rc}”不在本系统的组织机构中"))
    }

    pub fn province(&self) -> &Region {
        self.regions
            .values()
            .find(|r| r.level == Level::Province)
            .expect("seeded")
    }

    /// Cities and peers of cities, in code order.
    pub fn cities(&self) -> impl Iterator<Item = &Region> {
        self.regions.values().filter(|r| r.level == Level::City)
    }

    pub fn counties_of<'a>(&'a self, city: &'a str) -> impl Iterator<Item = &'a Region> + 'a {
        self.regions
            .values()
            .filter(move |r| r.level == Level::County && r.city_code == city)
    }

    pub fn all(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }

    pub fn name(&self, code: &str) -> &str {
        self.region(code)
            .map(|r| r.name.as_str())
            .unwrap_or("未知地区")
    }

    /// The name of a row of a per-region breakdown (statistics, dashboard): a case belongs
    /// to its region's unit, and the province's unit is the corps, so the province's own
    /// code counts the cases the corps handles itself, not a region's.
    pub fn breakdown_name(&self, code: &str) -> &str {
        if code == self.province().code {
            "省总队直办"
        } else {
            self.name(code)
        }
    }

    pub async fn load(db: &Db) -> Result<Arc<Org>> {
        let rows = sqlx::query("SELECT code, name, level, parent_code, city_code FROM regions")
            .fetch_all(db.pool())
            .await?;
        let regions = rows
            .iter()
            .map(|r| {
                Ok(Region {
                    code: r.try_get(0)?,
                    name: r.try_get(1)?,
                    level: Level::parse(&r.try_get::<String, _>(2)?),
                    parent_code: r.try_get(3)?,
                    city_code: r.try_get(4)?,
                })
            })
            .collect::<Result<Org>>()?;
        Ok(Arc::new(regions))
    }
}

/// An organisation from its regions, e.g. [`fujian_regions`] where no store is at hand
/// (fuzz targets, benchmarks).
impl FromIterator<Region> for Org {
    fn from_iter<I: IntoIterator<Item = Region>>(regions: I) -> Self {
        Org {
            regions: regions.into_iter().map(|r| (r.code.clone(), r)).collect(),
        }
    }
}

/// The name of a region code, for rows that carry only the code (lists render thousands of
/// them, so no store lookup); the code itself if it is not one of Fujian's.
pub fn region_name(code: &str) -> &str {
    static NAMES: std::sync::LazyLock<BTreeMap<String, String>> = std::sync::LazyLock::new(|| {
        fujian_regions()
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect()
    });
    NAMES.get(code).map_or(code, String::as_str)
}

/// The region tree as the bureau uses it, from the published division codes.
pub fn fujian_regions() -> Vec<Region> {
    let mut out = Vec::new();
    for line in DIVISIONS_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let (code, name, parent, level) = (f[0], f[1], f[2], f[3]);
        if NOT_ADMINISTERED.contains(&code) {
            continue;
        }
        let region = if code == PINGTAN {
            Region {
                code: code.into(),
                name: "平潭综合实验区".into(),
                level: Level::City,
                parent_code: Some("350000".into()),
                city_code: code.into(),
            }
        } else {
            let level = match level {
                "province" => Level::Province,
                "prefecture" => Level::City,
                _ => Level::County,
            };
            Region {
                code: code.into(),
                name: name.into(),
                level,
                parent_code: (!parent.is_empty()).then(|| parent.to_owned()),
                city_code: match level {
                    Level::County => parent.to_owned(),
                    _ => code.to_owned(),
                },
            }
        };
        out.push(region);
    }
    out
}

/// Case-number prefix of a city's units (the customary one-character abbreviations).
fn city_abbr(city_code: &str) -> &'static str {
    match city_code {
        "350100" => "榕",
        "350200" => "厦",
        "350300" => "莆",
        "350400" => "明",
        "350500" => "泉",
        "350600" => "漳",
        "350700" => "南",
        "350800" => "龙",
        "350900" => "宁",
        PINGTAN => "岚",
        _ => "闽",
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub city_code: String,
    pub case_prefix: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Officer {
    pub id: i64,
    pub name: String,
    pub unit_id: i64,
    pub certificate_no: Option<String>,
    pub region_code: String,
    pub city_code: String,
    pub active: i64,
}

/// Seeds regions and one enforcement unit per region (corps, detachments, brigades) into an
/// empty store. Idempotent: does nothing when regions exist.
pub async fn seed(db: &Db) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM regions")
        .fetch_one(db.pool())
        .await?;
    if n > 0 {
        return Ok(false);
    }
    let regions = fujian_regions();
    let mut w = db.write().await?;
    for r in &regions {
        sqlx::query("INSERT INTO regions (code, name, level, parent_code, city_code) VALUES ($1,$2,$3,$4,$5)")
            .bind(&r.code)
            .bind(&r.name)
            .bind(r.level.as_str())
            .bind(&r.parent_code)
            .bind(&r.city_code)
            .execute(&mut *w.tx)
            .await?;
    }
    for r in &regions {
        let short = r.name.trim_end_matches(['省', '市', '区', '县']);
        let (name, kind, prefix) = match r.level {
            Level::Province => (
                "福建省生态环境保护综合执法总队".to_owned(),
                "corps",
                "闽环罚".to_owned(),
            ),
            Level::City => (
                format!("{}生态环境保护综合执法支队", r.name),
                "detachment",
                format!("{}环罚", city_abbr(&r.code)),
            ),
            Level::County => (
                format!("{}生态环境保护综合执法大队", r.name),
                "brigade",
                format!("{}{}环罚", city_abbr(&r.city_code), short),
            ),
        };
        sqlx::query("INSERT INTO units (name, kind, region_code, city_code, case_prefix) VALUES ($1,$2,$3,$4,$5)")
            .bind(name)
            .bind(kind)
            .bind(&r.code)
            .bind(&r.city_code)
            .bind(prefix)
            .execute(&mut *w.tx)
            .await?;
    }
    w.commit().await?;
    Ok(true)
}

pub async fn units(db: &Db) -> Result<Vec<Unit>> {
    Ok(sqlx::query_as("SELECT * FROM units ORDER BY region_code")
        .fetch_all(db.pool())
        .await?)
}

/// One officer of the roster: who, in which unit, with which certificate, for how long.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RosterEntry {
    pub id: i64,
    pub name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub certificate_no: Option<String>,
    pub region_code: String,
    pub city_code: String,
    pub active: i64,
    pub certified_on: Option<String>,
    pub certificate_expires_on: Option<String>,
}

impl RosterEntry {
    /// Whether the officer may sign acts on `day`: active, with a certificate valid that day
    /// (dates not recorded count as valid, as the legal checks read them).
    pub fn may_act_on(&self, day: &str) -> bool {
        self.active == 1
            && self.certificate_no.is_some()
            && self.certified_on.as_deref().is_none_or(|d| d <= day)
            && self
                .certificate_expires_on
                .as_deref()
                .is_none_or(|d| d >= day)
    }

    /// The officer's standing on `day`, in the words of the roster page.
    pub fn status_label(&self, day: &str) -> &'static str {
        if self.active != 1 {
            "已停用"
        } else if self.certificate_no.is_none() {
            "无执法证"
        } else if self
            .certificate_expires_on
            .as_deref()
            .is_some_and(|d| d < day)
        {
            "执法证已过期"
        } else if self.certified_on.as_deref().is_some_and(|d| d > day) {
            "执法证未生效"
        } else {
            "在岗持证"
        }
    }
}

/// The officers in `scope`, by unit (the units in region order) and name.
pub async fn roster(db: &Db, scope: &impl crate::store::ScopeFilter) -> Result<Vec<RosterEntry>> {
    let mut sql = crate::store::Sql::new(
        "SELECT o.id, o.name, o.unit_id, u.name AS unit_name, o.certificate_no, o.region_code, \
         o.city_code, o.active, o.certified_on, o.certificate_expires_on \
         FROM officers o JOIN units u ON u.id = o.unit_id WHERE 1 = 1",
    );
    sql.scope(scope, "o")
        .push(" ORDER BY u.region_code, u.id, o.certificate_no, o.id");
    sql.fetch_all(db).await
}

/// The number of officers of each unit, by unit id.
pub async fn officer_counts(db: &Db) -> Result<std::collections::HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT unit_id, COUNT(*) FROM officers GROUP BY unit_id")
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fujian_has_nine_cities_pingtan_peer_and_no_kinmen() {
        let r = fujian_regions();
        let cities = r.iter().filter(|r| r.level == Level::City).count();
        assert_eq!(cities, 10, "9 cities + 平潭综合实验区");
        assert!(!r.iter().any(|r| r.code == "350527"));
        let pt = r.iter().find(|r| r.code == PINGTAN).unwrap();
        assert_eq!(pt.city_code, PINGTAN);
        let counties = r.iter().filter(|r| r.level == Level::County).count();
        assert_eq!(counties, 84 - 2, "84 county units less 金门 and 平潭");
    }
}
