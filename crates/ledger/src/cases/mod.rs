//! The case ledger (案件台账): the case record, its scoped list and page, and the dashboard.
//! `intake` records cases (forms, API, imports), `vocab` holds the controlled vocabularies.

pub mod correction;
pub mod documents;
pub mod fields;
pub mod history;
pub mod intake;
pub mod procedure;
pub mod records;
pub mod rules;
pub mod typed;
pub mod vocab;
pub mod workflow;

use serde::{Deserialize, Serialize};

use ecowarden_core::memo::Memo;
use ecowarden_core::scope::{Area, Scope};
use ecowarden_core::store::{Backend, Db, Result, Sql, StoreError, in_region, page_of};

/// Where a case came from (案件来源).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    Inspection,
    Complaint,
    OffSiteScreening,
    Transfer,
    Assignment,
}

impl CaseSource {
    pub const ALL: [CaseSource; 5] = [
        CaseSource::Inspection,
        CaseSource::Complaint,
        CaseSource::OffSiteScreening,
        CaseSource::Transfer,
        CaseSource::Assignment,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSource::Inspection => "inspection",
            CaseSource::Complaint => "complaint",
            CaseSource::OffSiteScreening => "off_site_screening",
            CaseSource::Transfer => "transfer",
            CaseSource::Assignment => "assignment",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CaseSource::Inspection => "日常检查",
            CaseSource::Complaint => "信访投诉",
            CaseSource::OffSiteScreening => "非现场筛查线索",
            CaseSource::Transfer => "部门移送",
            CaseSource::Assignment => "上级交办",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a case stands in its life (lead → filing → … → closure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Filed,
    Investigation,
    PriorNotice,
    Hearing,
    Decided,
    Served,
    Enforcement,
    Closed,
    Suspended,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Filed,
        Status::Investigation,
        Status::PriorNotice,
        Status::Hearing,
        Status::Decided,
        Status::Served,
        Status::Enforcement,
        Status::Closed,
        Status::Suspended,
        Status::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Filed => "filed",
            Status::Investigation => "investigation",
            Status::PriorNotice => "prior_notice",
            Status::Hearing => "hearing",
            Status::Decided => "decided",
            Status::Served => "served",
            Status::Enforcement => "enforcement",
            Status::Closed => "closed",
            Status::Suspended => "suspended",
            Status::Withdrawn => "withdrawn",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Filed => "已立案",
            Status::Investigation => "调查取证",
            Status::PriorNotice => "事先告知",
            Status::Hearing => "听证",
            Status::Decided => "已作出处罚决定",
            Status::Served => "已送达",
            Status::Enforcement => "执行中",
            Status::Closed => "已结案",
            Status::Suspended => "中止",
            Status::Withdrawn => "已销案",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A case as lists and pages show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub case_no: String,
    pub region_code: String,
    pub city_code: String,
    pub unit_name: String,
    pub facility_name: String,
    pub credit_code: String,
    pub source: String,
    pub status: String,
    pub violation: String,
    pub legal_basis: String,
    pub discovered_on: String,
    pub filed_on: Option<String>,
    pub investigation_on: Option<String>,
    pub prior_notice_on: Option<String>,
    pub hearing_requested_on: Option<String>,
    pub hearing_held_on: Option<String>,
    pub decided_on: Option<String>,
    pub served_on: Option<String>,
    pub paid_on: Option<String>,
    pub closed_on: Option<String>,
    pub penalty_kinds: String,
    pub third_party_subtype: Option<String>,
    /// Bumped by every change; forms send it back so concurrent edits are detected.
    pub version: i64,
    /// Fine in fen (1/100 yuan); `fine_yuan` is the exact decimal string.
    pub fine_fen: i64,
    pub year: i64,
}

in_region!(CaseSummary);

impl CaseSummary {
    /// The lifecycle dates as recorded (ISO text in the store).
    pub fn dates(&self) -> fields::Dates {
        let d = |s: &Option<String>| s.as_deref().and_then(|s| s.parse().ok());
        fields::Dates {
            discovered_on: self.discovered_on.parse().ok(),
            filed_on: d(&self.filed_on),
            investigation_on: d(&self.investigation_on),
            prior_notice_on: d(&self.prior_notice_on),
            hearing_requested_on: d(&self.hearing_requested_on),
            hearing_held_on: d(&self.hearing_held_on),
            decided_on: d(&self.decided_on),
            served_on: d(&self.served_on),
            paid_on: d(&self.paid_on),
            closed_on: d(&self.closed_on),
        }
    }

    pub fn fine(&self) -> ecowarden_core::ids::Money {
        ecowarden_core::ids::Money::from_fen(self.fine_fen)
    }
    pub fn status_label(&self) -> &'static str {
        Status::parse(&self.status)
            .map(Status::label)
            .unwrap_or("未知")
    }
    pub fn source_label(&self) -> &'static str {
        CaseSource::parse(&self.source)
            .map(CaseSource::label)
            .unwrap_or("未知")
    }

