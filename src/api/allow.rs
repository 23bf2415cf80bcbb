//! `Allow` on 405 answers (RFC 9110 §15.5.6): the methods the OpenAPI document lists for the
//! path, so the header and the document cannot disagree.

use std::sync::{Arc, OnceLock};

use poem::http::StatusCode;
use poem::{Endpoint, Request, Response};
use poem_openapi::OpenApi;

use super::Apis;

/// Each documented path as segments (`None` for a `{parameter}`) with its methods.
type Table = Vec<(Vec<Option<String>>, String)>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        <Apis as OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .map(|path| {
                let segments = path
                    .path
                    .trim_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect();
                let mut methods: Vec<String> = path
                    .operations
                    .iter()
                    .map(|op| op.method.as_str().to_string())
                    .collect();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                (segments, methods.join(", "))
            })
            .collect()
    })
}

/// The `Allow` value for a path under `/api/v1`, if the document has that path.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/v1")?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    // As the router does, a literal segment wins over a parameter (`/photos/trash`).
    table()
        .iter()
        .filter(|(pattern, _)| {
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.as_deref().is_none_or(|p| p == *s))
        })
        .max_by_key(|(pattern, _)| pattern.iter().filter(|p| p.is_some()).count())
        .map(|(_, methods)| methods.as_str())
}

/// Adds `Allow` to 405 answers.
pub async fn allow_header<E: Endpoint>(next: Arc<E>, req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = next.get_response(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(methods) = allowed_methods(&path) {
            if let Ok(value) = methods.parse() {
                resp.headers_mut().insert("Allow", value);
            }
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates() {
        assert_eq!(allowed_methods("/api/v1/auth/login"), Some("POST"));
        let photo = allowed_methods("/api/v1/photos/12").unwrap();
        for m in ["GET", "PUT", "PATCH", "DELETE", "HEAD"] {
            assert!(photo.contains(m), "{photo}");
        }
        assert_eq!(
            allowed_methods("/api/v1/photos/trash"),
            Some("GET, DELETE, HEAD")
        );
        assert_eq!(allowed_methods("/api/v1/nothing"), None);
        assert_eq!(allowed_methods("/health"), None);
    }
}
