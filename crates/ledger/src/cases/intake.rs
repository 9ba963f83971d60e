//! Recording cases: one from a form or the API, or many from an import, through the same
//! validation. Input arrives as text (a form field, a spreadsheet cell), is checked field by
//! field with Chinese messages that name the field, and only a wholly valid batch is written:
//! imports are all-or-nothing.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use sqlx::{AnyConnection, Row};

pub use super::fields::{
    Dates, FIELDS, Field, FieldError, Input, NewCase, SECTIONS, Section, field, header, parse_date,
};
use super::procedure::{Provision, parse_provisions};
use super::vocab::{
    MeasureKind, NoticeKind, PenaltyKind, ProvisionRole, ReferralKind, Tag, ThirdPartySubtype,
    items, parse_list,
};
use super::{CaseSource, Status, rules};
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::ids::{CaseNo, CreditCode, Money};
use ecowarden_core::org::{Level, Org, Region};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, StoreError, placeholders};

/// A case that passed validation, with typed values.
#[derive(Debug, Clone)]
pub struct ValidCase {
    pub case_no: Option<CaseNo>,
    pub region: Region,
    pub facility_name: String,
    pub credit_code: CreditCode,
    pub industry: String,
    pub source: CaseSource,
    pub violation: String,
    pub legal_basis: String,
    pub status: Status,
    pub dates: Dates,
    pub penalty_kinds: Vec<PenaltyKind>,
    pub fine: Money,
    pub officer_certificates: Vec<String>,
    pub tags: Vec<Tag>,
    pub third_party: Option<(String, CreditCode, ThirdPartySubtype)>,
    pub measures: Vec<NewMeasure>,
    pub referrals: Vec<(ReferralKind, NaiveDate)>,
    pub referral_agency: String,
    /// The procedure's further steps, as recorded (the legal checks read them).
    pub record: Record,
}

/// Steps of the procedure a case may record beyond its lifecycle dates: approvals, waivers,
/// reviews, service and disclosure. Import takes them as they happened; procedural defects
/// among them are for the legal checks to flag, not for intake to refuse.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub violation_ended_on: Option<NaiveDate>,
    pub filing_extended_on: Option<NaiveDate>,
    pub term_extended_on: Option<NaiveDate>,
    pub term_discussed_on: Option<NaiveDate>,
    pub statement_waived_on: Option<NaiveDate>,
    pub hearing_notice_on: Option<NaiveDate>,
    pub legal_review_on: Option<NaiveDate>,
    pub collective_discussion_on: Option<NaiveDate>,
    pub decision_no: String,
    pub service_method: String,
    pub disclosed_on: Option<NaiveDate>,
    pub closure_type: String,
    pub continuing: bool,
    pub special_limitation: bool,
    pub notice_kind: Option<NoticeKind>,
    pub statement_on: Option<NaiveDate>,
    pub hearing_host: String,
    /// The provisions violated and the penalty provisions, as article references.
    pub provisions: Vec<(ProvisionRole, Provision)>,
    pub discretion_item: String,
    pub discretion_factors: String,
}

#[derive(Debug, Clone)]
pub struct NewMeasure {
    pub kind: MeasureKind,
    pub decided_on: NaiveDate,
    pub items: String,
    pub restriction: Option<&'static str>,
    pub days: Option<i64>,
    pub amount: Money,
    /// A seizure's extension approval and release.
    pub extended_on: Option<NaiveDate>,
    pub released_on: Option<NaiveDate>,
}

