//! The procedural record a dossier review reads beyond the lifecycle dates: approvals with
//! their approver, evidence items, the provisions relied on as article references, the notice
//! served and the party's statement or waiver, the hearing record and the discretion basis
//! (裁量基准). The legal checks read them (C1, C3, C5, C15, C16); the form, the API and import
//! parse their values with the same functions here.

use chrono::NaiveDate;
use serde::Serialize;

use super::vocab::{ApprovalKind, EvidenceKind, NoticeKind, ProvisionRole, parse_list};
use super::{EntryError, Status};
use ecowarden_core::audit_log::{self, Change};
use ecowarden_core::scope::Scope;
use ecowarden_core::store::{Db, Result};

/// A provision cited: 《法》第N条, optionally 第N款 and 第N项.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Provision {
    pub law: String,
    pub article: u32,
    pub paragraph: Option<u32>,
    pub item: Option<u32>,
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// A number as the law writes it (第一百零五条), 1–9999.
pub fn chinese_number(n: u32) -> String {
    if n < 10 {
        return DIGITS[n as usize].to_string();
    }
    if n < 20 {
        let mut s = "十".to_owned();
        if !n.is_multiple_of(10) {
            s.push(DIGITS[(n % 10) as usize]);
        }
        return s;
    }
    let (mut s, mut gap, mut started) = (String::new(), false, false);
    for (unit, c) in [(1000, '千'), (100, '百'), (10, '十'), (1, ' ')] {
        let d = (n / unit % 10) as usize;
        if d == 0 {
            gap |= started;
            continue;
        }
        if gap {
            s.push('零');
            gap = false;
        }
        s.push(DIGITS[d]);
        if unit > 1 {
            s.push(c);
        }
        started = true;
    }
    s
}

/// A number written in Arabic or Chinese numerals (99, 九十九, 一百零五), 1–9999.
pub fn parse_number(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return (1..=9999).contains(&n).then_some(n);
    }
    // Units fall strictly (千 > 百 > 十): 十十一 is no number.
    let (mut total, mut current, mut seen, mut last) = (0u32, None::<u32>, false, 10_000);
    for ch in s.chars() {
        if let Some(d) = DIGITS.iter().position(|&c| c == ch) {
            if current.is_some() && d != 0 {
                return None;
            }
            current = (d != 0).then_some(d as u32);
        } else {
            let unit = match ch {
                '十' => 10,
                '百' => 100,
                '千' => 1000,
                _ => return None,
            };
            if unit >= last {
                return None;
            }
            last = unit;
            total += current.take().unwrap_or(if unit == 10 { 1 } else { 0 }) * unit;
        }
        seen = true;
    }
    let n = total + current.unwrap_or(0);
    (seen && (1..=9999).contains(&n)).then_some(n)
}

impl Provision {
    /// Reads 《大气污染防治法》第九十九条第二项 (Arabic numerals too). The error names what is
    /// wrong, in Chinese.
    pub fn parse(s: &str) -> std::result::Result<Provision, String> {
        let s = s.trim();
        let bad =
            || format!("条款“{s}”无法识别，应如“《中华人民共和国大气污染防治法》第九十九条第二项”");
        let rest = s.strip_prefix('《').ok_or_else(bad)?;
        let (law, mut rest) = rest.split_once('》').ok_or_else(bad)?;
        let law = law.trim();
        if law.is_empty() || law.chars().count() > 100 {
            return Err(bad());
        }
        let mut parts = [None; 3];
        for (slot, unit) in parts.iter_mut().zip(['条', '款', '项']) {
            let Some(after) = rest.trim_start().strip_prefix('第') else {
                break;
            };
            let Some((n, tail)) = after.split_once(unit) else {
                continue;
            };
            *slot = Some(parse_number(n.trim()).ok_or_else(bad)?);
            rest = tail;
        }
        match (parts, rest.trim()) {
            ([Some(article), paragraph, item], "") => Ok(Provision {
                law: law.to_owned(),
                article,
                paragraph,
                item,
            }),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Provision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "《{}》第{}条", self.law, chinese_number(self.article))?;
        if let Some(p) = self.paragraph {
            write!(f, "第{}款", chinese_number(p))?;
        }
        if let Some(i) = self.item {
            write!(f, "第{}项", chinese_number(i))?;
        }
        Ok(())
    }
}

