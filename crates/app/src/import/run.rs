//! The import as one use-case: check the target, carry the organizations,
//! then the people in batches of [`BATCH`], each batch one transaction.

use std::collections::HashMap;

use accounts::Email;
use invites::InviteToken;
use orgs::Role;

use super::plan::{self, Context};
use super::{
    BATCH, ImportError, ImportOptions, ImportReport, ImportStore, ImportedOrganization,
    LegacyOrganization, LegacySource, Progress,
};
use crate::services::Services;
use crate::store::Store;

/// Label Studio's organization ids mapped to ours, and the role each
/// organization's creator gets.
struct Organizations {
    ids: HashMap<i64, i64>,
    creators: HashMap<i64, i64>,
    creator_role: Role,
}

impl<S: Store + ImportStore> Services<S> {
    /// `ls-admin import label-studio`: see the module's documentation.
    pub async fn import_label_studio<L: LegacySource + Sync>(
        &self,
        source: &L,
        options: ImportOptions,
        progress: &dyn Progress,
    ) -> Result<ImportReport, ImportError> {
        // An import creates accounts: the sign-up policy is asked, as for
        // every other path (an operator's import is an administrator's).
        self.admit_operator().await?;
        let legacy_orgs = source.organizations().await?;
        // Ids are kept wherever the target holds nothing but this source's
        // people (so --merge into an empty deployment, or a re-run of one
        // that was interrupted, is the same import as without it).
        let keep_ids = match self.check_target_holds_only(source, &legacy_orgs).await {
            Ok(()) => true,
            Err(ImportError::TargetNotEmpty(_)) if options.merge => false,
            Err(e) => return Err(e),
        };
        let mut report = ImportReport {
            dry_run: options.dry_run,
            mode: if keep_ids { "keep-ids" } else { "merge" },
            ..ImportReport::default()
        };
        let options = ImportOptions {
            merge: !keep_ids,
            ..options
        };
        let total = source.user_count().await?;
        report.source_users = total;
        // Kept ids are reserved before the first write, once: a sign-up on a
        // server running meanwhile takes none of them.
        if keep_ids && !options.dry_run {
            let max_org = legacy_orgs.iter().map(|o| o.id).max().unwrap_or(0);
            self.store
                .reserve_ids(source.max_user_id().await?, max_org)
                .await?;
        }
        let orgs = self
            .import_organizations(&legacy_orgs, &options, &mut report)
            .await?;
        let secret_key = options.secret_key.as_ref().map(|k| k.expose().as_bytes());
        let api_digest = |t: &str| self.token_digest(t);
        let refresh_digest = |t: &str| self.legacy_refresh_digest(t);
        let ctx = Context {
            orgs: &orgs.ids,
            creators: &orgs.creators,
            creator_role: orgs.creator_role,
            secret_key,
            api_digest: &api_digest,
            refresh_digest: &refresh_digest,
            now: self.now_micros(),
        };
        let (mut after, mut done) = (0, 0u64);
        // Label Studio may hold two people whose emails differ only in case;
        // here an email is one account: the first is imported, the second reported.
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut batch = source.users_after(after, BATCH).await?;
        while let Some(last) = batch.last() {
            after = last.id;
            let parsed: Vec<Option<Email>> =
                batch.iter().map(|u| Email::parse(&u.email).ok()).collect();
            let emails: Vec<String> = parsed.iter().flatten().map(Email::to_string).collect();
            let present = self.store.ids_by_email(&emails).await?;
            let mut writes = Vec::with_capacity(batch.len());
            let mut source_ids = Vec::with_capacity(batch.len());
            for (u, email) in batch.iter().zip(parsed) {
                if let Some(e) = &email
                    && let Some(first) = seen.insert(e.to_string(), u.id)
                {
                    report.skipped.push(super::Skipped {
                        kind: "user",
                        source_id: u.id.to_string(),
                        reason: format!(
                            "email differs only in case from Label Studio's user {first}'s"
                        ),
                    });
                    continue;
                }
                let here = email.and_then(|e| present.get(e.as_str()).copied());
                if let Some(id) = here {
                    if keep_ids && id != u.id {
                        // Another source user's account, from an earlier run.
                        report.skipped.push(super::Skipped {
                            kind: "user",
                            source_id: u.id.to_string(),
                            reason: format!("email differs only in case from user {id}'s"),
                        });
                        continue;
                    }
                    report.users_already_present += 1;
                    if id != u.id {
                        report.id_mapping.push((u.id, id));
                    }
                    continue;
                }
                if let Some(w) = plan::user(u, keep_ids, &ctx, &mut report) {
                    source_ids.push(u.id);
                    writes.push(w);
                }
            }
            for w in &writes {
                plan::count(w, &mut report);
            }
            // The next batch is read while this one is written: the source
            // and the target are two databases, and the machine has cores.
            let write = async {
                if options.dry_run || writes.is_empty() {
                    Ok(source_ids.clone())
                } else {
                    self.store.insert_users(writes).await
                }
            };
            let (next, ids) = tokio::join!(source.users_after(after, BATCH), write);
            let ids = ids?;
            if !keep_ids {
                for (from, to) in source_ids.iter().zip(&ids) {
                    // A dry run knows no new ids: it maps only the matched.
                    if from != to && !options.dry_run {
                        report.id_mapping.push((*from, *to));
                    }
                }
            }
            done += batch.len() as u64;
            progress.users(done, total);
            batch = next?;
        }
        tracing::info!(
            users = report.users_imported,
            already_present = report.users_already_present,
            dry_run = options.dry_run,
            "Label Studio import done"
        );
        Ok(report)
    }