impl NewCase {
    /// Checks every field against the rules and the caller's scope; all problems at once.
    pub fn validate(&self, org: &Org, scope: &Scope) -> Result<ValidCase, Vec<FieldError>> {
        let mut errs = self.check_bounds(ecowarden_core::clock::today());
        let mut err =
            |field: &'static str, message: String| errs.push(FieldError { field, message });
        for f in FIELDS.iter().filter(|f| f.required) {
            let v = self.get(f.key);
            if v.trim().is_empty() {
                err(f.key, format!("“{}”不能为空", f.header));
            }
        }
        let region = match self.region_code.trim() {
            "" => None,
            code => match org.known(code) {
                Ok(r) if !scope.covers(&r.code, &r.city_code) => {
                    err(
                        "region_code",
                        format!("地区“{}”（{}）不在您的管辖范围内", r.name, r.code),
                    );
                    None
                }
                Ok(r) if r.level == Level::Province && !matches!(scope, Scope::Province) => None,
                Ok(r) => Some(r.clone()),
                Err(m) => {
                    err("region_code", m);
                    None
                }
            },
        };
        let credit_code = match self.credit_code.trim() {
            "" => None,
            c => c
                .parse::<CreditCode>()
                .map_err(|e| err("credit_code", e.0))
                .ok(),
        };
        let case_no = match self.case_no.trim() {
            "" => None,
            c => c.parse::<CaseNo>().map_err(|e| err("case_no", e.0)).ok(),
        };
        let source = match self.source.trim() {
            "" => None,
            s => CaseSource::parse(s)
                .or_else(|| CaseSource::ALL.into_iter().find(|v| v.label() == s))
                .or_else(|| {
                    err("source", format!("未知的案件来源“{s}”，应为：日常检查、信访投诉、非现场筛查线索、部门移送、上级交办"));
                    None
                }),
        };
        let mut date = |key: &'static str, v: &str| -> Option<NaiveDate> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            parse_date(v).or_else(|| {
                err(
                    key,
                    format!("“{}”的日期“{v}”无法识别，应为YYYY-MM-DD", header(key)),
                );
                None
            })
        };
        let dates = Dates {
            discovered_on: date("discovered_on", &self.discovered_on),
            filed_on: date("filed_on", &self.filed_on),
            investigation_on: date("investigation_on", &self.investigation_on),
            prior_notice_on: date("prior_notice_on", &self.prior_notice_on),
            hearing_requested_on: date("hearing_requested_on", &self.hearing_requested_on),
            hearing_held_on: date("hearing_held_on", &self.hearing_held_on),
            decided_on: date("decided_on", &self.decided_on),
            served_on: date("served_on", &self.served_on),
            paid_on: date("paid_on", &self.paid_on),
            closed_on: date("closed_on", &self.closed_on),
        };
        let seal_on = date("seal_and_seize_on", &self.seal_and_seize_on);
        let seal_extended = date(
            "seal_and_seize_extended_on",
            &self.seal_and_seize_extended_on,
        );
        let seal_released = date(
            "seal_and_seize_released_on",
            &self.seal_and_seize_released_on,
        );
        let record = Record {
            violation_ended_on: date("violation_ended_on", &self.violation_ended_on),
            filing_extended_on: date("filing_extended_on", &self.filing_extended_on),
            term_extended_on: date("term_extended_on", &self.term_extended_on),
            term_discussed_on: date("term_discussed_on", &self.term_discussed_on),
            statement_waived_on: date("statement_waived_on", &self.statement_waived_on),
            hearing_notice_on: date("hearing_notice_on", &self.hearing_notice_on),
            legal_review_on: date("legal_review_on", &self.legal_review_on),
            collective_discussion_on: date(
                "collective_discussion_on",
                &self.collective_discussion_on,
            ),
            decision_no: self.decision_no.trim().into(),
            service_method: self.service_method.trim().into(),
            disclosed_on: date("disclosed_on", &self.disclosed_on),
            closure_type: self.closure_type.trim().into(),
            statement_on: date("statement_on", &self.statement_on),
            hearing_host: self.hearing_host.trim().into(),
            discretion_item: self.discretion_item.trim().into(),
            discretion_factors: self.discretion_factors.trim().into(),
            ..Default::default()
        };
        let restrict_on = date("production_restriction_on", &self.production_restriction_on);
        let daily_on = date("daily_penalty_on", &self.daily_penalty_on);
        let referral_dates = [
            (
                ReferralKind::Detention,
                date("detention_referral_on", &self.detention_referral_on),
            ),
            (
                ReferralKind::Criminal,
                date("criminal_referral_on", &self.criminal_referral_on),
            ),
            (
                ReferralKind::MarketRegulator,
                date("market_referral_on", &self.market_referral_on),
            ),
        ];
        let mut record = record;
        for (key, slot) in [
            ("continuing", &mut record.continuing),
            ("special_limitation", &mut record.special_limitation),
        ] {
            match yes_no(self.get(key)) {
                Some(v) => *slot = v,
                None => err(
                    key,
                    format!(
                        "“{}”应为“是”或“否”，不是“{}”",
                        header(key),
                        self.get(key).trim()
                    ),
                ),
            }
        }
        record.notice_kind = match self.notice_kind.trim() {
            "" => None,
            k => NoticeKind::parse(k).or_else(|| {
                err(
                    "notice_kind",
                    format!("未知的告知类型“{k}”，应为：{}", NoticeKind::labels()),
                );
                None
            }),
        };
        for (key, role) in [
            ("violated_provisions", ProvisionRole::Violated),
            ("penalty_provisions", ProvisionRole::Penalty),
        ] {
            match parse_provisions(self.get(key)) {
                Ok(v) => record.provisions.extend(v.into_iter().map(|p| (role, p))),
                Err(m) => err(key, format!("“{}”：{m}", header(key))),
            }
        }
        let fine = match self.fine.trim() {
            "" => Money::ZERO,
            f => f
                .parse::<Money>()
                .map_err(|e| err("fine", e.0))
                .unwrap_or(Money::ZERO),
        };
        let penalty_kinds =
            parse_list(&self.penalty_kinds, PenaltyKind::parse).unwrap_or_else(|bad| {
                err(
                    "penalty_kinds",
                    format!("未知的处罚种类“{bad}”，应为：{}", PenaltyKind::labels()),
                );
                Vec::new()
            });
        let tags = parse_list(&self.tags, Tag::parse).unwrap_or_else(|bad| {
            err(
                "tags",
                format!("未知的专项行动“{bad}”，应为：{}", Tag::labels()),
            );
            Vec::new()
        });
        let status = match self.status.trim() {
            "" => Some(infer_status(&dates)),
            s => Status::parse(s)
                .or_else(|| Status::ALL.into_iter().find(|v| v.label() == s))
                .or_else(|| {
                    err("status", format!("未知的案件状态“{s}”"));
                    None
                }),
        };
        let officers: Vec<String> = items(&self.officers).map(str::to_owned).collect();
        let subtype = match self.third_party_subtype.trim() {
            "" => None,
            s => ThirdPartySubtype::parse(s).or_else(|| {
                err(
                    "third_party_subtype",
                    format!(
                        "未知的第三方弄虚作假类型“{s}”，应为：{}",
                        ThirdPartySubtype::labels()
                    ),
                );
                None
            }),
        };
        let tp_code = match self.third_party_credit_code.trim() {
            "" => None,
            c => c
                .parse::<CreditCode>()
                .map_err(|e| err("third_party_credit_code", e.0))
                .ok(),
        };
        let third_party = match (tags.contains(&Tag::ThirdPartyFraud), subtype, tp_code) {
            (_, Some(st), Some(code)) => Some((self.third_party_name.trim().to_owned(), code, st)),
            (true, None, _) if self.third_party_subtype.trim().is_empty() => {
                err(
                    "third_party_subtype",
                    "第三方弄虚作假案件须填写弄虚作假类型".into(),
                );
                None
            }
            (true, _, None) if self.third_party_credit_code.trim().is_empty() => {
                err(
                    "third_party_credit_code",
                    "第三方弄虚作假案件须填写第三方机构信用代码".into(),
                );
                None
            }
            _ => None,
        };
        let mut measures = Vec::new();
        if let Some(d) = seal_on {
            measures.push(NewMeasure {
                kind: MeasureKind::SealAndSeize,
                decided_on: d,
                items: self.seal_and_seize_items.trim().into(),
                restriction: None,
                days: None,
                amount: Money::ZERO,
                extended_on: seal_extended,
                released_on: seal_released,
            });
        }
        if let Some(d) = restrict_on {
            let restriction = match self.production_restriction_kind.trim() {
                "" | "限产" | "restriction" => Some("restriction"),
                "停产" | "suspension" => Some("suspension"),
                other => {
                    err(
                        "production_restriction_kind",
                        format!("“限产或停产”应为限产或停产，收到“{other}”"),
                    );
                    None
                }
            };
            measures.push(NewMeasure {
                kind: MeasureKind::ProductionRestriction,
                decided_on: d,
                items: String::new(),
                restriction,
                days: None,
                amount: Money::ZERO,
                extended_on: None,
                released_on: None,
            });
        }
        if let Some(d) = daily_on {
            let days = match self.daily_penalty_days.trim() {
                "" => None,
                s => s.parse::<i64>().ok().filter(|n| *n > 0).or_else(|| {
                    err(
                        "daily_penalty_days",
                        format!("按日连续处罚天数“{s}”应为正整数"),
                    );
                    None
                }),
            };
            let amount = match self.daily_penalty_amount.trim() {
                "" => Money::ZERO,
                s => s
                    .parse::<Money>()
                    .map_err(|e| err("daily_penalty_amount", e.0))
                    .unwrap_or(Money::ZERO),
            };
            measures.push(NewMeasure {
                kind: MeasureKind::DailyPenalty,
                decided_on: d,
                items: String::new(),
                restriction: None,
                days,
                amount,
                extended_on: None,
                released_on: None,
            });
        } else if !self.daily_penalty_days.trim().is_empty()
            || !self.daily_penalty_amount.trim().is_empty()
        {
            err(
                "daily_penalty_on",
                "填写了按日连续处罚天数或金额，但缺少决定日期".into(),
            );
        }
        let referrals: Vec<(ReferralKind, NaiveDate)> = referral_dates
            .iter()
            .filter_map(|(k, d)| d.map(|d| (*k, d)))
            .collect();
        // The legal rules, on the values parsed so far (the same functions the workflow and
        // the dossier checks call).
        let later_acts = [
            ("seal_and_seize_on", seal_on),
            ("production_restriction_on", restrict_on),
            ("daily_penalty_on", daily_on),
            ("detention_referral_on", referral_dates[0].1),
            ("criminal_referral_on", referral_dates[1].1),
            ("market_referral_on", referral_dates[2].1),
        ]
        .into_iter()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
        .collect();
        let facts = rules::Facts {
            status,
            dates: dates.clone(),
            penalty_kinds: &penalty_kinds,
            fine,
            later_acts,
        };
        for b in rules::check(&facts) {
            err(b.field, b.message);
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(ValidCase {
            case_no,
            region: region.expect("checked"),
            facility_name: self.facility_name.trim().into(),
            credit_code: credit_code.expect("checked"),
            industry: self.industry.trim().into(),
            source: source.expect("checked"),
            violation: self.violation.trim().into(),
            legal_basis: self.legal_basis.trim().into(),
            status: status.expect("checked"),
            dates,
            penalty_kinds,
            fine,
            officer_certificates: officers,
            tags,
            third_party,
            measures,
            referrals,
            referral_agency: self.referral_agency.trim().into(),
            record,
        })
    }
}