    pub fn region_name(&self) -> &str {
        ecowarden_core::org::region_name(&self.region_code)
    }
}

const SUMMARY_SELECT: &str = "SELECT c.id, c.case_no, c.region_code, c.city_code, u.name AS unit_name, \
     f.name AS facility_name, f.credit_code, c.source, c.status, c.violation, c.legal_basis, \
     c.discovered_on, c.filed_on, c.investigation_on, c.prior_notice_on, c.hearing_requested_on, c.hearing_held_on, \
     c.decided_on, c.served_on, c.paid_on, c.closed_on, c.penalty_kinds, c.third_party_subtype, c.version, c.fine_fen, c.year \
     FROM cases c JOIN units u ON u.id = c.unit_id JOIN facilities f ON f.id = c.facility_id WHERE 1=1";

/// Filters of the case list. Empty strings mean "any", as HTML forms send them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    #[param(schema_with = ecowarden_core::store::empty_or_integer)]
    pub year: Option<i64>,
    /// A region code inside the caller's scope (city or county); the caller resolves it into
    /// the [`Area`] that [`list`] takes (`Scope::area`).
    pub region: Option<String>,
    pub status: Option<String>,
    pub source: Option<String>,
    /// Part of a case number, a party's name or its credit code, matched anywhere.
    pub q: Option<String>,
    /// A campaign tag (code name), for the campaign ledgers.
    pub tag: Option<String>,
    /// A third-party provider's id, for its page.
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    #[param(schema_with = ecowarden_core::store::empty_or_integer)]
    pub third_party: Option<i64>,
    /// The statistical month, 1–12 (that of 立案, or of discovery when not filed: the month
    /// the dashboard counts a case in), so a dashboard bar opens the cases behind it; another
    /// number is ignored, as an unknown status is.
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    #[param(schema_with = ecowarden_core::store::empty_or_integer)]
    pub month: Option<i64>,
    /// Discovered on or after this day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_or_iso_date")]
    #[param(schema_with = ecowarden_core::store::empty_or_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Discovered on or before this day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_or_iso_date")]
    #[param(schema_with = ecowarden_core::store::empty_or_date)]
    pub to: Option<chrono::NaiveDate>,
    /// The column the list is ordered by: `discovered` (default), `filed`, `case_no`, `fine`.
    pub sort: Option<String>,
    /// `asc` for ascending; anything else is descending.
    pub dir: Option<String>,
    /// Rows a page: one of [`PAGE_SIZES`], [`PAGE_SIZE`] otherwise.
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    #[param(schema_with = ecowarden_core::store::empty_or_integer)]
    pub per_page: Option<i64>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "ecowarden_core::store::empty_as_none")]
    #[param(schema_with = ecowarden_core::store::empty_or_integer)]
    pub page: Option<i64>,
}

pub const PAGE_SIZE: i64 = 50;
/// The page sizes the list offers.
pub const PAGE_SIZES: [i64; 4] = [20, 50, 100, 200];

/// Queries shorter than this are not trigram phrases (see migration 0016) and use LIKE.
const TRIGRAM: usize = 3;

/// The columns the list can be ordered by, each with its SQL (ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Discovered,
    Filed,
    CaseNo,
    Fine,
}

impl SortKey {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "discovered" => Some(SortKey::Discovered),
            "filed" => Some(SortKey::Filed),
            "case_no" => Some(SortKey::CaseNo),
            "fine" => Some(SortKey::Fine),
            _ => None,
        }
    }
    fn column(self) -> &'static str {
        match self {
            SortKey::Discovered => "c.discovered_on",
            SortKey::Filed => "c.filed_on",
            SortKey::CaseNo => "c.case_no",
            SortKey::Fine => "c.fine_fen",
        }
    }
}

