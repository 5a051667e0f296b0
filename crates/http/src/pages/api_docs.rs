//! `/docs/api`: the API reference, rendered on the server from the same
//! OpenAPI document as `/api/schema` (no script, the pages' CSP).

use app::Store;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Operation;

use super::{Layout, Page, page, session};
use crate::state::Shared;

struct Op {
    method: &'static str,
    path: String,
    summary: String,
    parameters: Vec<String>,
    body: Option<String>,
    responses: Vec<String>,
}

struct Group {
    tag: String,
    operations: Vec<Op>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    layout: Layout,
    description: String,
    openapi: &'static str,
    groups: Vec<Group>,
}

fn describe(method: &'static str, path: &str, op: &Operation) -> Op {
    let parameters = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .map(|p| {
            let required = matches!(p.required, utoipa::openapi::Required::True);
            format!("{}{}", p.name, if required { "" } else { " (optional)" })
        })
        .collect();
    let body = op.request_body.as_ref().and_then(|b| match b {
        RefOr::T(b) => Some(b),
        RefOr::Ref(_) => None,
    });
    let body = body.map(|b| {
        let names: Vec<String> = b
            .content
            .iter()
            .map(|(media, c)| match c {
                RefOr::T(c) => match &c.schema {
                    Some(RefOr::Ref(r)) => format!(
                        "{} ({media})",
                        r.ref_location.rsplit('/').next().unwrap_or_default()
                    ),
                    _ => media.clone(),
                },
                RefOr::Ref(_) => media.clone(),
            })
            .collect();
        names.join(", ")
    });
    let responses = op
        .responses
        .responses
        .iter()
        .map(|(status, r)| match r {
            RefOr::T(r) if status.starts_with('2') => format!("{status} {}", r.description),
            _ => status.clone(),
        })
        .collect();
    Op {
        method,
        path: path.to_owned(),
        summary: op
            .summary
            .clone()
            .or_else(|| op.description.clone())
            .unwrap_or_default(),
        parameters,
        body,
        responses,
    }
}

fn groups() -> Vec<Group> {
    let doc = crate::api::schema::document();
    let mut groups: Vec<Group> = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PATCH", &item.patch),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first().cloned())
                .unwrap_or_default();
            let described = describe(method, path, op);
            match groups.iter_mut().find(|g| g.tag == tag) {
                Some(g) => g.operations.push(described),
                None => groups.push(Group {
                    tag,
                    operations: vec![described],
                }),
            }
        }
    }
    groups
}

pub(super) async fn api_docs<S: Store>(State(st): State<Shared<S>>, headers: HeaderMap) -> Page {
    let caller = session(&st, &headers).await?;
    let doc = crate::api::schema::document();
    page(&st, &headers, caller.as_ref(), StatusCode::OK, |layout| {
        ApiDocsPage {
            layout,
            description: doc.info.description.clone().unwrap_or_default(),
            openapi: "3.1",
            groups: groups(),
        }
    })
}
