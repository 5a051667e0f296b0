//! Label Studio's database as an import source ([`app::import::LegacySource`]):
//! its SQLite file (opened read-only), its data directory (the folder with
//! `label_studio.sqlite3`, and the `.env` that holds its `SECRET_KEY`), or
//! a `postgres://` URL. Rows are read in id order, a batch at a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use app::SecretString;
use app::import::{
    LegacyMembership, LegacyOrganization, LegacyPersonalToken, LegacySource, LegacyUser,
    SourceError,
};
use orgs::TokenSettings;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult, SqlxSqliteConnector,
    Statement, Value,
};

/// The file Label Studio keeps in its data directory.
pub const SQLITE_FILE: &str = "label_studio.sqlite3";

/// Label Studio's database, open for reading.
#[derive(Debug)]
pub struct LabelStudioDb {
    db: DatabaseConnection,
    /// Whether this Label Studio has personal access tokens
    /// (`token_blacklist_*`) and their settings (`jwt_auth_jwtsettings`).
    has_personal_tokens: bool,
    has_token_settings: bool,
    /// `SECRET_KEY` from the data directory's `.env`, when there is one.
    env_secret_key: Option<SecretString>,
}

fn read_err(e: impl std::fmt::Display) -> SourceError {
    SourceError::Read(e.to_string())
}

impl LabelStudioDb {
    /// Opens SOURCE: a `postgres://` URL, a data directory or an SQLite file.
    pub async fn open(source: &str) -> Result<Self, SourceError> {
        if source.starts_with("postgres://") || source.starts_with("postgresql://") {
            let db = Database::connect(source).await.map_err(read_err)?;
            return Self::checked(db, None).await;
        }
        let path = PathBuf::from(source);
        let (file, env) = if path.is_dir() {
            let env = std::fs::read_to_string(path.join(".env"))
                .ok()
                .and_then(|t| app::import::secret_key_from_env_file(&t))
                .map(SecretString::new);
            (path.join(SQLITE_FILE), env)
        } else {
            (path, None)
        };
        if !file.is_file() {
            return Err(SourceError::Read(format!(
                "{} is not a file: give Label Studio's SQLite file, its data directory (with {SQLITE_FILE}) or a postgres:// URL",
                file.display()
            )));
        }
        Self::checked(Self::open_sqlite(&file).await?, env).await
    }

