//! The `Allow` header of a 405 (RFC 9110 §15.5.6): the methods the path supports, taken from
//! the route table itself (the paths and methods of the OpenAPI document, plus the routes
//! outside it), so it never drifts from what the router answers.

use std::sync::Arc;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, Request, Response};

/// Methods in the order they are listed.
const ORDER: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

#[derive(Debug, Default)]
pub struct AllowTable {
    routes: Vec<(Vec<Segment>, Vec<String>)>,
}

fn segments(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') || s.starts_with(':') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

impl AllowTable {
    /// The operations of the OpenAPI document `spec`, whose paths are served under `prefix`.
    pub fn from_spec(spec: &str, prefix: &str) -> Self {
        let mut table = Self::default();
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, operations) in paths {
                let methods = operations
                    .as_object()
                    .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                table.add(&format!("{prefix}{path}"), methods);
            }
        }
        table
    }

    /// Adds a route; a path that is already listed gets the methods added.
    pub fn add(&mut self, path: &str, methods: Vec<String>) {
        let key = segments(path);
        match self.routes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, known)) => known.extend(methods),
            None => self.routes.push((key, methods)),
        }
    }

    /// The `Allow` value for `path`: the methods of the most specific matching route (a literal
    /// segment wins over a parameter, as in the router), with HEAD wherever GET is.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let path = segments(path);
        let (_, methods) = self
            .routes
            .iter()
            .filter(|(route, _)| {
                route.len() == path.len()
                    && route
                        .iter()
                        .zip(&path)
                        .all(|(r, p)| r == p || *r == Segment::Param)
            })
            .max_by_key(|(route, _)| {
                route
                    .iter()
                    .map(|s| matches!(s, Segment::Literal(_)))
                    .collect::<Vec<_>>()
            })?;
        let has = |m: &str| methods.iter().any(|x| x == m) || (m == "HEAD" && has_get(methods));
        let listed: Vec<&str> = ORDER.iter().copied().filter(|m| has(m)).collect();
        (!listed.is_empty()).then(|| listed.join(", "))
    }
}

fn has_get(methods: &[String]) -> bool {
    methods.iter().any(|m| m == "GET")
}

/// Adds `Allow` to every 405 answered by `next`.
pub async fn add_allow_header<E: Endpoint>(
    table: Arc<AllowTable>,
    next: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let mut resp = next.get_response(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && !resp.headers().contains_key(header::ALLOW)
    {
        if let Some(value) = table
            .allowed(&path)
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            resp.headers_mut().insert(header::ALLOW, value);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_route_decides() {
        let mut table = AllowTable::default();
        table.add(
            "/api/v1/photos/{id}",
            vec!["GET".into(), "PUT".into(), "DELETE".into()],
        );
        table.add("/api/v1/photos/trash", vec!["GET".into()]);
        table.add("/api/v1/photos/trash", vec!["DELETE".into()]);
        table.add("/api/v1/auth/login", vec!["POST".into()]);
        assert_eq!(
            table.allowed("/api/v1/photos/trash").unwrap(),
            "GET, HEAD, DELETE"
        );
        assert_eq!(
            table.allowed("/api/v1/photos/7").unwrap(),
            "GET, HEAD, PUT, DELETE"
        );
        assert_eq!(table.allowed("/api/v1/auth/login").unwrap(), "POST");
        assert_eq!(table.allowed("/api/v1/auth/login/x"), None);
    }

    #[test]
    fn the_openapi_document_lists_every_route() {
        let spec = super::super::openapi().spec();
        let table = AllowTable::from_spec(&spec, "/api/v1");
        assert_eq!(table.allowed("/api/v1/auth/login").unwrap(), "POST");
        assert_eq!(
            table.allowed("/api/v1/albums/3").unwrap(),
            "GET, HEAD, PUT, PATCH, DELETE"
        );
    }
}
