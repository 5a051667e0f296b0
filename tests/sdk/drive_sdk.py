"""Drive ls-server with Label Studio's own Python client, label-studio-sdk,
in both of its modes: a legacy API key (`Authorization: Token`), and a
personal access token (a JWT refresh token the SDK trades at
/api/token/refresh/ for access tokens it sends as `Authorization: Bearer`).

Run by tests/tests/sdk.rs with LS_URL and LS_TOKEN (the owner's API token).
Exits non-zero, with the failing step, on any mismatch.
"""
import os
import sys

from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

url = os.environ["LS_URL"]
token = os.environ["LS_TOKEN"]
ls = LabelStudio(base_url=url, api_key=token)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def api_calls(ls, mode, n):
    """The calls of the API issue, with one client; `n` keeps emails apart."""
    print(f"-- {mode} --")
    me = ls.users.whoami()
    check(me.email == "owner@example.com", f"users.whoami -> {me.email}")
    org_id = me.active_organization
    check(isinstance(org_id, int), "whoami carries the active organization")

    created = ls.users.create(
        username=f"sdkuser{n}", email=f"sdk{n}@example.com", first_name="Sdk", last_name="User", password="sdk-password-123"
    )
    check(created.email == f"sdk{n}@example.com" and created.username == f"sdkuser{n}", "users.create")

    users = ls.users.list()
    check(any(u.email == f"sdk{n}@example.com" for u in users), f"users.list has {len(users)} users")

    got = ls.users.get(id=created.id)
    check(got.first_name == "Sdk", "users.get")

    updated = ls.users.update(id=created.id, first_name="Renamed")
    check(updated.first_name == "Renamed", "users.update")
    check(ls.users.get(id=created.id).first_name == "Renamed", "users.update persisted")

    try:
        # The SDK has no email argument: send it as extra body, as a script might.
        ls.users.update(id=created.id, request_options={"additional_body_parameters": {"email": "x@example.com"}})
        check(False, "users.update(email) is refused")
    except ApiError as e:
        check(e.status_code == 405, f"users.update(email) -> {e.status_code}")
    check(ls.users.get(id=created.id).email == f"sdk{n}@example.com", "the email did not change")

    orgs = ls.organizations.list()
    check(len(orgs) == 1 and orgs[0].id == org_id, "organizations.list")

    org = ls.organizations.get(id=org_id)
    check(org.title in ("Label Studio", f"SDK Org {n - 1}"), f"organizations.get -> {org.title}")

    org = ls.organizations.update(id=org_id, title=f"SDK Org {n}")
    check(org.title == f"SDK Org {n}", "organizations.update")

    members = ls.organizations.members.list(id=org_id)
    emails = [m.user.email for m in members.items]
    check(f"sdk{n}@example.com" in emails and "owner@example.com" in emails, f"organizations.members.list -> {emails}")

    member = ls.organizations.members.get(id=org_id, user_pk=created.id)
    check(member.user == created.id or getattr(member.user, "id", None) == created.id, "organizations.members.get")

    link = ls.organizations.invites.get_invite_link()
    check(link.token and link.invite_url.endswith(link.token), f"organizations.invites.get_invite_link -> {link.invite_url}")

    reset = ls.organizations.reset_token()
    check(reset.token and reset.token != link.token, "organizations.reset_token")
    check(ls.organizations.invites.get_invite_link().token == reset.token, "the new invite link is current")

    ls.organizations.members.delete(id=org_id, user_pk=created.id)
    emails = [m.user.email for m in ls.organizations.members.list(id=org_id).items]
    check(f"sdk{n}@example.com" not in emails, "organizations.members.delete")
    # The owner keeps the last word on a removed member: the account goes too.
    ls.users.delete(id=created.id)
    try:
        ls.users.get(id=created.id)
        check(False, "users.delete of a removed member")
    except ApiError as e:
        check(e.status_code == 404, "users.delete of a removed member")

    second = ls.users.create(username=f"gone{n}", email=f"gone{n}@example.com")
    ls.users.delete(id=second.id)
    try:
        ls.users.get(id=second.id)
        check(False, "users.delete")
    except ApiError as e:
        check(e.status_code == 404, "users.delete")


api_calls(ls, "legacy API key", 1)