    async fn open_sqlite(file: &Path) -> Result<DatabaseConnection, SourceError> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .read_only(true)
            .busy_timeout(crate::db::SQLITE_BUSY_TIMEOUT)
            // Read once, front to back: pages mapped, not copied by pread
            // (a seventh of the import's profile), and a larger cache.
            .pragma("mmap_size", "1073741824")
            .pragma("cache_size", "-65536");
        let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .map_err(|e| SourceError::Read(format!("{}: {e}", file.display())))?;
        Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
    }

    async fn checked(
        db: DatabaseConnection,
        env_secret_key: Option<SecretString>,
    ) -> Result<Self, SourceError> {
        let mut me = Self {
            db,
            env_secret_key,
            has_personal_tokens: false,
            has_token_settings: false,
        };
        for table in [
            "htx_user",
            "organization",
            "organizations_organizationmember",
            "authtoken_token",
        ] {
            if !me.has_table(table).await? {
                return Err(SourceError::NotLabelStudio(format!(
                    "it has no {table} table"
                )));
            }
        }
        me.has_personal_tokens = me.has_table("token_blacklist_outstandingtoken").await?
            && me.has_table("token_blacklist_blacklistedtoken").await?;
        me.has_token_settings = me.has_table("jwt_auth_jwtsettings").await?;
        Ok(me)
    }

    /// Whether the database has this table (asked of its catalogue, so a
    /// read that fails later is an error, never taken for "no table").
    async fn has_table(&self, table: &str) -> Result<bool, SourceError> {
        let sql = if self.sqlite() {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
        } else {
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        };
        Ok(self.number(sql, vec![table.into()]).await? > 0)
    }

    /// The one number (column `n`) a query answers; 0 for no row.
    async fn number(&self, sql: &str, values: Vec<Value>) -> Result<i64, SourceError> {
        let rows = self.all(sql, values).await?;
        rows.first()
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()
            .map_err(read_err)
            .map(Option::unwrap_or_default)
    }

    /// `SECRET_KEY` read from the data directory's `.env`.
    pub fn env_secret_key(&self) -> Option<&SecretString> {
        self.env_secret_key.as_ref()
    }

    fn sqlite(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Sqlite
    }

    /// A time column as microseconds: parsed from SQLite's text, computed
    /// by PostgreSQL.
    fn ts(&self, col: &str) -> String {
        if self.sqlite() {
            col.to_owned()
        } else {
            format!("(EXTRACT(EPOCH FROM {col}) * 1000000)::bigint")
        }
    }

    fn time(&self, row: &QueryResult, col: &str) -> Result<Option<i64>, SourceError> {
        if self.sqlite() {
            let text: Option<String> = row.try_get("", col).map_err(read_err)?;
            text.map(|t| {
                app::time::parse_utc(&t)
                    .ok_or_else(|| SourceError::Read(format!("{col}: unreadable time {t:?}")))
            })
            .transpose()
        } else {
            row.try_get("", col).map_err(read_err)
        }
    }

    async fn all(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>, SourceError> {
        // Written with PostgreSQL's `$n`; SQLite reads `?n` the same way.
        let sql = if self.sqlite() {
            sql.replace('$', "?")
        } else {
            sql.to_owned()
        };
        let stmt = Statement::from_sql_and_values(self.db.get_database_backend(), sql, values);
        self.db.query_all_raw(stmt).await.map_err(read_err)
    }

    async fn memberships(
        &self,
        after: i64,
        last: i64,
    ) -> Result<Vec<(i64, LegacyMembership)>, SourceError> {
        let sql = format!(
            "SELECT CAST(user_id AS BIGINT) AS user_id, CAST(organization_id AS BIGINT) AS organization_id, {} AS created_at, {} AS deleted_at \
             FROM organizations_organizationmember WHERE user_id > $1 AND user_id <= $2 ORDER BY id",
            self.ts("created_at"),
            self.ts("deleted_at")
        );
        let mut out = Vec::new();
        for row in self.all(&sql, vec![after.into(), last.into()]).await? {
            let user: i64 = row.try_get("", "user_id").map_err(read_err)?;
            out.push((
                user,
                LegacyMembership {
                    organization_id: row.try_get("", "organization_id").map_err(read_err)?,
                    created_at: self.time(&row, "created_at")?.unwrap_or(0),
                    removed_at: self.time(&row, "deleted_at")?,
                },
            ));
        }
        Ok(out)
    }

    async fn api_tokens(
        &self,
        after: i64,
        last: i64,
    ) -> Result<HashMap<i64, (SecretString, i64)>, SourceError> {
        let sql = format!(
            "SELECT CAST(user_id AS BIGINT) AS user_id, key, {} AS created FROM authtoken_token \
             WHERE user_id > $1 AND user_id <= $2",
            self.ts("created")
        );
        let mut out = HashMap::new();
        for row in self.all(&sql, vec![after.into(), last.into()]).await? {
            let key: String = row.try_get("", "key").map_err(read_err)?;
            out.insert(
                row.try_get("", "user_id").map_err(read_err)?,
                (
                    SecretString::new(key),
                    self.time(&row, "created")?.unwrap_or(0),
                ),
            );
        }
        Ok(out)
    }

    /// Personal access tokens, when this Label Studio has the tables
    /// (`rest_framework_simplejwt`'s blacklist app).
    async fn personal_tokens(
        &self,
        after: i64,
        last: i64,
    ) -> Result<Vec<(i64, LegacyPersonalToken)>, SourceError> {
        let sql = format!(
            "SELECT CAST(o.user_id AS BIGINT) AS user_id, o.jti, o.token, {} AS created_at, {} AS expires_at, \
             {} AS blacklisted_at FROM token_blacklist_outstandingtoken o \
             LEFT JOIN token_blacklist_blacklistedtoken b ON b.token_id = o.id \
             WHERE o.user_id > $1 AND o.user_id <= $2 ORDER BY o.id",
            self.ts("o.created_at"),
            self.ts("o.expires_at"),
            self.ts("b.blacklisted_at")
        );
        if !self.has_personal_tokens {
            return Ok(Vec::new());
        }
        let rows = self.all(&sql, vec![after.into(), last.into()]).await?;
        let mut out = Vec::new();
        for row in rows {
            let token: String = row.try_get("", "token").map_err(read_err)?;
            let expires_at = self.time(&row, "expires_at")?.unwrap_or(0);
            out.push((
                row.try_get("", "user_id").map_err(read_err)?,
                LegacyPersonalToken {
                    jti: row.try_get("", "jti").map_err(read_err)?,
                    token: SecretString::new(token),
                    created_at: self.time(&row, "created_at")?.unwrap_or(expires_at),
                    expires_at,
                    blacklisted_at: self.time(&row, "blacklisted_at")?,
                },
            ));
        }
        Ok(out)
    }
}

