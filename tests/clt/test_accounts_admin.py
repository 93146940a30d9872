"""A user's or a role's admin page saved after someone changed it is refused, not written over
the change (clt/accounts_admin.py): a role taken away is not given back by an older page."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from clt.concurrency import FIELD, decode
from clt.roles import EDITOR, READ_ONLY, apply_roles
from tests import factories
from tests.adminpages import change_url, opened, refusal

pytestmark = pytest.mark.django_db


def superuser(username: str) -> Client:
    browser = Client()
    browser.force_login(factories.user(username, is_staff=True, is_superuser=True))
    return browser


def test_an_older_page_cannot_give_back_a_role_taken_away():
    leaver = factories.user("leaver", role=EDITOR, is_staff=True)
    ada, ben = superuser("ada"), superuser("ben")
    stale = opened(ben, leaver)
    taken = opened(ada, leaver)
    taken["groups"] = []
    assert ada.post(change_url(leaver), taken).status_code == 302
    stale["email"] = "leaver@example.org"  # a small edit on the page opened before
    said = refusal(ben.post(change_url(leaver), stale))
    assert "changed after you opened this page" in said and "groups" in said
    leaver.refresh_from_db()
    assert list(leaver.groups.all()) == [] and leaver.email == ""


def test_a_fresh_page_saves_and_logging_in_meanwhile_refuses_nothing():
    member = factories.user("member", role=READ_ONLY, is_staff=True)
    ada = superuser("ada")
    data = opened(ada, member)
    assert "last_login" not in data  # shown, not a field the page writes back
    Client().force_login(member)  # the member logs in: the system writes last_login
    data["email"] = "member@example.org"
    assert ada.post(change_url(member), data).status_code == 302
    member.refresh_from_db()
    assert member.email == "member@example.org" and member.groups.get().name == READ_ONLY


def test_the_page_carries_no_digest_of_the_password_hash():
    member = factories.user("member", is_staff=True)
    ada = superuser("ada")
    page = ada.get(change_url(member))
    fingerprint = factories.hidden_fingerprint(page)[FIELD]
    assert "password" not in decode(fingerprint) and "groups" in decode(fingerprint)


def test_an_older_role_page_cannot_put_back_a_permission_taken_away():
    apply_roles()
    role = Group.objects.get(name=READ_ONLY)
    ada, ben = superuser("ada"), superuser("ben")
    stale = opened(ben, role)
    taken = opened(ada, role)
    kept = taken["permissions"][1:]
    taken["permissions"] = kept
    assert ada.post(change_url(role), taken).status_code == 302
    stale["name"] = READ_ONLY  # saved again as it was opened
    said = refusal(ben.post(change_url(role), stale))
    assert "permissions" in said
    assert sorted(str(p) for p in role.permissions.values_list("pk", flat=True)) == sorted(kept)


def test_the_user_admin_is_the_guarded_one():
    from django.contrib import admin

    from clt.accounts_admin import GuardedGroupAdmin, GuardedUserAdmin

    assert isinstance(admin.site._registry[get_user_model()], GuardedUserAdmin)
    assert isinstance(admin.site._registry[Group], GuardedGroupAdmin)
