//! A case as it is typed into a form or a spreadsheet row ([`NewCase`], every value text), the
//! fields with their Chinese headers ([`FIELDS`], the import template's columns), and the
//! lifecycle dates ([`Dates`]) that intake parses and the rules read.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
    fine: "罚款金额（元）", false, "最多两位小数，不超过10亿元";
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
    daily_penalty_days: "按日连续处罚天数", false, "1至3650的整数";
    daily_penalty_amount: "按日连续处罚金额（元）", false, "最多两位小数，不超过10亿元";
    detention_referral_on: "移送行政拘留日期", false, "";
    criminal_referral_on: "移送涉嫌犯罪日期", false, "";
    market_referral_on: "移送市场监管日期", false, "";
    referral_agency: "移送接收机关", false, "";
    violation_ended_on: "违法行为终了日期", false, "连续或继续状态的违法行为填终了之日；未终了的留空";
    filing_extended_on: "立案延期批准日期", false, "发现后15日内未能立案、经负责人批准延长的";
    term_extended_on: "办案期限延长批准日期", false, "90日办案期限经负责人批准延长30日的";
    term_discussed_on: "继续延期集体讨论日期", false, "负责人集体讨论再延长的（最长150日）";
    statement_waived_on: "放弃陈述申辩听证日期", false, "当事人书面放弃陈述、申辩和听证的日期";
    hearing_notice_on: "听证通知日期", false, "";
    legal_review_on: "法制审核日期", false, "";
    collective_discussion_on: "集体讨论日期", false, "";
    decision_no: "处罚决定书文号", false, "";
    service_method: "送达方式", false, "直接送达、留置送达、邮寄送达、电子送达（须有确认书）、公告送达";
    disclosed_on: "处罚决定公开日期", false, "";
    closure_type: "结案类型", false, "执行完毕、不予处罚、终结执行、撤销立案等";
    seal_and_seize_extended_on: "查封扣押延长批准日期", false, "";
    seal_and_seize_released_on: "查封扣押解除日期", false, "";
    continuing: "连续或继续状态", false, "是、否：违法行为有连续或者继续状态的，时效从行为终了之日起计算";
    special_limitation: "五年追责时效", false, "是、否：涉及公民生命健康安全、金融安全且有危害后果的";
    notice_kind: "告知类型", false, "行政处罚事先告知、行政处罚听证告知";
    statement_on: "陈述申辩日期", false, "";
    hearing_host: "听证主持人", false, "非本案调查人员";
    violated_provisions: "违反条款", false, "如“《中华人民共和国水污染防治法》第三十九条”，多条用“；”分隔";
    penalty_provisions: "处罚依据条款", false, "如“《中华人民共和国水污染防治法》第八十三条第三项”，多条用“；”分隔";
    discretion_item: "裁量基准条目", false, "";
    discretion_factors: "裁量情节", false, "从轻、从重情节";
}

/// A part of the case form: the fields one stage of the procedure records, with a word on
/// when to fill them. Every field is in exactly one section (a test checks).
pub struct Section {
    pub title: &'static str,
    pub help: &'static str,
    pub keys: &'static [&'static str],
}

