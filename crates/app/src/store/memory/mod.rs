//! A [`Store`](super::Store) in memory, for tests of the use-cases (and of
//! code that embeds them): the same contract as `infra`'s database store,
//! kept in one mutex-guarded state, so each call is atomic as a
//! transaction is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use accounts::throttle::Counter;
use accounts::{Email, PasswordHashString, SecretDigest};
use invites::InviteState;
use orgs::{OrgTitle, Role, TokenSettings};

use super::{
    AccountPlacement, CallerRecord, CreatedAccount, InviteLookup, InviteStore, MemberCursor,
    MemberScan, MembershipRecord, NewAccount, OrgRecord, OrgStore, PersonalTokenRecord, R,
    StoreError, TokenStore, UserChanges, UserRecord, UserStore, UserWithRole,
};

mod audit;
mod invitations;
mod lifecycle;
mod sessions;
mod sso;

#[derive(Debug, Clone)]
struct Session {
    user_id: i64,
    expires_at: i64,
    last_seen_at: i64,
}

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    users: BTreeMap<i64, UserRecord>,
    orgs: BTreeMap<i64, (OrgRecord, SecretDigest)>,
    memberships: Vec<MembershipRecord>,
    retired_invites: Vec<SecretDigest>,
    api_tokens: HashMap<i64, SecretDigest>,
    personal_tokens: Vec<PersonalTokenRecord>,
    sessions: HashMap<SecretDigest, Session>,
    throttle: HashMap<String, Counter>,
    /// Device cookies: digest -> (user, expires at, created in order).
    devices: HashMap<SecretDigest, (i64, i64, i64)>,
    sso_flows: HashMap<SecretDigest, super::SsoFlowRecord>,
    identities: Vec<super::IdentityRecord>,
    /// Password reset links by digest.
    reset_links: HashMap<SecretDigest, super::ResetLinkRecord>,
    /// The mail outbox: rows with the time they are due.
    outbox: Vec<(super::OutboxRecord, i64)>,
    invitations: Vec<invitations::Kept>,
    audit: Vec<super::AuditRecord>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn insert_org(
        &mut self,
        title: &OrgTitle,
        invite: &InviteState,
        digest: SecretDigest,
        created_by: Option<i64>,
        now: i64,
    ) -> OrgRecord {
        let org = OrgRecord {
            id: self.id(),
            title: title.as_str().to_owned(),
            contact_info: None,
            created_by,
            invite: invite.clone(),
            tokens: TokenSettings::default(),
            created_at: now,
            updated_at: now,
        };
        self.orgs.insert(org.id, (org.clone(), digest));
        org
    }

    fn add_member(&mut self, user_id: i64, organization_id: i64, role: Role, now: i64) {
        let id = self.id();
        self.memberships.push(MembershipRecord {
            id,
            user_id,
            organization_id,
            role,
            created_at: now,
            removed_at: None,
        });
    }

    fn current(&mut self, user_id: i64, org_id: i64) -> Option<&mut MembershipRecord> {
        self.memberships
            .iter_mut()
            .find(|m| m.user_id == user_id && m.organization_id == org_id && m.removed_at.is_none())
    }

    fn org_mut(&mut self, id: i64) -> R<&mut OrgRecord> {
        self.orgs
            .get_mut(&id)
            .map(|(o, _)| o)
            .ok_or(StoreError::NotFound("Organization"))
    }

    fn user_mut(&mut self, id: i64) -> R<&mut UserRecord> {
        self.users.get_mut(&id).ok_or(StoreError::NotFound("User"))
    }

    fn end_sessions(&mut self, user_id: i64) {
        self.sessions.retain(|_, s| s.user_id != user_id);
    }

    fn members(&self, org_id: i64) -> Vec<(MembershipRecord, UserRecord)> {
        let mut out: Vec<_> = self
            .memberships
            .iter()
            .filter(|m| m.organization_id == org_id && m.removed_at.is_none())
            .filter_map(|m| Some((m.clone(), self.users.get(&m.user_id)?.clone())))
            .collect();
        out.sort_by_key(|(m, _)| m.user_id);
        out
    }

    fn caller(&self, user_id: i64) -> Option<CallerRecord> {
        let user = self.users.get(&user_id)?.clone();
        let (membership, organization) = match user.active_organization {
            Some(org) => (
                self.memberships
                    .iter()
                    .find(|m| m.user_id == user.id && m.organization_id == org)
                    .cloned(),
                self.orgs.get(&org).map(|(o, _)| o.clone()),
            ),
            None => (None, None),
        };
        let owner_email = organization
            .as_ref()
            .and_then(|o| o.created_by)
            .and_then(|id| self.users.get(&id))
            .map(|u| u.email.as_str().to_owned());
        Some(CallerRecord {
            user,
            membership,
            organization,
            owner_email,
        })
    }

    fn revoke(&mut self, jti: &str, now: i64) -> bool {
        match self
            .personal_tokens
            .iter_mut()
            .find(|t| t.jti == jti && t.is_live(now))
        {
            Some(t) => {
                t.revoked_at = Some(now);
                true
            }
            None => false,
        }
    }
}

