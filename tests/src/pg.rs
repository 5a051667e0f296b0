//! A fresh PostgreSQL database per test, on the server at
//! `LS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`,
//! which `tests/run.sh` starts).

use sea_orm::ConnectionTrait as _;

#[derive(Debug)]
pub struct PgDatabase {
    /// The new database's URL.
    pub url: String,
    name: String,
    admin: sea_orm::DatabaseConnection,
}

impl PgDatabase {
    pub async fn create(purpose: &str) -> Self {
        let admin_url = std::env::var("LS_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("ls_{purpose}_{}_{nanos}", std::process::id());
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is needed ({admin_url}): {e}; tests/run.sh starts it")
            });
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        Self {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }

    pub async fn drop_database(self) {
        let _ = self
            .admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await;
    }
}
