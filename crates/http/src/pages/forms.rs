//! Reading what a page is sent: posted forms (size-limited, CSRF-checked)
//! and the query parameters the pages carry (`token`, `next`).

use std::net::{IpAddr, SocketAddr};

use app::{Caller, Store};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Uri};

use super::{Stop, login_redirect, not_permitted, session};
use crate::ApiError;
use crate::auth::{CSRF_FIELD, check_csrf};
use crate::body::{content_length, read_limited};
use crate::state::Shared;

/// A posted form: its headers and URI, its fields, and the client's
/// address as throttling sees it.
pub(super) struct Form {
    pub(super) headers: HeaderMap,
    pub(super) uri: Uri,
    pub(super) fields: Vec<(String, String)>,
    pub(super) client: Option<IpAddr>,
}

impl Form {
    /// The form, from a size-limited body.
    pub(super) async fn read<S>(st: &Shared<S>, req: Request) -> Result<Self, ApiError> {
        let declared = content_length(&req);
        let (parts, body) = req.into_parts();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| *a);
        let client = st.client(&parts.headers, peer);
        let bytes = read_limited(body, declared, st.body_limit).await?;
        let fields = form_urlencoded::parse(&bytes).into_owned().collect();
        Ok(Self {
            headers: parts.headers,
            uri: parts.uri,
            fields,
            client,
        })
    }

    /// The form, when its CSRF token is right; otherwise the refusal page.
    pub(super) async fn read_checked<S>(st: &Shared<S>, req: Request) -> Result<Self, Stop> {
        let form = Self::read(st, req).await?;
        if check_csrf(&form.headers, &st.url, form.field(CSRF_FIELD)).is_err() {
            return Err(Stop::answer(not_permitted(st, &form.headers)?));
        }
        Ok(form)
    }

    /// A form from a signed-in browser: CSRF checked, session found;
    /// otherwise the refusal page, or the login page coming back to
    /// `login_path`.
    pub(super) async fn signed_in<S: Store>(
        st: &Shared<S>,
        req: Request,
        login_path: &str,
    ) -> Result<(Self, Caller), Stop> {
        let form = Self::read_checked(st, req).await?;
        match session(st, &form.headers).await? {
            Some(caller) => Ok((form, caller)),
            None => Err(Stop::answer(login_redirect(st, login_path))),
        }
    }

    pub(super) fn field(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `?token=` exactly as given. Repeated or array forms are refused as
/// invalid, not resolved to one of them.
pub(crate) fn presented_invite(uri: &Uri) -> Option<String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let tokens: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .collect();
    let arrays = pairs.iter().any(|(k, _)| k.starts_with("token["));
    match (tokens.as_slice(), arrays) {
        ([], false) => None,
        ([one], false) => Some((*one).to_owned()),
        _ => Some(String::new()),
    }
}

pub(crate) fn query_next(uri: &Uri) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

/// A `next` that stays on this site: a plain absolute path, nothing that a
/// browser could read as another host or a scheme.
pub(crate) fn safe_next(next: Option<&str>, prefix: &str) -> String {
    let fallback = format!("{prefix}/");
    let Some(n) = next else { return fallback };
    // ASCII only: it goes into a Location header as it is.
    let ok = n.is_ascii()
        && n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && !n.contains("://");
    if ok { n.to_owned() } else { fallback }
}

/// One query parameter given exactly once; repeated, it is nobody's (a
/// token in a link, a provider's answer).
pub(crate) fn query_once(uri: &Uri, name: &str) -> Option<String> {
    let mut found = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    let first = found.next();
    if found.next().is_some() { None } else { first }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/organization/"), ""), "/organization/");
        for bad in [
            "//evil.example",
            "/\\evil",
            "https://evil.example",
            "javascript:alert(1)",
            "/a\nb",
            "evil",
            "/x://y",
        ] {
            assert_eq!(safe_next(Some(bad), ""), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None, "/ls"), "/ls/");
    }

    #[test]
    fn invite_parameters_are_taken_exactly() {
        let uri = |q: &str| format!("/user/signup/?{q}").parse::<Uri>().unwrap();
        assert_eq!(presented_invite(&uri("next=/")), None);
        assert_eq!(presented_invite(&uri("token=abc")).as_deref(), Some("abc"));
        assert_eq!(
            presented_invite(&uri("token=abc&token=def")).as_deref(),
            Some("")
        );
        assert_eq!(presented_invite(&uri("token[]=abc")).as_deref(), Some(""));
        assert_eq!(
            presented_invite(&uri("token=%20abc")).as_deref(),
            Some(" abc")
        );
    }
}
