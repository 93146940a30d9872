"""Published index tables load from CSV with their source, all or nothing, and price leases."""

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leases.indexes import (
    INDEX_DIR,
    IndexFileError,
    IndexLoadRefused,
    IndexLookupError,
    income_limit,
    index_load,
    load_index_folder,
)
from leases.models import IndexSeries, IndexValue
from leases.pricing import max_resale_price
from tests import factories

pytestmark = pytest.mark.django_db

HUD_FILE = INDEX_DIR / "jackson-ms-hud-income-limits-2024.csv"
AMI_FILE = INDEX_DIR / "illustrative-demo-ami.csv"
HUD = "jackson-ms-hud-income-limits"
SOURCE = "HUD, FY2024 income limits, https://www.huduser.gov/portal/datasets/il.html"


def write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, series: str = "test-series", kind: str = "ami", source=SOURCE, **extra):
    return index_load(path=path, series=series, kind=kind, source=source, **extra)


def test_hud_fixture_holds_exactly_the_three_figures_domain_md_gives():
    with HUD_FILE.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"year": "2024", "household_size": "4", "percent_of_median": "30", "value": "22100"},
        {"year": "2024", "household_size": "4", "percent_of_median": "50", "value": "36750"},
        {"year": "2024", "household_size": "4", "percent_of_median": "80", "value": "58750"},
    ]


def test_fixture_sources_say_approximate_and_illustrative():
    load_index_folder()
    hud = IndexSeries.objects.get(name=HUD)
    ami = IndexSeries.objects.get(name="illustrative-demo-ami")
    assert hud.kind == "hud_income_limit"
    assert hud.area == "Jackson, MS MSA"
    assert "APPROXIMATE, THIRD-PARTY" in hud.source
    assert "confirm against HUD's published file" in hud.source
    assert ami.source.startswith("ILLUSTRATIVE: made-up values")
    assert hud.loaded_from.startswith("jackson-ms-hud-income-limits-2024.csv (sha256 ")


def test_hud_income_limits_load_as_published_and_are_read_back_exactly():
    loaded = load(HUD_FILE, series=HUD, kind="hud_income_limit", area="Jackson, MS MSA")
    assert loaded.values == 3
    assert income_limit(HUD, year=2024, household_size=4, percent_of_median=30) == Decimal("22100")
    assert income_limit(HUD, year=2024, household_size=4, percent_of_median=50) == Decimal("36750")
    assert income_limit(HUD, year=2024, household_size=4, percent_of_median=80) == Decimal("58750")


def test_an_income_limit_hud_did_not_publish_is_an_error_not_a_percentage_of_the_median():
    load(HUD_FILE, series=HUD, kind="hud_income_limit")
    with pytest.raises(
        IndexLookupError, match="no income limit for 2024, 3 persons, 80% of median"
    ):
        income_limit(HUD, year=2024, household_size=3, percent_of_median=80)
    with pytest.raises(IndexLookupError, match="no index series named 'nowhere'"):
        income_limit("nowhere", year=2024, household_size=4, percent_of_median=80)


def test_replacing_a_series_makes_it_the_file_with_the_files_source(tmp_path):
    load(write(tmp_path, "year,value\n2019,60000\n2020,61000\n2021,62000\n"))
    reloaded = index_load(
        path=write(tmp_path, "year,value\n2019,60000\n2024,66000\n"),
        series="test-series", kind="ami", source="HUD, revised table", replace=True,
    )  # fmt: skip
    assert (reloaded.values, reloaded.added, reloaded.kept, reloaded.removed) == (2, 1, 1, 2)
    assert str(reloaded) == (
        "series 'test-series' (ami): 2 values, replacing the series (added 1, updated 0, "
        "kept 1, removed 2)"
    )
    series = IndexSeries.objects.get(name="test-series")
    assert series.source == "HUD, revised table"
    assert sorted(series.values.values_list("year", "source")) == [
        (2019, "HUD, revised table"), (2024, "HUD, revised table"),
    ]  # fmt: skip


