//! Third-party environmental service providers (第三方环保服务机构): the registry of those
//! named in fraud cases, with their cases and fines. Providers are recorded by case intake
//! (a 第三方弄虚作假 case names its provider); this module reads them.

use serde::Serialize;

use ecowarden_core::ids::Money;
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result, Sql};

use crate::cases::vocab::{self, ThirdPartySubtype};

/// A provider with the number and fines of its fraud cases.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Provider {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    /// Its services, a list of [`ThirdPartySubtype`] code names.
    pub service_types: String,
    pub region_code: String,
    pub cases: i64,
    pub fine_fen: i64,
}

impl Provider {
    /// The services in Chinese, 、-separated.
    pub fn services(&self) -> String {
        vocab::parse_list(&self.service_types, ThirdPartySubtype::parse)
            .map(|v| v.iter().map(|t| t.label()).collect::<Vec<_>>().join("、"))
            .unwrap_or_else(|_| self.service_types.clone())
    }

    pub fn fine(&self) -> Money {
        Money::from_fen(self.fine_fen)
    }
}

/// Providers with the number and fines of their cases **in the caller's scope**: a provider
/// is seen across regions, its figures only where the reader may see cases (issue #16).
fn provider_select(scope: &Scope) -> Sql {
    let mut sql = Sql::new(
        "SELECT p.id, p.name, p.credit_code, p.service_types, p.region_code, \
         (SELECT COUNT(*) FROM cases c WHERE c.third_party_id = p.id",
    );
    sql.scope(scope, "c");
    sql.push(") AS cases, (SELECT ")
        .push(fine_sum!())
        .push(" FROM cases c WHERE c.third_party_id = p.id");
    sql.scope(scope, "c");
    sql.push(") AS fine_fen FROM third_parties p WHERE 1=1");
    sql
}

/// The providers registered in scope, most cases first.
pub async fn list(db: &Db, scope: &Scope) -> Result<Vec<Provider>> {
    let mut sql = provider_select(scope);
    sql.scope(scope, "p");
    sql.push(" ORDER BY cases DESC, p.name");
    sql.fetch_all(db).await
}

/// One provider. Providers work across regions, so any reader of the ledger may open one;
/// its case count and fines, like its cases, are those in the caller's scope.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> Result<Option<Provider>> {
    let mut sql = provider_select(scope);
    sql.push(" AND p.id = ").bind(id);
    Ok(sql.fetch_all(db).await?.into_iter().next())
}
