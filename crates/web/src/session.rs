//! Sessions, the signed-in user, CSRF protection, login and logout.
//!
//! A session is a random token in an HttpOnly cookie; the store keeps only its hash. Every
//! state-changing request of a signed-in user must carry the session's CSRF token, in the
//! `X-CSRF-Token` header (API, htmx) or a `csrf` form field (pages; in an upload form, the
//! first field). The login form, which has no session yet, uses a double-submit cookie instead.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;

use super::AppState;
use super::error::{Error, Result};
use ecowarden_core::auth::{self, LoginFailure, User};

pub const SESSION_COOKIE: &str = "ew_session";
/// Body limit of the login routes (issue #16: each request could carry the 32 MB of an import).
pub const LOGIN_BODY_LIMIT: usize = 8 * 1024;
/// Longest username accepted at login, in bytes.
pub const MAX_USERNAME_BYTES: usize = 64;
/// Longest password accepted at login, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Signs in through the per-address throttle (see `auth::login`).
async fn try_login(
    app: &AppState,
    peer: Option<&str>,
    username: &str,
    password: &str,
) -> Result<std::result::Result<auth::NewSession, LoginFailure>> {
    let address = peer.unwrap_or("");
    Ok(auth::login(
        &app.db,
        &app.login_throttle,
        username.trim(),
        password,
        address,
    )
    .await?)
}

