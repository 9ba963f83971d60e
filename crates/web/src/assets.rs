//! Static assets: our own stylesheet and scripts, and the front-end libraries that the build
//! installed from npm (see build.rs). All served by ecowarden: intranets have no CDN.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use super::error::Error;

include!(concat!(env!("OUT_DIR"), "/vendor_assets.rs"));

const OWN: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css", include_bytes!("../assets/app.css")),
    (
        "app.js",
        "text/javascript",
        include_bytes!("../assets/app.js"),
    ),
    (
        "swagger-init.js",
        "text/javascript",
        include_bytes!("../assets/swagger-init.js"),
    ),
    (
        "case_form.js",
        "text/javascript",
        include_bytes!("../assets/case_form.js"),
    ),
    (
        "dashboard.js",
        "text/javascript",
        include_bytes!("../assets/dashboard.js"),
    ),
    (
        "leads.js",
        "text/javascript",
        include_bytes!("../assets/leads.js"),
    ),
    (
        "assessment.js",
        "text/javascript",
        include_bytes!("../assets/assessment.js"),
    ),
    (
        "monitoring.js",
        "text/javascript",
        include_bytes!("../assets/monitoring.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Result<Response, Error> {
    let found = match file.strip_prefix("vendor/") {
        Some(name) => VENDOR.iter().find(|(n, _, _)| *n == name),
        None => OWN.iter().find(|(n, _, _)| *n == file),
    };
    let (_, mime, body) = found.ok_or_else(|| Error::NotFound("资源不存在".into()))?;
    Ok((
        [
            (CONTENT_TYPE, format!("{mime}; charset=utf-8")),
            (CACHE_CONTROL, "public, max-age=3600".to_owned()),
        ],
        *body,
    )
        .into_response())
}