impl CaseFilter {
    pub fn sort_key(&self) -> SortKey {
        self.sort
            .as_deref()
            .and_then(SortKey::parse)
            .unwrap_or(SortKey::Discovered)
    }
    pub fn ascending(&self) -> bool {
        self.dir.as_deref() == Some("asc")
    }
    pub fn page_size(&self) -> i64 {
        self.per_page
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(PAGE_SIZE)
    }
    fn query(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    /// The month filter when it names a month (anything else is ignored, as an unknown status is).
    pub fn month(&self) -> Option<u32> {
        self.month
            .filter(|m| (1..=12).contains(m))
            .map(|m| m as u32)
    }
    /// `ORDER BY` of the list: cases not yet filed come last either way.
    fn order(&self) -> String {
        let dir = if self.ascending() { "ASC" } else { "DESC" };
        let nulls = if self.sort_key() == SortKey::Filed {
            " NULLS LAST"
        } else {
            ""
        };
        format!("{} {dir}{nulls}, c.id {dir}", self.sort_key().column())
    }
    /// What the total depends on (not the page, its size or the order), as a cache key.
    fn total_key(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.year,
            self.month(),
            self.region,
            self.status,
            self.source,
            self.query(),
            self.tag,
            self.third_party,
            self.from,
            self.to
        )
    }
}

/// One page of the list, in the filter's order (newest discovered first by default), and
/// whether there is a next page; [`count`] counts the matching cases ([`ListCache`] keeps both).
///
/// Late row lookup: the inner query picks the page's case ids from the cases table alone, in
/// `(discovered_on DESC, id DESC)` order, which one of 0006's covering indexes serves for each
/// filter (year, city, county, status, source); only those rows are then joined to units
/// and facilities. OFFSET therefore skips index entries, not joined rows.
pub async fn list(db: &Db, area: &Area, f: &CaseFilter) -> Result<(Vec<CaseSummary>, bool)> {
    let search = Search::resolve(db, f).await?;
    let mut sql = Sql::new(SUMMARY_SELECT);
    sql.push(" AND c.id IN (SELECT c.id FROM cases c WHERE 1=1");
    conditions(&mut sql, db, area, f, &search, true);
    let order = f.order();
    let size = f.page_size();
    sql.page(&order, f.page, size)
        .push(") ORDER BY ")
        .push(&order);
    Ok(page_of(sql.fetch_all(db).await?, size))
}

/// How many cases match a filter in an area.
pub async fn count(db: &Db, area: &Area, f: &CaseFilter) -> Result<i64> {
    let search = Search::resolve(db, f).await?;
    let mut sql = Sql::new("SELECT COUNT(*) FROM cases c WHERE 1=1");
    conditions(&mut sql, db, area, f, &search, false);
    sql.fetch_scalar(db).await
}

/// The list's conditions on `cases c`, shared by the page and its total.
/// `page`: for a page in the filter's order (which may walk the order's index); a count uses
/// the filters' indexes.
fn conditions(sql: &mut Sql, db: &Db, area: &Area, f: &CaseFilter, search: &Search, page: bool) {
    // The area's one condition: a region inside the scope implies the scope's own, so the
    // planner can use the region's index alone.
    let area_cond = area.condition("c");
    let county = area_cond
        .as_ref()
        .is_some_and(|(col, _)| col == "c.region_code");
    // The filter indexes lead with (column, year): without a year filter their order is not
    // the list's, and SQLite would sort every matching entry (a fifth of the ledger for a
    // source). Then, unless the filter is one county (a small set, sorted quickly) or a
    // search whose few matches are looked up first, SQLite is told (`+col` keeps a term off
    // the indexes) to walk the order's index and test the filters on its entries, stopping
    // at the page. PostgreSQL plans by statistics.
    let sqlite = db.backend() == Backend::Sqlite;
    let walk_recent = page && sqlite && f.year.is_none() && !county && search.walks();
    let col = |name: &str| {
        if walk_recent {
            format!(" AND +c.{name} = ")
        } else {
            format!(" AND c.{name} = ")
        }
    };
    if let Some((c, v)) = area_cond {
        sql.push(&col(c.trim_start_matches("c."))).bind(v);
    }
    if let Some(y) = f.year {
        sql.push(" AND c.year = ").bind(y);
    }
    if let Some(s) = f.status.as_deref().and_then(Status::parse) {
        sql.push(&col("status")).bind(s.as_str());
    }
    if let Some(s) = f.source.as_deref().and_then(CaseSource::parse) {
        sql.push(&col("source")).bind(s.as_str());
    }
    if let Some(m) = f.month() {
        sql.push(&format!(" AND {STAT_MONTH} = "))
            .bind(format!("{m:02}"));
    }
    if let Some(d) = f.from {
        sql.push(" AND c.discovered_on >= ").bind(d.to_string());
    }
    if let Some(d) = f.to {
        sql.push(" AND c.discovered_on <= ").bind(d.to_string());
    }
    if let Some(t) = f.tag.as_deref().and_then(vocab::Tag::parse) {
        sql.push(" AND EXISTS (SELECT 1 FROM case_tags t WHERE t.case_id = c.id AND t.tag = ")
            .bind(t.as_str())
            .push(")");
    }
    if let Some(tp) = f.third_party {
        sql.push(" AND c.third_party_id = ").bind(tp);
    }
    search.push(sql, sqlite, walk_recent);
}