# --- this year's figure, loaded alone (finding 7) ------------------------------------------------

AMI = "illustrative-demo-ami"
AMI_2027 = "year,value\n2027,79000\n"


def ami_lease(purchase_date: dt.date, **fields):
    return factories.lease(
        purchase_price=Decimal("59000.00"), purchase_date=purchase_date,
        resale_formula={"type": "index", "series": AMI}, **fields,
    )  # fmt: skip


def test_loading_this_years_figure_alone_adds_it_and_keeps_the_earlier_years(tmp_path):
    load_index_folder()  # 2015-2026
    lease = ami_lease(dt.date(2019, 12, 2))

    loaded = load(write(tmp_path, AMI_2027), series=AMI, source="HUD FY2027")

    assert str(loaded) == (
        "series 'illustrative-demo-ami' (ami): 13 values (added 1, updated 0, kept 12)"
    )
    years = IndexValue.objects.filter(series__name=AMI).values_list("year", flat=True)
    assert sorted(years) == list(range(2015, 2028))
    # 59,000 x 79,000 / 62,500: the lease still prices from its 2019 purchase
    assert max_resale_price(lease, on=dt.date(2027, 3, 1)).price == Decimal("74576.00")


def test_a_merge_updates_a_year_whose_value_changed_with_its_new_source(tmp_path):
    load_index_folder()

    loaded = load(write(tmp_path, "year,value\n2025,76000\n2026,77400\n"), series=AMI,
                  source="HUD FY2025, revised")  # fmt: skip

    assert (loaded.added, loaded.updated, loaded.kept) == (0, 1, 11)
    value = IndexValue.objects.get(series__name=AMI, year=2025)
    assert (value.value, value.source) == (Decimal("76000.0000"), "HUD FY2025, revised")
    unchanged = IndexValue.objects.get(series__name=AMI, year=2026)
    assert unchanged.source.startswith("ILLUSTRATIVE: made-up values")


def test_a_merge_from_a_second_source_names_each_source_with_its_years(tmp_path):
    load_index_folder()
    first = IndexSeries.objects.get(name=AMI).source

    load(write(tmp_path, AMI_2027, name="ami-2027.csv"), series=AMI, source="HUD FY2027")

    series = IndexSeries.objects.get(name=AMI)
    assert series.source == f"HUD FY2027 (2027); {first} (2015–2026)"
    assert series.loaded_from.startswith("ami-2027.csv (sha256 ")
    assert series.area == "ILLUSTRATIVE (demo only)"  # no --area: the series keeps its own
    provenance = IndexValue.objects.get(series=series, year=2027)
    assert (provenance.source, provenance.loaded_from) == ("HUD FY2027", series.loaded_from)


def test_a_merge_into_a_table_of_another_kind_is_refused_and_loads_nothing(tmp_path):
    load_index_folder()

    with pytest.raises(IndexFileError, match="'illustrative-demo-ami' is a table of kind ami"):
        load(write(tmp_path, "year,month,value\n2027,1,320.1\n"), series=AMI, kind="cpi")

    assert IndexValue.objects.filter(series__name=AMI).count() == 12


def test_a_replace_dropping_a_year_a_lease_reads_is_refused_naming_the_lease_and_year(tmp_path):
    load_index_folder()
    ami_lease(dt.date(2019, 12, 2), reference="GL-2019-004")
    ami_lease(dt.date(2022, 4, 1), reference="GL-2022-013")
    ended = ami_lease(dt.date(2016, 5, 1), reference="GL-2016-020", status="terminated",
                      ended_on=dt.date(2018, 1, 1))  # fmt: skip
    before = IndexSeries.objects.get(name=AMI)
    only_lately = "year,value\n" + "".join(f"{y},{70000 + y}\n" for y in range(2020, 2028))

    with pytest.raises(IndexLoadRefused) as refused:
        load(write(tmp_path, only_lately), series=AMI, source="HUD FY2027", replace=True)

    message = str(refused.value)
    assert "lease GL-2019-004 reads year 2019 (the index for its purchase on 2019-12-02)" in (
        message
    )
    assert "GL-2022-013" not in message  # 2022 and today's year are in the file
    assert ended.reference not in message  # ended in 2018: its rules no longer apply
    after = IndexSeries.objects.get(name=AMI)
    assert (after.source, after.values.count()) == (before.source, 12)


