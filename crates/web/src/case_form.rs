//! The case form: recording a case in sections by stage of the procedure, with a select for
//! every vocabulary, the region chosen by name and officers picked by name from the roster.
//! What intake receives is the same text an import row holds, so the form and the import
//! share one validation.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::error::{Error, Result};
use super::pages::{Nav, render, require};
use super::session::CurrentUser;
use ecowarden_core::auth::{Permission, User};
use ecowarden_core::org::{self, Level, RosterEntry};
use ecowarden_core::scope::Scope;
use ecowarden_ledger::cases::correction::{self, CorrectionError};
use ecowarden_ledger::cases::intake::{
    self, Field, FieldError, Input, IntakeError, NewCase, SECTIONS, Section,
};
use ecowarden_ledger::cases::vocab;

/// One unit's officers who may be named on a case: active, with a certificate.
pub(super) struct RosterUnit {
    pub name: String,
    pub region_code: String,
    pub officers: Vec<RosterEntry>,
}

/// What the form shows: the values typed so far, the problems with them, and the choices the
/// caller's scope offers.
pub(super) struct CaseForm {
    pub values: NewCase,
    pub errors: Vec<(String, String)>,
    /// (code, name) of the regions a case may be recorded in.
    pub regions: Vec<(String, String)>,
    pub units: Vec<RosterUnit>,
    pub today: String,
    /// The fields shown; `None`: all (recording), else the ones a correction may change.
    pub only: Option<&'static [&'static str]>,
    /// A problem with the whole request (a stale version, no reason).
    pub message: String,
}

impl CaseForm {
    /// An empty form for `u`, its region preselected.
    async fn new(app: &AppState, u: &User, values: NewCase) -> Result<CaseForm> {
        let regions = app
            .org
            .all()
            .filter(|r| {
                u.scope.covers(&r.code, &r.city_code)
                    && (r.level != Level::Province || matches!(u.scope, Scope::Province))
            })
            .map(|r| {
                let indent = if r.level == Level::County { "　" } else { "" };
                (r.code.clone(), format!("{indent}{}", r.name))
            })
            .collect();
        let mut units: Vec<RosterUnit> = Vec::new();
        for o in org::roster(&app.db, &u.scope).await? {
            if o.active != 1 || o.certificate_no.is_none() {
                continue;
            }
            match units.last_mut() {
                Some(last) if last.name == o.unit_name => last.officers.push(o),
                _ => units.push(RosterUnit {
                    name: o.unit_name.clone(),
                    region_code: o.region_code.clone(),
                    officers: vec![o],
                }),
            }
        }
        Ok(CaseForm {
            values,
            errors: Vec::new(),
            regions,
            units,
            today: ecowarden_core::clock::today().to_string(),
            only: None,
            message: String::new(),
        })
    }

    fn shows(&self, key: &str) -> bool {
        self.only.is_none_or(|keys| keys.contains(&key))
    }
    fn shows_section(&self, s: &Section) -> bool {
        s.keys.iter().any(|k| self.shows(k))
    }

    fn sections(&self) -> &'static [Section] {
        SECTIONS
    }
    fn field(&self, key: &str) -> &'static Field {
        intake::field(key).expect("sections name fields")
    }
    fn value(&self, key: &str) -> &str {
        self.values.get(key)
    }
    /// Whether `item` is the field's value, or one of its items for a list.
    fn has(&self, key: &str, item: &str) -> bool {
        let v = self.values.get(key);
        v.trim() == item || vocab::items(v).any(|x| x == item)
    }
    fn error_for(&self, key: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.as_str())
    }
    /// A unit's roster opens where the case's region is, or where an officer is picked.
    fn open(&self, u: &RosterUnit) -> bool {
        u.region_code == self.values.region_code
            || u.officers
                .iter()
                .any(|o| self.has("officers", o.certificate_no.as_deref().unwrap_or("")))
    }
    /// The help under a field: the template's hint where the field is typed, what to do where
    /// it is chosen.
    fn help(&self, f: &Field) -> String {
        match f.input() {
            Input::Region => "默认为本单位所在地区".into(),
            Input::Officers => "按单位展开，勾选至少两名持证执法人员".into(),
            Input::Choice(_) if f.key == "status" => "不选则按已填日期推定".into(),
            Input::Choice(_) => String::new(),
            Input::Choices(_) => "可多选".into(),
            // A date picker needs no format, and a date no length.
            Input::Date | Input::Days | Input::Amount if f.hint == "YYYY-MM-DD" => String::new(),
            Input::Date | Input::Days | Input::Amount => f.hint.into(),
            _ => f.hint_text(),
        }
    }

    fn set_errors(&mut self, errs: Vec<FieldError>) {
        self.errors = errs
            .into_iter()
            .map(|e| (e.field.to_owned(), e.message))
            .collect();
    }
}

