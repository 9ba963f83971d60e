//! The one error type of the HTTP layer.
//!
//! Every handler returns `Result<_, Error>`. The response is JSON (`{"error": {"code",
//! "message"}}`) with the right status, and carries an [`ErrorInfo`] extension so the page
//! router can turn it into a Chinese HTML page, or a redirect to the login page, without each
//! page handler knowing about it. Internal errors are logged and never shown in detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use ecowarden_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No session: pages redirect to the login form, the API answers 401.
    #[error("请先登录")]
    Unauthenticated,
    /// A session cookie that is no longer valid (expired, logged out, account disabled).
    #[error("会话已过期，请重新登录")]
    SessionExpired,
    /// Wrong credentials, a locked or a disabled account (one message for all: see auth).
    #[error("{0}")]
    LoginFailed(&'static str),
    /// Signed in, but the role or the region scope does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing request without the session's CSRF token.
    #[error("请求缺少有效的防伪令牌（CSRF），请刷新页面后重试")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    /// Malformed input: unparsable JSON or form, a bad query parameter.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that breaks a rule (a bad credit code).
    #[error("{0}")]
    Unprocessable(String),
    /// A record that already exists (a username taken).
    #[error("{0}")]
    Conflict(String),
    #[error("请求体超过大小上限")]
    PayloadTooLarge,
    /// A method the route does not have (a form posted to a page that only shows).
    #[error("此网址不支持该请求方法")]
    MethodNotAllowed,
    /// Too many requests from one address without a session; retry after this many seconds.
    #[error("请求过于频繁，请{0}秒后再试")]
    TooManyRequests(u64),
    #[error("服务器内部错误")]
    Internal(#[source] anyhow::Error),
}

/// What the page layer needs to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthenticated | Error::SessionExpired | Error::LoginFailed(_) => {
                StatusCode::UNAUTHORIZED
            }
            Error::Forbidden(_) | Error::Csrf => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "unauthenticated",
            Error::SessionExpired => "session_expired",
            Error::LoginFailed(_) => "login_failed",
            Error::Forbidden(_) => "forbidden",
            Error::Csrf => "csrf",
            Error::NotFound(_) => "not_found",
            Error::BadRequest(_) => "bad_request",
            Error::Unprocessable(_) => "unprocessable",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Conflict(_) => "conflict",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Internal(_) => "internal",
        }
    }

    pub fn out_of_scope() -> Self {
        Error::Forbidden("无权访问其他地区的数据".into())
    }

    pub fn no_permission() -> Self {
        Error::Forbidden("您的角色无权执行此操作".into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let info = ErrorInfo {
            status: self.status(),
            code: self.code(),
            message: self.to_string(),
        };
        let body = serde_json::json!({"error": {"code": info.code, "message": info.message}});
        let mut res = (info.status, Json(body)).into_response();
        if let Error::TooManyRequests(secs) = self {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res.extensions_mut().insert(info);
        res
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("记录不存在".into()),
            StoreError::OutOfScope => Error::out_of_scope(),
            StoreError::Conflict(c) => Error::Unprocessable(c.to_string()),
            e => Error::Internal(e.into()),
        }
    }
}

impl From<ecowarden_ledger::cases::AccessError> for Error {
    fn from(e: ecowarden_ledger::cases::AccessError) -> Self {
        use ecowarden_ledger::cases::AccessError as A;
        match e {
            A::NotFound => Error::NotFound("案件不存在".into()),
            A::OutOfScope => Error::out_of_scope(),
            A::Store(s) => s.into(),
        }
    }
}

impl From<ecowarden_core::auth::AccountError> for Error {
    fn from(e: ecowarden_core::auth::AccountError) -> Self {
        use ecowarden_core::auth::AccountError as A;
        match e {
            A::Invalid(m) => Error::Unprocessable(m),
            A::Duplicate(_) => Error::Conflict(e.to_string()),
            A::Store(s) => s.into(),
        }
    }
}

impl From<askama::Error> for Error {
    fn from(e: askama::Error) -> Self {
        Error::Internal(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