def test_a_replace_dropping_only_years_no_lease_reads_goes_through(tmp_path):
    load_index_folder()
    ami_lease(dt.date(2022, 4, 1))
    from_2020 = "year,value\n" + "".join(f"{y},{70000 + y}\n" for y in range(2020, 2028))

    loaded = load(write(tmp_path, from_2020), series=AMI, source="HUD FY2027", replace=True)

    assert (loaded.values, loaded.removed) == (8, 5)


def test_a_replace_dropping_the_income_limit_a_lease_targets_today_is_refused(tmp_path):
    load(HUD_FILE, series=HUD, kind="hud_income_limit")  # 2024: in effect from then on
    factories.lease(
        reference="GL-2025-011", purchase_date=dt.date(2025, 8, 1),
        resale_formula={
            "type": "mortgage_based", "housing_cost_share": "0.30", "interest_rate": "0.065",
            "term_years": 30, "down_payment": "5000", "percent_of_median": 80,
            "household_size": 4,
        },
    )  # fmt: skip
    limits_2023 = "year,household_size,percent_of_median,value\n2023,4,80,55900\n"

    with pytest.raises(IndexLoadRefused, match="lease GL-2025-011 reads year 2024, household "
                       "size 4, 80% of median \\(the HUD income limit in effect today\\)"):
        load(write(tmp_path, limits_2023), series=HUD, kind="hud_income_limit", replace=True)

    assert income_limit(HUD, year=2024, household_size=4, percent_of_median=80) == 58750


def test_a_replace_dropping_the_8_person_limit_a_9_person_household_reads_is_refused(tmp_path):
    # HUD lists no 9-person limit: the lease's is derived from the 4- and 8-person limits.
    table = "year,household_size,percent_of_median,value\n2024,4,80,40400\n2024,8,80,53350\n"
    load(write(tmp_path, table), series=HUD, kind="hud_income_limit")
    factories.lease(
        reference="GL-2025-012", purchase_date=dt.date(2025, 8, 1),
        resale_formula={
            "type": "mortgage_based", "housing_cost_share": "0.30", "interest_rate": "0.065",
            "term_years": 30, "down_payment": "5000", "percent_of_median": 80,
            "household_size": 9,
        },
    )  # fmt: skip
    only_4_persons = "year,household_size,percent_of_median,value\n2024,4,80,40400\n"

    with pytest.raises(IndexLoadRefused, match="lease GL-2025-012 reads year 2024, household "
                       "size 8, 80% of median \\(the HUD income limit in effect today, from "
                       "which its 9-person limit is derived\\)"):
        load(write(tmp_path, only_4_persons, "4.csv"), series=HUD, kind="hud_income_limit",
             replace=True)  # fmt: skip

    assert income_limit(HUD, year=2024, household_size=8, percent_of_median=80) == 53350


def test_values_keep_four_decimal_places_and_months(tmp_path):
    load(write(tmp_path, "year,month,value\n2024,1,308.4170\n2024,2,310.3260\n"), kind="cpi")
    values = IndexValue.objects.order_by("month").values_list("month", "value")
    assert list(values) == [(1, Decimal("308.4170")), (2, Decimal("310.3260"))]


def test_a_non_numeric_value_names_the_row_and_column_and_loads_nothing(tmp_path):
    path = write(tmp_path, "year,value\n2019,60000\n2020,sixty-one\n")
    with pytest.raises(IndexFileError, match=r"row 3 value: 'sixty-one' is not a number"):
        load(path)
    assert not IndexSeries.objects.exists()
    assert not IndexValue.objects.exists()


