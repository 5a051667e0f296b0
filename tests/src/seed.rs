//! Large organizations for the benchmark and the tests of scale.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// `count` members of organization 1 (`user<i>@bench.example`, ids from 2),
/// each with the owner's password hash and the API token
/// `bench-token-NNNNNN` (digested with the deployment secret `secret_hex`),
/// inserted in batches of raw SQL: fast enough for 100,000.
pub async fn members(db: &DatabaseConnection, count: usize, owner_email: &str, secret_hex: &str) {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT password_hash FROM users WHERE email = '{owner_email}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get("", "password_hash").unwrap();
    let key = accounts::DigestKey::from_bytes(hex32(secret_hex));
    let now: i64 = 1_796_000_000_000_000;
    let batch = 1000;
    for start in (0..count).step_by(batch) {
        let end = (start + batch).min(count);
        let users: Vec<String> = (start..end)
            .map(|i| {
                format!(
                    "({id}, 'user{i}@bench.example', 'user{i:06}', '', '', '', '{hash}', TRUE, 1, FALSE, '{{}}', {now}, NULL, {now})",
                    id = i + 2
                )
            })
            .collect();
        let members: Vec<String> = (start..end)
            .map(|i| format!("({}, 1, 'member', {now}, NULL)", i + 2))
            .collect();
        let tokens: Vec<String> = (start..end)
            .map(|i| {
                let digest = key.digest("api-token", format!("bench-token-{i:06}").as_bytes());
                format!("({}, '{}', {now})", i + 2, digest.to_hex())
            })
            .collect();
        for sql in [
            format!(
                "INSERT INTO users (id, email, username, first_name, last_name, phone, password_hash, is_active, \
                 active_organization_id, allow_newsletters, custom_hotkeys, date_joined, last_activity, updated_at) VALUES {}",
                users.join(",")
            ),
            format!(
                "INSERT INTO memberships (user_id, organization_id, role, created_at, removed_at) VALUES {}",
                members.join(",")
            ),
            format!(
                "INSERT INTO api_tokens (user_id, digest, created_at) VALUES {}",
                tokens.join(",")
            ),
        ] {
            db.execute_unprepared(&sql).await.unwrap();
        }
    }
    if backend == sea_orm::DbBackend::Postgres {
        // Explicit ids: move the sequence past them.
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))",
        )
        .await
        .unwrap();
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}