/// Provisions separated by 、；; or new lines (not commas: a law's name may hold one).
pub fn parse_provisions(s: &str) -> std::result::Result<Vec<Provision>, String> {
    s.split(['、', ';', '；', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(Provision::parse)
        .collect()
}

/// One entry of the procedural record.
#[derive(Debug, Clone)]
pub enum Entry {
    Approval {
        kind: ApprovalKind,
        approved_on: NaiveDate,
        approver: String,
    },
    Evidence {
        kind: EvidenceKind,
        description: String,
        collected_on: NaiveDate,
        /// Certificate numbers of the officers who collected it.
        collected_by: Vec<String>,
    },
    Provision {
        role: ProvisionRole,
        provision: Provision,
    },
}

/// The case column an approval dates, where the checks read it: the extensions.
pub fn approval_column(kind: ApprovalKind) -> Option<&'static str> {
    match kind {
        ApprovalKind::FilingExtension => Some("filing_extended_on"),
        ApprovalKind::TermExtension => Some("term_extended_on"),
        ApprovalKind::TermCollective => Some("term_discussed_on"),
        _ => None,
    }
}

/// A text that must be present and short enough.
fn text(value: &str, label: &str, max: usize) -> std::result::Result<String, EntryError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(EntryError::Invalid(format!(
            "请填写{label}（不超过{max}字）"
        )));
    }
    Ok(v.to_owned())
}

/// A date of the record: not before the violation was found, not after today.
fn in_case(
    on: NaiveDate,
    label: &str,
    discovered: Option<NaiveDate>,
    today: NaiveDate,
) -> std::result::Result<(), EntryError> {
    if discovered.is_some_and(|d| on < d) || on > today {
        return Err(EntryError::Invalid(format!(
            "{label}{on}应在发现日期与今天之间"
        )));
    }
    Ok(())
}

/// A value bound into an entry's row.
enum Bind {
    Int(Option<i64>),
    Text(String),
}

/// Records an entry for a case in scope (audited). An extension's approval also dates the
/// case's extension column when it is still empty, so the checks count the extension.
pub async fn record(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    entry: &Entry,
    today: NaiveDate,
) -> std::result::Result<i64, EntryError> {
    let c = super::get(db, scope, case_id).await?;
    if Status::parse(&c.status) == Some(Status::Withdrawn) {
        return Err(EntryError::Invalid("已撤销立案的案件不能再登记".into()));
    }
    let found = c.dates().discovered_on;
    let (table, cols, binds, action, after) = match entry {
        Entry::Approval {
            kind,
            approved_on,
            approver,
        } => {
            in_case(*approved_on, "批准日期", found, today)?;
            let approver = text(approver, "批准人", 100)?;
            let after = serde_json::json!({"kind": kind.as_str(), "approved_on": approved_on, "approver": approver});
            (
                "case_approvals",
                "kind, approved_on, approver",
                vec![
                    Bind::Text(kind.as_str().into()),
                    Bind::Text(approved_on.to_string()),
                    Bind::Text(approver),
                ],
                "add_approval",
                after,
            )
        }
        Entry::Evidence {
            kind,
            description,
            collected_on,
            collected_by,
        } => {
            in_case(*collected_on, "取证日期", found, today)?;
            let description = text(description, "证据名称及内容", 500)?;
            let by = text(&collected_by.join("、"), "取证人员证号", 200)?;
            let after = serde_json::json!({"kind": kind.as_str(), "description": description, "collected_on": collected_on, "collected_by": by});
            (
                "case_evidence",
                "kind, description, collected_on, collected_by",
                vec![
                    Bind::Text(kind.as_str().into()),
                    Bind::Text(description),
                    Bind::Text(collected_on.to_string()),
                    Bind::Text(by),
                ],
                "add_evidence",
                after,
            )
        }
        Entry::Provision { role, provision: p } => {
            let after = serde_json::json!({"role": role.as_str(), "provision": p.to_string()});
            (
                "case_provisions",
                "role, law, article, paragraph, item",
                vec![
                    Bind::Text(role.as_str().into()),
                    Bind::Text(p.law.clone()),
                    Bind::Int(Some(p.article.into())),
                    Bind::Int(p.paragraph.map(i64::from)),
                    Bind::Int(p.item.map(i64::from)),
                ],
                "add_provision",
                after,
            )
        }
    };
    let placeholders: Vec<String> = (2..=binds.len() + 3).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {table} (case_id, {cols}, recorded_by, recorded_at) VALUES ($1, {}) RETURNING id",
        placeholders.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(case_id);
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(i),
            Bind::Text(t) => q.bind(t),
        };
    }
    let q = q.bind(actor).bind(ecowarden_core::clock::now_rfc3339());
    let mut w = db.write().await?;
    let id = q.fetch_one(&mut *w.tx).await?;
    if let Entry::Approval {
        kind, approved_on, ..
    } = entry
        && let Some(col) = approval_column(*kind)
    {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE cases SET {col} = COALESCE({col}, $1) WHERE id = $2"
        )))
        .bind(approved_on.to_string())
        .bind(case_id)
        .execute(&mut *w.tx)
        .await?;
    }
    let mut after = after;
    after["id"] = id.into();
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action,
            entity: "case",
            entity_id: case_id.to_string(),
            before: None,
            after: Some(after),
        },
    )
    .await?;
    w.commit().await?;
    Ok(id)
}

