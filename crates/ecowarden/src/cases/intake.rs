//! Recording cases: one from a form or the API, or many from an import, through the same
//! validation. Input arrives as text (a form field, a spreadsheet cell), is checked field by
//! field with Chinese messages that name the field, and only a wholly valid batch is written:
//! imports are all-or-nothing.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use super::vocab::{MeasureKind, PenaltyKind, ReferralKind, Tag, ThirdPartySubtype, parse_list};
use super::{CaseSource, Status};
use crate::audit_log::{self, Change};
use crate::auth::Scope;
use crate::ids::{CaseNo, CreditCode, Money};
use crate::org::{Level, Org, Region};
use crate::store::{Db, StoreError};

/// One field of a case as it is typed: the key (code name), the Chinese header of the import
/// template and the form label, whether it is required, and a hint for the template.
pub struct Field {
    pub key: &'static str,
    pub header: &'static str,
    pub required: bool,
    pub hint: &'static str,
}

macro_rules! fields {
    ($($key:ident : $header:literal, $req:literal, $hint:literal;)+) => {
        /// A case as typed into a form or a spreadsheet row: every value is text.
        #[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
        pub struct NewCase {
            $(#[serde(default)] pub $key: String,)+
        }

        /// The fields in template order.
        pub const FIELDS: &[Field] = &[
            $(Field { key: stringify!($key), header: $header, required: $req, hint: $hint },)+
        ];

        impl NewCase {
            /// A field by key ("" for an unknown key).
            pub fn get(&self, key: &str) -> &str {
                match key {
                    $(stringify!($key) => &self.$key,)+
                    _ => "",
                }
            }

            /// Sets a field by key; false if there is no such field.
            pub fn set(&mut self, key: &str, value: String) -> bool {
                match key {
                    $(stringify!($key) => { self.$key = value; true })+
                    _ => false,
                }
            }
        }
    };
}

fields! {
    case_no: "案号", false, "留空则按办案单位前缀自动编号，如“榕鼓楼环罚〔2023〕12号”";
    region_code: "行政区划代码", true, "6位代码，如350102";
    facility_name: "当事人名称", true, "";
    credit_code: "统一社会信用代码", true, "18位，含校验码";
    industry: "行业", false, "";
    source: "案件来源", true, "日常检查、信访投诉、非现场筛查线索、部门移送、上级交办";
    violation: "违法行为", true, "";
    legal_basis: "处罚依据", false, "";
    status: "案件状态", false, "留空则按已填日期推定";
    discovered_on: "发现日期", true, "YYYY-MM-DD";
    filed_on: "立案日期", false, "YYYY-MM-DD";
    investigation_on: "调查取证日期", false, "";
    prior_notice_on: "事先告知日期", false, "";
    hearing_requested_on: "听证申请日期", false, "";
    hearing_held_on: "听证日期", false, "";
    decided_on: "处罚决定日期", false, "";
    served_on: "送达日期", false, "";
    paid_on: "缴款日期", false, "";
    closed_on: "结案日期", false, "";
    penalty_kinds: "处罚种类", false, "警告、罚款、没收违法所得、暂扣许可证件、责令停产停业、责令关闭、不予处罚";
    fine: "罚款金额（元）", false, "最多两位小数";
    officers: "执法人员证号", true, "至少两名持证执法人员，用“、”分隔";
    tags: "专项行动", false, "两打·危险废物、两打·自动监测数据造假、第三方弄虚作假、清水蓝天、划转职能";
    third_party_name: "第三方机构名称", false, "第三方弄虚作假案件必填";
    third_party_credit_code: "第三方机构信用代码", false, "第三方弄虚作假案件必填";
    third_party_subtype: "第三方弄虚作假类型", false, "检测、自动监控、机动车尾气检测、竣工验收、环评、其他";
    seal_and_seize_on: "查封扣押决定日期", false, "";
    seal_and_seize_items: "查封扣押物品", false, "";
    production_restriction_on: "限产停产决定日期", false, "";
    production_restriction_kind: "限产或停产", false, "限产、停产";
    daily_penalty_on: "按日连续处罚决定日期", false, "";
    daily_penalty_days: "按日连续处罚天数", false, "";
    daily_penalty_amount: "按日连续处罚金额（元）", false, "";
    detention_referral_on: "移送行政拘留日期", false, "";
    criminal_referral_on: "移送涉嫌犯罪日期", false, "";
    market_referral_on: "移送市场监管日期", false, "";
    referral_agency: "移送接收机关", false, "";
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn header(&self) -> &'static str {
        FIELDS
            .iter()
            .find(|f| f.key == self.field)
            .map(|f| f.header)
            .unwrap_or(self.field)
    }
}

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
}

