//! Pages of the case ledger beyond the list: recording a case, the case page with its
//! timeline and actions, campaign ledgers, third-party providers, work between departments,
//! and the statistics with drill-down.

use askama::Template;
use axum::extract::rejection::RawFormRejection;
use axum::extract::{Path, Query, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::{Error, Result};
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use super::{AppState, refuse};
use ecowarden_core::audit_log;
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::ids::Money;
use ecowarden_core::scope::Area;
use ecowarden_ledger::cases::documents::{self, NewDocument};
use ecowarden_ledger::cases::procedure::{self, Entry, HearingInput};
use ecowarden_ledger::cases::records::{self, NewRecord};
use ecowarden_ledger::cases::rules::{Decision, Step};
use ecowarden_ledger::cases::vocab::{
    self, ApprovalKind, EvidenceKind, MeasureKind, NoticeKind, PenaltyKind, ProvisionRole,
    ReferralKind, Tag,
};
use ecowarden_ledger::cases::workflow::{self, CaseDetail, MeasureInput, Outcome, WorkflowError};
use ecowarden_ledger::cases::{self, CaseFilter, CaseSummary, EntryError, Status};
use ecowarden_ledger::cases::{history, intake};
use ecowarden_ledger::cooperation;
use ecowarden_ledger::stats::{self, Period, Stats};
use ecowarden_ledger::third_parties::{self, Provider};

impl From<WorkflowError> for Error {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Access(a) => a.into(),
            e => Error::Unprocessable(e.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    nav: Nav,
    /// The dossier reviews that drew or chose this case.
    reviews: Vec<ecowarden_assessment::review::DossierResult>,
    c: CaseSummary,
    d: CaseDetail,
    region_name: String,
    history: Vec<HistoryRow>,
    next: &'static [Status],
    can_write: bool,
    measure_kinds: &'static [MeasureKind],
    referral_kinds: &'static [ReferralKind],
    message: String,
    /// Why the form sent was not applied (empty: none was refused).
    error: String,
    /// The refused form's fields as typed, shown again in it.
    kept: Kept,
    /// The screening lead the case was accepted from, if any.
    lead_id: Option<i64>,
    /// What the legal checks found (empty: all passed).
    checks: Vec<ecowarden_ledger::checks::Finding>,
    penalty_kinds: &'static [PenaltyKind],
    documents: Vec<documents::Document>,
    templates: &'static [(i64, &'static str)],
    records: Vec<records::Record>,
    record_kinds: &'static [(&'static str, &'static str)],
    /// Approvals, evidence and provisions; the notice, hearing and discretion record.
    register: procedure::Register,
    hearing: procedure::Hearing,
    hearing_eligible: bool,
    approval_kinds: &'static [ApprovalKind],
    evidence_kinds: &'static [EvidenceKind],
    notice_kinds: &'static [NoticeKind],
    provision_roles: &'static [ProvisionRole],
}

impl CasePage {
    /// Whether `form` is the one that was refused.
    fn refused_in(&self, form: &str) -> bool {
        !self.error.is_empty() && self.kept.form == form
    }
    /// The value typed into a field of the refused form (empty for the other forms).
    fn kv(&self, form: &str, name: &str) -> &str {
        self.kept.get(form, name).unwrap_or("")
    }
    /// The typed value of a field of the refused form, or what is recorded.
    fn kv_or(&self, form: &str, name: &str, recorded: &str) -> String {
        self.kept.get(form, name).unwrap_or(recorded).to_owned()
    }
    /// A field of one referral's outcome form: what was typed if that row's form was refused,
    /// otherwise what is recorded.
    fn outcome_kv(&self, referral: &i64, name: &str, recorded: &str) -> String {
        if self.refused_in("outcome") && self.kv("outcome", "referral") == referral.to_string() {
            self.kv("outcome", name).to_owned()
        } else {
            recorded.to_owned()
        }
    }
    /// The same for a date that may be unrecorded.
    fn kv_opt(&self, form: &str, name: &str, recorded: &Option<String>) -> String {
        self.kv_or(form, name, recorded.as_deref().unwrap_or(""))
    }
    /// Whether an option was the one chosen in the refused form.
    fn ks(&self, form: &str, name: &str, v: impl std::fmt::Display) -> bool {
        self.kept
            .get(form, name)
            .is_some_and(|k| k == v.to_string())
    }
    /// (label, date) of each lifecycle step reached, in order.
    fn timeline(&self) -> Vec<(&'static str, &str)> {
        let c = &self.c;
        [
            ("发现", Some(&c.discovered_on)),
            ("立案", c.filed_on.as_ref()),
            ("调查取证", c.investigation_on.as_ref()),
            ("事先告知", c.prior_notice_on.as_ref()),
            ("申请听证", c.hearing_requested_on.as_ref()),
            ("举行听证", c.hearing_held_on.as_ref()),
            ("处罚决定", c.decided_on.as_ref()),
            ("送达", c.served_on.as_ref()),
            ("缴款", c.paid_on.as_ref()),
            ("结案", c.closed_on.as_ref()),
        ]
        .into_iter()
        .filter_map(|(l, d)| d.map(|d| (l, d.as_str())))
        .collect()
    }
}

