"""A trust's jurisdictions are its setting (CLT_JURISDICTIONS, parcels/jurisdictions.py), not
Mississippi's counties: Durham's county file goes into durham-nc without a `-j` to remember, the
admin offers Durham's counties, and the migrations name none (QA: a second trust adopting clt,
finding 6: Hinds was the default everywhere, `-j other` on every import)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings
from django.urls import reverse

from clt import settings as clt_settings
from clt.cli import main
from parcels.models import ImportRun, Jurisdiction, Parcel
from tests import factories
from tests.adminpages import change_url, changelist_url, opened

DURHAM = (("durham-nc", "Durham County NC"), ("orange-nc", "Orange County NC"))
DEMO = (
    ("hinds-ms", "Hinds County, MS"),
    ("madison-ms", "Madison County, MS"),
    ("rankin-ms", "Rankin County, MS"),
    ("other", "Other"),
)


# --- the setting, read and refused ------------------------------------------------------------


def test_the_setting_is_slug_label_pairs_and_a_label_may_hold_a_comma(monkeypatch):
    durham = "durham-nc:Durham County NC, orange-nc: Orange County NC "
    monkeypatch.setenv("CLT_JURISDICTIONS", durham)
    assert clt_settings._env_jurisdictions("CLT_JURISDICTIONS", "x:X") == DURHAM
    monkeypatch.delenv("CLT_JURISDICTIONS")
    default = "hinds-ms:Hinds County, MS,madison-ms:Madison County, MS,rankin-ms:Rankin County, MS"
    assert clt_settings._env_jurisdictions("CLT_JURISDICTIONS", default + ",other:Other") == DEMO


def test_the_default_is_the_demos_so_existing_data_keeps_its_choices():
    assert clt_settings.CLT_JURISDICTIONS == DEMO


@pytest.mark.parametrize(
    ("value", "says"),
    [("Durham County NC", "'Durham County NC' has no slug"),
     ("Durham_NC:Durham County NC", "'Durham_NC' is not a slug"),
     ("d" * 33 + ":Durham County NC", f"'{'d' * 33}' is not a slug"),
     ("durham-nc:", "'durham-nc' has no label"),
     ("durham-nc:Durham,durham-nc:Durham again", "'durham-nc' comes twice")],
)  # fmt: skip
def test_a_malformed_setting_is_refused_naming_the_variable_and_the_part(monkeypatch, value, says):
    monkeypatch.setenv("CLT_JURISDICTIONS", value)
    with pytest.raises(ImproperlyConfigured) as refused:
        clt_settings._env_jurisdictions("CLT_JURISDICTIONS", "x:X")
    message = str(refused.value)
    assert message.startswith("CLT_JURISDICTIONS must be slug:label pairs")
    assert says in message
    assert "e.g. CLT_JURISDICTIONS=durham-nc:Durham County NC,orange-nc:Orange County NC" in message


# --- the models follow it; the migrations name none ---------------------------------------------


@override_settings(CLT_JURISDICTIONS=DURHAM)
def test_a_new_parcel_is_in_the_settings_first_jurisdiction_and_only_its_are_valid():
    assert Parcel().jurisdiction == "durham-nc"
    assert Jurisdiction.values == ["durham-nc", "orange-nc"]  # the map search's exact APNs
    field = Parcel._meta.get_field("jurisdiction")
    field.validate("orange-nc", Parcel())
    with pytest.raises(ValidationError, match="hinds-ms"):
        field.validate("hinds-ms", Parcel())


@pytest.mark.parametrize("model", [Parcel, ImportRun], ids=lambda m: m.__name__)
def test_the_field_deconstructs_with_no_trusts_list_for_a_migration(model):
    name, path, args, kwargs = model._meta.get_field("jurisdiction").deconstruct()
    assert (path, args, kwargs) == ("django.db.models.CharField", [], {"max_length": 32})


# --- clt import-parcels -----------------------------------------------------------------------


def two_lots(path: Path) -> Path:
    """Two 30 x 45 m lots in Jackson (where the test registry's metric CRS keeps land)."""
    lots = [shapely.box(-90.2010 + i * 0.0004, 32.2990, -90.2007 + i * 0.0004, 32.2994)
            for i in range(2)]  # fmt: skip
    frame = gpd.GeoDataFrame({"apn": ["0831-12-95-4431", "0831-12-95-4432"]}, geometry=lots,
                             crs="EPSG:4326")  # fmt: skip
    frame.to_file(path, engine="pyogrio")
    return path


def clt(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.django_db
@override_settings(CLT_JURISDICTIONS=DURHAM)
def test_an_import_naming_no_jurisdiction_goes_into_the_settings_first(tmp_path):
    source = two_lots(tmp_path / "durham.gpkg")
    result = clt("import-parcels", str(source), "--quiet", "--rejects-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(Parcel.objects.values_list("jurisdiction", "apn")) == [
        ("durham-nc", "0831-12-95-4431"), ("durham-nc", "0831-12-95-4432")
    ]  # fmt: skip
    assert ImportRun.objects.get().jurisdiction == "durham-nc"


@override_settings(CLT_JURISDICTIONS=DURHAM)
def test_the_option_offers_the_settings_jurisdictions_and_refuses_others():
    help_text = clt("import-parcels", "--help").output
    assert "[durham-nc|orange-nc]" in help_text and "[default: durham-nc]" in help_text
    refused = clt("import-parcels", "durham.gpkg", "-j", "hinds-ms")
    assert refused.exit_code == 2
    assert "'hinds-ms' is not one of 'durham-nc', 'orange-nc'" in refused.output


# --- the admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(CLT_JURISDICTIONS=DURHAM)
def test_the_admin_offers_the_settings_jurisdictions_the_first_chosen(editor):
    html = editor.get(reverse("admin:parcels_parcel_add")).content.decode()
    assert '<option value="durham-nc" selected>Durham County NC</option>' in html
    assert '<option value="orange-nc">Orange County NC</option>' in html
    assert "hinds-ms" not in html
    listing = editor.get(changelist_url(Parcel)).content.decode()
    assert "?jurisdiction__exact=orange-nc" in listing  # the list's filter


@pytest.mark.django_db
@override_settings(CLT_JURISDICTIONS=DURHAM)
def test_a_parcel_in_a_jurisdiction_left_out_of_the_setting_is_shown_and_never_moved_unseen(
    editor,
):
    parcel = factories.parcel(jurisdiction="other")
    data = opened(editor, parcel)
    html = editor.get(change_url(parcel)).content.decode()
    assert '<option value="other" selected>other (not in CLT_JURISDICTIONS)</option>' in html
    response = editor.post(change_url(parcel), data)
    assert response.status_code == 200  # the form again
    [error] = response.context["adminform"].form.errors["jurisdiction"]
    assert error == ("other is not one of the trust's jurisdictions (CLT_JURISDICTIONS): "
                     "choose one of them, or add it to the setting")  # fmt: skip
    parcel.refresh_from_db()
    assert parcel.jurisdiction == "other"