/// Storage in memory. Each method holds the one lock for its whole work.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many sessions are stored (for tests of what ends them).
    pub fn session_count(&self) -> usize {
        self.state().sessions.len()
    }
}

impl UserStore for MemoryStore {
    async fn create_account(&self, new: NewAccount) -> R<CreatedAccount> {
        let mut s = self.state();
        if s.users.values().any(|u| u.email == new.email) {
            return Err(StoreError::EmailTaken);
        }
        if let Some(i) = &new.identity
            && s.identities
                .iter()
                .any(|l| l.issuer == i.issuer && l.subject == i.subject)
        {
            return Err(StoreError::Conflict("identity already linked"));
        }
        let user_id = s.id();
        let (org_id, role, created_organization) = match &new.placement {
            AccountPlacement::Join {
                organization_id,
                role,
                invite,
            } => {
                s.org_mut(*organization_id)?;
                if let Some(d) = invite
                    && s.orgs.get(organization_id).map(|(_, cur)| cur) != Some(d)
                {
                    return Err(StoreError::InviteRetired);
                }
                (*organization_id, *role, false)
            }
            AccountPlacement::Invited {
                organization_id,
                role,
                invitation,
            } => {
                s.org_mut(*organization_id)?;
                invitations::consume(&mut s.invitations, invitation, new.now)?;
                (*organization_id, *role, false)
            }
            AccountPlacement::JoinFirstOrCreate {
                role,
                title,
                invite,
                invite_digest,
            } => match s.orgs.keys().next().copied() {
                Some(first) => (first, *role, false),
                None => {
                    let org = s.insert_org(title, invite, *invite_digest, Some(user_id), new.now);
                    (org.id, Role::Owner, true)
                }
            },
        };
        let user = UserRecord {
            id: user_id,
            email: new.email,
            username: new.username.as_str().to_owned(),
            first_name: new.first_name,
            last_name: new.last_name,
            phone: String::new(),
            is_active: true,
            password_hash: new.password_hash,
            active_organization: Some(org_id),
            date_joined: new.now,
            last_activity: None,
            allow_newsletters: false,
            custom_hotkeys: "{}".to_owned(),
        };
        s.users.insert(user_id, user.clone());
        s.add_member(user_id, org_id, role, new.now);
        s.api_tokens.insert(user_id, new.token_digest);
        if let Some(i) = new.identity {
            s.link(user_id, i);
        }
        Ok(CreatedAccount {
            user,
            organization_id: org_id,
            role,
            created_organization,
        })
    }

    async fn user_by_email(&self, email: &Email) -> R<Option<UserRecord>> {
        Ok(self
            .state()
            .users
            .values()
            .find(|u| u.email == *email)
            .cloned())
    }

    async fn user_by_id(&self, id: i64) -> R<Option<UserRecord>> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn list_users(&self) -> R<Vec<UserWithRole>> {
        let s = self.state();
        Ok(s.users
            .values()
            .map(|u| UserWithRole {
                user: u.clone(),
                role: u.active_organization.and_then(|org| {
                    s.memberships
                        .iter()
                        .find(|m| {
                            m.user_id == u.id && m.organization_id == org && m.removed_at.is_none()
                        })
                        .map(|m| m.role)
                }),
            })
            .collect())
    }