/// One audit entry as pages list it: who (by name), what, and the fields in words.
pub(super) struct HistoryRow {
    pub entry: audit_log::Entry,
    pub actor: String,
    pub lines: Vec<history::Line>,
}

/// Audit entries in words, people by name.
pub(super) async fn history_rows(
    app: &AppState,
    entries: Vec<audit_log::Entry>,
) -> Result<Vec<HistoryRow>> {
    let names = ecowarden_core::auth::display_names(&app.db).await?;
    Ok(entries
        .into_iter()
        .map(|e| HistoryRow {
            actor: names
                .get(&e.actor)
                .cloned()
                .unwrap_or_else(|| e.actor.clone()),
            lines: history::lines(&e),
            entry: e,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
pub struct MessageQuery {
    msg: Option<String>,
}

pub async fn case_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MessageQuery>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/cases").await?;
    let page = case_view(&app, &s, id, q.msg.unwrap_or_default(), Refused::none()).await?;
    render(page)
}

/// A refused case-page form's fields as typed.
#[derive(Debug, Default)]
pub(super) struct Kept {
    form: &'static str,
    values: Vec<(String, String)>,
}

impl Kept {
    fn get(&self, form: &str, name: &str) -> Option<&str> {
        (self.form == form)
            .then(|| self.values.iter().find(|(k, _)| k == name))
            .flatten()
            .map(|(_, v)| v.as_str())
    }
}

/// A form the case page shows again: why it was refused and what was typed.
struct Refused {
    reason: String,
    kept: Kept,
}

impl Refused {
    fn none() -> Self {
        Refused {
            reason: String::new(),
            kept: Kept::default(),
        }
    }
}

/// The case page, with a message after an action, or a refused form shown again.
async fn case_view(
    app: &AppState,
    s: &CurrentUser,
    id: i64,
    message: String,
    refused: Refused,
) -> Result<CasePage> {
    let c = match cases::get(&app.db, &s.user().scope, id).await {
        Ok(c) => c,
        Err(e) => return Err(refuse(app, s.user(), &format!("/cases/{id}"), e.into()).await),
    };
    let d = workflow::detail(&app.db, &c).await?;
    let history = history_rows(
        app,
        audit_log::history(&app.db, "case", &id.to_string()).await?,
    )
    .await?;
    Ok(CasePage {
        nav: Nav::new(app, s, "cases"),
        error: refused.reason,
        kept: refused.kept,
        region_name: app.org.name(&c.region_code).to_owned(),
        next: workflow::next_stages(Status::parse(&c.status).unwrap_or(Status::Filed)),
        can_write: s.user().can(Permission::WriteLedger),
        measure_kinds: MeasureKind::ALL,
        referral_kinds: ReferralKind::ALL,
        message,
        lead_id: ecowarden_monitoring::leads::for_case(&app.db, id).await?,
        checks: super::checks::of_case(app, s.user(), id).await?,
        reviews: ecowarden_assessment::review::of_case(&app.db, id).await?,
        penalty_kinds: PenaltyKind::ALL,
        documents: documents::list(&app.db, id).await?,
        templates: &documents::TEMPLATES,
        records: records::list(&app.db, id).await?,
        record_kinds: &records::KINDS,
        register: procedure::register(&app.db, id).await?,
        hearing: procedure::hearing(&app.db, id).await?,
        hearing_eligible: ecowarden_ledger::cases::rules::hearing_eligible(
            &vocab::parse_list(&c.penalty_kinds, PenaltyKind::parse).unwrap_or_default(),
            c.fine(),
            &ecowarden_ledger::checks::Policy::from(&app.settings.legal),
        ),
        approval_kinds: ApprovalKind::ALL,
        evidence_kinds: EvidenceKind::ALL,
        notice_kinds: NoticeKind::ALL,
        provision_roles: ProvisionRole::ALL,
        c,
        d,
        history,
    })
}

/// Why a case-page form was not applied: no access to the case (refused and logged as any
/// access is), or a value or rule that stops it (named on the page, the form keeping what
/// was typed).
enum Refusal {
    Access(cases::AccessError),
    Invalid(String),
}

impl From<EntryError> for Refusal {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::Access(a) => Refusal::Access(a),
            e => Refusal::Invalid(e.to_string()),
        }
    }
}

impl From<WorkflowError> for Refusal {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Access(a) => Refusal::Access(a),
            e => Refusal::Invalid(e.to_string()),
        }
    }
}