/// Contains-search on the 案号, the party's name and its credit code, as the list's SQL will
/// look it up: decided before the SQL is built, from what the store holds.
enum Search {
    /// No query (or one of LIKE's wildcards only, which every case matches).
    None,
    /// SQLite, three or more characters that few cases hold: one FTS5 trigram phrase
    /// (migration 0016).
    Trigram(String),
    /// `LIKE '%q%'` (ILIKE on PostgreSQL, whose pg_trgm indexes serve three or more
    /// characters), on the 案号 unless no 案号 holds a short query (`case_no` false, migration
    /// 0023), and on the parties: their ids when there are few, otherwise a subquery.
    Like {
        like: String,
        case_no: bool,
        parties: Option<Vec<i64>>,
        /// The parties' cases are too many to sort for a page: the page walks the newest.
        dense: bool,
    },
}

/// Parties a short query may match and still be looked up by id.
const SHORT_QUERY_PARTIES: usize = 2000;
/// Matching cases beyond which a page walks the newest cases (a dense match fills a page
/// quickly) instead of sorting every match: those of a short query's parties, or of a
/// trigram phrase.
const SHORT_QUERY_CASES: i64 = 20_000;

impl Search {
    async fn resolve(db: &Db, f: &CaseFilter) -> Result<Search> {
        let Some(q) = f.query() else {
            return Ok(Search::None);
        };
        let sqlite = db.backend() == Backend::Sqlite;
        let short = q.chars().count() < TRIGRAM;
        let text = q.replace(['%', '_', '\\'], "");
        if sqlite && !short {
            // Quotes doubled, so the text is matched as typed.
            let phrase = format!("\"{}\"", q.replace('"', "\"\""));
            // A phrase most of the ledger holds ("〔2023〕1") is a long list of ids to sort for
            // a page: counted to a bound first, a dense one walks the newest cases instead.
            let mut probe = Sql::new(
                "SELECT COUNT(*) FROM (SELECT 1 FROM case_search WHERE case_search MATCH ",
            );
            probe
                .bind(phrase.clone())
                .push(" UNION ALL SELECT 1 FROM cases WHERE facility_id IN (SELECT rowid FROM facility_search WHERE facility_search MATCH ")
                .bind(phrase.clone())
                .push(&format!(") LIMIT {}) m", SHORT_QUERY_CASES + 1));
            if probe.fetch_scalar(db).await? <= SHORT_QUERY_CASES || text.is_empty() {
                return Ok(Search::Trigram(phrase));
            }
        }
        if text.is_empty() {
            return Ok(Search::None);
        }
        let like = format!("%{text}%");
        if !short {
            return Ok(Search::Like {
                like,
                case_no: true,
                parties: None,
                dense: true,
            });
        }
        let mut grams = Sql::new("SELECT COUNT(*) FROM case_no_grams WHERE gram IN (");
        grams.bind(text.to_ascii_lowercase()).push(", '')");
        let case_no = grams.fetch_scalar(db).await? > 0;
        let op = if sqlite { " LIKE " } else { " ILIKE " };
        let mut parties = Sql::new("SELECT id FROM facilities WHERE name");
        parties
            .push(op)
            .bind(like.clone())
            .push(" OR credit_code")
            .push(op)
            .bind(like.clone())
            .push(&format!(" LIMIT {}", SHORT_QUERY_PARTIES + 1));
        let ids: Vec<i64> = parties
            .fetch_all::<(i64,)>(db)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        let parties = (ids.len() <= SHORT_QUERY_PARTIES).then_some(ids);
        // The parties' cases are counted (to a bound, through the facility index) only when
        // the 案号 need not be tested: otherwise the page walks anyway.
        let dense = match &parties {
            Some(ids) if !case_no && !ids.is_empty() => {
                let mut n =
                    Sql::new("SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE facility_id IN (");
                n.push(&id_list(ids))
                    .push(&format!(") LIMIT {}) m", SHORT_QUERY_CASES + 1));
                n.fetch_scalar(db).await? > SHORT_QUERY_CASES
            }
            Some(_) => case_no,
            None => true,
        };
        Ok(Search::Like {
            like,
            case_no,
            parties,
            dense,
        })
    }