    async fn user_count(&self) -> R<u64> {
        Ok(self.state().users.len() as u64)
    }

    async fn set_password_hash(&self, user_id: i64, hash: PasswordHashString, _now: i64) -> R<()> {
        let mut s = self.state();
        s.user_mut(user_id)?.password_hash = Some(hash);
        s.end_sessions(user_id);
        s.devices.retain(|_, (u, _, _)| *u != user_id);
        s.reset_links.retain(|_, l| l.user_id != user_id);
        Ok(())
    }

    async fn upgrade_password_hash(
        &self,
        user_id: i64,
        old: &PasswordHashString,
        new: PasswordHashString,
        _now: i64,
    ) -> R<bool> {
        let mut s = self.state();
        let u = s.user_mut(user_id)?;
        if u.password_hash.as_ref() != Some(old) {
            return Ok(false);
        }
        u.password_hash = Some(new);
        Ok(true)
    }

    async fn set_active(&self, user_id: i64, active: bool, _now: i64) -> R<()> {
        let mut s = self.state();
        s.user_mut(user_id)?.is_active = active;
        if !active {
            s.end_sessions(user_id);
        }
        Ok(())
    }

    async fn update_user(&self, user_id: i64, changes: UserChanges, _now: i64) -> R<UserRecord> {
        let mut s = self.state();
        let u = s.user_mut(user_id)?;
        if let Some(v) = changes.first_name {
            u.first_name = v;
        }
        if let Some(v) = changes.last_name {
            u.last_name = v;
        }
        if let Some(v) = changes.username {
            u.username = v.as_str().to_owned();
        }
        if let Some(v) = changes.phone {
            u.phone = v;
        }
        if let Some(v) = changes.allow_newsletters {
            u.allow_newsletters = v;
        }
        if let Some(v) = changes.active_organization {
            u.active_organization = Some(v);
        }
        Ok(u.clone())
    }

    async fn set_hotkeys(&self, user_id: i64, stored: String, _now: i64) -> R<UserRecord> {
        let mut s = self.state();
        let u = s.user_mut(user_id)?;
        u.custom_hotkeys = stored;
        Ok(u.clone())
    }

    async fn record_activity(&self, user_id: i64, now: i64, unless_after: i64) -> R<bool> {
        let mut s = self.state();
        let Some(user) = s.users.get_mut(&user_id) else {
            return Ok(false);
        };
        if user.last_activity.is_some_and(|t| t >= unless_after) {
            return Ok(false);
        }
        user.last_activity = Some(now);
        Ok(true)
    }

    async fn delete_user(&self, user_id: i64) -> R<()> {
        let mut s = self.state();
        if s.users.remove(&user_id).is_none() {
            return Err(StoreError::NotFound("User"));
        }
        s.end_sessions(user_id);
        s.devices.retain(|_, (u, _, _)| *u != user_id);
        s.api_tokens.remove(&user_id);
        s.personal_tokens.retain(|t| t.user_id != user_id);
        s.identities.retain(|i| i.user_id != user_id);
        s.reset_links.retain(|_, l| l.user_id != user_id);
        s.memberships.retain(|m| m.user_id != user_id);
        for (org, _) in s.orgs.values_mut() {
            if org.created_by == Some(user_id) {
                org.created_by = None;
            }
        }
        Ok(())
    }
}

/// A snapshot of the members, taken when the scan began.
#[derive(Debug)]
pub struct MemoryScan {
    rows: std::collections::VecDeque<(MembershipRecord, UserRecord)>,
}

impl MemberScan for MemoryScan {
    async fn next_members(&mut self, limit: usize) -> R<Vec<(MembershipRecord, UserRecord)>> {
        let n = limit.min(self.rows.len());
        Ok(self.rows.drain(..n).collect())
    }

    async fn next_ids(&mut self, limit: usize) -> R<Vec<i64>> {
        let n = limit.min(self.rows.len());
        Ok(self.rows.drain(..n).map(|(m, _)| m.user_id).collect())
    }
}