/// A value of the form that does not read ([`date`] and the like).
impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Refusal::Invalid(e.to_string())
    }
}

/// A case-page form as sent: its fields typed, and as typed (`form` names it for [`Kept`]).
fn sent<T: serde::de::DeserializeOwned>(
    form: &'static str,
    body: std::result::Result<RawForm, RawFormRejection>,
) -> Result<(T, Kept)> {
    let RawForm(bytes) = body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge
        } else {
            Error::BadRequest(format!("表单格式错误：{}", r.body_text()))
        }
    })?;
    let typed = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| Error::BadRequest(format!("表单格式错误：{e}")))?;
    let values: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| Error::BadRequest(format!("表单格式错误：{e}")))?;
    let values = values.into_iter().filter(|(k, _)| k != "csrf").collect();
    Ok((typed, Kept { form, values }))
}

/// The end of a case-page form: the page with what was done, or the refused form again
/// (422) with its reason and what was typed.
async fn finish(
    app: &AppState,
    s: &CurrentUser,
    id: i64,
    kept: Kept,
    done: std::result::Result<String, Refusal>,
) -> Result<Response> {
    match done {
        Ok(m) => Ok(back(id, &m)),
        Err(Refusal::Access(e)) => {
            Err(refuse(app, s.user(), &format!("/cases/{id}"), e.into()).await)
        }
        Err(Refusal::Invalid(reason)) => {
            let page = case_view(app, s, id, String::new(), Refused { reason, kept }).await?;
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                axum::response::Html(page.render()?),
            )
                .into_response())
        }
    }
}

/// After an action the case page is shown again with a message (PRG: a reload does not repeat it).
pub(super) fn back(id: i64, msg: &str) -> Response {
    let m = percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC);
    Redirect::to(&format!("/cases/{id}?msg={m}")).into_response()
}

fn date(s: &str, label: &str) -> Result<chrono::NaiveDate> {
    intake::parse_date(s)
        .ok_or_else(|| Error::Unprocessable(format!("{label}“{s}”无法识别，应为YYYY-MM-DD")))
}

/// A stage change as the case page's form and the API send it: the stage, its date, the
/// version the caller saw, and what the step records.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TransitionInput {
    /// The stage (状态代码, e.g. `decided`); its Chinese label is accepted too.
    #[schema(value_type = Status)]
    to: String,
    /// YYYY-MM-DD, a year from 1990 (as everywhere in the ledger; the document names days 1–28 so
    /// that every value it describes is a real date, and the server takes the rest of the month too).
    #[schema(pattern = "^(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$")]
    on: String,
    #[serde(deserialize_with = "ecowarden_core::store::whole_number")]
    version: i64,
    /// With 处罚决定: 处罚种类 (、-separated), 罚款金额（元）, 处罚依据, 决定书文号.
    #[serde(default)]
    #[schema(
        pattern = "^((警告|罚款|没收违法所得|暂扣许可证件|责令停产停业|责令关闭|不予处罚)(、(警告|罚款|没收违法所得|暂扣许可证件|责令停产停业|责令关闭|不予处罚))*)?$"
    )]
    penalty_kinds: String,
    #[serde(default)]
    #[schema(pattern = "^([0-9]{1,9}(\\.[0-9]{1,2})?)?$")]
    fine: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    decision_no: String,
    /// 书面放弃陈述申辩听证日期, 听证日期.
    #[serde(default)]
    #[schema(pattern = "^(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$")]
    waived_on: String,
    #[serde(default)]
    #[schema(pattern = "^(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$")]
    hearing_held_on: String,
    /// With 结案: 缴款日期, 结案类型.
    #[serde(default)]
    #[schema(pattern = "^(199[0-9]|20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$")]
    paid_on: String,
    #[serde(default)]
    closure_type: String,
}