# Personal access tokens, made through the legacy client as a user would
# from the account page.
pat = ls.tokens.create()
check(pat.token and pat.token.count(".") == 2 and pat.expires_at, "tokens.create -> a JWT")
listed = ls.tokens.list()
check(len(listed) == 1 and pat.token.startswith(listed[0].token) and listed[0].token.count(".") == 1,
      "tokens.list shows the token without its signature")
try:
    ls.tokens.create()
    check(False, "a second live token is refused")
except ApiError as e:
    check(e.status_code == 409, f"a second live token -> {e.status_code}")
access = ls.tokens.refresh(refresh=pat.token)
check(access.access and access.access != pat.token, "tokens.refresh -> an access token")

settings = ls.jwt_settings.get()
check(settings.api_tokens_enabled and settings.legacy_api_tokens_enabled and settings.api_token_ttl_days == 200,
      f"jwt_settings.get -> {settings}")
settings = ls.jwt_settings.update(api_token_ttl_days=90, api_tokens_enabled=True, legacy_api_tokens_enabled=True)
check(settings.api_token_ttl_days == 90, "jwt_settings.update")
check(ls.jwt_settings.get().api_token_ttl_days == 90, "jwt_settings.update persisted")

keys = {"annotation:submit": {"key": "ctrl+enter", "active": True}}
check(ls.users.get_hotkeys().custom_hotkeys == {}, "users.get_hotkeys -> {}")
check(ls.users.update_hotkeys(custom_hotkeys=keys).custom_hotkeys == keys, "users.update_hotkeys")
check(ls.users.get_hotkeys().custom_hotkeys == keys, "users.update_hotkeys persisted")
try:
    ls.users.update_hotkeys(custom_hotkeys={"bad name": 7})
    check(False, "bad hotkeys are refused")
except ApiError as e:
    check(e.status_code == 400, f"bad hotkeys -> {e.status_code}")

version = ls.versions.get()
check(version.edition == "Community" and version.release, f"versions.get -> {version.release}")

# The same calls with the PAT as the SDK's API key: it switches to Bearer.
jwt = LabelStudio(base_url=url, api_key=pat.token)
check(not jwt._client_wrapper._tokens_client._use_legacy_token, "the SDK recognises the PAT")
me = jwt.users.whoami()
check(me.email == "owner@example.com", "users.whoami with a PAT")
api_calls(jwt, "personal access token", 2)
check(len(jwt.tokens.list()) == 1, "tokens.list with a PAT")
check(jwt.tokens.refresh(refresh=pat.token).access, "tokens.refresh with a PAT")
check(jwt.jwt_settings.get().api_token_ttl_days == 90, "jwt_settings.get with a PAT")
check(jwt.jwt_settings.update(api_token_ttl_days=200).api_token_ttl_days == 200, "jwt_settings.update with a PAT")
check(jwt.users.get_hotkeys().custom_hotkeys == keys, "users.get_hotkeys with a PAT")
check(jwt.users.update_hotkeys(custom_hotkeys={}).custom_hotkeys == {}, "users.update_hotkeys with a PAT")
check(jwt.versions.get().edition == "Community", "versions.get with a PAT")

# The PAT in X-Api-Key: the SDK trades it for an access token itself.
xkey = LabelStudio(base_url=url, api_key="unused", headers={"X-Api-Key": pat.token})
check(xkey.users.whoami().email == "owner@example.com", "users.whoami with the PAT in X-Api-Key")

# Revoking it stops the SDK's cached access token at its next call.
ls.tokens.blacklist(refresh=pat.token)
check(len(ls.tokens.list()) == 0, "tokens.blacklist")
try:
    jwt.users.whoami()
    check(False, "a revoked PAT's access token stops working at once")
except ApiError as e:
    check(e.status_code == 401, f"a revoked PAT's access token -> {e.status_code}")
try:
    ls.tokens.blacklist(refresh=pat.token)
    check(False, "blacklisting twice")
except ApiError as e:
    check(e.status_code == 404, f"blacklisting twice -> {e.status_code}")

new_token = ls.users.reset_token()
check(new_token.token and new_token.token != token, "users.reset_token")
try:
    ls.users.whoami()
    check(False, "the old token stops working")
except ApiError as e:
    check(e.status_code == 401, "the old token stops working")
ls2 = LabelStudio(base_url=url, api_key=new_token.token)
check(ls2.users.whoami().email == "owner@example.com", "the new token works")
print("all SDK calls passed")
