//! The JSON shapes of Label Studio's API, keys in its order.

use std::collections::HashMap;

use app::time::iso8601;
use app::{AppError, MembershipRecord, OrgMeta, OrgRecord, Services, Store, UserRecord};
use serde_json::{Map, Value, json};

/// Label Studio's `initials`.
pub(crate) fn initials(first: &str, last: &str, email: &str) -> String {
    let first_char = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    match (first.is_empty(), last.is_empty()) {
        (true, true) => email.chars().take(2).collect(),
        (false, true) => first_char(first),
        (true, false) => first_char(last),
        (false, false) => first_char(first) + &first_char(last),
    }
}

/// Organization metadata, looked up once per organization per request.
#[derive(Debug, Default)]
pub(crate) struct MetaCache(HashMap<Option<i64>, OrgMeta>);

impl MetaCache {
    pub(crate) async fn get<S: Store>(
        &mut self,
        services: &Services<S>,
        org: Option<i64>,
    ) -> Result<OrgMeta, AppError> {
        if let Some(meta) = self.0.get(&org) {
            return Ok(meta.clone());
        }
        let meta = services.org_meta(org).await?;
        self.0.insert(org, meta.clone());
        Ok(meta)
    }
}

pub(crate) fn user(u: &UserRecord, meta: &OrgMeta) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("first_name".into(), json!(u.first_name));
    m.insert("last_name".into(), json!(u.last_name));
    m.insert("username".into(), json!(u.username));
    m.insert("email".into(), json!(u.email.as_str()));
    m.insert(
        "last_activity".into(),
        json!(iso8601(u.last_activity.unwrap_or(u.date_joined))),
    );
    m.insert(
        "custom_hotkeys".into(),
        accounts::Hotkeys::from_stored(&u.custom_hotkeys).to_value(),
    );
    m.insert("avatar".into(), Value::Null);
    m.insert(
        "initials".into(),
        json!(initials(&u.first_name, &u.last_name, u.email.as_str())),
    );
    m.insert("phone".into(), json!(u.phone));
    m.insert("active_organization".into(), json!(u.active_organization));
    m.insert(
        "active_organization_meta".into(),
        json!({"title": meta.title, "email": meta.owner_email}),
    );
    m.insert("allow_newsletters".into(), json!(u.allow_newsletters));
    m.insert("date_joined".into(), json!(iso8601(u.date_joined)));
    m
}

pub(crate) async fn user_value<S: Store>(
    services: &Services<S>,
    u: &UserRecord,
) -> Result<Value, AppError> {
    let meta = services.org_meta(u.active_organization).await?;
    Ok(Value::Object(user(u, &meta)))
}

pub(crate) fn org_summary(o: &OrgRecord) -> Value {
    json!({
        "id": o.id,
        "title": o.title,
        "contact_info": o.contact_info,
        "created_at": iso8601(o.created_at),
    })
}

pub(crate) fn org_detail(o: &OrgRecord, token: Option<&str>, users: &[i64]) -> Value {
    json!({
        "id": o.id,
        "title": o.title,
        "token": token,
        "created_at": iso8601(o.created_at),
        "updated_at": iso8601(o.updated_at),
        "contact_info": o.contact_info,
        "created_by": o.created_by,
        "users": users,
    })
}

pub(crate) fn membership_item(m: &MembershipRecord, u: &UserRecord, meta: &OrgMeta) -> Value {
    let mut user = user(u, meta);
    user.insert("created_projects".into(), Value::Null);
    user.insert("contributed_to_projects".into(), Value::Null);
    json!({
        "id": m.id,
        "organization": m.organization_id,
        "user": user,
        "created_projects": null,
        "contributed_to_projects": null,
        "role": m.role.as_str(),
    })
}

pub(crate) fn membership_detail(m: &MembershipRecord) -> Value {
    json!({
        "user": m.user_id,
        "organization": m.organization_id,
        "contributed_projects_count": 0,
        "annotations_count": 0,
        "created_at": iso8601(m.created_at),
        "created_projects": null,
        "contributed_to_projects": null,
        "role": m.role.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_rules() {
        assert_eq!(initials("", "", "jo@example.com"), "jo");
        assert_eq!(initials("Ann", "", "x@example.com"), "A");
        assert_eq!(initials("", "Lee", "x@example.com"), "L");
        assert_eq!(initials("Ann", "Lee", "x@example.com"), "AL");
    }
}