    /// Whether a page should walk its order's index (on SQLite): yes unless the matches are
    /// few and looked up first: a trigram phrase, or a short query no 案号 holds whose
    /// parties have few cases.
    fn walks(&self) -> bool {
        match self {
            Search::None => true,
            Search::Trigram(_) => false,
            Search::Like { dense, .. } => *dense,
        }
    }

    /// The search's condition; `walk` keeps the party term off the indexes (SQLite's `+`), so
    /// a walking page tests it on the cases it walks anyway.
    fn push(&self, sql: &mut Sql, sqlite: bool, walk: bool) {
        match self {
            Search::None => {}
            Search::Trigram(phrase) => {
                // One `IN` over the union of both matches, so SQLite looks the matched cases
                // up by id instead of testing two sets on every case.
                sql.push(" AND c.id IN (SELECT rowid FROM case_search WHERE case_search MATCH ")
                    .bind(phrase.clone())
                    .push(" UNION SELECT id FROM cases WHERE facility_id IN (SELECT rowid FROM facility_search WHERE facility_search MATCH ")
                    .bind(phrase.clone())
                    .push("))");
            }
            Search::Like {
                like,
                case_no,
                parties,
                ..
            } => {
                let op = if sqlite { " LIKE " } else { " ILIKE " };
                sql.push(" AND (");
                if *case_no {
                    sql.push("c.case_no")
                        .push(op)
                        .bind(like.clone())
                        .push(" OR ");
                }
                sql.push(if walk {
                    "+c.facility_id IN ("
                } else {
                    "c.facility_id IN ("
                });
                match parties {
                    // `IN (NULL)` holds for no case, on both backends (`IN ()` is SQLite's).
                    Some(ids) if ids.is_empty() => sql.push("NULL"),
                    Some(ids) => sql.push(&id_list(ids)),
                    None => sql
                        .push("SELECT id FROM facilities WHERE name")
                        .push(op)
                        .bind(like.clone())
                        .push(" OR credit_code")
                        .push(op)
                        .bind(like.clone()),
                };
                sql.push("))");
            }
        }
    }
}

/// Ids the store gave, as SQL text (integers only, so nothing typed reaches the SQL).
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The case list's pages and totals per (area, filter, ledger state), each computed once and
/// kept [`LIST_TTL`]. Under load the same lists are asked for again and again (every officer
/// of a county opens the county's newest cases), and over a million cases a count costs more
/// than the page; a page takes a millisecond of SQLite and of the driver's handing 50 rows of 26
/// columns across threads, which at 50 clients was most of the 2-core machine's time. The
/// ledger state is the largest case id and the audit log's last entry (every change to a case
/// is audited), read in one query per request: a registration or a correction makes new keys,
/// so it shows at once; a change written around the audit log shows within the TTL.
pub struct ListCache {
    pages: Memo<std::sync::Arc<(Vec<CaseSummary>, bool)>>,
    totals: Memo<i64>,
}

impl Default for ListCache {
    fn default() -> Self {
        ListCache {
            // A page of 200 cases may weigh half a megabyte.
            pages: Memo::new(LIST_TTL, 256),
            totals: Memo::new(LIST_TTL, 10_000),
        }
    }
}

/// The ledger's state as a cache key: the largest case id and the audit log's last entry
/// (every change to a case, a task, a rectification or the calendar is audited; what is not,
/// a screening run's leads, shows when a cache's entry expires).
pub async fn ledger_state(db: &Db) -> Result<String> {
    let (newest, seq) = Sql::new(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM cases), \
         (SELECT COALESCE(MAX(seq), 0) FROM audit_log)",
    )
    .fetch_all::<(i64, i64)>(db)
    .await?
    .pop()
    .unwrap_or_default();
    Ok(format!("{newest}.{seq}"))
}