/// The case form's sections, in the order a case moves through its stages: an officer fills
/// what has happened so far and leaves the later sections empty.
pub const SECTIONS: &[Section] = &[
    Section {
        title: "当事人与案情",
        help: "办案地区默认为本单位所在地区；案号留空则自动编号。",
        keys: &[
            "case_no",
            "region_code",
            "facility_name",
            "credit_code",
            "industry",
            "source",
            "violation",
            "legal_basis",
            "tags",
            "status",
        ],
    },
    Section {
        title: "发现与立案",
        help: "发现后15日内立案；调查取证须两名以上持证执法人员。",
        keys: &[
            "discovered_on",
            "violation_ended_on",
            "continuing",
            "special_limitation",
            "filed_on",
            "filing_extended_on",
            "investigation_on",
            "officers",
        ],
    },
    Section {
        title: "告知与听证",
        help: "事先告知后，当事人可在5个工作日内申请听证。",
        keys: &[
            "prior_notice_on",
            "notice_kind",
            "statement_on",
            "statement_waived_on",
            "hearing_requested_on",
            "hearing_notice_on",
            "hearing_held_on",
            "hearing_host",
        ],
    },
    Section {
        title: "审核与处罚决定",
        help: "立案后90日内作出决定，经批准可延长。",
        keys: &[
            "legal_review_on",
            "collective_discussion_on",
            "term_extended_on",
            "term_discussed_on",
            "decided_on",
            "decision_no",
            "violated_provisions",
            "penalty_provisions",
            "discretion_item",
            "discretion_factors",
            "penalty_kinds",
            "fine",
        ],
    },
    Section {
        title: "送达、执行与结案",
        help: "决定作出后7日内送达。",
        keys: &[
            "served_on",
            "service_method",
            "disclosed_on",
            "paid_on",
            "closed_on",
            "closure_type",
        ],
    },
    Section {
        title: "配套措施与移送",
        help: "采取了查封扣押、限产停产、按日连续处罚或移送的，填写决定或移送日期。",
        keys: &[
            "seal_and_seize_on",
            "seal_and_seize_items",
            "seal_and_seize_extended_on",
            "seal_and_seize_released_on",
            "production_restriction_on",
            "production_restriction_kind",
            "daily_penalty_on",
            "daily_penalty_days",
            "daily_penalty_amount",
            "detention_referral_on",
            "criminal_referral_on",
            "market_referral_on",
            "referral_agency",
        ],
    },
    Section {
        title: "第三方弄虚作假",
        help: "专项行动含“第三方弄虚作假”时必填。",
        keys: &[
            "third_party_name",
            "third_party_credit_code",
            "third_party_subtype",
        ],
    },
];