/// The stage implied by the latest lifecycle date present.
pub fn infer_status(d: &Dates) -> Status {
    if d.closed_on.is_some() {
        Status::Closed
    } else if d.paid_on.is_some() || d.served_on.is_some() {
        Status::Served
    } else if d.decided_on.is_some() {
        Status::Decided
    } else if d.hearing_requested_on.is_some() || d.hearing_held_on.is_some() {
        Status::Hearing
    } else if d.prior_notice_on.is_some() {
        Status::PriorNotice
    } else if d.investigation_on.is_some() {
        Status::Investigation
    } else {
        Status::Filed
    }
}

/// Why cases were not recorded. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Problems by input row (0-based).
    #[error("{} 处错误", .0.len())]
    Invalid(Vec<(usize, FieldError)>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IntakeError {
    fn from(e: sqlx::Error) -> Self {
        IntakeError::Store(e.into())
    }
}

/// Validates every row, then writes all of them in one transaction, or none.
pub async fn record(
    db: &Db,
    org: &Org,
    scope: &Scope,
    actor: &str,
    rows: &[NewCase],
) -> Result<Vec<i64>, IntakeError> {
    let checked = check(db, org, scope, rows).await?;
    let mut w = db.write().await?;
    let mut audit = audit_log::Appender::start(&mut w).await?;
    let ids = write_checked(db, &mut w, &mut audit, actor, checked).await?;
    w.commit().await?;
    Ok(ids)
}

/// Given case numbers that do not carry their own unit's prefix: a unit numbering into
/// another's series would block that unit's own numbering (issue #16).
async fn foreign_prefixes(
    db: &Db,
    rows: &[NewCase],
) -> Result<Vec<(usize, FieldError)>, IntakeError> {
    let mut prefixes: HashMap<String, String> = HashMap::new();
    let units: Vec<(String, String)> =
        sqlx::query_as("SELECT region_code, case_prefix FROM units ORDER BY id DESC")
            .fetch_all(db.pool())
            .await?;
    // The first unit of a region numbers its cases (as `Writer::unit` picks it).
    prefixes.extend(units);
    Ok(rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let no = r.case_no.trim().parse::<CaseNo>().ok()?;
            let prefix = prefixes.get(r.region_code.trim())?;
            (!no.as_str().starts_with(&format!("{prefix}〔"))).then(|| {
                (
                    i,
                    FieldError {
                        field: "case_no",
                        message: format!(
                            "案号“{no}”不是本单位的编号，应以“{prefix}〔年份〕”开头（留空则自动编号）"
                        ),
                    },
                )
            })
        })
        .collect())
}