/// The notice served, the party's statement or waiver, the hearing record and the
/// discretion basis: columns of the case, set together from one form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct Hearing {
    pub notice_kind: String,
    pub statement_on: Option<String>,
    pub statement_waived_on: Option<String>,
    pub hearing_notice_on: Option<String>,
    pub hearing_host: String,
    pub hearing_officers: String,
    pub discretion_item: String,
    pub discretion_factors: String,
}

impl Hearing {
    pub fn notice_label(&self) -> &'static str {
        NoticeKind::parse(&self.notice_kind)
            .map(|k| k.label())
            .unwrap_or("未记录")
    }
}

const HEARING_COLUMNS: &str = "notice_kind, statement_on, statement_waived_on, hearing_notice_on, \
     hearing_host, hearing_officers, discretion_item, discretion_factors";

/// The record as typed: every value text, dates YYYY-MM-DD, blank for none.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct HearingInput {
    #[serde(default)]
    pub notice_kind: String,
    #[serde(default)]
    pub statement_on: String,
    #[serde(default)]
    pub statement_waived_on: String,
    #[serde(default)]
    pub hearing_notice_on: String,
    #[serde(default)]
    pub hearing_host: String,
    #[serde(default)]
    pub hearing_officers: String,
    #[serde(default)]
    pub discretion_item: String,
    #[serde(default)]
    pub discretion_factors: String,
}

impl HearingInput {
    /// The record, checked: a known notice kind, dates that parse, lie between discovery and
    /// today, texts within bounds. The first problem is named.
    pub fn validate(
        &self,
        discovered: Option<NaiveDate>,
        today: NaiveDate,
    ) -> std::result::Result<Hearing, EntryError> {
        let notice_kind = match self.notice_kind.trim() {
            "" => String::new(),
            k => NoticeKind::parse(k)
                .ok_or_else(|| {
                    EntryError::Invalid(format!(
                        "未知的告知类型“{k}”，应为：{}",
                        NoticeKind::labels()
                    ))
                })?
                .as_str()
                .to_owned(),
        };
        let date = |v: &str, label: &str| -> std::result::Result<Option<String>, EntryError> {
            match v.trim() {
                "" => Ok(None),
                v => {
                    let on = super::intake::parse_date(v).ok_or_else(|| {
                        EntryError::Invalid(format!("{label}“{v}”无法识别，应为YYYY-MM-DD"))
                    })?;
                    in_case(on, label, discovered, today)?;
                    Ok(Some(on.to_string()))
                }
            }
        };
        let short = |v: &str, label: &str, max: usize| {
            let v = v.trim();
            if v.chars().count() > max {
                return Err(EntryError::Invalid(format!("{label}不超过{max}字")));
            }
            Ok(v.to_owned())
        };
        let officers = parse_list(&self.hearing_officers, |x| Some(x.to_owned()))
            .unwrap_or_default()
            .join("、");
        Ok(Hearing {
            notice_kind,
            statement_on: date(&self.statement_on, "陈述申辩日期")?,
            statement_waived_on: date(&self.statement_waived_on, "书面放弃日期")?,
            hearing_notice_on: date(&self.hearing_notice_on, "听证通知日期")?,
            hearing_host: short(&self.hearing_host, "听证主持人", 100)?,
            hearing_officers: short(&officers, "听证调查人员", 200)?,
            discretion_item: short(&self.discretion_item, "裁量基准条目", 500)?,
            discretion_factors: short(&self.discretion_factors, "裁量情节", 1000)?,
        })
    }
}

/// The hearing record of a case.
pub async fn hearing(db: &Db, case_id: i64) -> Result<Hearing> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HEARING_COLUMNS} FROM cases WHERE id = $1"
    )))
    .bind(case_id)
    .fetch_one(db.pool())
    .await?)
}

