"""Staff roles: editors change the registry but never delete its records; readers only read."""

import pytest
from django.contrib.auth.models import Group, Permission

from clt.roles import EDITOR, READ_ONLY, apply_roles, grant_role, role
from tests import factories

pytestmark = pytest.mark.django_db


def codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_migrate_creates_the_editor_and_read_only_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {EDITOR, READ_ONLY}


def test_editor_may_add_change_and_view_parcels_and_leases():
    granted = codenames(EDITOR)
    for app, model in [("parcels", "parcel"), ("parcels", "holding"), ("leases", "groundlease")]:
        assert {f"{app}.add_{model}", f"{app}.change_{model}", f"{app}.view_{model}"} <= granted


def test_editor_may_never_delete_parcels_holdings_leases_or_parties():
    granted = codenames(EDITOR)
    forbidden = {
        "parcels.delete_parcel",
        "parcels.delete_holding",
        "parcels.delete_holdingparcel",
        "leases.delete_groundlease",
        "leases.delete_party",
        "leases.delete_resale",
        "leases.delete_monitoringevent",
    }
    assert granted & forbidden == set()


def test_editor_may_delete_only_rows_that_correct_a_typing_mistake():
    deletes = {name for name in codenames(EDITOR) if ".delete_" in name}
    assert deletes == {
        "leases.delete_partymember",
        "leases.delete_indexvalue",
        "leases.delete_sourcedocument",
        "parcels.delete_easementmonitoringvisit",
    }


def test_read_only_may_view_and_nothing_else():
    granted = codenames(READ_ONLY)
    assert "parcels.view_parcel" in granted
    assert "leases.view_groundlease" in granted
    assert {name.split(".")[1].split("_")[0] for name in granted} == {"view"}


def test_read_only_sees_every_model_the_editor_sees():
    viewed = {name.replace(".view_", ".") for name in codenames(READ_ONLY)}
    assert viewed == {name.replace(".view_", ".") for name in codenames(EDITOR) if ".view_" in name}


def test_both_roles_see_history_and_neither_writes_it():
    for name in (EDITOR, READ_ONLY):
        granted = codenames(name)
        assert {"pghistory.view_events", "parcels.view_parcelevent"} <= granted
        assert not {g for g in granted if g.endswith("event") and ".view_" not in g} - {
            # MonitoringEvent and AcquisitionEvent are registry records, not history events
            "leases.add_monitoringevent",
            "leases.change_monitoringevent",
            "parcels.add_acquisitionevent",
            "parcels.change_acquisitionevent",
        }


def test_reapplying_the_roles_takes_back_a_permission_granted_by_hand():
    editors = Group.objects.get(name=EDITOR)
    editors.permissions.add(Permission.objects.get(codename="delete_parcel"))

    apply_roles()

    assert "parcels.delete_parcel" not in codenames(EDITOR)


def test_applying_the_roles_twice_changes_nothing():
    first = apply_roles()
    assert apply_roles() == first
    assert Group.objects.filter(name__in=[EDITOR, READ_ONLY]).count() == 2


def test_granting_a_role_makes_the_user_staff_with_its_permissions():
    user = factories.user("ella")

    grant_role(user, READ_ONLY)

    user.refresh_from_db()
    assert user.is_staff
    assert user.has_perm("parcels.view_parcel")
    assert not user.has_perm("parcels.change_parcel")


def test_an_unknown_role_is_refused_with_the_known_roles_named():
    with pytest.raises(KeyError, match="editor, read-only"):
        role("manager")