/// Rows that passed every check, ready for [`write_checked`].
pub struct Checked {
    valid: Vec<ValidCase>,
    officers: HashMap<String, i64>,
}

/// Validates every row (fields, officers, case numbers): the first half of [`record`].
pub async fn check(
    db: &Db,
    org: &Org,
    scope: &Scope,
    rows: &[NewCase],
) -> Result<Checked, IntakeError> {
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        match r.validate(org, scope) {
            Ok(v) => valid.push(v),
            Err(es) => errors.extend(es.into_iter().map(|e| (i, e))),
        }
    }
    // Rules that look across rows or into the store.
    let officers: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT certificate_no, id FROM officers WHERE certificate_no IS NOT NULL AND active = 1",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    // A number of another unit is refused for its prefix alone, never looked up: whether it
    // exists elsewhere is not the caller's to learn.
    let foreign = foreign_prefixes(db, rows).await?;
    let foreign_rows: HashSet<usize> = foreign.iter().map(|(i, _)| *i).collect();
    errors.extend(foreign);
    let mut seen_nos: HashMap<String, usize> = HashMap::new();
    let mut given_nos = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        for cert in items(&r.officers) {
            if !officers.contains_key(cert) {
                errors.push((
                    i,
                    FieldError {
                        field: "officers",
                        message: format!("执法证号“{cert}”不存在或已停用"),
                    },
                ));
            }
        }
        if let Ok(no) = r.case_no.trim().parse::<CaseNo>() {
            if let Some(first) = seen_nos.insert(no.to_string(), i) {
                errors.push((
                    i,
                    FieldError {
                        field: "case_no",
                        message: format!("案号“{no}”与第{}行重复", first + 1),
                    },
                ));
            }
            if !foreign_rows.contains(&i) {
                given_nos.push((i, no.to_string()));
            }
        }
    }
    for chunk in given_nos.chunks(ROWS_PER_INSERT * 4) {
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT case_no FROM cases WHERE case_no IN ({})",
            placeholders(chunk.len(), 1)
        )));
        for (_, no) in chunk {
            q = q.bind(no);
        }
        let existing: HashSet<String> = q.fetch_all(db.pool()).await?.into_iter().collect();
        for (i, no) in chunk.iter().filter(|(_, no)| existing.contains(no)) {
            errors.push((
                *i,
                FieldError {
                    field: "case_no",
                    message: format!("案号“{no}”已存在"),
                },
            ));
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|(i, _)| *i);
        return Err(IntakeError::Invalid(errors));
    }

    Ok(Checked { valid, officers })
}