impl LegacySource for LabelStudioDb {
    async fn organizations(&self) -> Result<Vec<LegacyOrganization>, SourceError> {
        let base = format!(
            "SELECT CAST(o.id AS BIGINT) AS id, o.title, o.contact_info, \
             CAST(o.created_by_id AS BIGINT) AS created_by_id, o.token, \
             {} AS created_at, {} AS updated_at",
            self.ts("o.created_at"),
            self.ts("o.updated_at")
        );
        let with_settings = format!(
            "{base}, j.api_tokens_enabled, j.legacy_api_tokens_enabled, j.api_token_ttl_days \
             FROM organization o LEFT JOIN jwt_auth_jwtsettings j ON j.organization_id = o.id \
             ORDER BY o.id"
        );
        // Label Studio before personal access tokens has no settings table.
        let settings = self.has_token_settings;
        let rows = if settings {
            self.all(&with_settings, vec![]).await?
        } else {
            self.all(&format!("{base} FROM organization o ORDER BY o.id"), vec![])
                .await?
        };
        let mut out = Vec::new();
        for row in rows {
            let enabled: Option<bool> = if settings {
                row.try_get("", "api_tokens_enabled").map_err(read_err)?
            } else {
                None
            };
            let tokens = match enabled {
                Some(api_tokens_enabled) => {
                    let ttl: i32 = row.try_get("", "api_token_ttl_days").map_err(read_err)?;
                    Some(TokenSettings {
                        api_tokens_enabled,
                        legacy_api_tokens_enabled: row
                            .try_get("", "legacy_api_tokens_enabled")
                            .map_err(read_err)?,
                        api_token_ttl_days: u32::try_from(ttl).unwrap_or(1),
                    })
                }
                None => None,
            };
            let token: Option<String> = row.try_get("", "token").map_err(read_err)?;
            out.push(LegacyOrganization {
                id: row.try_get("", "id").map_err(read_err)?,
                title: row.try_get("", "title").map_err(read_err)?,
                contact_info: row.try_get("", "contact_info").map_err(read_err)?,
                created_by: row.try_get("", "created_by_id").map_err(read_err)?,
                invite_token: token.filter(|t| !t.is_empty()).map(SecretString::new),
                created_at: self.time(&row, "created_at")?.unwrap_or(0),
                updated_at: self.time(&row, "updated_at")?.unwrap_or(0),
                tokens,
            });
        }
        Ok(out)
    }

    async fn user_count(&self) -> Result<u64, SourceError> {
        let n = self
            .number("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM htx_user", vec![])
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn max_user_id(&self) -> Result<i64, SourceError> {
        self.number(
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS n FROM htx_user",
            vec![],
        )
        .await
    }

    async fn users_after(&self, after: i64, limit: usize) -> Result<Vec<LegacyUser>, SourceError> {
        let hotkeys = if self.sqlite() {
            "custom_hotkeys"
        } else {
            "custom_hotkeys::text"
        };
        let sql = format!(
            "SELECT CAST(id AS BIGINT) AS id, email, username, first_name, last_name, phone, password, is_active, \
             {} AS date_joined, {} AS last_activity, allow_newsletters, {hotkeys} AS hotkeys, \
             CAST(active_organization_id AS BIGINT) AS active_organization_id \
             FROM htx_user WHERE id > $1 ORDER BY id LIMIT $2",
            self.ts("date_joined"),
            self.ts("last_activity")
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.all(&sql, vec![after.into(), limit.into()]).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let password: String = row.try_get("", "password").map_err(read_err)?;
            users.push(LegacyUser {
                id: row.try_get("", "id").map_err(read_err)?,
                email: row.try_get("", "email").map_err(read_err)?,
                username: row.try_get("", "username").map_err(read_err)?,
                first_name: row.try_get("", "first_name").map_err(read_err)?,
                last_name: row.try_get("", "last_name").map_err(read_err)?,
                phone: row.try_get("", "phone").map_err(read_err)?,
                password: SecretString::new(password),
                is_active: row.try_get("", "is_active").map_err(read_err)?,
                date_joined: self.time(&row, "date_joined")?.unwrap_or(0),
                last_activity: self.time(&row, "last_activity")?,
                allow_newsletters: row
                    .try_get::<Option<bool>>("", "allow_newsletters")
                    .map_err(read_err)?
                    .unwrap_or(false),
                custom_hotkeys: row.try_get("", "hotkeys").map_err(read_err)?,
                active_organization: row
                    .try_get("", "active_organization_id")
                    .map_err(read_err)?,
                memberships: Vec::new(),
                api_token: None,
                personal_tokens: Vec::new(),
            });
        }
        let Some(last) = users.last().map(|u| u.id) else {
            return Ok(users);
        };
        let index: HashMap<i64, usize> = users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
        for (user, m) in self.memberships(after, last).await? {
            if let Some(&i) = index.get(&user) {
                users[i].memberships.push(m);
            }
        }
        let mut tokens = self.api_tokens(after, last).await?;
        for u in &mut users {
            u.api_token = tokens.remove(&u.id);
        }
        for (user, t) in self.personal_tokens(after, last).await? {
            if let Some(&i) = index.get(&user) {
                users[i].personal_tokens.push(t);
            }
        }
        Ok(users)
    }

    async fn emails_of(&self, ids: &[i64]) -> Result<HashMap<i64, String>, SourceError> {
        let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) else {
            return Ok(HashMap::new());
        };
        let rows = self
            .all(
                "SELECT CAST(id AS BIGINT) AS id, email FROM htx_user WHERE id >= $1 AND id <= $2",
                vec![lo.into(), hi.into()],
            )
            .await?;
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let mut out = HashMap::new();
        for row in rows {
            let id: i64 = row.try_get("", "id").map_err(read_err)?;
            if wanted.contains(&id) {
                out.insert(id, row.try_get("", "email").map_err(read_err)?);
            }
        }
        Ok(out)
    }
}