/// Sets the hearing record of a case in scope (audited, before and after).
pub async fn record_hearing(
    db: &Db,
    scope: &Scope,
    actor: &str,
    case_id: i64,
    input: &HearingInput,
    today: NaiveDate,
) -> std::result::Result<(), EntryError> {
    let c = super::get(db, scope, case_id).await?;
    let h = input.validate(c.dates().discovered_on, today)?;
    let before = hearing(db, case_id).await?;
    let mut w = db.write().await?;
    sqlx::query(
        "UPDATE cases SET notice_kind = $1, statement_on = $2, statement_waived_on = $3, \
         hearing_notice_on = $4, hearing_host = $5, hearing_officers = $6, discretion_item = $7, \
         discretion_factors = $8 WHERE id = $9",
    )
    .bind(&h.notice_kind)
    .bind(&h.statement_on)
    .bind(&h.statement_waived_on)
    .bind(&h.hearing_notice_on)
    .bind(&h.hearing_host)
    .bind(&h.hearing_officers)
    .bind(&h.discretion_item)
    .bind(&h.discretion_factors)
    .bind(case_id)
    .execute(&mut *w.tx)
    .await?;
    audit_log::append(
        &mut w,
        &Change {
            actor,
            action: "record_hearing",
            entity: "case",
            entity_id: case_id.to_string(),
            before: Some(serde_json::to_value(&before).unwrap_or_default()),
            after: Some(serde_json::to_value(&h).unwrap_or_default()),
        },
    )
    .await?;
    w.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApprovalRow {
    pub kind: String,
    pub approved_on: String,
    pub approver: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EvidenceRow {
    pub kind: String,
    pub description: String,
    pub collected_on: String,
    pub collected_by: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProvisionRow {
    pub role: String,
    pub law: String,
    pub article: i64,
    pub paragraph: Option<i64>,
    pub item: Option<i64>,
}

fn label_of<T: Copy>(
    code: &str,
    parse: fn(&str) -> Option<T>,
    label: fn(T) -> &'static str,
) -> &'static str {
    parse(code).map(label).unwrap_or("")
}

impl ApprovalRow {
    pub fn label(&self) -> &'static str {
        label_of(&self.kind, ApprovalKind::parse, ApprovalKind::label)
    }
}

impl EvidenceRow {
    pub fn label(&self) -> &'static str {
        label_of(&self.kind, EvidenceKind::parse, EvidenceKind::label)
    }
}

impl ProvisionRow {
    pub fn label(&self) -> &'static str {
        label_of(&self.role, ProvisionRole::parse, ProvisionRole::label)
    }
    /// The provision as the law writes it.
    pub fn text(&self) -> String {
        let n = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Provision {
            law: self.law.clone(),
            article: n(Some(self.article)).unwrap_or(0),
            paragraph: n(self.paragraph),
            item: n(self.item),
        }
        .to_string()
    }
}

/// A case's approvals, evidence and provisions, as the case page lists them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Register {
    pub approvals: Vec<ApprovalRow>,
    pub evidence: Vec<EvidenceRow>,
    pub provisions: Vec<ProvisionRow>,
}

/// The register of a case, each list in date (or role) order.
pub async fn register(db: &Db, case_id: i64) -> Result<Register> {
    async fn rows<T>(db: &Db, sql: &'static str, case_id: i64) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        Ok(sqlx::query_as(sql)
            .bind(case_id)
            .fetch_all(db.pool())
            .await?)
    }
    Ok(Register {
        approvals: rows(
            db,
            "SELECT kind, approved_on, approver FROM case_approvals WHERE case_id = $1 ORDER BY approved_on, id",
            case_id,
        )
        .await?,
        evidence: rows(
            db,
            "SELECT kind, description, collected_on, collected_by FROM case_evidence WHERE case_id = $1 ORDER BY collected_on, id",
            case_id,
        )
        .await?,
        provisions: rows(
            db,
            "SELECT role, law, article, paragraph, item FROM case_provisions WHERE case_id = $1 ORDER BY role DESC, id",
            case_id,
        )
        .await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_as_the_law_writes_them() {
        for (n, s) in [
            (1, "一"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (99, "九十九"),
            (100, "一百"),
            (105, "一百零五"),
            (110, "一百一十"),
            (1005, "一千零五"),
            (1050, "一千零五十"),
        ] {
            assert_eq!(chinese_number(n), s);
            assert_eq!(parse_number(s), Some(n), "{s}");
        }
        for bad in ["", "零", "十十一", "一二", "x", "0", "10000"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn provisions_read_with_paragraph_and_item() {
        let p = Provision::parse("《中华人民共和国大气污染防治法》第九十九条第二项").unwrap();
        assert_eq!(
            (p.law.as_str(), p.article, p.paragraph, p.item),
            ("中华人民共和国大气污染防治法", 99, None, Some(2))
        );
        let p = Provision::parse("《水污染防治法》第83条第1款第3项").unwrap();
        assert_eq!((p.article, p.paragraph, p.item), (83, Some(1), Some(3)));
        assert_eq!(p.to_string(), "《水污染防治法》第八十三条第一款第三项");
        for bad in [
            "水污染防治法第83条",
            "《》第1条",
            "《水法》",
            "《水法》第一款",
            "《水法》第一条之一",
        ] {
            assert!(Provision::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_provisions("《水法》第一条；《大气法》第二条第三款")
                .unwrap()
                .len(),
            2
        );
    }

    proptest! {
        #[test]
        fn chinese_numbers_read_back(n in 1u32..=9999) {
            prop_assert_eq!(parse_number(&chinese_number(n)), Some(n));
        }
    }
}