/// The values a form posted: list fields arrive as one value per item and are joined with 、.
pub(super) fn posted(pairs: Vec<(String, String)>) -> NewCase {
    let mut values = NewCase::default();
    for (k, v) in pairs {
        let list = intake::field(&k).is_some_and(|f| f.input().is_list());
        let v = match values.get(&k) {
            old if list && !old.is_empty() && !v.trim().is_empty() => format!("{old}、{v}"),
            old if list && v.trim().is_empty() => old.to_owned(),
            _ => v,
        };
        values.set(&k, v);
    }
    values
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewCasePage {
    nav: Nav,
    form: CaseForm,
}

pub async fn new_case_form(State(app): State<AppState>, s: CurrentUser) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases/new").await?;
    let values = NewCase {
        region_code: match &s.user().scope {
            Scope::Province => app.org.province().code.clone(),
            Scope::City(c) | Scope::County(c) => c.clone(),
        },
        ..NewCase::default()
    };
    render(NewCasePage {
        nav: Nav::new(&app, &s, "cases"),
        form: CaseForm::new(&app, s.user(), values).await?,
    })
}

pub async fn new_case_submit(
    State(app): State<AppState>,
    s: CurrentUser,
    form: std::result::Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response> {
    require(&app, s.user(), Permission::WriteLedger, "/cases/new").await?;
    let Form(pairs) = form.map_err(super::form_rejection)?;
    let values = posted(pairs);
    let u = s.user();
    match intake::record(
        &app.db,
        &app.org,
        &u.scope,
        &u.username,
        std::slice::from_ref(&values),
    )
    .await
    {
        Ok(ids) => Ok(Redirect::to(&format!("/cases/{}", ids[0])).into_response()),
        Err(IntakeError::Invalid(errs)) => {
            let mut form = CaseForm::new(&app, u, values).await?;
            form.set_errors(errs.into_iter().map(|(_, e)| e).collect());
            let page = NewCasePage {
                nav: Nav::new(&app, &s, "cases"),
                form,
            };
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                axum::response::Html(page.render()?),
            )
                .into_response())
        }
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "case_edit.html")]
struct EditCasePage {
    nav: Nav,
    id: i64,
    case_no: String,
    version: i64,
    reason: String,
    form: CaseForm,
}

impl EditCasePage {
    async fn new(
        app: &AppState,
        s: &CurrentUser,
        id: i64,
        values: NewCase,
        version: i64,
    ) -> Result<EditCasePage> {
        let mut form = CaseForm::new(app, s.user(), values).await?;
        form.only = Some(correction::EDITABLE);
        Ok(EditCasePage {
            nav: Nav::new(app, s, "cases"),
            id,
            case_no: form.values.case_no.clone(),
            version,
            reason: String::new(),
            form,
        })
    }
}

/// The correction form: the case's fields as recorded, the ones a correction may change.
pub async fn edit_case_form(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    let path = format!("/cases/{id}/edit");
    require(&app, s.user(), Permission::WriteLedger, &path).await?;
    let (values, version) = match correction::current(&app.db, &s.user().scope, id).await {
        Ok(c) => c,
        Err(CorrectionError::Access(e)) => {
            return Err(super::refuse(&app, s.user(), &path, e.into()).await);
        }
        Err(e) => return Err(Error::Unprocessable(e.to_string())),
    };
    render(EditCasePage::new(&app, &s, id, values, version).await?)
}

pub async fn edit_case_submit(
    State(app): State<AppState>,
    s: CurrentUser,
    Path(id): Path<i64>,
    form: std::result::Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response> {
    let path = format!("/cases/{id}/edit");
    require(&app, s.user(), Permission::WriteLedger, &path).await?;
    let Form(mut pairs) = form.map_err(super::form_rejection)?;
    let mut take = |name: &str| {
        let v = pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        pairs.retain(|(k, _)| k != name);
        v
    };
    let reason = take("reason");
    let version: i64 = take("version")
        .trim()
        .parse()
        .map_err(|_| Error::BadRequest("缺少案件版本号，请刷新后重试".into()))?;
    let u = s.user();
    // Fields the form did not send stay as recorded (list fields send an empty marker, so
    // unticking every box clears them).
    let sent: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let mut edited = posted(pairs);
    let (recorded, _) = match correction::current(&app.db, &u.scope, id).await {
        Ok(c) => c,
        Err(CorrectionError::Access(e)) => {
            return Err(super::refuse(&app, u, &path, e.into()).await);
        }
        Err(e) => return Err(Error::Unprocessable(e.to_string())),
    };
    for k in correction::EDITABLE
        .iter()
        .filter(|k| !sent.iter().any(|x| x == *k))
    {
        edited.set(k, recorded.get(k).to_owned());
    }
    let result = correction::correct(
        &app.db,
        &app.org,
        &u.scope,
        &u.username,
        id,
        version,
        &edited,
        &reason,
    )
    .await;
    let (errors, message) = match result {
        Ok(()) => return Ok(super::ledger::back(id, "已更正案件信息")),
        Err(CorrectionError::Access(e)) => {
            return Err(super::refuse(&app, u, &path, e.into()).await);
        }
        Err(CorrectionError::Invalid(errs)) => (errs, String::new()),
        Err(e) => (Vec::new(), e.to_string()),
    };
    // The page again with what was typed over the case as recorded.
    let mut values = recorded;
    for k in correction::EDITABLE {
        values.set(k, edited.get(k).to_owned());
    }
    let mut page = EditCasePage::new(&app, &s, id, values, version).await?;
    page.form.set_errors(errors);
    page.form.message = message;
    page.reason = reason;
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        axum::response::Html(page.render()?),
    )
        .into_response())
}