/// How a field is entered on the form. Vocabularies offer their Chinese labels, which intake
/// parses like typed text, so a form keeps what was chosen exactly as an import row would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text,
    /// Several lines (the violation, the legal basis).
    LongText,
    Date,
    /// An amount in 元.
    Amount,
    /// A whole number of days.
    Days,
    /// A region in the caller's scope, chosen by name.
    Region,
    /// Officers picked by name from the roster.
    Officers,
    /// One label of a vocabulary.
    Choice(Vec<&'static str>),
    /// Any labels of a vocabulary (the list fields, 、-separated).
    Choices(Vec<&'static str>),
    /// Free text with the usual values offered.
    Suggest(Vec<&'static str>),
}

impl Input {
    /// Whether the field holds a 、-separated list (a form sends one value per item).
    pub fn is_list(&self) -> bool {
        matches!(self, Input::Officers | Input::Choices(_))
    }
}

impl Field {
    /// The control the form shows for the field.
    pub fn input(&self) -> Input {
        use super::vocab::{NoticeKind, PenaltyKind, Tag, ThirdPartySubtype};
        use super::{CaseSource, Status};
        match self.key {
            "region_code" => Input::Region,
            "officers" => Input::Officers,
            "violation" | "legal_basis" | "seal_and_seize_items" => Input::LongText,
            "fine" | "daily_penalty_amount" => Input::Amount,
            "daily_penalty_days" => Input::Days,
            "source" => Input::Choice(CaseSource::ALL.iter().map(|v| v.label()).collect()),
            "status" => Input::Choice(Status::ALL.iter().map(|v| v.label()).collect()),
            "third_party_subtype" => {
                Input::Choice(ThirdPartySubtype::ALL.iter().map(|v| v.label()).collect())
            }
            "production_restriction_kind" => Input::Choice(vec!["限产", "停产"]),
            "continuing" | "special_limitation" => Input::Choice(vec!["否", "是"]),
            "notice_kind" => Input::Choice(NoticeKind::ALL.iter().map(|v| v.label()).collect()),
            "discretion_factors" => Input::LongText,
            "penalty_kinds" => Input::Choices(PenaltyKind::ALL.iter().map(|v| v.label()).collect()),
            "tags" => Input::Choices(Tag::ALL.iter().map(|v| v.label()).collect()),
            "service_method" => Input::Suggest(vec![
                "直接送达",
                "留置送达",
                "邮寄送达",
                "电子送达",
                "公告送达",
            ]),
            "closure_type" => Input::Suggest(vec!["执行完毕", "不予处罚", "终结执行", "撤销立案"]),
            k if k.ends_with("_on") => Input::Date,
            _ => Input::Text,
        }
    }
}

/// The field of a key.
pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// Bounds on what a case may hold (issue #16): no amount, day count or text beyond what a
/// real case can have, so sums cannot overflow and exports cannot exceed Excel's cell limit.
pub mod limits {
    use ecowarden_core::ids::Money;

    /// 10亿元: above any fine the law allows a single decision.
    pub const MAX_AMOUNT: Money = Money::from_fen(1_000_000_000 * 100);
    /// Ten years of 按日连续处罚.
    pub const MAX_DAYS: i64 = 3650;
    /// Dates that cannot lie in the future may lie at most this many days after today
    /// (a clock a little ahead, a late-evening entry across midnight).
    pub const FUTURE_DAYS: i64 = 1;
    /// Excel holds at most 32,767 characters in a cell.
    pub const EXCEL_CELL_CHARS: usize = 32_767;

    /// The most characters a field may hold.
    pub fn max_chars(key: &str) -> usize {
        match key {
            "violation" => 2000,
            "legal_basis"
            | "seal_and_seize_items"
            | "violated_provisions"
            | "penalty_provisions"
            | "discretion_factors" => 1000,
            "discretion_item" => 500,
            "officers" => 500,
            "facility_name" | "third_party_name" | "referral_agency" | "penalty_kinds" | "tags" => {
                200
            }
            _ => 100,
        }
    }
}

impl Field {
    /// The hint with the field's length bound, for the template and the form.
    pub fn hint_text(&self) -> String {
        let max = limits::max_chars(self.key);
        match self.hint {
            "" => format!("不超过{max}字"),
            h => format!("{h}；不超过{max}字"),
        }
    }

    pub fn max_chars(&self) -> usize {
        limits::max_chars(self.key)
    }
}

impl NewCase {
    /// Every field against its bounds: length, amount, day count, and no date after today
    /// (+ [`limits::FUTURE_DAYS`]): what is entered records what has happened.
    pub fn check_bounds(&self, today: NaiveDate) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let latest = today + chrono::Duration::days(limits::FUTURE_DAYS);
        for f in FIELDS {
            let v = self.get(f.key).trim();
            let n = v.chars().count();
            let max = limits::max_chars(f.key);
            let message = if n > max {
                format!("“{}”不能超过{max}字（现有{n}字）", f.header)
            } else if matches!(f.key, "fine" | "daily_penalty_amount")
                && v.parse::<ecowarden_core::ids::Money>()
                    .is_ok_and(|m| m > limits::MAX_AMOUNT)
            {
                format!("“{}”不能超过10亿元", f.header)
            } else if f.key == "daily_penalty_days"
                && v.parse::<i64>().is_ok_and(|d| d > limits::MAX_DAYS)
            {
                format!("“{}”不能超过{}天", f.header, limits::MAX_DAYS)
            } else if f.key.ends_with("_on")
                && let Some(d) = parse_date(v).filter(|d| *d > latest)
            {
                format!("“{}”{d}晚于今天，不能填写将来的日期", f.header)
            } else {
                continue;
            };
            errs.push(FieldError {
                field: f.key,
                message,
            });
        }
        errs
    }
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

pub fn header(key: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|f| f.key == key)
        .map(|f| f.header)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_in_exactly_one_section() {
        for f in FIELDS {
            let n = SECTIONS.iter().filter(|s| s.keys.contains(&f.key)).count();
            assert_eq!(n, 1, "{} is in {n} sections", f.key);
        }
        let listed: usize = SECTIONS.iter().map(|s| s.keys.len()).sum();
        assert_eq!(
            listed,
            FIELDS.len(),
            "a section names a key that is not a field"
        );
    }

    #[test]
    fn vocabularies_are_chosen_and_their_labels_parse_back() {
        let Input::Choices(kinds) = field("penalty_kinds").unwrap().input() else {
            panic!("penalty_kinds is a multiple choice");
        };
        assert!(
            kinds
                .iter()
                .all(|k| super::super::vocab::PenaltyKind::parse(k).is_some())
        );
        assert!(matches!(field("source").unwrap().input(), Input::Choice(_)));
        assert_eq!(field("filed_on").unwrap().input(), Input::Date);
        assert!(field("officers").unwrap().input().is_list());
    }
}
