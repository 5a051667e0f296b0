//! The in-memory store's single sign-on identities and login flows.

use accounts::SecretDigest;

use super::super::{
    IdentityRecord, NewIdentity, NewSsoFlow, R, SsoFlowRecord, SsoStore, StoreError,
};
use super::{MemoryStore, State};

impl State {
    pub(super) fn link(&mut self, user_id: i64, i: NewIdentity) -> IdentityRecord {
        let record = IdentityRecord {
            id: self.id(),
            user_id,
            provider: i.provider,
            issuer: i.issuer,
            subject: i.subject,
            email: i.email,
            created_at: i.now,
            last_login_at: Some(i.now),
        };
        self.identities.push(record.clone());
        record
    }
}

impl SsoStore for MemoryStore {
    async fn create_sso_flow(&self, flow: NewSsoFlow) -> R<()> {
        let mut s = self.state();
        s.sso_flows.retain(|_, f| f.expires_at > flow.now);
        s.sso_flows.insert(
            flow.state_digest,
            SsoFlowRecord {
                provider: flow.provider,
                invite_digest: flow.invite_digest,
                next: flow.next,
                throttle_key: flow.throttle_key,
                expires_at: flow.expires_at,
            },
        );
        Ok(())
    }

    async fn take_sso_flow(
        &self,
        state_digest: &SecretDigest,
        now: i64,
    ) -> R<Option<SsoFlowRecord>> {
        Ok(self
            .state()
            .sso_flows
            .remove(state_digest)
            .filter(|f| f.expires_at > now))
    }

    async fn identity(&self, issuer: &str, subject: &str) -> R<Option<IdentityRecord>> {
        Ok(self
            .state()
            .identities
            .iter()
            .find(|i| i.issuer == issuer && i.subject == subject)
            .cloned())
    }

    async fn link_identity(&self, user_id: i64, identity: NewIdentity) -> R<IdentityRecord> {
        let mut s = self.state();
        if !s.users.contains_key(&user_id) {
            return Err(StoreError::NotFound("User"));
        }
        if s.identities
            .iter()
            .any(|l| l.issuer == identity.issuer && l.subject == identity.subject)
        {
            return Err(StoreError::Conflict("identity already linked"));
        }
        s.end_sessions(user_id);
        Ok(s.link(user_id, identity))
    }

    async fn touch_identity(&self, id: i64, now: i64) -> R<()> {
        if let Some(i) = self.state().identities.iter_mut().find(|i| i.id == id) {
            i.last_login_at = Some(now);
        }
        Ok(())
    }

    async fn identities_of(&self, user_id: i64) -> R<Vec<IdentityRecord>> {
        Ok(self
            .state()
            .identities
            .iter()
            .filter(|i| i.user_id == user_id)
            .cloned()
            .collect())
    }

    async fn unlink_identity(
        &self,
        user_id: i64,
        id: i64,
        keep_one_of: Option<&[String]>,
    ) -> R<bool> {
        let mut s = self.state();
        if let Some(names) = keep_one_of
            && !s
                .identities
                .iter()
                .any(|i| i.user_id == user_id && i.id != id && names.contains(&i.provider))
        {
            return Ok(false);
        }
        let before = s.identities.len();
        s.identities
            .retain(|i| !(i.id == id && i.user_id == user_id));
        Ok(s.identities.len() != before)
    }
}