/// Refuses over-long login fields before they reach the store or the logs.
fn check_login_fields(username: &str, password: &str) -> Result<()> {
    if username.len() > MAX_USERNAME_BYTES {
        return Err(Error::BadRequest(format!(
            "用户名过长（不超过{MAX_USERNAME_BYTES}字节）"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::BadRequest(format!(
            "密码过长（不超过{MAX_PASSWORD_BYTES}字节）"
        )));
    }
    Ok(())
}
const LOGIN_CSRF_COOKIE: &str = "ew_login_csrf";

/// The resolved session of a request, put in its extensions by [`load_session`].
#[derive(Debug, Clone)]
pub enum SessionState {
    Anonymous,
    Expired,
    Valid(Session),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    token: String,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn peer(parts_ext: &axum::http::Extensions) -> Option<String> {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Resolves the session cookie once per request.
pub async fn load_session(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let state = match cookie(req.headers(), SESSION_COOKIE) {
        None => SessionState::Anonymous,
        Some(token) => match auth::session_user(&app.db, &app.org, &token).await {
            Ok(Some((user, csrf))) => SessionState::Valid(Session { user, csrf, token }),
            Ok(None) => SessionState::Expired,
            Err(e) => return Error::Internal(e.into()).into_response(),
        },
    };
    req.extensions_mut().insert(state);
    next.run(req).await
}

/// Refuses state-changing requests of a signed-in user that lack the session's CSRF token.
pub async fn csrf_guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let Some(SessionState::Valid(session)) = req.extensions().get::<SessionState>().cloned() else {
        return next.run(req).await;
    };
    if safe {
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let boundary = multipart_boundary(content_type);
    let (req, token) = match header {
        Some(t) => (req, Some(t)),
        None if is_form || boundary.is_some() => {
            // Buffer the (size-limited) body to read its csrf field, then hand it on intact.
            // An upload is read whole by its handler anyway, so this costs no extra memory.
            let (parts, body) = req.into_parts();
            let bytes = match axum::body::to_bytes(body, app.settings.http.body_limit).await {
                Ok(b) => b,
                Err(_) => return Error::PayloadTooLarge.into_response(),
            };
            let token = match &boundary {
                Some(b) => multipart_first_field(&bytes, b, "csrf"),
                None => form_urlencoded_field(&bytes, "csrf"),
            };
            (
                Request::from_parts(parts, axum::body::Body::from(bytes)),
                token,
            )
        }
        None => (req, None),
    };
    if token.as_deref() != Some(session.csrf.as_str()) {
        auth::security_event(
            &app.db,
            "csrf_rejected",
            Some(&session.user.username),
            peer(req.extensions()).as_deref(),
            req.uri().path(),
            "state-changing request without a valid CSRF token",
        )
        .await;
        return Error::Csrf.into_response();
    }
    next.run(req).await
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|kv| {
        let s = std::str::from_utf8(kv).ok()?;
        let (k, v) = s.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// The value of a multipart body's first part, if that part is the field `name`. Only the
/// first part is looked at: browsers send fields in document order, so an upload form puts
/// its csrf field before the file, and the check needs no multipart parser. Anything else
/// (another first part, a malformed body) yields `None`, and the request is refused.
fn multipart_first_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
    let delimiter = format!("--{boundary}");
    let part = body
        .strip_prefix(delimiter.as_bytes())?
        .strip_prefix(b"\r\n")?;
    let head_end = find(part, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&part[..head_end]).ok()?;
    let wanted = format!("name=\"{name}\"");
    let is_field = head.split("\r\n").any(|line| {
        line.to_ascii_lowercase()
            .starts_with("content-disposition: form-data")
            && line.split(';').any(|p| p.trim() == wanted)
    });
    if !is_field {
        return None;
    }
    let value = &part[head_end + 4..];
    let end = find(value, format!("\r\n{delimiter}").as_bytes())?;
    String::from_utf8(value[..end].to_vec()).ok()
}

/// The signed-in user; rejects with 401 (API) or a redirect to the login page (pages).
pub struct CurrentUser(pub Session);

impl CurrentUser {
    pub fn user(&self) -> &User {
        &self.0.user
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        match parts.extensions.get::<SessionState>() {
            Some(SessionState::Valid(s)) => Ok(CurrentUser(s.clone())),
            Some(SessionState::Expired) => Err(Error::SessionExpired),
            _ => Err(Error::Unauthenticated),
        }
    }
}

/// `; Secure` when cookies must only travel over HTTPS.
fn secure(app: &AppState) -> &'static str {
    if app.settings.http.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

fn session_cookie(app: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = secure(app);
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("ascii cookie")
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    message: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

pub async fn login_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Result<Response> {
    let csrf = cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 64)
        .unwrap_or_else(auth::random_token);
    let page = LoginPage {
        csrf: csrf.clone(),
        next: safe_next(q.next.as_deref()).to_owned(),
        message: if q.expired.is_some() {
            "会话已过期，请重新登录".into()
        } else {
            String::new()
        },
    };
    let mut res = Html(page.render()?).into_response();
    res.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{}",
            secure(&app)
        ))
        .expect("ascii"),
    );
    Ok(res)
}

/// Only same-origin paths: an open redirect would let a phishing link bounce through our
/// login. Browsers drop tabs and line breaks and read `\\` as `/`, so `/\t/evil.example` is
/// `//evil.example`: no control characters, whitespace, backslashes or `//` anywhere.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && n.len() <= 2048
                && !n.contains("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            n
        }
        _ => "/",
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn login_submit(State(app): State<AppState>, req: Request) -> Result<Response> {
    let headers = req.headers().clone();
    let peer = peer(req.extensions());
    let Form(f): Form<LoginForm> = Form::from_request(req, &app)
        .await
        .map_err(super::form_rejection)?;
    check_login_fields(&f.username, &f.password)?;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if expected.as_deref() != Some(f.csrf.as_str()) {
        auth::security_event(
            &app.db,
            "csrf_rejected",
            Some(&f.username),
            peer.as_deref(),
            "/login",
            "login form without matching CSRF cookie",
        )
        .await;
        return Err(Error::Csrf);
    }
    match try_login(&app, peer.as_deref(), &f.username, &f.password).await? {
        Ok(s) => {
            let mut res = Redirect::to(safe_next(f.next.as_deref())).into_response();
            res.headers_mut().append(
                SET_COOKIE,
                session_cookie(&app, &s.token, auth::SESSION_HOURS * 3600),
            );
            Ok(res)
        }
        Err(why) => {
            auth::security_event(
                &app.db,
                "login_failed",
                Some(f.username.trim()),
                peer.as_deref(),
                "/login",
                why.as_str(),
            )
            .await;
            let page = LoginPage {
                csrf: f.csrf,
                next: safe_next(f.next.as_deref()).to_owned(),
                message: login_message(why).into(),
            };
            Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
        }
    }
}

/// One message for every failure (unknown, disabled, wrong password, an address that must
/// wait), so the answer does not tell whether an account exists.
fn login_message(_why: LoginFailure) -> &'static str {
    "用户名或密码错误；同一地址连续失败5次后须稍候再试，等待时间逐次加长"
}

use axum::extract::FromRequest;

pub async fn logout(State(app): State<AppState>, CurrentUser(s): CurrentUser) -> Result<Response> {
    auth::logout(&app.db, &s.token).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(SET_COOKIE, session_cookie(&app, "", 0));
    Ok(res)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ApiLogin {
    username: String,
    password: String,
}

/// `POST /api/v1/session`: signs in and returns the CSRF token for later unsafe requests.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = ApiLogin,
    responses((status = 200, description = "Signed in; the session cookie is set"), (status = 401, description = "Wrong credentials or locked")))]
pub async fn api_login(State(app): State<AppState>, req: Request) -> Result<Response> {
    let peer = peer(req.extensions());
    let Json(f): Json<ApiLogin> = Json::from_request(req, &app)
        .await
        .map_err(super::json_rejection)?;
    check_login_fields(&f.username, &f.password)?;
    match try_login(&app, peer.as_deref(), &f.username, &f.password).await? {
        Ok(s) => {
            let mut res = Json(serde_json::json!({"csrf_token": s.csrf})).into_response();
            res.headers_mut().append(
                SET_COOKIE,
                session_cookie(&app, &s.token, auth::SESSION_HOURS * 3600),
            );
            Ok(res)
        }
        Err(why) => {
            auth::security_event(
                &app.db,
                "login_failed",
                Some(f.username.trim()),
                peer.as_deref(),
                "/api/v1/session",
                why.as_str(),
            )
            .await;
            Err(Error::LoginFailed(login_message(why)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    /// Issue #16: `/login?next=/%09/evil.example/x` redirected off site.
    #[test]
    fn next_is_a_same_origin_path_only() {
        for ok in [
            "/",
            "/cases?year=2023&page=2",
            "/cases/12",
            "/stats/figure?key=a.b",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/ /evil.example",
            "/\u{3000}/evil.example",
            "/cases//evil",
            "https://evil.example/",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
