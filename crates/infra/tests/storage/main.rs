//! The storage, through the use-cases, on real SQLite (a temporary
//! directory) and real PostgreSQL (a fresh database per test on the server
//! at `LS_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Every scenario runs on both. One module per aggregate: accounts
//! (bootstrap, sign-up, the invite link, user creation), sessions and
//! tokens, members, and the schema and SQLite settings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;

use accounts::{DigestKey, PasswordHasher};
use app::{
    AppError, BlockingHasher, BootstrapOutcome, BootstrapRequest, Caller, CreateUserRequest,
    OrgStore, OsRandom, SecretString, Services, ServicesConfig, SignupRequest, SystemClock,
    UserStore,
};
use infra::SeaStore;
use orgs::Role;
use sea_orm::{ConnectionTrait, Statement};
use signup_policy::{Deny, Mode};

struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn pg_admin_url() -> String {
    std::env::var("LS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Db {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
        Self {
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    async fn postgres() -> Self {
        let admin = pg_admin_url();
        let name = format!(
            "ls_test_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let conn = sea_orm::Database::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is needed for the storage tests ({admin}): {e}. `.ci/run` starts it.")
        });
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(b, _)| b)
            .to_owned();
        Self {
            url: format!("{base}/{name}"),
            _dir: None,
            pg_name: Some(name),
        }
    }

    async fn drop_pg(&self) {
        if let Some(name) = &self.pg_name
            && let Ok(conn) = sea_orm::Database::connect(&pg_admin_url()).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

async fn services(db: &Db, mode: Mode) -> Services<SeaStore> {
    let store = infra::db::open(&db.url).await.unwrap();
    Services::new(
        store,
        BlockingHasher::new(PasswordHasher::new(256, 1, 1).unwrap(), 4, 64),
        DigestKey::from_bytes([42; 32]),
        Arc::new(OsRandom),
        Arc::new(SystemClock),
        ServicesConfig {
            signup_mode: mode,
            ..ServicesConfig::default()
        },
    )
}

fn s(v: &str) -> SecretString {
    SecretString::new(v)
}

fn signup(email: &str, password: &str, invite: Option<&str>) -> SignupRequest {
    SignupRequest {
        email: email.into(),
        password: s(password),
        invite: invite.map(s),
        client: None,
    }
}

mod account_creation;
mod members;
mod schema;
mod sessions;
mod throttle;

use account_creation::*;
use members::*;
use schema::*;
use sessions::*;
use throttle::*;

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::sqlite()).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::postgres().await).await })*
        }
    };
}

on_both!(
    bootstrap_is_idempotent,
    open_signup_first_owns_then_members_join,
    invite_only_and_reset_link,
    racing_signups_make_one_account_and_one_org,
    tokens_passwords_and_sessions,
    a_login_replaces_the_session_and_forgets_failures,
    refused_writes_commit_nothing,
    administrator_creation_rules,
    migrations_are_rerunnable,
    concurrent_first_opens_migrate_once,
    a_newer_schema_is_refused,
    member_pages_follow_changes_made_elsewhere,
    the_throttle_table_stays_within_its_cap,
    device_cookies_bypass_the_account_lock_for_their_owner,
    concurrent_resets_never_reuse_a_generation,
    concurrent_token_settings_changes_both_hold,
    the_triggers_keep_counts_and_order_for_changes_by_hand,
    every_page_is_its_slice_of_the_listing,
    a_whole_list_is_one_snapshot,
    racing_logins_and_failures_never_fail_the_store,
);
