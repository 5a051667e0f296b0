//! `/user/reset-password/?token=…`: a one-time reset link's page (made by
//! an owner or administrator on the organization page, or by `ls-admin user
//! reset-link`). A link that is unknown, used, replaced or expired gets one
//! plain answer, whichever it was.

use app::{AppError, Store};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

use super::forms::Form;
use super::{Layout, Page, form_action, message, page};
use crate::state::Shared;

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    layout: Layout,
    email: String,
    action: String,
    error: Option<String>,
}

/// A one-time link's token: exactly one `token` parameter.
pub(super) fn token(uri: &Uri) -> Option<String> {
    super::forms::query_once(uri, "token")
}

/// Nothing about this page is kept by the browser or a proxy, and its
/// address (which holds the token) is never a Referer: `strict-origin`
/// sends the origin alone, even with the page's own stylesheet. (Not
/// `no-referrer`: with it Chromium sends `Origin: null` with the page's
/// form, which the CSRF check rightly refuses.)
pub(super) fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    resp
}

/// The one answer to a one-time link (reset or invitation) that is not
/// live, whichever way it is not: 404, kept by no cache.
pub(super) fn link_not_valid<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    heading: &str,
    why: &AppError,
) -> Page {
    message(
        st,
        headers,
        StatusCode::NOT_FOUND,
        heading,
        &why.to_string(),
    )
    .map(no_store)
}

fn invalid<S>(st: &Shared<S>, headers: &HeaderMap) -> Page {
    link_not_valid(
        st,
        headers,
        "Reset link not valid",
        &AppError::ResetLinkInvalid,
    )
}

fn form<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    uri: &Uri,
    email: String,
    error: Option<String>,
) -> Page {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page(st, headers, None, status, |layout| ResetPage {
        layout,
        email,
        action: form_action(st, app::RESET_PATH, uri),
        error,
    })
}

pub(super) async fn reset_form<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    uri: Uri,
) -> Page {
    let Some(t) = token(&uri) else {
        return invalid(&st, &headers);
    };
    match st.services.reset_link_user(&t).await {
        Ok(user) => form(&st, &headers, &uri, user.email.as_str().to_owned(), None).map(no_store),
        Err(AppError::ResetLinkInvalid) => invalid(&st, &headers),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn reset<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    let form_data = Form::read_checked(&st, req).await?;
    let headers = &form_data.headers;
    let Some(t) = token(&form_data.uri) else {
        return invalid(&st, headers);
    };
    let password = app::SecretString::new(form_data.field("password").unwrap_or_default());
    match st.services.reset_password(&t, &password).await {
        Ok(_) => message(
            &st,
            headers,
            StatusCode::OK,
            "Password set",
            "Your new password is set, and this account is logged out everywhere. Log in with the new password.",
        )
        .map(no_store),
        Err(AppError::Validation(errors)) => {
            // Used from another tab meanwhile: the plain answer, not an error.
            let email = match st.services.reset_link_user(&t).await {
                Ok(u) => u.email.as_str().to_owned(),
                Err(AppError::ResetLinkInvalid) => return invalid(&st, headers),
                Err(e) => return Err(e.into()),
            };
            let text = errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join(" ");
            form(&st, headers, &form_data.uri, email, Some(text)).map(no_store)
        }
        Err(AppError::ResetLinkInvalid) => invalid(&st, headers),
        Err(e) => Err(e.into()),
    }
}