/// Writes checked cases inside the caller's write transaction, with their audit entries (the
/// second half of [`record`]; accepting a screening lead writes its case and its own change
/// in one transaction this way).
pub async fn write_checked(
    db: &Db,
    w: &mut ecowarden_core::store::WriteTx,
    audit: &mut audit_log::Appender,
    actor: &str,
    checked: Checked,
) -> Result<Vec<i64>, IntakeError> {
    let Checked { valid, officers } = checked;
    // Automatic numbers must not take a number given explicitly anywhere in the batch.
    let given: HashSet<String> = valid
        .iter()
        .filter_map(|v| v.case_no.as_ref().map(|n| n.to_string()))
        .collect();
    let mut writer = Writer {
        given,
        ..Writer::default()
    };
    let mut ids = Vec::with_capacity(valid.len());
    for (c, chunk) in valid.chunks(CASES_PER_INSERT).enumerate() {
        let first = c * CASES_PER_INSERT;
        let (chunk_ids, case_nos) = match writer.insert(&mut w.tx, chunk, &officers, actor).await {
            Ok(r) => r,
            Err(Failure::CaseNo(nos)) => {
                // The caller rolls back (drops the transaction); name the number taken.
                return Err(case_no_taken(db, first, &nos).await);
            }
            Err(Failure::Taken(i, no)) => return Err(taken(first + i, &no)),
            Err(Failure::Other(e)) => return Err(e),
        };
        let changes: Vec<Change> = chunk
            .iter()
            .zip(&chunk_ids)
            .zip(&case_nos)
            .map(|((v, id), no)| Change {
                actor,
                action: "create",
                entity: "case",
                entity_id: id.to_string(),
                before: None,
                after: Some(summary_json(v, no)),
            })
            .collect();
        audit.append_many(&mut w.tx, &changes).await?;
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// Cases per multi-row insert (44 values each). Small on purpose: sqlx-sqlite binds every
/// parameter by its name, and SQLite finds a name by walking the statement's list, so a
/// statement costs the square of its parameters (10,000 made a 100,000-row import spend
/// 70% of its time in `sqlite3_bind_parameter_name`); about 800 is the sweet spot between
/// that and the per-statement overhead.
const CASES_PER_INSERT: usize = 18;

/// Rows per multi-row insert or lookup of the smaller tables (at most 9 values each), for
/// the same reason as [`CASES_PER_INSERT`].
const ROWS_PER_INSERT: usize = 100;

/// The error for a case number the store refused as taken; `nos` are the chunk's numbers,
/// the first at input row `first`.
async fn case_no_taken(db: &Db, first: usize, nos: &[String]) -> IntakeError {
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT case_no FROM cases WHERE case_no IN ({})",
        placeholders(nos.len(), 1)
    )));
    for no in nos {
        q = q.bind(no.as_str());
    }
    let existing: HashSet<String> = match q.fetch_all(db.pool()).await {
        Ok(rows) => rows.into_iter().collect(),
        Err(e) => return e.into(),
    };
    let i = nos.iter().position(|n| existing.contains(n)).unwrap_or(0);
    taken(first + i, &nos[i])
}

/// Input row `row`'s case number is taken.
fn taken(row: usize, no: &str) -> IntakeError {
    IntakeError::Invalid(vec![(
        row,
        FieldError {
            field: "case_no",
            message: format!("案号“{no}”已存在"),
        },
    )])
}

/// 是/否 as typed (also 1/0, Y/N); blank is 否. `None` for anything else.
fn yes_no(v: &str) -> Option<bool> {
    match v.trim() {
        "" | "否" | "0" | "N" | "n" | "false" => Some(false),
        "是" | "1" | "Y" | "y" | "true" => Some(true),
        _ => None,
    }
}

/// A value bound into a multi-row statement.
enum Arg {
    Int(i64),
    Text(String),
    OptInt(Option<i64>),
    OptText(Option<String>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

fn bind_all<'q>(mut q: AnyQuery<'q>, args: Vec<Arg>) -> AnyQuery<'q> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::OptInt(v) => q.bind(v),
            Arg::OptText(v) => q.bind(v),
        };
    }
    q
}

/// Inserts `rows` of `cols` values each with multi-row statements: `{head} VALUES (…),(…) {tail}`.
async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    cols: usize,
    rows: Vec<Vec<Arg>>,
) -> Result<(), sqlx::Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let sql = format!("{head} VALUES {} {tail}", placeholders(chunk.len(), cols));
        let q = bind_all(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            chunk.into_iter().flatten().collect(),
        );
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn summary_json(v: &ValidCase, case_no: &str) -> serde_json::Value {
    let d = |x: Option<NaiveDate>| x.map(|d| d.to_string());
    serde_json::json!({
        "case_no": case_no, "region_code": v.region.code, "credit_code": v.credit_code.as_str(),
        "source": v.source.as_str(), "status": v.status.as_str(), "violation": v.violation,
        "discovered_on": d(v.dates.discovered_on), "filed_on": d(v.dates.filed_on),
        "decided_on": d(v.dates.decided_on), "closed_on": d(v.dates.closed_on),
        "fine": v.fine, "tags": v.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "officers": v.officer_certificates,
    })
}

/// Why a chunk was not written.
enum Failure {
    /// The store refused a case number as taken; the chunk's numbers in input order.
    CaseNo(Vec<String>),
    /// The chunk's row `.0` repeats a number written earlier in the batch.
    Taken(usize, String),
    Other(IntakeError),
}