impl TransitionInput {
    /// What the step records, parsed; a value that does not parse is named.
    fn step(&self, to: Status) -> Result<Step> {
        let optional = |s: &str, label: &str| -> Result<Option<chrono::NaiveDate>> {
            match s.trim() {
                "" => Ok(None),
                v => date(v, label).map(Some),
            }
        };
        let decision = if to == Status::Decided {
            let penalty_kinds = vocab::parse_list(&self.penalty_kinds, PenaltyKind::parse)
                .map_err(|bad| {
                    Error::Unprocessable(format!(
                        "未知的处罚种类“{bad}”，应为：{}",
                        PenaltyKind::labels()
                    ))
                })?;
            let fine = match self.fine.trim() {
                "" => Money::ZERO,
                f => f
                    .parse::<Money>()
                    .map_err(|e| Error::Unprocessable(format!("罚款金额：{}", e.0)))?,
            };
            Some(Decision {
                penalty_kinds,
                fine,
                legal_basis: self.legal_basis.clone(),
                decision_no: self.decision_no.clone(),
            })
        } else {
            None
        };
        Ok(Step {
            decision,
            waived_on: optional(&self.waived_on, "放弃听证日期")?,
            hearing_held_on: optional(&self.hearing_held_on, "听证日期")?,
            paid_on: optional(&self.paid_on, "缴款日期")?,
            closure_type: self.closure_type.trim().to_owned(),
        })
    }
}