    /// Ids are kept only in a target that is empty or holds nothing but
    /// what an earlier run of this import wrote (same ids, same emails).
    async fn check_target_holds_only<L: LegacySource + Sync>(
        &self,
        source: &L,
        legacy_orgs: &[LegacyOrganization],
    ) -> Result<(), ImportError> {
        let (users, orgs) = self.store.census().await?;
        if orgs > 0 {
            for id in self.store.organization_ids().await? {
                if !legacy_orgs.iter().any(|o| o.id == id) {
                    return Err(ImportError::TargetNotEmpty(format!("organization {id}")));
                }
            }
        }
        if users == 0 {
            return Ok(());
        }
        let mut after = 0;
        loop {
            let page = ImportStore::users_after(&self.store, after, BATCH).await?;
            let Some(&(last, _)) = page.last() else {
                return Ok(());
            };
            after = last;
            let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
            let theirs = source.emails_of(&ids).await?;
            for (id, email) in page {
                let same = theirs
                    .get(&id)
                    .and_then(|e| Email::parse(e).ok())
                    .is_some_and(|e| e.as_str() == email);
                if !same {
                    return Err(ImportError::TargetNotEmpty(format!("user {id} <{email}>")));
                }
            }
        }
    }

    async fn import_organizations(
        &self,
        legacy: &[LegacyOrganization],
        options: &ImportOptions,
        report: &mut ImportReport,
    ) -> Result<Organizations, ImportError> {
        let existing = self.store.organization_ids().await?;
        let mut out = Organizations {
            ids: HashMap::new(),
            creators: legacy
                .iter()
                .filter_map(|o| o.created_by.map(|u| (o.id, u)))
                .collect(),
            creator_role: Role::Owner,
        };
        // --merge into a deployment that has an organization: everyone
        // joins its first one; Label Studio's creators as administrators
        // (the organization keeps its owner).
        if options.merge
            && let Some(&target) = existing.first()
        {
            out.creator_role = Role::Administrator;
            for o in legacy {
                out.ids.insert(o.id, target);
                report.organizations_already_present += 1;
                let Some(digest) = self.legacy_invite_digest(o, report) else {
                    continue;
                };
                let adopted =
                    options.dry_run || self.store.adopt_legacy_invite(target, digest).await?;
                report.invite_link_carried |= adopted;
                if !adopted {
                    report.skipped.push(super::Skipped {
                        kind: "invite_link",
                        source_id: o.id.to_string(),
                        reason: format!(
                            "organization {target} already accepts another Label Studio link"
                        ),
                    });
                }
            }
            return Ok(out);
        }
        let mut merged_into = None;
        for o in legacy {
            if let Some(target) = merged_into {
                // One organization, one owner: the first one's creator.
                out.creators.remove(&o.id);
                out.ids.insert(o.id, target);
                report.organizations_already_present += 1;
                continue;
            }
            let digest = self.legacy_invite_digest(o, report);
            if !options.merge && existing.contains(&o.id) {
                // Written by an earlier run (the target holds only this
                // source's organizations): as it is, link included.
                out.ids.insert(o.id, o.id);
                report.organizations_already_present += 1;
                continue;
            }
            let (invite, invite_digest) = self.fresh_invite()?;
            let org = ImportedOrganization {
                id: (!options.merge).then_some(o.id),
                title: o.title.clone(),
                contact_info: o.contact_info.clone(),
                created_by: if options.merge { None } else { o.created_by },
                invite,
                invite_digest,
                legacy_invite_digest: digest,
                tokens: plan::token_settings(o.tokens),
                created_at: o.created_at,
                updated_at: o.updated_at,
            };
            let id = if options.dry_run {
                o.id
            } else {
                self.store.insert_organization(org).await?
            };
            out.ids.insert(o.id, id);
            report.organizations_imported += 1;
            report.invite_link_carried |= digest.is_some();
            if options.merge {
                merged_into = Some(id);
            }
        }
        Ok(out)
    }

    /// The digest of an organization's Label Studio invite token, if it
    /// has one we can accept.
    fn legacy_invite_digest(
        &self,
        o: &LegacyOrganization,
        report: &mut ImportReport,
    ) -> Option<accounts::SecretDigest> {
        let raw = o.invite_token.as_ref()?;
        match InviteToken::parse_legacy(raw.expose()) {
            Ok(t) => Some(self.invite_digest(&t)),
            Err(e) => {
                report.skipped.push(super::Skipped {
                    kind: "invite_link",
                    source_id: o.id.to_string(),
                    reason: e.to_string(),
                });
                None
            }
        }
    }
}
