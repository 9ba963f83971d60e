//! A case's history (and the audit log's entries on accounts) as people read it: each audit
//! entry as a list of the fields it changed,
//! with the Chinese labels of the form and values in words (labels of the vocabularies,
//! region names, amounts in 元), never raw JSON or code names.

use serde_json::Value;

use super::fields::header;
use super::vocab::{MeasureKind, PenaltyKind, ReferralKind, Tag, ThirdPartySubtype};
use super::{CaseSource, Status};
use ecowarden_core::audit_log::Entry;

/// One field an entry set or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub field: String,
    /// Empty where the entry records no earlier value.
    pub before: String,
    pub after: String,
}

/// The label of a key the audit entries use, the form's header where it is a case field.
fn label(key: &str) -> String {
    let known = match key {
        "on" => "日期",
        "status" => "案件状态",
        "region_code" => "地区",
        "kind" => "类型",
        "agency" => "接收机关",
        "referred_on" => "移送日期",
        "items" => "物品",
        "restriction" => "限产或停产",
        "days" => "天数",
        "amount" => "金额",
        "waived_on" => "放弃陈述申辩听证日期",
        "doc_type" => "文书种类",
        "doc_no" => "文书编号",
        "signed_on" => "签发日期",
        "started_at" => "开始时间",
        "ended_at" => "结束时间",
        "place" => "地点",
        "lead_id" => "筛查线索",
        "disabled" => "停用",
        "role" => "角色",
        "username" => "登录名",
        "display_name" => "姓名",
        _ => "",
    };
    match (known, header(key)) {
        ("", "") => key.to_owned(),
        ("", h) => h.to_owned(),
        (k, _) => k.to_owned(),
    }
}

/// A code or label of a vocabulary in words; other text as it is.
fn word(key: &str, s: &str) -> String {
    let found = match key {
        "status" => Status::parse(s).map(Status::label),
        "source" => CaseSource::parse(s).map(CaseSource::label),
        "penalty_kinds" => PenaltyKind::parse(s).map(PenaltyKind::label),
        "tags" => Tag::parse(s).map(Tag::label),
        "third_party_subtype" => ThirdPartySubtype::parse(s).map(ThirdPartySubtype::label),
        "kind" => MeasureKind::parse(s)
            .map(MeasureKind::label)
            .or_else(|| ReferralKind::parse(s).map(ReferralKind::label)),
        "restriction" => match s {
            "restriction" => Some("限产"),
            "suspension" => Some("停产"),
            _ => None,
        },
        "region_code" => Some(ecowarden_core::org::region_name(s)).filter(|n| !n.is_empty()),
        "role" => ecowarden_core::auth::Role::parse(s).map(|r| r.label()),
        _ => None,
    };
    found.map(str::to_owned).unwrap_or_else(|| s.to_owned())
}

/// A value in words: lists joined with 、, amounts with their unit, nothing as empty.
fn show(key: &str, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if key == "penalty_kinds" || key == "tags" => s
            .split([',', '、'])
            .filter(|x| !x.is_empty())
            .map(|x| word(key, x))
            .collect::<Vec<_>>()
            .join("、"),
        Value::String(s) if (key == "fine" || key == "amount") && !s.is_empty() => {
            let yuan = s.trim_end_matches('元');
            match yuan.parse::<ecowarden_core::ids::Money>() {
                Ok(m) => format!("{m}元"),
                Err(_) => s.clone(),
            }
        }
        Value::String(s) => word(key, s),
        Value::Array(items) => items
            .iter()
            .map(|x| show(key, x))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(_) => String::new(),
    }
}