/// Applies a stage change under the workflow rules ([`workflow::transition`]), for the form
/// and the API alike. The outer error is a request to refuse (no access, an unknown stage, a
/// date that does not read); the inner one the rule or value that stops the step, in Chinese.
pub(crate) async fn apply_transition(
    app: &AppState,
    u: &User,
    id: i64,
    f: &TransitionInput,
) -> Result<std::result::Result<Status, String>> {
    let to = Status::parse(f.to.trim())
        .or_else(|| Status::ALL.into_iter().find(|s| s.label() == f.to.trim()))
        .ok_or_else(|| Error::BadRequest(format!("未知的案件状态“{}”", f.to)))?;
    let on = date(&f.on, "日期")?;
    let step = match f.step(to) {
        Ok(step) => step,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let cal = ecowarden_ledger::calendar::load(&app.db).await?;
    let policy = ecowarden_ledger::checks::Policy::from(&app.settings.legal);
    let done = workflow::transition(
        &app.db,
        &u.scope,
        &u.username,
        id,
        f.version,
        to,
        on,
        &step,
        &cal,
        &policy,
    )
    .await;
    match done {
        Ok(()) => Ok(Ok(to)),
        Err(WorkflowError::Access(e)) => {
            Err(refuse(app, u, &format!("/cases/{id}"), e.into()).await)
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

pub async fn transition(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<TransitionInput>("transition", form)?;
    let done = match apply_transition(&app, s.user(), id, &f).await {
        Ok(Ok(to)) => Ok(format!("已转为“{}”", to.label())),
        Ok(Err(m)) => Err(Refusal::Invalid(m)),
        // A stage or date that does not read: the form again, as typed.
        Err(e @ (Error::BadRequest(_) | Error::Unprocessable(_))) => Err(e.into()),
        Err(e) => return Err(e),
    };
    finish(&app, &s, id, kept, done).await
}

#[derive(Debug, Deserialize)]
pub struct RecordForm {
    kind: String,
    started_at: String,
    ended_at: String,
    #[serde(default)]
    place: String,
    officers: String,
}

/// Registers an inspection or interview record (笔录) of the case.
pub async fn add_record(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<RecordForm>("records", form)?;
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let time = |v: &str, label: &str| {
            chrono::NaiveDateTime::parse_from_str(v.trim(), records::TIME_FORMAT).map_err(|_| {
                Refusal::Invalid(format!("{label}“{v}”无法识别，应为YYYY-MM-DDTHH:MM"))
            })
        };
        let r = NewRecord {
            kind: f.kind.trim().to_owned(),
            started_at: time(&f.started_at, "开始时间")?,
            ended_at: time(&f.ended_at, "结束时间")?,
            place: f.place.clone(),
            officers: vocab::parse_list(&f.officers, |x| Some(x.to_owned())).unwrap_or_default(),
        };
        let now = chrono::Utc::now()
            .with_timezone(&ecowarden_core::clock::cst())
            .naive_local();
        records::record(&app.db, &u.scope, &u.username, id, &r, now).await?;
        Ok(format!("已登记{}", records::kind_label(&r.kind)))
    }
    .await;
    finish(&app, &s, id, kept, done).await
}

#[derive(Debug, Deserialize)]
pub struct DocumentForm {
    doc_type: String,
    #[serde(default)]
    doc_no: String,
    signed_on: String,
}

/// Registers a document of the case file (its template, number and the day signed).
pub async fn add_document(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<DocumentForm>("documents", form)?;
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let doc_type = f
            .doc_type
            .trim()
            .parse::<i64>()
            .map_err(|_| Refusal::Invalid(format!("未知的文书种类“{}”", f.doc_type)))?;
        let document = NewDocument {
            doc_type,
            doc_no: f.doc_no.clone(),
            signed_on: date(&f.signed_on, "签发日期")?,
        };
        let today = ecowarden_core::clock::today();
        documents::record(&app.db, &u.scope, &u.username, id, &document, today).await?;
        Ok("已登记文书".to_owned())
    }
    .await;
    finish(&app, &s, id, kept, done).await
}

/// A form of the case's procedural record: the entries it gives, or why a value does not read.
pub trait EntryForm: serde::de::DeserializeOwned + Send {
    /// The form's name on the case page (to show it again when refused).
    const FORM: &'static str;
    /// What is recorded, for the message shown after.
    const DONE: &'static str;
    fn entries(self) -> std::result::Result<Vec<Entry>, String>;
}

/// Records the entries a form gives, one by one, and shows the case page again; a value that
/// does not read is named on the page and nothing is written. One handler serves every
/// [`EntryForm`] (approvals, evidence, provisions).
pub async fn add_entries<F: EntryForm>(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<F>(F::FORM, form)?;
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let today = ecowarden_core::clock::today();
        for e in &f.entries().map_err(Refusal::Invalid)? {
            procedure::record(&app.db, &u.scope, &u.username, id, e, today).await?;
        }
        Ok(F::DONE.to_owned())
    }
    .await;
    finish(&app, &s, id, kept, done).await
}

/// A vocabulary value by code or label; an unknown one is named with what is allowed.
fn known<T>(
    v: &str,
    what: &str,
    parse: fn(&str) -> Option<T>,
    labels: fn() -> String,
) -> std::result::Result<T, String> {
    parse(v).ok_or_else(|| format!("未知的{what}“{v}”，应为：{}", labels()))
}

/// A date of a form, or the reason it does not read.
fn form_date(v: &str, label: &str) -> std::result::Result<chrono::NaiveDate, String> {
    date(v, label).map_err(|e| e.to_string())
}

/// An approval (审批) of the case with its approver.
#[derive(Debug, Deserialize)]
pub struct ApprovalForm {
    kind: String,
    approved_on: String,
    approver: String,
}

impl EntryForm for ApprovalForm {
    const FORM: &'static str = "approvals";
    const DONE: &'static str = "已登记审批";
    fn entries(self) -> std::result::Result<Vec<Entry>, String> {
        let kind = known(
            &self.kind,
            "审批种类",
            ApprovalKind::parse,
            ApprovalKind::labels,
        )?;
        Ok(vec![Entry::Approval {
            kind,
            approved_on: form_date(&self.approved_on, "批准日期")?,
            approver: self.approver,
        }])
    }
}

/// An evidence item of the case.
#[derive(Debug, Deserialize)]
pub struct EvidenceForm {
    kind: String,
    description: String,
    collected_on: String,
    collected_by: String,
}

impl EntryForm for EvidenceForm {
    const FORM: &'static str = "evidence";
    const DONE: &'static str = "已登记证据";
    fn entries(self) -> std::result::Result<Vec<Entry>, String> {
        let kind = known(
            &self.kind,
            "证据种类",
            EvidenceKind::parse,
            EvidenceKind::labels,
        )?;
        Ok(vec![Entry::Evidence {
            kind,
            description: self.description,
            collected_on: form_date(&self.collected_on, "取证日期")?,
            collected_by: vocab::parse_list(&self.collected_by, |x| Some(x.to_owned()))
                .unwrap_or_default(),
        }])
    }
}

/// The provisions violated, or the penalty provisions, of the case.
#[derive(Debug, Deserialize)]
pub struct ProvisionForm {
    role: String,
    /// One or more provisions, separated by 、 or ；.
    provisions: String,
}

impl EntryForm for ProvisionForm {
    const FORM: &'static str = "provisions";
    const DONE: &'static str = "已登记条款";
    fn entries(self) -> std::result::Result<Vec<Entry>, String> {
        let role = known(
            &self.role,
            "条款用途",
            ProvisionRole::parse,
            ProvisionRole::labels,
        )?;
        let v = procedure::parse_provisions(&self.provisions)?;
        if v.is_empty() {
            return Err("请填写条款".to_owned());
        }
        Ok(v.into_iter()
            .map(|provision| Entry::Provision { role, provision })
            .collect())
    }
}

/// Sets the notice, statement or waiver, hearing record and discretion basis of the case.
pub async fn record_hearing(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<HearingInput>("hearing", form)?;
    let u = s.user();
    let today = ecowarden_core::clock::today();
    let done = procedure::record_hearing(&app.db, &u.scope, &u.username, id, &f, today)
        .await
        .map(|()| "已保存告知、听证与裁量记录".to_owned())
        .map_err(Refusal::from);
    finish(&app, &s, id, kept, done).await
}

#[derive(Debug, Deserialize)]
pub struct MeasureForm {
    kind: String,
    decided_on: String,
    #[serde(default)]
    items: String,
    #[serde(default)]
    restriction: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    amount: String,
}

pub async fn add_measure(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<MeasureForm>("measures", form)?;
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let kind = MeasureKind::parse(&f.kind)
            .ok_or_else(|| Refusal::Invalid(format!("未知的配套措施“{}”", f.kind)))?;
        let input = MeasureInput {
            kind,
            decided_on: date(&f.decided_on, "决定日期")?,
            items: f.items.trim().to_owned(),
            restriction: match (kind, f.restriction.as_str()) {
                (MeasureKind::ProductionRestriction, "suspension") => Some("suspension"),
                (MeasureKind::ProductionRestriction, _) => Some("restriction"),
                _ => None,
            },
            days: match f.days.trim() {
                "" => None,
                d => Some(
                    d.parse()
                        .map_err(|_| Refusal::Invalid(format!("天数“{d}”应为整数")))?,
                ),
            },
            amount: match f.amount.trim() {
                "" => Money::ZERO,
                a => a
                    .parse()
                    .map_err(|e: ecowarden_core::ids::ParseIdError| Refusal::Invalid(e.0))?,
            },
        };
        workflow::add_measure(&app.db, &u.scope, &u.username, id, &input).await?;
        Ok(format!("已登记{}", kind.label()))
    }
    .await;
    finish(&app, &s, id, kept, done).await
}

