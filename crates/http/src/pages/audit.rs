//! `/organization/audit/`: the audit log for the organization's owner and
//! administrators, newest first, filtered by action and by email, paged by
//! keyset (`before`, the last id shown).

use app::{AppError, Store};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};

use super::{Layout, Page, login_redirect, message, page, session};
use crate::state::Shared;

const PER_PAGE: usize = 50;

struct EntryView {
    at: String,
    action: String,
    actor: String,
    target: String,
    client: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<EntryView>,
    action: String,
    person: String,
    filtered: bool,
    before: Option<i64>,
    older: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct AuditQuery {
    action: Option<String>,
    person: Option<String>,
    before: Option<String>,
}

pub(super) async fn audit<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Page {
    let Some(caller) = session(&st, &headers).await? else {
        return Ok(login_redirect(&st, "/organization/audit/"));
    };
    let action = q.action.unwrap_or_default().trim().to_owned();
    let person = q.person.unwrap_or_default().trim().to_owned();
    let before = q.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let filter = app::audit::AuditFilter {
        action: (!action.is_empty()).then(|| action.clone()),
        person: (!person.is_empty()).then(|| person.clone()),
        before,
        limit: PER_PAGE,
    };
    let records = match st.services.audit_log(&caller, filter).await {
        Ok(r) => r,
        Err(AppError::Forbidden) => {
            return message(
                &st,
                &headers,
                StatusCode::FORBIDDEN,
                "Not permitted",
                "The audit log is for the organization's owner and administrators.",
            );
        }
        Err(e) => return Err(e.into()),
    };
    let older = (records.len() == PER_PAGE)
        .then(|| records.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("before", &last.to_string());
            if !action.is_empty() {
                query.append_pair("action", &action);
            }
            if !person.is_empty() {
                query.append_pair("person", &person);
            }
            format!("{}/organization/audit/?{}", st.url.prefix, query.finish())
        });
    let entries = records
        .into_iter()
        .map(|r| {
            let e = r.entry;
            EntryView {
                at: app::time::iso8601(e.at)
                    .get(..19)
                    .unwrap_or("")
                    .replace('T', " "),
                action: e.action.into_owned(),
                actor: e.actor.unwrap_or_else(|| "operator or system".into()),
                target: e.target.unwrap_or_default(),
                client: e.client.unwrap_or_default(),
                detail: e.detail.unwrap_or_default(),
            }
        })
        .collect();
    page(&st, &headers, Some(&caller), StatusCode::OK, |layout| {
        AuditPage {
            layout,
            entries,
            filtered: !action.is_empty() || !person.is_empty(),
            action,
            person,
            before,
            older,
        }
    })
}