impl From<IntakeError> for Failure {
    fn from(e: IntakeError) -> Self {
        Failure::Other(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// Caches of one write transaction: facilities, providers, units, case-number serials.
#[derive(Default)]
struct Writer {
    facilities: HashMap<String, i64>,
    third_parties: HashMap<String, i64>,
    units: HashMap<String, (i64, String)>,
    serials: HashMap<(i64, i32), u32>,
    /// Case numbers given explicitly in the batch, which automatic numbering skips.
    given: HashSet<String>,
    /// Case numbers written so far in the batch.
    assigned: HashSet<String>,
}

impl Writer {
    /// Ids of the chunk's facilities by credit code: cached, found with one query, or
    /// inserted with one multi-row statement.
    async fn facilities(
        &mut self,
        conn: &mut AnyConnection,
        chunk: &[ValidCase],
    ) -> Result<(), IntakeError> {
        let mut seen = HashSet::new();
        let rows = chunk
            .iter()
            .filter(|v| {
                let code = v.credit_code.as_str();
                !self.facilities.contains_key(code) && seen.insert(code)
            })
            .map(|v| {
                let row = vec![
                    Arg::Text(v.facility_name.clone()),
                    Arg::Text(v.credit_code.to_string()),
                    Arg::Text(v.region.code.clone()),
                    Arg::Text(v.region.city_code.clone()),
                    Arg::Text(v.industry.clone()),
                ];
                (v.credit_code.to_string(), row)
            })
            .collect();
        let columns = "name, credit_code, region_code, city_code, industry";
        ensure_by_code(conn, "facilities", columns, &mut self.facilities, rows).await?;
        Ok(())
    }

    /// Ids of the chunk's third parties by credit code, as [`Writer::facilities`].
    async fn third_parties(
        &mut self,
        conn: &mut AnyConnection,
        chunk: &[ValidCase],
    ) -> Result<(), IntakeError> {
        let mut seen = HashSet::new();
        let rows = chunk
            .iter()
            .filter_map(|v| v.third_party.as_ref().map(|tp| (tp, v)))
            .filter(|((_, code, _), _)| {
                !self.third_parties.contains_key(code.as_str()) && seen.insert(code.as_str())
            })
            .map(|((name, code, subtype), v)| {
                let name = if name.is_empty() {
                    code.to_string()
                } else {
                    name.to_string()
                };
                let row = vec![
                    Arg::Text(name),
                    Arg::Text(code.to_string()),
                    Arg::Text(subtype.as_str().to_owned()),
                    Arg::Text(v.region.code.clone()),
                    Arg::Text(v.region.city_code.clone()),
                ];
                (code.to_string(), row)
            })
            .collect();
        let columns = "name, credit_code, service_types, region_code, city_code";
        ensure_by_code(
            conn,
            "third_parties",
            columns,
            &mut self.third_parties,
            rows,
        )
        .await?;
        Ok(())
    }

    /// The unit of the case's region and its case-number prefix.
    async fn unit(
        &mut self,
        conn: &mut AnyConnection,
        region: &str,
    ) -> Result<(i64, String), IntakeError> {
        if let Some(u) = self.units.get(region) {
            return Ok(u.clone());
        }
        let u: (i64, String) = sqlx::query_as(
            "SELECT id, case_prefix FROM units WHERE region_code = $1 ORDER BY id LIMIT 1",
        )
        .bind(region)
        .fetch_one(&mut *conn)
        .await?;
        self.units.insert(region.to_owned(), u.clone());
        Ok(u)
    }

    /// The next free case number of a unit in a year: past the highest serial stored or given
    /// explicitly in the batch, whichever row gives it.
    async fn next_case_no(
        &mut self,
        conn: &mut AnyConnection,
        unit: i64,
        prefix: &str,
        year: i32,
    ) -> Result<CaseNo, IntakeError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.serials.entry((unit, year)) {
            // The unit's numbers, and any of its series stored by another unit before given
            // numbers had to carry their own prefix.
            let nos: Vec<String> = sqlx::query_scalar(
                "SELECT case_no FROM cases WHERE (unit_id = $1 AND year = $2) OR case_no LIKE $3",
            )
            .bind(unit)
            .bind(year as i64)
            .bind(format!("{prefix}〔{year}〕%"))
            .fetch_all(&mut *conn)
            .await?;
            let serial = |n: &str| {
                n.rsplit_once('〕')
                    .and_then(|(_, s)| s.trim_end_matches('号').parse::<u32>().ok())
            };
            // Past the stored numbers and the ones of this unit and year given in the batch.
            let stem = format!("{prefix}〔{year}〕");
            let max = nos
                .iter()
                .filter_map(|n| serial(n))
                .chain(
                    self.given
                        .iter()
                        .filter(|n| n.starts_with(&stem))
                        .filter_map(|n| serial(n)),
                )
                .max()
                .unwrap_or(0);
            slot.insert(max);
        }
        let s = self.serials.get_mut(&(unit, year)).expect("inserted");
        // A given number of another form (or another unit sharing the prefix) is skipped.
        loop {
            *s += 1;
            let no = CaseNo::new(prefix, year, *s);
            if !self.given.contains(no.as_str()) {
                return Ok(no);
            }
        }
    }

    /// Writes a chunk of cases with their officers, tags, measures, referrals and provisions; returns
    /// their ids and case numbers in input order.
    async fn insert(
        &mut self,
        conn: &mut AnyConnection,
        chunk: &[ValidCase],
        officers: &HashMap<String, i64>,
        actor: &str,
    ) -> Result<(Vec<i64>, Vec<String>), Failure> {
        self.facilities(conn, chunk).await?;
        self.third_parties(conn, chunk).await?;
        let now = ecowarden_core::clock::now_rfc3339();
        let d = |x: Option<NaiveDate>| Arg::OptText(x.map(|d| d.to_string()));
        let mut case_nos = Vec::with_capacity(chunk.len());
        let mut args = Vec::with_capacity(chunk.len() * 44);
        for v in chunk {
            let (unit, prefix) = self.unit(conn, &v.region.code).await?;
            let discovered = v.dates.discovered_on.expect("required");
            let year = v.dates.filed_on.unwrap_or(discovered).year();
            let case_no = match &v.case_no {
                Some(n) => n.clone(),
                None => self.next_case_no(conn, unit, &prefix, year).await?,
            };
            let facility = self.facilities[v.credit_code.as_str()];
            let third_party = v
                .third_party
                .as_ref()
                .map(|(_, code, _)| self.third_parties[code.as_str()]);
            args.extend([
                Arg::Text(case_no.to_string()),
                Arg::Int(unit),
                Arg::Text(v.region.code.clone()),
                Arg::Text(v.region.city_code.clone()),
                Arg::Int(facility),
                Arg::Text(v.source.as_str().to_owned()),
                Arg::Text(v.status.as_str().to_owned()),
                Arg::Text(v.violation.clone()),
                Arg::Text(v.legal_basis.clone()),
                Arg::Text(discovered.to_string()),
                d(v.dates.filed_on),
                d(v.dates.investigation_on),
                d(v.dates.prior_notice_on),
                d(v.dates.hearing_requested_on),
                d(v.dates.hearing_held_on),
                d(v.dates.decided_on),
                d(v.dates.served_on),
                d(v.dates.paid_on),
                d(v.dates.closed_on),
                Arg::Text(
                    v.penalty_kinds
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Arg::Int(v.fine.fen()),
                Arg::OptInt(third_party),
                Arg::OptText(v.third_party.as_ref().map(|t| t.2.as_str().to_owned())),
                Arg::Int(year as i64),
                d(v.record.violation_ended_on),
                d(v.record.filing_extended_on),
                d(v.record.term_extended_on),
                d(v.record.term_discussed_on),
                d(v.record.statement_waived_on),
                d(v.record.hearing_notice_on),
                d(v.record.legal_review_on),
                d(v.record.collective_discussion_on),
                Arg::Text(v.record.decision_no.clone()),
                Arg::Text(v.record.service_method.clone()),
                d(v.record.disclosed_on),
                Arg::Text(v.record.closure_type.clone()),
                Arg::Int(v.record.continuing.into()),
                Arg::Int(v.record.special_limitation.into()),
                Arg::Text(
                    v.record
                        .notice_kind
                        .map(|k| k.as_str())
                        .unwrap_or("")
                        .to_owned(),
                ),
                d(v.record.statement_on),
                Arg::Text(v.record.hearing_host.clone()),
                Arg::Text(v.record.discretion_item.clone()),
                Arg::Text(v.record.discretion_factors.clone()),
                Arg::Text(now.clone()),
            ]);
            case_nos.push(case_no.to_string());
        }
        // Rows of the batch may not share a number (given numbers were checked against each
        // other and the store before the write lock; this catches prefixes shared by units).
        if let Some(i) = case_nos
            .iter()
            .position(|n| !self.assigned.insert(n.clone()))
        {
            return Err(Failure::Taken(i, case_nos[i].clone()));
        }
        // COLUMNS values a row; created_at and updated_at share the last.
        const COLUMNS: usize = 44;
        let mut values = String::with_capacity(chunk.len() * 200);
        for r in 0..chunk.len() {
            if r > 0 {
                values.push(',');
            }
            values.push('(');
            for c in 0..COLUMNS {
                values.push_str(&format!("${},", r * COLUMNS + c + 1));
            }
            values.push_str(&format!("${})", r * COLUMNS + COLUMNS));
        }
        let sql = format!(
            "INSERT INTO cases (case_no, unit_id, region_code, city_code, facility_id, source, status, violation, legal_basis, \
             discovered_on, filed_on, investigation_on, prior_notice_on, hearing_requested_on, hearing_held_on, decided_on, \
             served_on, paid_on, closed_on, penalty_kinds, fine_fen, third_party_id, third_party_subtype, year, \
             violation_ended_on, filing_extended_on, term_extended_on, term_discussed_on, statement_waived_on, \
             hearing_notice_on, legal_review_on, collective_discussion_on, decision_no, service_method, disclosed_on, \
             closure_type, continuing, special_limitation, notice_kind, statement_on, hearing_host, \
             discretion_item, discretion_factors, created_at, updated_at) \
             VALUES {values} RETURNING id, case_no"
        );
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
            .fetch_all(&mut *conn)
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                return Err(match StoreError::from(e) {
                    StoreError::Conflict(_) => Failure::CaseNo(case_nos),
                    e => Failure::Other(IntakeError::Store(e)),
                });
            }
        };
        // RETURNING does not promise input order: map the ids back by case number.
        let mut by_no: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for r in rows {
            by_no.insert(r.try_get(1)?, r.try_get(0)?);
        }
        let ids: Vec<i64> = case_nos
            .iter()
            .map(|n| {
                by_no.get(n).copied().ok_or_else(|| {
                    IntakeError::Store(StoreError::Sqlx(sqlx::Error::Protocol(format!(
                        "insert returned no id for case {n}"
                    ))))
                })
            })
            .collect::<Result<_, _>>()?;

        let mut case_officers = Vec::new();
        let mut case_tags = Vec::new();
        let mut measures = Vec::new();
        let mut referrals = Vec::new();
        let mut provisions = Vec::new();
        for (v, &id) in chunk.iter().zip(&ids) {
            for (role, p) in &v.record.provisions {
                provisions.push(vec![
                    Arg::Int(id),
                    Arg::Text(role.as_str().to_owned()),
                    Arg::Text(p.law.clone()),
                    Arg::Int(p.article.into()),
                    Arg::OptInt(p.paragraph.map(i64::from)),
                    Arg::OptInt(p.item.map(i64::from)),
                    Arg::Text(actor.to_owned()),
                    Arg::Text(now.clone()),
                ]);
            }
            for (i, cert) in v.officer_certificates.iter().enumerate() {
                case_officers.push(vec![
                    Arg::Int(id),
                    Arg::Int(officers[cert]),
                    Arg::Int((i == 0) as i64),
                ]);
            }
            for t in &v.tags {
                case_tags.push(vec![Arg::Int(id), Arg::Text(t.as_str().to_owned())]);
            }
            for m in &v.measures {
                measures.push(vec![
                    Arg::Int(id),
                    Arg::Text(m.kind.as_str().to_owned()),
                    Arg::Text(m.decided_on.to_string()),
                    Arg::Text(m.items.clone()),
                    Arg::OptText(m.restriction.map(str::to_owned)),
                    Arg::OptInt(m.days),
                    Arg::Int(m.amount.fen()),
                    d(m.extended_on),
                    d(m.released_on),
                ]);
            }
            for (kind, on) in &v.referrals {
                let agency = if v.referral_agency.is_empty() {
                    default_agency(*kind)
                } else {
                    v.referral_agency.as_str()
                };
                referrals.push(vec![
                    Arg::Int(id),
                    Arg::Text(kind.as_str().to_owned()),
                    Arg::Text(agency.to_owned()),
                    Arg::Text(on.to_string()),
                ]);
            }
        }
        insert_rows(
            conn,
            "INSERT INTO case_officers (case_id, officer_id, lead)",
            "ON CONFLICT DO NOTHING",
            3,
            case_officers,
        )
        .await?;
        insert_rows(
            conn,
            "INSERT INTO case_tags (case_id, tag)",
            "ON CONFLICT DO NOTHING",
            2,
            case_tags,
        )
        .await?;
        insert_rows(
            conn,
            "INSERT INTO measures (case_id, kind, decided_on, items, restriction, days, amount_fen, extended_on, released_on)",
            "",
            9,
            measures,
        )
        .await?;
        insert_rows(
            conn,
            "INSERT INTO referrals (case_id, kind, agency, referred_on)",
            "",
            4,
            referrals,
        )
        .await?;
        insert_rows(
            conn,
            "INSERT INTO case_provisions (case_id, role, law, article, paragraph, item, recorded_by, recorded_at)",
            "",
            8,
            provisions,
        )
        .await?;
        Ok((ids, case_nos))
    }
}

/// Ids by credit code of `rows` (code, the row to insert if the code is new) into `cache`:
/// the known ones found with one query, the others inserted with multi-row statements.
async fn ensure_by_code(
    conn: &mut AnyConnection,
    table: &str,
    columns: &str,
    cache: &mut HashMap<String, i64>,
    rows: Vec<(String, Vec<Arg>)>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let found = lookup(conn, table, rows.iter().map(|(code, _)| code.as_str())).await?;
    let cols = columns.split(',').count();
    let missing: Vec<Vec<Arg>> = rows
        .into_iter()
        .filter(|(code, _)| !found.contains_key(code))
        .map(|(_, row)| row)
        .collect();
    cache.extend(found);
    let head = format!("INSERT INTO {table} ({columns})");
    cache.extend(insert_returning_codes(conn, &head, cols, missing).await?);
    Ok(())
}

/// Ids by credit code of the stored rows of `table` (facilities, third_parties) among `codes`.
async fn lookup(
    conn: &mut AnyConnection,
    table: &str,
    codes: impl Iterator<Item = &str>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let codes: Vec<&str> = codes.collect();
    let mut out = HashMap::with_capacity(codes.len());
    for chunk in codes.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(format!(
            "SELECT credit_code, id FROM {table} WHERE credit_code IN ({})",
            placeholders(chunk.len(), 1)
        )));
        for c in chunk {
            q = q.bind(*c);
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Inserts rows with multi-row statements `{head} VALUES … RETURNING id, credit_code`;
/// returns the new ids by credit code.
async fn insert_returning_codes(
    conn: &mut AnyConnection,
    head: &str,
    cols: usize,
    rows: Vec<Vec<Arg>>,
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut out = HashMap::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let sql = format!(
            "{head} VALUES {} RETURNING credit_code, id",
            placeholders(chunk.len(), cols)
        );
        let found = bind_all(
            sqlx::query(sqlx::AssertSqlSafe(sql)),
            chunk.into_iter().flatten().collect(),
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in found {
            out.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    Ok(out)
}

pub(crate) fn default_agency(kind: ReferralKind) -> &'static str {
    match kind {
        ReferralKind::Detention | ReferralKind::Criminal => "公安机关",
        ReferralKind::MarketRegulator => "市场监督管理部门",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_formats_officers_type() {
        let d = NaiveDate::from_ymd_opt(2023, 3, 5).unwrap();
        for s in [
            "2023-03-05",
            "2023/3/5",
            "2023.3.5",
            "2023年3月5日",
            "2023-03-05 00:00:00",
            " 2023-3-05 ",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        for s in ["2023-02-30", "23-3-5", "2023-03", "三月五日", "1800-01-01"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn every_field_has_a_header_and_setter() {
        let mut c = NewCase::default();
        for f in FIELDS {
            assert!(!f.header.is_empty());
            assert!(c.set(f.key, "x".into()), "{}", f.key);
            assert_eq!(c.get(f.key), "x");
        }
        assert!(!c.set("nonsense", String::new()));
    }
}