/// The entry's JSON as (key, value) pairs: nested objects (a decision, a correction's
/// `fields`) are opened, so every leaf is one field.
fn flatten(v: Option<&str>) -> Vec<(String, Value)> {
    fn walk(v: &Value, out: &mut Vec<(String, Value)>) {
        if let Value::Object(m) = v {
            for (k, x) in m {
                match x {
                    Value::Object(_) => walk(x, out),
                    _ => out.push((k.clone(), x.clone())),
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(v) = v.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        walk(&v, &mut out);
    }
    out
}

/// The fields an entry records, before and after, in words; a correction's reason is last.
pub fn lines(e: &Entry) -> Vec<Line> {
    let before = flatten(e.before_json.as_deref());
    let after = flatten(e.after_json.as_deref());
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in before.iter().chain(&after) {
        if !keys.contains(&k.as_str()) && k != "reason" {
            keys.push(k);
        }
    }
    // In the form's order (JSON objects come sorted by key); other keys after.
    keys.sort_by_key(|k| {
        super::fields::FIELDS
            .iter()
            .position(|f| f.key == *k)
            .unwrap_or(usize::MAX)
    });
    let find = |side: &[(String, Value)], k: &str| {
        side.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| show(k, v))
            .unwrap_or_default()
    };
    let mut out: Vec<Line> = keys
        .into_iter()
        .map(|k| Line {
            field: label(k),
            before: find(&before, k),
            after: find(&after, k),
        })
        .filter(|l| l.before != l.after)
        .collect();
    if let Some((_, Value::String(r))) = after.iter().find(|(k, _)| k == "reason") {
        out.push(Line {
            field: "更正原因".into(),
            before: String::new(),
            after: r.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, before: Option<&str>, after: Option<&str>) -> Entry {
        Entry {
            seq: 1,
            at: "2024-01-01T00:00:00Z".into(),
            actor: "gulou".into(),
            action: action.into(),
            entity: "case".into(),
            entity_id: "1".into(),
            before_json: before.map(str::to_owned),
            after_json: after.map(str::to_owned),
            prev_hash: String::new(),
            hash: String::new(),
            mac: None,
        }
    }

    #[test]
    fn a_transition_reads_in_chinese() {
        let e = entry(
            "transition",
            Some(r#"{"status":"prior_notice","fine":"0.00","penalty_kinds":""}"#),
            Some(
                r#"{"status":"decided","on":"2023-05-01","decision":{"penalty_kinds":["fine","warning"],"fine":"120000.00","decision_no":"榕鼓环罚〔2023〕3号"}}"#,
            ),
        );
        let l = lines(&e);
        let get = |f: &str| l.iter().find(|x| x.field == f).unwrap();
        assert_eq!(get("案件状态").before, "事先告知");
        assert_eq!(get("案件状态").after, "已作出处罚决定");
        assert_eq!(get("日期").after, "2023-05-01");
        assert_eq!(get("处罚种类").after, "罚款、警告");
        assert_eq!(get("罚款金额（元）").after, "120,000.00元");
        assert_eq!(get("罚款金额（元）").before, "0.00元");
        assert_eq!(get("处罚决定书文号").after, "榕鼓环罚〔2023〕3号");
        // Nothing English or raw is left.
        assert!(
            l.iter()
                .all(|x| !x.after.contains('{') && !x.after.contains("decided"))
        );
    }

    #[test]
    fn a_correction_lists_its_fields_and_reason() {
        let e = entry(
            "correct",
            Some(r#"{"fields":{"decided_on":"2023-05-01","source":"日常检查"}}"#),
            Some(
                r#"{"fields":{"decided_on":"2023-05-02","source":"信访投诉"},"reason":"以决定书为准"}"#,
            ),
        );
        assert_eq!(
            lines(&e),
            vec![
                Line {
                    field: "案件来源".into(),
                    before: "日常检查".into(),
                    after: "信访投诉".into()
                },
                Line {
                    field: "处罚决定日期".into(),
                    before: "2023-05-01".into(),
                    after: "2023-05-02".into()
                },
                Line {
                    field: "更正原因".into(),
                    before: String::new(),
                    after: "以决定书为准".into()
                },
            ]
        );
    }

    #[test]
    fn a_creation_names_the_region_and_the_campaigns() {
        let e = entry(
            "create",
            None,
            Some(
                r#"{"region_code":"350102","source":"inspection","tags":["clear_water_blue_sky"],"officers":["闽3501020001","闽3501020002"]}"#,
            ),
        );
        let l = lines(&e);
        assert_eq!(l[0].field, "地区");
        assert_eq!(l[0].after, "鼓楼区");
        assert_eq!(l[1].after, "日常检查");
        assert_eq!(l[2].after, "闽3501020001、闽3501020002");
        assert_eq!(l[3].field, "专项行动");
        assert_eq!(l[3].after, "清水蓝天");
    }
}