def test_a_duplicate_key_names_both_rows(tmp_path):
    path = write(
        tmp_path,
        "year,household_size,percent_of_median,value\n"
        "2024,4,80,58750\n2024,4,50,36750\n2024,4,80,58000\n",
    )
    with pytest.raises(
        IndexFileError,
        match=r"row 4: year 2024, household size 4, 80% of median appears twice \(first on row 2\)",
    ):
        load(path, kind="hud_income_limit")


def test_every_bad_row_is_listed_at_once(tmp_path):
    path = write(tmp_path, "year,value\n20x9,1\n2020,-5\n2021,0\n2022,1.23456\n")
    with pytest.raises(IndexFileError) as error:
        load(path)
    message = str(error.value)
    assert message.startswith("table.csv: 4 bad rows, nothing loaded:")
    assert "row 2 year: '20x9' is not a whole number" in message
    assert "row 3 value: must be greater than zero (got -5)" in message
    assert "row 4 value: must be greater than zero (got 0)" in message
    assert "row 5 value: at most 4 decimal places (got 1.23456)" in message


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(
        IndexFileError, match=r"missing column 'value' \(the file has: year, amount\)"
    ):
        load(write(tmp_path, "year,amount\n2024,1\n"))


def test_a_typo_d_column_is_refused_rather_than_ignored(tmp_path):
    path = write(tmp_path, "year,housedold_size,percent_of_median,value\n2024,4,80,58750\n")
    with pytest.raises(IndexFileError, match="unknown column 'housedold_size'"):
        load(path, kind="hud_income_limit")


def test_a_hud_income_limit_needs_its_household_size_and_level(tmp_path):
    with pytest.raises(IndexFileError, match="row 2 household_size: is required for HUD income"):
        load(write(tmp_path, "year,value\n2024,58750\n"), kind="hud_income_limit")


def test_a_file_with_no_rows_or_not_there_is_refused(tmp_path):
    with pytest.raises(IndexFileError, match="has a header but no rows"):
        load(write(tmp_path, "year,value\n"))
    with pytest.raises(IndexFileError, match="file not found"):
        load(tmp_path / "missing.csv")


def test_a_series_needs_a_source_and_a_known_kind(tmp_path):
    path = write(tmp_path, "year,value\n2024,1\n")
    with pytest.raises(IndexFileError, match="source: say where the figures come from"):
        index_load(path=path, series="s", kind="ami", source="  ")
    with pytest.raises(IndexFileError, match="kind: 'wages' is not one of"):
        index_load(path=path, series="s", kind="wages", source=SOURCE)


def test_lease_pricing_reads_a_loaded_index_table():
    """docs/domain.md example 3's shape, through the database: the illustrative AMI table moves
    $59,000 from 2019 (62,500) to 2026 (77,400)."""
    load_index_folder()
    lease = factories.lease(
        purchase_price=Decimal("59000.00"),
        purchase_date=dt.date(2019, 12, 2),
        resale_formula={"type": "index", "series": "illustrative-demo-ami"},
    )
    result = max_resale_price(lease, on=dt.date(2026, 6, 1))
    assert result.price == Decimal("73065.60")  # 59,000 x 77,400 / 62,500


def test_a_year_missing_from_a_loaded_table_is_named():
    load_index_folder()
    lease = factories.lease(
        purchase_date=dt.date(2014, 6, 1),
        resale_formula={"type": "index", "series": "illustrative-demo-ami"},
    )
    with pytest.raises(ValueError, match="has no value for 2014"):
        max_resale_price(lease, on=dt.date(2020, 6, 1))


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("year", 0, "Ensure this value is greater than or equal to 1900."),
        ("year", 2201, "Ensure this value is less than or equal to 2200."),
        ("month", 13, "Ensure this value is less than or equal to 12."),
        ("value", Decimal("0"), "Ensure this value is greater than or equal to 0.0001."),
        ("value", Decimal("-5"), "Ensure this value is greater than or equal to 0.0001."),
    ],
)
def test_an_index_value_the_loader_would_refuse_is_refused_on_its_field(field, bad, message):
    series = IndexSeries.objects.create(name="jackson-cpi", kind="cpi", source="BLS")
    value = IndexValue(series=series, year=2024, month=1, value=Decimal("300"))
    setattr(value, field, bad)
    with pytest.raises(ValidationError) as refused:
        value.full_clean()
    assert refused.value.message_dict == {field: [message]}