/// How long a computed page or total is reused at most.
pub const LIST_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl ListCache {
    /// A page of the list ([`list`]), whether a next page exists, and the filter's total
    /// ([`count`]).
    pub async fn page(
        &self,
        db: &Db,
        area: &Area,
        f: &CaseFilter,
    ) -> Result<(Vec<CaseSummary>, bool, i64)> {
        let at = format!("{:?}|{}", area.condition("c"), ledger_state(db).await?);
        let page = self
            .pages
            .get(format!("{at}|{f:?}"), || async {
                list(db, area, f).await.map(std::sync::Arc::new)
            })
            .await?;
        let total = self
            .totals
            .get(format!("{at}|{}", f.total_key()), || count(db, area, f))
            .await?;
        Ok((page.0.clone(), page.1, total))
    }
}

/// SQL condition: officer `o` held an enforcement certificate valid on the date expression
/// `on` (issue and expiry dates not recorded count as valid). Qualification is judged at the
/// date of the act, not today (行政处罚法 Art 42).
pub fn certified_on(on: &str) -> String {
    format!(
        "o.certificate_no IS NOT NULL AND (o.certified_on IS NULL OR o.certified_on <= {on}) \
         AND (o.certificate_expires_on IS NULL OR o.certificate_expires_on >= {on})"
    )
}

/// The newest statistical year with cases, not after the current year (one case mis-dated
/// 2099 must not move every user's pages to an empty 2099); `None` on an empty ledger.
pub async fn latest_year(db: &Db) -> Result<Option<i64>> {
    let this_year = chrono::Datelike::year(&ecowarden_core::clock::today()) as i64;
    Ok(
        sqlx::query_scalar("SELECT MAX(year) FROM cases WHERE year <= $1")
            .bind(this_year)
            .fetch_one(db.pool())
            .await?,
    )
}

/// Why a case could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("案件不存在")]
    NotFound,
    /// The case exists but lies outside the caller's scope.
    #[error("无权访问其他地区的案件")]
    OutOfScope,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AccessError::NotFound,
            StoreError::OutOfScope => AccessError::OutOfScope,
            e => AccessError::Store(e),
        }
    }
}

/// Why an entry of a case's record (a document, a 笔录, an approval, evidence, a provision,
/// the hearing record) was not recorded: a value the law or the form refuses, or a case out
/// of reach. One type for every side record, so a page treats them all alike.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl From<StoreError> for EntryError {
    fn from(e: StoreError) -> Self {
        EntryError::Access(e.into())
    }
}

impl From<sqlx::Error> for EntryError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Cases by id inside a scope, in id order (drill-down from a statistic).
pub async fn by_ids(db: &Db, scope: &Scope, ids: &[i64]) -> Result<Vec<CaseSummary>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(SUMMARY_SELECT);
        sql.scope(scope, "c");
        sql.push(" AND c.id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(",");
            }
            sql.bind(*id);
        }
        sql.push(") ORDER BY c.id");
        out.extend(sql.fetch_all::<CaseSummary>(db).await?);
    }
    Ok(out)
}

pub async fn get(db: &Db, scope: &Scope, id: i64) -> std::result::Result<CaseSummary, AccessError> {
    let mut sql = Sql::new(SUMMARY_SELECT);
    sql.push(" AND c.id = ").bind(id);
    Ok(sql.fetch_in_scope(db, scope).await?)
}

/// The statistical month of a case `c` as two digits: that of 立案, or of discovery when not
/// filed (as its year, `cases.year`, is).
const STAT_MONTH: &str = "substr(COALESCE(c.filed_on, c.discovered_on), 6, 2)";

/// Figures for the dashboard, for one scope and year.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub year: i64,
    pub cases: i64,
    pub closed: i64,
    pub fine_fen: i64,
    /// Cases discovered per month, January first.
    pub by_month: Vec<i64>,
    /// The scope's sub-regions.
    pub by_region: Vec<RegionFigures>,
    /// Cases per source.
    pub by_source: Vec<Count>,
    /// Cases per status in workflow order: where the scope's cases stand.
    pub by_status: Vec<Count>,
}

/// One sub-region's figures on the dashboard.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RegionFigures {
    pub region_code: String,
    pub name: String,
    pub cases: i64,
    pub fine_fen: i64,
}

/// Cases of one value of a vocabulary (a source, a status), with its Chinese label.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub code: String,
    pub label: String,
    pub cases: i64,
}

/// One group of the dashboard's single scan: month × sub-region × source × status.
#[derive(sqlx::FromRow)]
struct DashboardGroup {
    m: String,
    r: String,
    s: String,
    st: String,
    n: i64,
    fine: i64,
}

