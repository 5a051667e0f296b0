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
    ) -> Result<&OrgMeta, AppError> {
        use std::collections::hash_map::Entry;
        match self.0.entry(org) {
            Entry::Occupied(known) => Ok(known.into_mut()),
            Entry::Vacant(new) => Ok(new.insert(services.org_meta(org).await?)),
        }
    }
}

/// A user as Label Studio shows one, serialized straight from the record
/// (a long list writes 100,000 of them: no map built per row); with
/// `projects`, the two project fields a membership's user carries.
pub(crate) struct UserJson<'a> {
    pub(crate) user: &'a UserRecord,
    pub(crate) meta: &'a OrgMeta,
    pub(crate) projects: bool,
}

impl serde::Serialize for UserJson<'_> {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeStruct as _;
        let u = self.user;
        let mut m = s.serialize_struct("User", if self.projects { 16 } else { 14 })?;
        m.serialize_field("id", &u.id)?;
        m.serialize_field("first_name", &u.first_name)?;
        m.serialize_field("last_name", &u.last_name)?;
        m.serialize_field("username", &u.username)?;
        m.serialize_field("email", u.email.as_str())?;
        m.serialize_field(
            "last_activity",
            &iso8601(u.last_activity.unwrap_or(u.date_joined)),
        )?;
        m.serialize_field(
            "custom_hotkeys",
            &accounts::Hotkeys::from_stored(&u.custom_hotkeys).to_value(),
        )?;
        m.serialize_field("avatar", &None::<()>)?;
        m.serialize_field(
            "initials",
            &initials(&u.first_name, &u.last_name, u.email.as_str()),
        )?;
        m.serialize_field("phone", &u.phone)?;
        m.serialize_field("active_organization", &u.active_organization)?;
        m.serialize_field(
            "active_organization_meta",
            &OrgMetaJson {
                title: &self.meta.title,
                email: &self.meta.owner_email,
            },
        )?;
        m.serialize_field("allow_newsletters", &u.allow_newsletters)?;
        m.serialize_field("date_joined", &iso8601(u.date_joined))?;
        if self.projects {
            m.serialize_field("created_projects", &None::<()>)?;
            m.serialize_field("contributed_to_projects", &None::<()>)?;
        }
        m.end()
    }
}

#[derive(serde::Serialize)]
struct OrgMetaJson<'a> {
    title: &'a str,
    email: &'a str,
}

/// An item of the memberships list.
pub(crate) struct MembershipJson<'a> {
    pub(crate) membership: &'a MembershipRecord,
    pub(crate) user: &'a UserRecord,
    pub(crate) meta: &'a OrgMeta,
}

impl serde::Serialize for MembershipJson<'_> {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeStruct as _;
        let mut m = s.serialize_struct("Membership", 6)?;
        m.serialize_field("id", &self.membership.id)?;
        m.serialize_field("organization", &self.membership.organization_id)?;
        m.serialize_field(
            "user",
            &UserJson {
                user: self.user,
                meta: self.meta,
                projects: true,
            },
        )?;
        m.serialize_field("created_projects", &None::<()>)?;
        m.serialize_field("contributed_to_projects", &None::<()>)?;
        m.serialize_field("role", self.membership.role.as_str())?;
        m.end()
    }
}

pub(crate) fn user(u: &UserRecord, meta: &OrgMeta) -> Map<String, Value> {
    let json = UserJson {
        user: u,
        meta,
        projects: false,
    };
    match serde_json::to_value(json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
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

/// An organization's detail without its member ids (`users`), which the
/// answer writes after it as they are read.
pub(crate) fn org_detail(o: &OrgRecord, token: Option<&str>) -> Value {
    json!({
        "id": o.id,
        "title": o.title,
        "token": token,
        "created_at": iso8601(o.created_at),
        "updated_at": iso8601(o.updated_at),
        "contact_info": o.contact_info,
        "created_by": o.created_by,
    })
}

pub(crate) fn membership_item(m: &MembershipRecord, u: &UserRecord, meta: &OrgMeta) -> Value {
    let json = MembershipJson {
        membership: m,
        user: u,
        meta,
    };
    serde_json::to_value(json).unwrap_or(Value::Null)
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
