"""Drive ls-server with Label Studio's own Python client, label-studio-sdk.

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


me = ls.users.whoami()
check(me.email == "owner@example.com", f"users.whoami -> {me.email}")
org_id = me.active_organization
check(isinstance(org_id, int), "whoami carries the active organization")

created = ls.users.create(
    username="sdkuser", email="sdk@example.com", first_name="Sdk", last_name="User", password="sdk-password-123"
)
check(created.email == "sdk@example.com" and created.username == "sdkuser", "users.create")

users = ls.users.list()
check(any(u.email == "sdk@example.com" for u in users), f"users.list has {len(users)} users")

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
check(ls.users.get(id=created.id).email == "sdk@example.com", "the email did not change")

orgs = ls.organizations.list()
check(len(orgs) == 1 and orgs[0].id == org_id, "organizations.list")

org = ls.organizations.get(id=org_id)
check(org.title == "Label Studio", f"organizations.get -> {org.title}")

org = ls.organizations.update(id=org_id, title="SDK Org")
check(org.title == "SDK Org", "organizations.update")

members = ls.organizations.members.list(id=org_id)
emails = [m.user.email for m in members.items]
check("sdk@example.com" in emails and "owner@example.com" in emails, f"organizations.members.list -> {emails}")

member = ls.organizations.members.get(id=org_id, user_pk=created.id)
check(member.user == created.id or getattr(member.user, "id", None) == created.id, "organizations.members.get")

link = ls.organizations.invites.get_invite_link()
check(link.token and link.invite_url.endswith(link.token), f"organizations.invites.get_invite_link -> {link.invite_url}")

reset = ls.organizations.reset_token()
check(reset.token and reset.token != link.token, "organizations.reset_token")
check(ls.organizations.invites.get_invite_link().token == reset.token, "the new invite link is current")

ls.organizations.members.delete(id=org_id, user_pk=created.id)
emails = [m.user.email for m in ls.organizations.members.list(id=org_id).items]
check("sdk@example.com" not in emails, "organizations.members.delete")

second = ls.users.create(username="gone", email="gone@example.com")
ls.users.delete(id=second.id)
try:
    ls.users.get(id=second.id)
    check(False, "users.delete")
except ApiError as e:
    check(e.status_code == 404, "users.delete")

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
