//! Where a caller may read and write: [`Scope`], the subtree of the organisation under their
//! unit's region, and [`Area`], a region inside that scope that a request narrows to.
//!
//! Every read and write in the domain crates takes one of these and filters by it, so a county
//! officer can neither see nor change another county's records through any page, API or
//! command. Whether a requested region lies inside the caller's scope is decided once, by
//! [`Scope::area`]; statistics, exports and lists take the resulting [`Area`] and never check
//! again.

use serde::Serialize;

use crate::org::{Level, Org, Region};
use crate::store::ScopeFilter;

/// Where a user may read and write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "level", content = "code", rename_all = "snake_case")]
pub enum Scope {
    Province,
    City(String),
    County(String),
}

impl Scope {
    pub fn for_region(org: &Org, code: &str) -> Scope {
        match org.region(code).map(|r| r.level) {
            Some(Level::Province) => Scope::Province,
            Some(Level::City) => Scope::City(code.to_owned()),
            // Unknown codes get the narrowest scope: fail closed.
            _ => Scope::County(code.to_owned()),
        }
    }

    /// Whether a record of this region (reporting to this city) is inside the scope.
    pub fn covers(&self, region_code: &str, city_code: &str) -> bool {
        match self {
            Scope::Province => true,
            Scope::City(c) => c == city_code,
            Scope::County(c) => c == region_code,
        }
    }

    /// A SQL condition on `{alias}.region_code` / `{alias}.city_code` and its bind value.
    pub fn condition(&self, alias: &str) -> Option<(String, String)> {
        match self {
            Scope::Province => None,
            Scope::City(c) => Some((format!("{alias}.city_code"), c.clone())),
            Scope::County(c) => Some((format!("{alias}.region_code"), c.clone())),
        }
    }

    pub fn label(&self, org: &Org) -> String {
        match self {
            Scope::Province => org.province().name.clone(),
            Scope::City(c) | Scope::County(c) => org.name(c).to_owned(),
        }
    }
}

impl ScopeFilter for Scope {
    fn condition(&self, alias: &str) -> Option<(String, String)> {
        Scope::condition(self, alias)
    }
    fn covers(&self, region_code: &str, city_code: &str) -> bool {
        Scope::covers(self, region_code, city_code)
    }
}

/// Why a requested region cannot be an [`Area`]; the messages are shown to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("{0}")]
    Unknown(String),
    #[error("无权查看{0}的数据")]
    OutOfScope(String),
}

/// A caller's scope, narrowed to one region inside it or not. Only [`Scope::area`] makes one,
/// so holding an `Area` proves the region was checked against the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    scope: Scope,
    region: Option<Region>,
}

impl Scope {
    /// The area of a requested region (blank: the whole scope). An unknown code or one outside
    /// the scope is refused; the province's own code means the whole scope.
    pub fn area(&self, org: &Org, region: Option<&str>) -> Result<Area, AreaError> {
        let region = match region.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(code) => {
                let r = org.known(code).map_err(AreaError::Unknown)?;
                if !self.covers(&r.code, &r.city_code) {
                    return Err(AreaError::OutOfScope(r.name.clone()));
                }
                (r.level != Level::Province).then(|| r.clone())
            }
        };
        Ok(Area {
            scope: self.clone(),
            region,
        })
    }
}

impl Area {
    /// The caller's whole scope.
    pub fn whole(scope: &Scope) -> Area {
        Area {
            scope: scope.clone(),
            region: None,
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The region narrowed to, if any (never the province).
    pub fn region(&self) -> Option<&Region> {
        self.region.as_ref()
    }

    /// The level of the regions inside the area that a breakdown lists: the cities of the
    /// province, or the counties (and the detachment's own code) of a city; a county has none
    /// below it and is listed by itself.
    pub fn breakdown_level(&self) -> Level {
        match (self.region.as_ref().map(|r| r.level), &self.scope) {
            (Some(Level::County | Level::City), _) | (None, Scope::County(_) | Scope::City(_)) => {
                Level::County
            }
            _ => Level::City,
        }
    }

    /// The code of the area: the region narrowed to, or the scope's own.
    pub fn code<'a>(&'a self, org: &'a Org) -> &'a str {
        match (&self.region, &self.scope) {
            (Some(r), _) => &r.code,
            (None, Scope::Province) => &org.province().code,
            (None, Scope::City(c) | Scope::County(c)) => c,
        }
    }

    /// The name of the area, as a report's title names it.
    pub fn label(&self, org: &Org) -> String {
        match &self.region {
            Some(r) => r.name.clone(),
            None => self.scope.label(org),
        }
    }
}

impl Area {
    /// The narrower of the region's and the scope's conditions: a region inside the scope
    /// implies the scope's own.
    pub fn condition(&self, alias: &str) -> Option<(String, String)> {
        match &self.region {
            Some(r) if r.level == Level::City => {
                Some((format!("{alias}.city_code"), r.code.clone()))
            }
            Some(r) => Some((format!("{alias}.region_code"), r.code.clone())),
            None => self.scope.condition(alias),
        }
    }

    /// Whether a record of this region (reporting to this city) is inside the area.
    pub fn covers(&self, region_code: &str, city_code: &str) -> bool {
        match &self.region {
            Some(r) if r.level == Level::City => r.code == city_code,
            Some(r) => r.code == region_code,
            None => self.scope.covers(region_code, city_code),
        }
    }
}

impl ScopeFilter for Area {
    fn condition(&self, alias: &str) -> Option<(String, String)> {
        Area::condition(self, alias)
    }
    fn covers(&self, region_code: &str, city_code: &str) -> bool {
        Area::covers(self, region_code, city_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        crate::org::fujian_regions().into_iter().collect()
    }

    #[test]
    fn area_refuses_unknown_and_foreign_regions() {
        let org = org();
        let fuzhou = Scope::City("350100".into());
        assert!(matches!(
            fuzhou.area(&org, Some("999999")),
            Err(AreaError::Unknown(_))
        ));
        assert_eq!(
            fuzhou.area(&org, Some("350203")),
            Err(AreaError::OutOfScope("思明区".into()))
        );
        let gulou = fuzhou.area(&org, Some("350102")).unwrap();
        assert_eq!(gulou.code(&org), "350102");
        assert_eq!(
            gulou.condition("c"),
            Some(("c.region_code".into(), "350102".into()))
        );
        assert!(!gulou.covers("350103", "350100"));
    }

    #[test]
    fn blank_or_province_code_is_the_whole_scope() {
        let org = org();
        let a = Scope::Province.area(&org, Some(" ")).unwrap();
        assert_eq!(a, Area::whole(&Scope::Province));
        let a = Scope::Province.area(&org, Some("350000")).unwrap();
        assert_eq!(a.region(), None);
        assert_eq!(a.condition("c"), None);
        assert_eq!(a.breakdown_level(), Level::City);
        let county = Scope::County("350102".into());
        assert!(matches!(
            county.area(&org, Some("350000")),
            Err(AreaError::OutOfScope(_))
        ));
        let city = Scope::Province.area(&org, Some("350200")).unwrap();
        assert_eq!(
            city.condition("x"),
            Some(("x.city_code".into(), "350200".into()))
        );
        assert_eq!(city.breakdown_level(), Level::County);
    }
}