#[derive(Debug, Deserialize)]
pub struct ReferralForm {
    kind: String,
    agency: String,
    referred_on: String,
}

pub async fn add_referral(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<ReferralForm>("referrals", form)?;
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let kind = ReferralKind::parse(&f.kind)
            .ok_or_else(|| Refusal::Invalid(format!("未知的移送类型“{}”", f.kind)))?;
        let on = date(&f.referred_on, "移送日期")?;
        workflow::add_referral(&app.db, &u.scope, &u.username, id, kind, &f.agency, on).await?;
        Ok(format!("已登记{}", kind.label()))
    }
    .await;
    finish(&app, &s, id, kept, done).await
}

/// A referral's outcome as the case page's row form sends it: numbers as typed, so a refused
/// value comes back in the form with its reason.
#[derive(Debug, Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    accepted_on: String,
    #[serde(default)]
    persons_detained: String,
    #[serde(default)]
    arrest_review_persons: String,
    #[serde(default)]
    arrest_approved_persons: String,
    #[serde(default)]
    prosecution_persons: String,
    #[serde(default)]
    guilty_plea_persons: String,
}

/// A count of persons typed into the outcome form (empty is none).
fn persons(s: &str, label: &str) -> std::result::Result<i64, Refusal> {
    match s.trim() {
        "" => Ok(0),
        t => t
            .parse()
            .map_err(|_| Refusal::Invalid(format!("{label}“{t}”应为整数"))),
    }
}

