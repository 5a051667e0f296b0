//! Versioned schema migrations. Never edit a released migration: add one.

use sea_orm_migration::prelude::*;

mod m20261201_000001_init;
mod m20261201_000002_deployment_key;
mod m20261201_000003_personal_tokens;
mod m20261201_000004_throttle;
mod m20261201_000005_member_order;
mod m20261206_000006_throttle_expiry_devices;
mod m20261206_000007_label_studio_import;
mod m20261206_000008_member_index;
mod m20261206_000009_key_changes;
mod m20261206_000010_sso;
mod m20261206_000011_lifecycle;

#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261201_000001_init::Migration),
            Box::new(m20261201_000002_deployment_key::Migration),
            Box::new(m20261201_000003_personal_tokens::Migration),
            Box::new(m20261201_000004_throttle::Migration),
            Box::new(m20261201_000005_member_order::Migration),
            Box::new(m20261206_000006_throttle_expiry_devices::Migration),
            Box::new(m20261206_000007_label_studio_import::Migration),
            Box::new(m20261206_000008_member_index::Migration),
            Box::new(m20261206_000009_key_changes::Migration),
            Box::new(m20261206_000010_sso::Migration),
            Box::new(m20261206_000011_lifecycle::Migration),
        ]
    }
}
