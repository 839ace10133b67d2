//! The web app: static files from `server-reference/web/` embedded in the binary, so the
//! server serves them from any working directory with no build step.
//!
//! `GET /` is `index.html`; files are at `/assets/<path under web/>`. Any other GET that is not
//! an API or operations path gets `index.html` too (the app routes by `#/…`, but a bookmarked
//! path should still open the app). `/api/…` keeps its JSON 404. Every response carries a
//! Content-Security-Policy that allows only this origin, plus `blob:`/`mediastream:` media for
//! the room page's audio.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::error::ApiError;

/// The embedded `web/` directory.
static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/web");

/// Where the files are served from.
pub const ASSETS_PREFIX: &str = "/assets/";

/// Only this origin for scripts, styles, fetches, WebSockets and SSE; media may also be local
/// streams (microphone) and blobs; no plugins, no framing, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; media-src 'self' blob: mediastream:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Paths owned by the API and operations endpoints: unknown ones stay JSON 404s.
const NOT_APP: [&str; 5] = ["/api/", "/signal", "/healthz", "/metrics", "/openapi.json"];

/// The MIME type of a file, from its extension (the few the app uses).
fn mime(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// A file's response with the type, security and caching headers every app file gets.
fn file(path: &str, body: &'static [u8]) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(path)));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Small files, revalidated each time: a server upgrade never leaves a stale mixed app.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `index.html`.
fn index() -> Response {
    match WEB.get_file("index.html") {
        Some(f) => file("index.html", f.contents()),
        None => ApiError::NotFound("web app").into_response(),
    }
}

/// The router's fallback: app files, the app's index for other page paths, JSON 404 otherwise.
pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    let is_read = request.method() == Method::GET || request.method() == Method::HEAD;
    if !is_read || NOT_APP.iter().any(|p| path.starts_with(p)) {
        return ApiError::NotFound("route").into_response();
    }
    if let Some(rel) = path.strip_prefix(ASSETS_PREFIX) {
        // `include_dir` paths are relative and never contain `..`; a request for one simply
        // finds nothing.
        return match WEB.get_file(rel) {
            Some(f) => file(rel, f.contents()),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
    }
    index()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn get(method: Method, path: &str) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("valid request");
        fallback(request).await
    }

    fn header(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn serves_the_app_with_types_and_csp() {
        for (path, content_type) in [
            ("/", "text/html"),
            ("/assets/app.js", "text/javascript"),
            ("/assets/pages/login.js", "text/javascript"),
            ("/assets/style.css", "text/css"),
            ("/some/bookmarked/page", "text/html"),
        ] {
            let response = get(Method::GET, path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(
                header(&response, header::CONTENT_TYPE).starts_with(content_type),
                "{path}"
            );
            let csp = header(&response, header::CONTENT_SECURITY_POLICY);
            assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self';"));
            assert_eq!(header(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
    }

    #[tokio::test]
    async fn api_paths_unknown_files_and_writes_are_not_the_app() {
        for (method, path) in [
            (Method::GET, "/api/v1/nope"),
            (Method::GET, "/signal/x"),
            (Method::POST, "/"),
            (Method::GET, "/assets/missing.js"),
            (Method::GET, "/assets/../Cargo.toml"),
        ] {
            let response = get(method.clone(), path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert!(
                !header(&response, header::CONTENT_TYPE).starts_with("text/html"),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn every_embedded_file_has_a_known_type() {
        fn walk(dir: &Dir<'_>) {
            for f in dir.files() {
                let path = f.path().to_string_lossy();
                assert_ne!(mime(&path), "application/octet-stream", "{path}");
            }
            dir.dirs().for_each(walk);
        }
        assert!(WEB.get_file("index.html").is_some());
        walk(&WEB);
    }
}