#[derive(Debug, Clone)]
pub struct NewMeasure {
    pub kind: MeasureKind,
    pub decided_on: NaiveDate,
    pub items: String,
    pub restriction: Option<&'static str>,
    pub days: Option<i64>,
    pub amount: Money,
}

/// The lifecycle dates, in the order they must occur.
#[derive(Debug, Clone, Default)]
pub struct Dates {
    pub discovered_on: Option<NaiveDate>,
    pub filed_on: Option<NaiveDate>,
    pub investigation_on: Option<NaiveDate>,
    pub prior_notice_on: Option<NaiveDate>,
    pub hearing_requested_on: Option<NaiveDate>,
    pub hearing_held_on: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub served_on: Option<NaiveDate>,
    pub paid_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

impl Dates {
    /// (field key, date) in lifecycle order.
    pub fn ordered(&self) -> [(&'static str, Option<NaiveDate>); 10] {
        [
            ("discovered_on", self.discovered_on),
            ("filed_on", self.filed_on),
            ("investigation_on", self.investigation_on),
            ("prior_notice_on", self.prior_notice_on),
            ("hearing_requested_on", self.hearing_requested_on),
            ("hearing_held_on", self.hearing_held_on),
            ("decided_on", self.decided_on),
            ("served_on", self.served_on),
            ("paid_on", self.paid_on),
            ("closed_on", self.closed_on),
        ]
    }
}

/// Parses the date formats officers type: 2023-03-05, 2023/3/5, 2023.3.5, 2023年3月5日.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s
        .trim()
        .trim_end_matches('日')
        .replace(['年', '月', '/', '.'], "-");
    let t = t.split([' ', 'T']).next().unwrap_or("");
    let mut it = t.split('-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    if it.next().is_some() || !(1990..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

fn header(key: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|f| f.key == key)
        .map(|f| f.header)
        .unwrap_or("")
}

impl NewCase {
    /// Checks every field against the rules and the caller's scope; all problems at once.
    pub fn validate(&self, org: &Org, scope: &Scope) -> Result<ValidCase, Vec<FieldError>> {
        let mut errs = Vec::new();
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
        // Each date no earlier than the last one before it in the lifecycle.
        let mut last: Option<(&str, NaiveDate)> = None;
        for (key, d) in dates.ordered() {
            if let Some(d) = d {
                if let Some((pk, pd)) = last
                    && d < pd
                {
                    err(
                        key,
                        format!(
                            "“{}”（{d}）早于“{}”（{pd}），日期顺序不合理",
                            header(key),
                            header(pk)
                        ),
                    );
                }
                last = Some((key, d));
            }
        }
        for (key, d) in [
            ("seal_and_seize_on", seal_on),
            ("production_restriction_on", restrict_on),
            ("daily_penalty_on", daily_on),
        ]
        .into_iter()
        .chain([
            ("detention_referral_on", referral_dates[0].1),
            ("criminal_referral_on", referral_dates[1].1),
            ("market_referral_on", referral_dates[2].1),
        ]) {
            if let (Some(d), Some(disc)) = (d, dates.discovered_on)
                && d < disc
            {
                err(
                    key,
                    format!("“{}”（{d}）早于发现日期（{disc}）", header(key)),
                );
            }
        }
        let fine = match self.fine.trim() {
            "" => Money::ZERO,
            f => f
                .parse::<Money>()
                .map_err(|e| err("fine", e.0))
                .unwrap_or(Money::ZERO),
        };
        if fine > Money::ZERO && dates.decided_on.is_none() {
            err("decided_on", "有罚款金额的案件须填写处罚决定日期".into());
        }
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
        if let Some(st) = status {
            if matches!(
                st,
                Status::Decided | Status::Served | Status::Enforcement | Status::Closed
            ) && dates.decided_on.is_none()
                && !penalty_kinds.contains(&PenaltyKind::NoPenalty)
            {
                err(
                    "decided_on",
                    format!("状态为“{}”的案件须填写处罚决定日期", st.label()),
                );
            }
            if st == Status::Closed && dates.closed_on.is_none() {
                err("closed_on", "状态为“已结案”的案件须填写结案日期".into());
            }
        }
        let officers: Vec<String> = self
            .officers
            .split(['、', ',', '，', ';', '；', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if !self.officers.trim().is_empty() && officers.iter().collect::<HashSet<_>>().len() < 2 {
            err("officers", "至少需要两名不同的持证执法人员".into());
        }
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
    let mut seen_nos: HashMap<String, usize> = HashMap::new();
    let mut given_nos = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        for cert in r
            .officers
            .split(['、', ',', '，', ';', '；', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
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
            given_nos.push((i, no.to_string()));
        }
    }
    for chunk in given_nos.chunks(500) {
        let list = (1..=chunk.len())
            .map(|k| format!("${k}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT case_no FROM cases WHERE case_no IN ({list})"
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

    let mut w = db.write().await?;
    let mut audit = audit_log::Appender::start(&mut w.tx).await?;
    let mut writer = Writer::default();
    let mut ids = Vec::with_capacity(valid.len());
    for v in &valid {
        let id = writer.insert(&mut w.tx, v, &officers).await?;
        audit
            .append(
                &mut w.tx,
                &Change {
                    actor,
                    action: "create",
                    entity: "case",
                    entity_id: id.to_string(),
                    before: None,
                    after: Some(summary_json(v, &writer.last_case_no)),
                },
            )
            .await?;
        ids.push(id);
    }
    w.commit().await?;
    Ok(ids)
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

/// Caches of one write transaction: facilities, providers, units, case-number serials.
#[derive(Default)]
struct Writer {
    facilities: HashMap<String, i64>,
    third_parties: HashMap<String, i64>,
    units: HashMap<String, (i64, String)>,
    serials: HashMap<(i64, i32), u32>,
    last_case_no: String,
}

impl Writer {
    async fn facility(
        &mut self,
        conn: &mut AnyConnection,
        v: &ValidCase,
    ) -> Result<i64, IntakeError> {
        if let Some(id) = self.facilities.get(v.credit_code.as_str()) {
            return Ok(*id);
        }
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM facilities WHERE credit_code = $1")
                .bind(v.credit_code.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        let id = match found {
            Some(id) => id,
            None => sqlx::query_scalar(
                "INSERT INTO facilities (name, credit_code, region_code, city_code, industry) VALUES ($1,$2,$3,$4,$5) RETURNING id",
            )
            .bind(&v.facility_name)
            .bind(v.credit_code.as_str())
            .bind(&v.region.code)
            .bind(&v.region.city_code)
            .bind(&v.industry)
            .fetch_one(&mut *conn)
            .await?,
        };
        self.facilities.insert(v.credit_code.to_string(), id);
        Ok(id)
    }

    async fn third_party(
        &mut self,
        conn: &mut AnyConnection,
        v: &ValidCase,
    ) -> Result<Option<i64>, IntakeError> {
        let Some((name, code, subtype)) = &v.third_party else {
            return Ok(None);
        };
        if let Some(id) = self.third_parties.get(code.as_str()) {
            return Ok(Some(*id));
        }
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM third_parties WHERE credit_code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        let id = match found {
            Some(id) => id,
            None => sqlx::query_scalar(
                "INSERT INTO third_parties (name, credit_code, service_types, region_code, city_code) VALUES ($1,$2,$3,$4,$5) RETURNING id",
            )
            .bind(if name.is_empty() { code.as_str() } else { name.as_str() })
            .bind(code.as_str())
            .bind(subtype.as_str())
            .bind(&v.region.code)
            .bind(&v.region.city_code)
            .fetch_one(&mut *conn)
            .await?,
        };
        self.third_parties.insert(code.to_string(), id);
        Ok(Some(id))
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

    /// The next free serial of a unit's case numbers in a year.
    async fn next_serial(
        &mut self,
        conn: &mut AnyConnection,
        unit: i64,
        year: i32,
    ) -> Result<u32, IntakeError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.serials.entry((unit, year)) {
            let nos: Vec<String> =
                sqlx::query_scalar("SELECT case_no FROM cases WHERE unit_id = $1 AND year = $2")
                    .bind(unit)
                    .bind(year as i64)
                    .fetch_all(&mut *conn)
                    .await?;
            let max = nos
                .iter()
                .filter_map(|n| {
                    n.rsplit_once('〕')
                        .and_then(|(_, s)| s.trim_end_matches('号').parse::<u32>().ok())
                })
                .max()
                .unwrap_or(0);
            slot.insert(max);
        }
        let s = self.serials.get_mut(&(unit, year)).expect("inserted");
        *s += 1;
        Ok(*s)
    }

    async fn insert(
        &mut self,
        conn: &mut AnyConnection,
        v: &ValidCase,
        officers: &HashMap<String, i64>,
    ) -> Result<i64, IntakeError> {
        let facility = self.facility(conn, v).await?;
        let third_party = self.third_party(conn, v).await?;
        let (unit, prefix) = self.unit(conn, &v.region.code).await?;
        let discovered = v.dates.discovered_on.expect("required");
        let year = v.dates.filed_on.unwrap_or(discovered).year();
        let case_no = match &v.case_no {
            Some(n) => n.clone(),
            None => CaseNo::new(&prefix, year, self.next_serial(conn, unit, year).await?),
        };
        let d = |x: Option<NaiveDate>| x.map(|d| d.to_string());
        let now = crate::clock::now_rfc3339();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (case_no, unit_id, region_code, city_code, facility_id, source, status, violation, legal_basis, \
             discovered_on, filed_on, investigation_on, prior_notice_on, hearing_requested_on, hearing_held_on, decided_on, \
             served_on, paid_on, closed_on, penalty_kinds, fine_fen, third_party_id, third_party_subtype, year, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$25) RETURNING id",
        )
        .bind(case_no.as_str())
        .bind(unit)
        .bind(&v.region.code)
        .bind(&v.region.city_code)
        .bind(facility)
        .bind(v.source.as_str())
        .bind(v.status.as_str())
        .bind(&v.violation)
        .bind(&v.legal_basis)
        .bind(discovered.to_string())
        .bind(d(v.dates.filed_on))
        .bind(d(v.dates.investigation_on))
        .bind(d(v.dates.prior_notice_on))
        .bind(d(v.dates.hearing_requested_on))
        .bind(d(v.dates.hearing_held_on))
        .bind(d(v.dates.decided_on))
        .bind(d(v.dates.served_on))
        .bind(d(v.dates.paid_on))
        .bind(d(v.dates.closed_on))
        .bind(v.penalty_kinds.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(","))
        .bind(v.fine.fen())
        .bind(third_party)
        .bind(v.third_party.as_ref().map(|t| t.2.as_str()))
        .bind(year as i64)
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => IntakeError::Invalid(vec![(0, FieldError { field: "case_no", message: format!("案号“{case_no}”已存在") })]),
            e => IntakeError::Store(e),
        })?;
        for (i, cert) in v.officer_certificates.iter().enumerate() {
            sqlx::query("INSERT INTO case_officers (case_id, officer_id, lead) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(officers[cert])
                .bind((i == 0) as i64)
                .execute(&mut *conn)
                .await?;
        }
        for t in &v.tags {
            sqlx::query(
                "INSERT INTO case_tags (case_id, tag) VALUES ($1,$2) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(t.as_str())
            .execute(&mut *conn)
            .await?;
        }
        for m in &v.measures {
            sqlx::query("INSERT INTO measures (case_id, kind, decided_on, items, restriction, days, amount_fen) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                .bind(id)
                .bind(m.kind.as_str())
                .bind(m.decided_on.to_string())
                .bind(&m.items)
                .bind(m.restriction)
                .bind(m.days)
                .bind(m.amount.fen())
                .execute(&mut *conn)
                .await?;
        }
        for (kind, on) in &v.referrals {
            sqlx::query(
                "INSERT INTO referrals (case_id, kind, agency, referred_on) VALUES ($1,$2,$3,$4)",
            )
            .bind(id)
            .bind(kind.as_str())
            .bind(if v.referral_agency.is_empty() {
                default_agency(*kind)
            } else {
                v.referral_agency.as_str()
            })
            .bind(on.to_string())
            .execute(&mut *conn)
            .await?;
        }
        self.last_case_no = case_no.to_string();
        Ok(id)
    }
}

fn default_agency(kind: ReferralKind) -> &'static str {
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
