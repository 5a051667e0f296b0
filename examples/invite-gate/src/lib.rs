//! An example of embedding ls-users' domain crates in another service: a
//! small axum service with **its own storage** (here, memory) whose
//! sign-up is closed to everyone without its current invite link, the
//! rule ls-users applies with `LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK`.
//!
//! - `invites` makes the link from the service's secret and a stored
//!   generation and salt, and compares what a visitor presents;
//! - `signup-policy` decides;
//! - `accounts` checks the email and the password and hashes it (argon2id).
//!
//! The domain crates do no I/O: the service passes in its secret, its
//! random bytes and its stored state.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use accounts::{Email, PasswordHashString, PasswordHasher, PasswordPolicy, SALT_LEN};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use invites::{InviteState, InviteToken};
use serde_json::json;
use signup_policy::{Channel, Decision, Invite, Mode, Request};

/// What the service keeps: its own storage, not ls-users'.
#[derive(Debug)]
struct Stored {
    invite: InviteState,
    /// The generation before the last reset, to tell a stale link from a
    /// wrong one.
    previous: Option<InviteState>,
    users: HashMap<String, PasswordHashString>,
}

/// The service's state.
#[derive(Clone)]
pub struct Gate {
    secret: [u8; 32],
    admin_key: Arc<str>,
    hasher: Arc<PasswordHasher>,
    stored: Arc<Mutex<Stored>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

fn salt<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("the OS random generator failed: {e}"));
    b
}

impl Gate {
    /// `secret` keys the invite links; `admin_key` guards the link's
    /// endpoints; `hasher` hashes passwords.
    pub fn new(secret: [u8; 32], admin_key: &str, hasher: PasswordHasher) -> Self {
        Self {
            secret,
            admin_key: admin_key.into(),
            hasher: Arc::new(hasher),
            stored: Arc::new(Mutex::new(Stored {
                invite: InviteState::initial(salt()),
                previous: None,
                users: HashMap::new(),
            })),
        }
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many accounts exist.
    pub fn user_count(&self) -> usize {
        self.stored().users.len()
    }
}

/// The service's routes: `GET /invite` and `POST /invite/reset` (with
/// `X-Admin-Key`), `POST /signup?token=…` (JSON `email`, `password`).
pub fn app(gate: Gate) -> Router {
    Router::new()
        .route("/invite", get(show_invite))
        .route("/invite/reset", post(reset_invite))
        .route("/signup", post(signup))
        .with_state(gate)
}

fn error(status: StatusCode, field: Option<&str>, message: &str) -> Response {
    (status, Json(json!({"field": field, "detail": message}))).into_response()
}

/// Whether the request carries the admin key (compared as keyed digests,
/// in constant time).
fn admin(gate: &Gate, headers: &HeaderMap) -> bool {
    let given = headers
        .get("x-admin-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let key = accounts::DigestKey::from_bytes(gate.secret);
    !given.is_empty()
        && key.digest("admin-key", given.as_bytes())
            == key.digest("admin-key", gate.admin_key.as_bytes())
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, None, "X-Admin-Key required")
}

async fn show_invite(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if !admin(&gate, &headers) {
        return unauthorized();
    }
    let token = gate.stored().invite.token(&gate.secret);
    Json(json!({"token": token.expose(), "path": token.signup_path()})).into_response()
}

async fn reset_invite(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if !admin(&gate, &headers) {
        return unauthorized();
    }
    let token = {
        let mut s = gate.stored();
        let next = s.invite.rotated(salt());
        s.previous = Some(std::mem::replace(&mut s.invite, next));
        s.invite.token(&gate.secret)
    };
    (StatusCode::CREATED, Json(json!({"token": token.expose()}))).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct SignupQuery {
    token: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct SignupBody {
    email: String,
    password: String,
}

/// What the presented token is, looked up in the service's own storage.
fn look_up(gate: &Gate, presented: Option<&str>) -> Invite<()> {
    let Some(raw) = presented else {
        return Invite::Absent;
    };
    let Ok(token) = InviteToken::parse_presented(raw) else {
        return Invite::Invalid;
    };
    let s = gate.stored();
    if token == s.invite.token(&gate.secret) {
        Invite::Valid(())
    } else if s
        .previous
        .as_ref()
        .is_some_and(|p| token == p.token(&gate.secret))
    {
        Invite::Stale
    } else {
        Invite::Invalid
    }
}

async fn signup(
    State(gate): State<Gate>,
    Query(q): Query<SignupQuery>,
    Json(body): Json<SignupBody>,
) -> Response {
    // The invite first: a refused visitor learns nothing about the input.
    let invite = look_up(&gate, q.token.as_deref());
    let request = Request {
        channel: Channel::SelfService,
        invite,
    };
    if let Decision::Deny(why) = signup_policy::decide(Mode::InviteOnly, request) {
        return error(StatusCode::FORBIDDEN, None, &why.to_string());
    }
    let email = match Email::parse(&body.email) {
        Ok(e) => e,
        Err(e) => return error(StatusCode::BAD_REQUEST, Some("email"), &e.to_string()),
    };
    let password = match PasswordPolicy::default().check(&body.password, Some(&email)) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, Some("password"), &e.to_string()),
    };
    // Hashing is slow on purpose: off the async runtime.
    let hasher = Arc::clone(&gate.hasher);
    let hashed =
        tokio::task::spawn_blocking(move || hasher.hash(&password, &salt::<SALT_LEN>())).await;
    let Ok(Ok(hash)) = hashed else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, None, "hashing failed");
    };
    let mut s = gate.stored();
    if s.users.contains_key(email.as_str()) {
        return error(
            StatusCode::CONFLICT,
            Some("email"),
            "An account with this email exists",
        );
    }
    s.users.insert(email.as_str().to_owned(), hash);
    (StatusCode::CREATED, Json(json!({"email": email.as_str()}))).into_response()
}