pub async fn referral_outcome(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<RawForm, RawFormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases").await?;
    let (f, kept) = sent::<OutcomeForm>("outcome", form)?;
    let case_id = match workflow::referral_case(&app.db, &s.user().scope, id).await {
        Ok(c) => c,
        Err(WorkflowError::Access(e)) => {
            return Err(refuse(&app, s.user(), &format!("/referrals/{id}"), e.into()).await);
        }
        Err(e) => return Err(Error::Unprocessable(e.to_string())),
    };
    let u = s.user();
    let done: std::result::Result<String, Refusal> = async {
        let o = Outcome {
            accepted_on: Some(f.accepted_on.trim().to_owned()).filter(|a| !a.is_empty()),
            persons_detained: persons(&f.persons_detained, "行政拘留人数")?,
            arrest_review_persons: persons(&f.arrest_review_persons, "提请审查逮捕人数")?,
            arrest_approved_persons: persons(&f.arrest_approved_persons, "批准逮捕人数")?,
            prosecution_persons: persons(&f.prosecution_persons, "移送审查起诉人数")?,
            guilty_plea_persons: persons(&f.guilty_plea_persons, "认罪认罚人数")?,
        };
        workflow::record_outcome(&app.db, &u.scope, &u.username, id, &o).await?;
        Ok("已更新移送结果".to_owned())
    }
    .await;
    finish(&app, &s, case_id, kept, done).await
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct CampaignPage {
    nav: Nav,
    tag: Tag,
    tags: &'static [Tag],
    rows: Vec<CaseSummary>,
    more: bool,
    page: i64,
    task_forces: Vec<cooperation::TaskForce>,
    batches: Vec<cooperation::TypicalBatch>,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

/// One campaign's ledger: its cases, task forces and typical-case batches.
pub async fn campaign(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/campaigns").await?;
    let tag = Tag::parse(&slug).ok_or_else(|| Error::NotFound("没有这个专项行动".into()))?;
    let f = CaseFilter {
        tag: Some(tag.as_str().into()),
        page: q.page,
        ..Default::default()
    };
    let (rows, more) = cases::list(&app.db, &Area::whole(&s.user().scope), &f).await?;
    let task_forces = cooperation::task_forces(&app.db, &s.user().scope, tag).await?;
    let batches = cooperation::typical_batches(&app.db, &s.user().scope, tag).await?;
    render(CampaignPage {
        nav: Nav::new(&app, &s, "campaigns"),
        tag,
        tags: Tag::ALL,
        rows,
        more,
        page: q.page.unwrap_or(1).max(1),
        task_forces,
        batches,
    })
}

/// The campaigns page opens on 清水蓝天, the corps' yearly main campaign.
pub async fn campaigns(_s: CurrentUser) -> Result<Response> {
    Ok(Redirect::to(&format!("/campaigns/{}", Tag::ClearWaterBlueSky.as_str())).into_response())
}

#[derive(Template)]
#[template(path = "third_parties.html")]
struct ThirdPartiesPage {
    nav: Nav,
    rows: Vec<Provider>,
}

/// The registry of third-party service providers in scope, with their fraud cases.
pub async fn third_parties(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/third-parties").await?;
    let rows = third_parties::list(&app.db, &s.user().scope).await?;
    render(ThirdPartiesPage {
        nav: Nav::new(&app, &s, "third-party"),
        rows,
    })
}

#[derive(Template)]
#[template(path = "third_party.html")]
struct ThirdPartyPage {
    nav: Nav,
    p: Provider,
    rows: Vec<CaseSummary>,
}

/// A provider's page: its fraud cases across the province. Providers work across regions, so
/// the page shows the provider to anyone who may read the ledger, and only the cases in scope.
pub async fn third_party(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/third-parties").await?;
    let p = third_parties::get(&app.db, &s.user().scope, id)
        .await?
        .ok_or_else(|| Error::NotFound("第三方机构不存在".into()))?;
    let f = CaseFilter {
        third_party: Some(id),
        ..Default::default()
    };
    let (rows, _) = cases::list(&app.db, &Area::whole(&s.user().scope), &f).await?;
    render(ThirdPartyPage {
        nav: Nav::new(&app, &s, "third-party"),
        p,
        rows,
    })
}

#[derive(Template)]
#[template(path = "cooperation.html")]
struct CooperationPage {
    nav: Nav,
    transfers: Vec<cooperation::LeadTransfer>,
    supervisions: Vec<cooperation::ListedSupervision>,
    cross: Vec<cooperation::CrossEnforcement>,
    today: String,
}

/// Lead transfers, listed supervision and cross enforcement in scope.
pub async fn cooperation(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::ReadLedger, "/cooperation").await?;
    let scope = &s.user().scope;
    let transfers = cooperation::lead_transfers(&app.db, scope).await?;
    let supervisions = cooperation::listed_supervisions(&app.db, scope).await?;
    let mut cross = cooperation::cross_enforcements(&app.db, &app.org, scope).await?;
    // Shown by name: the codes mean little to a reader.
    for x in &mut cross {
        x.inspector_region = app.org.name(&x.inspector_region).to_owned();
        x.target_region = app.org.name(&x.target_region).to_owned();
    }
    render(CooperationPage {
        nav: Nav::new(&app, &s, "cooperation"),
        transfers,
        supervisions,
        cross,
        today: ecowarden_core::clock::today().to_string(),
    })
}

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    year: Option<i32>,
    /// "1", "2", or empty for the whole year (as the form's select sends it).
    half: Option<String>,
    region: Option<String>,
    key: Option<String>,
}