impl OrgStore for MemoryStore {
    type Scan = MemoryScan;

    async fn organization(&self, id: i64) -> R<Option<OrgRecord>> {
        Ok(self.state().orgs.get(&id).map(|(o, _)| o.clone()))
    }

    async fn first_organization(&self) -> R<Option<OrgRecord>> {
        Ok(self.state().orgs.values().next().map(|(o, _)| o.clone()))
    }

    async fn organizations_of(&self, user_id: i64) -> R<Vec<OrgRecord>> {
        let s = self.state();
        Ok(s.orgs
            .values()
            .filter(|(o, _)| {
                s.memberships.iter().any(|m| {
                    m.user_id == user_id && m.organization_id == o.id && m.removed_at.is_none()
                })
            })
            .map(|(o, _)| o.clone())
            .collect())
    }

    async fn create_organization(
        &self,
        owner: i64,
        title: OrgTitle,
        invite: InviteState,
        invite_digest: SecretDigest,
        now: i64,
    ) -> R<OrgRecord> {
        let mut s = self.state();
        let org = s.insert_org(&title, &invite, invite_digest, Some(owner), now);
        s.add_member(owner, org.id, Role::Owner, now);
        Ok(org)
    }

    async fn update_organization(
        &self,
        org_id: i64,
        title: Option<OrgTitle>,
        contact_info: Option<Option<Email>>,
        now: i64,
    ) -> R<OrgRecord> {
        let mut s = self.state();
        let org = s.org_mut(org_id)?;
        if let Some(t) = title {
            org.title = t.as_str().to_owned();
        }
        if let Some(c) = contact_info {
            org.contact_info = c.map(|e| e.as_str().to_owned());
        }
        org.updated_at = now;
        Ok(org.clone())
    }

    async fn set_token_settings(
        &self,
        org_id: i64,
        change: super::orgs::TokenSettingsChange,
        now: i64,
    ) -> R<OrgRecord> {
        let mut s = self.state();
        let org = s.org_mut(org_id)?;
        org.tokens = change.apply(org.tokens);
        org.updated_at = now;
        Ok(org.clone())
    }

    async fn membership(&self, user_id: i64, org_id: i64) -> R<Option<MembershipRecord>> {
        Ok(self
            .state()
            .memberships
            .iter()
            .find(|m| m.user_id == user_id && m.organization_id == org_id)
            .cloned())
    }

    async fn member_count(&self, org_id: i64) -> R<Option<usize>> {
        let s = self.state();
        Ok(s.orgs
            .contains_key(&org_id)
            .then(|| s.members(org_id).len()))
    }

    async fn member_page(
        &self,
        org_id: i64,
        offset: usize,
        limit: usize,
    ) -> R<(usize, Vec<(MembershipRecord, UserRecord)>)> {
        let mut all = self.state().members(org_id);
        all.sort_by(|(_, a), (_, b)| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
        let count = all.len();
        Ok((count, all.into_iter().skip(offset).take(limit).collect()))
    }

    async fn member_scan(&self, org_id: i64, from: MemberCursor) -> R<Option<(usize, MemoryScan)>> {
        let s = self.state();
        if !s.orgs.contains_key(&org_id) {
            return Ok(None);
        }
        let mut rows = s.members(org_id);
        if matches!(from, MemberCursor::ByUsername(_)) {
            rows.sort_by(|(_, a), (_, b)| a.username.cmp(&b.username).then(a.id.cmp(&b.id)));
        }
        rows.retain(|(_, u)| from.precedes(u));
        Ok(Some((rows.len(), MemoryScan { rows: rows.into() })))
    }

    async fn set_role(&self, user_id: i64, org_id: i64, role: Role) -> R<()> {
        let mut s = self.state();
        s.current(user_id, org_id)
            .ok_or(StoreError::NotFound("Member"))?
            .role = role;
        Ok(())
    }

    async fn remove_membership(&self, user_id: i64, org_id: i64, now: i64) -> R<()> {
        let mut s = self.state();
        s.current(user_id, org_id)
            .ok_or(StoreError::NotFound("Member"))?
            .removed_at = Some(now);
        Ok(())
    }
}

impl InviteStore for MemoryStore {
    async fn find_invite(&self, digest: &SecretDigest) -> R<InviteLookup> {
        let s = self.state();
        if let Some((o, _)) = s.orgs.values().find(|(_, d)| d == digest) {
            return Ok(InviteLookup::Current(o.id));
        }
        Ok(if s.retired_invites.contains(digest) {
            InviteLookup::Retired
        } else {
            InviteLookup::Unknown
        })
    }