# --- "the most recently published" (an index formula with "read": "latest") ------------------


def latest_ami_lease(**fields):
    return factories.lease(
        purchase_price=Decimal("59000.00"), purchase_date=dt.date(2019, 12, 2),
        resale_formula={"type": "index", "series": AMI, "read": "latest"}, **fields,
    )  # fmt: skip


def test_a_lease_reading_the_latest_index_prices_a_sale_before_this_years_table():
    """In February 2027, before HUD's FY2027 table, a lease on "the most recently published"
    median income prices from 2026's, and names that value's source."""
    load_index_folder()  # 2015-2026
    result = max_resale_price(latest_ami_lease(), on=dt.date(2027, 2, 10))

    assert result.price == Decimal("73065.60")  # 59,000 x 77,400 / 62,500, as in 2026
    [line] = [line.label for line in result.lines if line.label.startswith("Change with")]
    assert "2026 (the latest on record by 2027-02-10) 77,400" in line
    assert "source: " in line


def test_a_replace_dropping_the_latest_value_such_a_lease_reads_is_refused(tmp_path, monkeypatch):
    load_index_folder()  # 2015-2026
    latest_ami_lease(reference="GL-2019-004")
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: dt.date(2027, 2, 10))
    without_2026 = "year,value\n" + "".join(f"{y},{70000 + y}\n" for y in range(2015, 2026))

    with pytest.raises(IndexLoadRefused) as refused:
        load(write(tmp_path, without_2026), series=AMI, source="HUD", replace=True)

    assert "lease GL-2019-004 reads year 2026 (the index for a sale today on 2027-02-10)" in (
        str(refused.value)
    )


def test_the_lease_page_says_how_to_get_a_price_when_this_years_index_is_missing(editor):
    """Every January until HUD publishes, an index-priced home had "No price" and no fix."""
    from tests.adminpages import change_url
    from tests.leases.test_admin import price_panel_of

    IndexSeries.objects.create(name="thin-ami", kind="ami", source="HUD")
    IndexValue.objects.create(series=IndexSeries.objects.get(name="thin-ami"), year=2019,
                              value=Decimal(62500))  # fmt: skip
    lease = factories.lease(purchase_date=dt.date(2019, 12, 2),
                            resale_formula={"type": "index", "series": "thin-ami"})  # fmt: skip

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert f"has no value for {timezone.localdate().year}" in panel
    assert panel.endswith(
        "Load it with clt load-index FILE --series thin-ami (see the README); or, if the lease "
        'prices on the most recently published figure, add "read": "latest" to its index '
        "formula above"
    )


def test_a_lease_already_reading_the_latest_index_is_told_only_to_load_one(editor):
    """With "read": "latest" and no value on record by the date, adding it is no fix."""
    from tests.adminpages import change_url
    from tests.leases.test_admin import price_panel_of

    series = IndexSeries.objects.create(name="thin-ami", kind="ami", source="HUD")
    IndexValue.objects.create(series=series, year=2020, value=Decimal(64000))  # after purchase
    lease = factories.lease(purchase_date=dt.date(2019, 12, 2), resale_formula={
        "type": "index", "series": "thin-ami", "read": "latest"})  # fmt: skip

    panel = price_panel_of(editor.get(change_url(lease)).content.decode())

    assert "or before it" in panel
    assert panel.endswith("Load it with clt load-index FILE --series thin-ami (see the README)")