/// Resolves the period and region of a statistics request inside the user's scope.
pub(super) async fn stats_for(
    app: &AppState,
    u: &User,
    q: &StatsQuery,
    path: &str,
) -> Result<Stats> {
    require(app, u, Permission::ReadLedger, path).await?;
    let year = match q.year {
        Some(y) => y,
        None => super::pages::latest_year(app).await? as i32,
    };
    let half = match q.half.as_deref().unwrap_or("") {
        "" => None,
        "1" => Some(1),
        "2" => Some(2),
        other => {
            return Err(Error::BadRequest(format!(
                "期间参数 half 只能是1或2，收到“{other}”"
            )));
        }
    };
    let area = super::area(app, u, q.region.as_deref(), path).await?;
    Ok(stats::compute(&app.db, &app.org, &area, Period { year, half }).await?)
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    nav: Nav,
    s: Stats,
    regions: Vec<(String, String)>,
    years: Vec<i32>,
    query: String,
}

impl StatsPage {
    fn show(&self, value: &i64, unit: &str) -> String {
        stats::show(*value, unit)
    }
    fn new_group(&self, i: &usize) -> bool {
        *i == 0 || self.s.figures[*i - 1].group != self.s.figures[*i].group
    }
}

pub async fn stats_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<StatsQuery>,
) -> Result<Response> {
    let st = stats_for(&app, s.user(), &q, "/stats").await?;
    let latest = super::pages::latest_year(&app).await? as i32;
    let regions = app
        .org
        .all()
        .filter(|r| s.user().scope.covers(&r.code, &r.city_code))
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    let query = format!(
        "year={}&half={}&region={}",
        st.period.year,
        st.period.half.map(|h| h.to_string()).unwrap_or_default(),
        q.region.clone().unwrap_or_default()
    );
    render(StatsPage {
        nav: Nav::new(&app, &s, "stats"),
        years: (latest - 4..=latest).rev().collect(),
        regions,
        query,
        s: st,
    })
}

#[derive(Template)]
#[template(path = "figure.html")]
struct FigurePage {
    nav: Nav,
    title: String,
    rows: Vec<CaseSummary>,
    all_cases_link: Option<String>,
}

/// The cases behind one figure.
pub async fn figure_page(
    State(app): State<AppState>,
    s: CurrentUser,
    Query(q): Query<StatsQuery>,
) -> Result<Response> {
    let st = stats_for(&app, s.user(), &q, "/stats/figure").await?;
    let key = q.key.as_deref().unwrap_or("");
    let f = st
        .figure(key)
        .ok_or_else(|| Error::NotFound(format!("没有统计项“{key}”")))?;
    let title = format!(
        "{} · {} · {}：{}",
        st.region_name,
        st.period_label,
        f.label,
        f.display()
    );
    // Figures over every case of the period (totals) drill down to the filtered list.
    let all_cases_link = f.case_ids.is_empty().then(|| {
        format!(
            "/cases?year={}&region={}",
            st.period.year,
            q.region.clone().unwrap_or_default()
        )
    });
    let rows = cases::by_ids(&app.db, &s.user().scope, &f.case_ids).await?;
    render(FigurePage {
        nav: Nav::new(&app, &s, "stats"),
        title,
        rows,
        all_cases_link,
    })
}
