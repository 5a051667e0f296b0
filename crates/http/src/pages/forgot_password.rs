//! `/user/forgot-password/` (when SMTP is configured): a mail with a reset
//! link to the account's address. The answer is the same page whether an
//! account has the address or not (its bytes differ only in the CSRF
//! value), and the work behind it is the same (see `app`'s
//! `request_password_reset`). Without SMTP the page does not exist.

use app::{AppError, Store};
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};

use super::forms::Form;
use super::{Layout, Page, page, retry_after};
use crate::state::Shared;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage<'a> {
    layout: Layout,
    sent: bool,
    error: Option<&'a str>,
}

fn forgot<S>(
    st: &Shared<S>,
    headers: &HeaderMap,
    sent: bool,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    page(st, headers, None, status, |layout| ForgotPage {
        layout,
        sent,
        error,
    })
}

fn enabled<S: Store>(st: &Shared<S>) -> Result<(), AppError> {
    if st.services.mail_enabled() && st.services.config().password_login {
        Ok(())
    } else {
        Err(AppError::NotFound("Page"))
    }
}

pub(super) async fn forgot_form<S: Store>(State(st): State<Shared<S>>, headers: HeaderMap) -> Page {
    enabled(&st)?;
    forgot(&st, &headers, false, None, StatusCode::OK)
}

pub(super) async fn request_link<S: Store>(State(st): State<Shared<S>>, req: Request) -> Page {
    enabled(&st)?;
    let form = Form::read_checked(&st, req).await?;
    let email = form.field("email").unwrap_or_default();
    match st.services.request_password_reset(email, form.client).await {
        Ok(()) => forgot(&st, &form.headers, true, None, StatusCode::OK),
        Err(AppError::Invalid { .. }) => forgot(
            &st,
            &form.headers,
            false,
            Some("email: Enter a valid email address."),
            StatusCode::BAD_REQUEST,
        ),
        Err(AppError::Throttled { retry_after_secs }) => {
            let mut resp = forgot(
                &st,
                &form.headers,
                false,
                Some("Too many requests for this address or from yours. Try again later."),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            retry_after(&mut resp, retry_after_secs);
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}