/// The dashboard's figures in one grouped scan of the scope's cases for the year (the
/// covering index `cases_stats`, or `cases_list_city`/`cases_list_region` for a city or
/// county scope, serves it without reading the table); months, regions and sources are summed
/// from at most 12 × 14 × 5 groups here.
pub async fn dashboard(
    db: &Db,
    org: &ecowarden_core::org::Org,
    scope: &Scope,
    year: i64,
) -> Result<Dashboard> {
    dashboard_through(db, org, scope, year, None).await
}

/// [`dashboard`] of the cases whose statistical day (立案, or discovery) is on or before
/// `through`, when given: the same period of an earlier year (同比 of a year in progress).
pub async fn dashboard_through(
    db: &Db,
    org: &ecowarden_core::org::Org,
    scope: &Scope,
    year: i64,
    through: Option<chrono::NaiveDate>,
) -> Result<Dashboard> {
    let group_col = match scope {
        Scope::Province => "c.city_code",
        _ => "c.region_code",
    };
    let mut sql = Sql::new(&format!(
        "SELECT {STAT_MONTH} AS m, {group_col} AS r, c.source AS s, \
         c.status AS st, COUNT(*) AS n, {fine_sum} AS fine \
         FROM cases c WHERE c.year = ",
        fine_sum = fine_sum!()
    ));
    sql.bind(year);
    sql.scope(scope, "c");
    if let Some(d) = through {
        sql.push(" AND COALESCE(c.filed_on, c.discovered_on) <= ")
            .bind(d.to_string());
    }
    sql.push(&format!(
        " GROUP BY {STAT_MONTH}, {group_col}, c.source, c.status"
    ));
    let groups: Vec<DashboardGroup> = sql.fetch_all(db).await?;
    let mut d = Dashboard {
        year,
        by_month: vec![0; 12],
        ..Default::default()
    };
    let mut regions: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    let mut sources: Vec<(String, i64)> = Vec::new();
    let mut statuses: Vec<(String, i64)> = Vec::new();
    for g in groups {
        if let Ok(i) = g.m.parse::<usize>()
            && (1..=12).contains(&i)
        {
            d.by_month[i - 1] += g.n;
        }
        d.cases += g.n;
        d.fine_fen = d.fine_fen.saturating_add(g.fine);
        if g.st == Status::Closed.as_str() {
            d.closed += g.n;
        }
        match statuses.iter_mut().find(|(k, _)| *k == g.st) {
            Some(x) => x.1 += g.n,
            None => statuses.push((g.st, g.n)),
        }
        let r = regions.entry(g.r).or_default();
        r.0 += g.n;
        r.1 = r.1.saturating_add(g.fine);
        match sources.iter_mut().find(|(k, _)| *k == g.s) {
            Some(x) => x.1 += g.n,
            None => sources.push((g.s, g.n)),
        }
    }
    d.by_region = regions
        .into_iter()
        .map(|(k, (n, fine))| RegionFigures {
            name: org.breakdown_name(&k).to_owned(),
            region_code: k,
            cases: n,
            fine_fen: fine,
        })
        .collect();
    sources.sort();
    d.by_source = sources
        .into_iter()
        .map(|(k, n)| Count {
            label: CaseSource::parse(&k)
                .map(CaseSource::label)
                .unwrap_or("其他")
                .to_owned(),
            code: k,
            cases: n,
        })
        .collect();
    d.by_status = Status::ALL
        .iter()
        .filter_map(|st| {
            let n = statuses.iter().find(|(k, _)| k == st.as_str())?.1;
            Some(Count {
                code: st.as_str().to_owned(),
                label: st.label().to_owned(),
                cases: n,
            })
        })
        .collect();
    Ok(d)
}

/// The change of a figure against the same period of last year (同比) as a fraction (0.125 is
/// +12.5%); `None` when last year's figure is 0 and there is nothing to compare with.
pub fn year_on_year(now: i64, before: i64) -> Option<f64> {
    (before != 0).then(|| (now as f64 - before as f64) / before as f64)
}

/// What the dashboard's ranking of sub-regions orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Cases,
    Fines,
}

/// One sub-region in the dashboard's ranking, with last year's same period beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub rank: usize,
    pub region_code: String,
    pub name: String,
    pub cases: i64,
    pub fine_fen: i64,
    pub cases_before: i64,
    pub fine_before_fen: i64,
}