    async fn rotate_invite(
        &self,
        org_id: i64,
        rotate: impl FnOnce(&InviteState) -> (InviteState, SecretDigest) + Send,
        now: i64,
    ) -> R<OrgRecord> {
        let mut s = self.state();
        let (org, digest) = s
            .orgs
            .get_mut(&org_id)
            .ok_or(StoreError::NotFound("Organization"))?;
        let (new_state, new_digest) = rotate(&org.invite);
        let old = std::mem::replace(digest, new_digest);
        org.invite = new_state;
        org.updated_at = now;
        let org = org.clone();
        s.retired_invites.push(old);
        Ok(org)
    }
}

impl TokenStore for MemoryStore {
    async fn caller_by_token(&self, digest: &SecretDigest) -> R<Option<CallerRecord>> {
        let s = self.state();
        Ok(s.api_tokens
            .iter()
            .find(|(_, d)| *d == digest)
            .and_then(|(user, _)| s.caller(*user)))
    }

    async fn replace_token(&self, user_id: i64, digest: SecretDigest, _now: i64) -> R<()> {
        let mut s = self.state();
        s.user_mut(user_id)?;
        s.api_tokens.insert(user_id, digest);
        Ok(())
    }

    async fn create_personal_token(&self, token: PersonalTokenRecord, now: i64) -> R<()> {
        let mut s = self.state();
        if s.personal_tokens
            .iter()
            .any(|t| t.user_id == token.user_id && t.is_live(now))
        {
            return Err(StoreError::Conflict("a live personal access token exists"));
        }
        s.personal_tokens.push(token);
        Ok(())
    }

    async fn personal_tokens(&self, user_id: i64, now: i64) -> R<Vec<PersonalTokenRecord>> {
        Ok(self
            .state()
            .personal_tokens
            .iter()
            .filter(|t| t.user_id == user_id && t.is_live(now))
            .cloned()
            .collect())
    }

    async fn personal_token(&self, jti: &str) -> R<Option<PersonalTokenRecord>> {
        Ok(self
            .state()
            .personal_tokens
            .iter()
            .find(|t| t.jti == jti)
            .cloned())
    }

    /// Only an import from Label Studio makes such tokens, and it writes
    /// to the database, never here.
    async fn personal_token_by_legacy_digest(
        &self,
        _digest: &SecretDigest,
    ) -> R<Option<PersonalTokenRecord>> {
        Ok(None)
    }

    async fn caller_by_personal_token(
        &self,
        jti: &str,
        user_id: i64,
        now: i64,
    ) -> R<Option<CallerRecord>> {
        let s = self.state();
        let live = s
            .personal_tokens
            .iter()
            .any(|t| t.jti == jti && t.user_id == user_id && t.is_live(now));
        Ok(if live { s.caller(user_id) } else { None })
    }

    async fn mark_personal_token_used(&self, jti: &str, now: i64, unless_after: i64) -> R<()> {
        if let Some(t) = self
            .state()
            .personal_tokens
            .iter_mut()
            .find(|t| t.jti == jti && t.last_used_at.is_none_or(|at| at < unless_after))
        {
            t.last_used_at = Some(now);
        }
        Ok(())
    }

    async fn revoke_personal_token(&self, jti: &str, now: i64) -> R<bool> {
        Ok(self.state().revoke(jti, now))
    }

    async fn rotate_personal_token(
        &self,
        old_jti: &str,
        new: PersonalTokenRecord,
        now: i64,
    ) -> R<bool> {
        let mut s = self.state();
        if !s.revoke(old_jti, now) {
            return Ok(false);
        }
        s.personal_tokens.push(new);
        Ok(true)
    }
}
