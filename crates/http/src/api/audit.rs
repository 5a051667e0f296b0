//! `GET /api/audit-log`: the caller's organization's audit entries, newest
//! first, for its owner and administrators, paged by keyset (`before` the
//! smallest id of the previous page; `next` carries it).

use app::{AuditRecord, Store};
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{Query, Result};
use crate::ApiError;
use crate::auth::Authenticated;
use crate::state::Shared;

/// Entries per page unless `limit` says otherwise (at most 200).
const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, serde::Deserialize)]
pub(super) struct AuditParams {
    before: Option<String>,
    limit: Option<String>,
    action: Option<String>,
    person: Option<String>,
}

fn number(name: &str, v: Option<&str>) -> Result<Option<i64>> {
    v.map(|s| {
        s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::Validation(vec![(
                name.into(),
                "A positive whole number is required.".into(),
            )])
        })
    })
    .transpose()
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/audit-log", tag = "audit log", params(("before" = Option<i64>, Query, minimum = 1, description = "Only entries with a smaller id (the previous page's last)"), ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "Entries per page, 1–200 (default 50)"), ("action" = Option<String>, Query, description = "An action (password.changed), or a prefix ending in a dot (password.)"), ("person" = Option<String>, Query, description = "Part of the actor's or the target's email")), responses((status = 200, description = "A page of entries and the next page's URL", body = super::schema::AuditPage), super::schema::Errors))]
pub(super) async fn audit_log<S: Store>(
    State(st): State<Shared<S>>,
    auth: Authenticated,
    Query(q): Query<AuditParams>,
) -> Result<Json<Value>> {
    let before = number("before", q.before.as_deref())?;
    let limit = match number("limit", q.limit.as_deref())? {
        None => DEFAULT_LIMIT,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| *n <= app::audit::AUDIT_PAGE_MAX)
            .ok_or_else(|| {
                ApiError::Validation(vec![("limit".into(), "At most 200 entries a page.".into())])
            })?,
    };
    let entries = st
        .services
        .audit_log(
            &auth.caller,
            app::audit::AuditFilter {
                action: q.action.clone(),
                person: q.person.clone(),
                before,
                limit,
            },
        )
        .await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("before", &last.to_string());
            query.append_pair("limit", &limit.to_string());
            if let Some(a) = &q.action {
                query.append_pair("action", a);
            }
            if let Some(p) = &q.person {
                query.append_pair("person", p);
            }
            format!("{}/api/audit-log?{}", st.url.base, query.finish())
        });
    Ok(Json(json!({
        "results": entries.iter().map(AuditRecord::to_json).collect::<Vec<_>>(),
        "next": next,
    })))
}