/// The sub-regions of a scope (the counties of a city, the cities and 平潭 of the province)
/// ranked by the cases or fines of `now`, largest first; equal values share the better rank
/// (1, 1, 3) and list in code order. Every sub-region is ranked, one without cases too, so a
/// leader sees who recorded nothing. The scope's own cases (a city's detachment, the corps)
/// belong to no sub-region; a county has none.
pub fn ranking(
    org: &ecowarden_core::org::Org,
    scope: &Scope,
    now: &Dashboard,
    before: &Dashboard,
    by: RankBy,
) -> Vec<Ranked> {
    let subs: Vec<&ecowarden_core::org::Region> = match scope {
        Scope::Province => org.cities().collect(),
        Scope::City(c) => org.counties_of(c).collect(),
        Scope::County(_) => Vec::new(),
    };
    let figures = |d: &Dashboard, code: &str| {
        d.by_region
            .iter()
            .find(|r| r.region_code == code)
            .map_or((0, 0), |r| (r.cases, r.fine_fen))
    };
    let mut rows: Vec<Ranked> = subs
        .into_iter()
        .map(|r| {
            let (cases, fine_fen) = figures(now, &r.code);
            let (cases_before, fine_before_fen) = figures(before, &r.code);
            Ranked {
                rank: 0,
                region_code: r.code.clone(),
                name: r.name.clone(),
                cases,
                fine_fen,
                cases_before,
                fine_before_fen,
            }
        })
        .collect();
    let key = |r: &Ranked| match by {
        RankBy::Cases => r.cases,
        RankBy::Fines => r.fine_fen,
    };
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.region_code.cmp(&b.region_code)));
    for i in 0..rows.len() {
        rows[i].rank = if i > 0 && key(&rows[i]) == key(&rows[i - 1]) {
            rows[i - 1].rank
        } else {
            i + 1
        };
    }
    rows
}

#[cfg(test)]
mod dashboard_tests {
    use super::*;

    fn figures(regions: &[(&str, i64, i64)]) -> Dashboard {
        Dashboard {
            by_region: regions
                .iter()
                .map(|(code, cases, fine_fen)| RegionFigures {
                    region_code: (*code).into(),
                    name: String::new(),
                    cases: *cases,
                    fine_fen: *fine_fen,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn year_on_year_is_a_fraction_of_last_year() {
        assert_eq!(year_on_year(4, 4), Some(0.0));
        assert_eq!(year_on_year(3, 1), Some(2.0));
        assert_eq!(year_on_year(1, 2), Some(-0.5));
        assert_eq!(year_on_year(5, 0), None);
        assert_eq!(year_on_year(0, 0), None);
    }

    /// Every county of the city is ranked, equal values share the better rank in code order,
    /// and the city's own cases (its detachment) rank nowhere.
    #[test]
    fn the_counties_of_a_city_ranked() {
        let org: ecowarden_core::org::Org =
            ecowarden_core::org::fujian_regions().into_iter().collect();
        let scope = Scope::City("350100".into());
        let now = figures(&[
            ("350100", 9, 900),
            ("350102", 3, 100),
            ("350103", 1, 500),
            ("350104", 3, 0),
        ]);
        let before = figures(&[("350102", 1, 50)]);
        let by_cases = ranking(&org, &scope, &now, &before, RankBy::Cases);
        assert_eq!(by_cases.len(), org.counties_of("350100").count());
        let top: Vec<(usize, &str, i64)> = by_cases[..4]
            .iter()
            .map(|r| (r.rank, r.region_code.as_str(), r.cases))
            .collect();
        assert_eq!(
            top,
            vec![
                (1, "350102", 3),
                (1, "350104", 3),
                (3, "350103", 1),
                (4, "350105", 0)
            ]
        );
        assert_eq!(
            (by_cases[0].cases_before, by_cases[0].fine_before_fen),
            (1, 50)
        );
        assert!(by_cases.iter().all(|r| r.region_code != "350100"));
        let by_fines = ranking(&org, &scope, &now, &before, RankBy::Fines);
        assert_eq!(by_fines[0].region_code, "350103");
        assert_eq!(by_fines[1].region_code, "350102");
        assert!(
            ranking(
                &org,
                &Scope::County("350102".into()),
                &now,
                &before,
                RankBy::Cases
            )
            .is_empty()
        );
        let cities = ranking(&org, &Scope::Province, &now, &before, RankBy::Cases);
        assert_eq!(cities.len(), org.cities().count());
    }
}
