//! Everything stored that an attack could create or change, as text, to
//! compare before and after. Left out on purpose: the deployment row's write
//! counter (every write transaction bumps it), the throttle counters (the
//! attack's own trace), and a session's last-seen time.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

const QUERIES: &[&str] = &[
    "SELECT id, email, username, first_name, last_name, phone, password_hash, is_active, \
     active_organization_id, allow_newsletters, custom_hotkeys, date_joined FROM users ORDER BY id",
    "SELECT id, user_id, organization_id, role, created_at, removed_at FROM memberships ORDER BY id",
    "SELECT id, title, contact_info, created_by, invite_generation, invite_salt, invite_digest, \
     api_tokens_enabled, legacy_api_tokens_enabled, api_token_ttl_days FROM organizations ORDER BY id",
    "SELECT id, user_id, digest FROM api_tokens ORDER BY id",
    "SELECT id, jti, user_id, expires_at, revoked_at FROM personal_tokens ORDER BY id",
    "SELECT id, organization_id, digest FROM retired_invites ORDER BY id",
    "SELECT id, digest, user_id, expires_at FROM sessions ORDER BY id",
    "SELECT id, user_id, provider, issuer, subject, email, created_at, last_login_at \
     FROM sso_identities ORDER BY id",
    "SELECT state_digest, provider, invite_digest, next, created_at, expires_at \
     FROM sso_flows ORDER BY state_digest",
    "SELECT digest, user_id, created_by, created_at, expires_at FROM password_resets ORDER BY digest",
    "SELECT id, kind, recipient, attempts, created_at FROM mail_outbox ORDER BY id",
];

pub async fn take(db: &DatabaseConnection) -> Vec<String> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for q in QUERIES {
        let rows = db
            .query_all_raw(Statement::from_string(backend, (*q).to_owned()))
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        let columns: Vec<&str> = q
            .trim_start_matches("SELECT ")
            .split(" FROM ")
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .collect();
        for row in rows {
            let mut line = format!("{}:", q.split(" FROM ").nth(1).unwrap_or(q));
            for c in &columns {
                let v = if let Ok(v) = row.try_get::<Option<i64>>("", c) {
                    format!("{v:?}")
                } else if let Ok(v) = row.try_get::<Option<String>>("", c) {
                    format!("{v:?}")
                } else if let Ok(v) = row.try_get::<Option<bool>>("", c) {
                    format!("{v:?}")
                } else {
                    panic!("{c}: a column of another type")
                };
                line.push_str(&format!(" {c}={v}"));
            }
            out.push(line);
        }
    }
    out
}

/// The snapshot of a data directory's SQLite database (opened the way the
/// binaries open it, so safe while the server runs).
pub fn of_data_dir(data: &std::path::Path) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = infra::db::open_target(&infra::DatabaseTarget::Sqlite(
            data.join("ls-users.sqlite3"),
        ))
        .await
        .unwrap();
        take(store.connection()).await
    })
}
