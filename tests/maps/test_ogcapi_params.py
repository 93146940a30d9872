"""Each query parameter parser against the rule of the standard it implements (no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from maps.ogcapi import crs
from maps.ogcapi.params import (
    LIMIT_MAX,
    ParamError,
    check_known,
    parse_bbox,
    parse_crs,
    parse_cursor,
    parse_datetime,
    parse_f,
    parse_limit,
    parse_offset,
    single,
)

UTC = dt.UTC


# /req/core/fc-limit-definition, /req/core/fc-limit-response-1


def test_limit_defaults_to_ten():
    assert parse_limit(None) == 10


def test_limit_within_range_is_kept():
    assert parse_limit("1") == 1
    assert parse_limit("1000") == 1000


def test_limit_over_the_maximum_is_clamped_not_refused():
    assert parse_limit("50000") == LIMIT_MAX == 10_000
    assert parse_limit("99999999999999999999") == LIMIT_MAX  # 20 digits: still a number


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00/.."])
def test_a_datetime_beyond_the_calendar_in_utc_is_invalid_not_a_crash(value):
    with pytest.raises(ParamError, match="datetime: .* outside the years 1 to 9999"):
        parse_datetime(value)


@pytest.mark.parametrize("value", ["0", "-5", "1.0", "1e3", "", "ten", "-" + "9" * 30])
def test_limit_not_a_positive_integer_is_invalid(value):
    with pytest.raises(ParamError, match="limit"):
        parse_limit(value)


def test_a_limit_with_leading_zeros_is_its_value_not_the_maximum():
    assert parse_limit("00000000000000000001") == 1  # twenty characters, one digit
    assert parse_limit("+0005") == 5
    assert parse_limit("0" * 5000 + "3") == 3  # more than int() reads, zeros or not


def test_an_offset_of_too_many_digits_is_too_large_and_says_the_maximum():
    with pytest.raises(ParamError) as refused:
        parse_offset("9999999999999999999")
    assert str(refused.value) == (
        "offset: '9999999999999999999' is too large; give at most 999999999999999999"
    )
    assert parse_offset("0000000000000000000000012") == 12


# The API definition says integer and number: ASCII digits, as a client writes them. Python's
# int(), float() and `\d` also take other scripts' digits and underscores.


@pytest.mark.parametrize("value", ["５", "٥", "1_0", "１０"])
def test_an_integer_is_written_in_ascii_digits(value):
    for parse in (parse_limit, parse_offset, lambda v: parse_cursor("after", v)):
        with pytest.raises(ParamError, match="is not an integer; write it with the digits 0-9"):
            parse(value)


@pytest.mark.parametrize("value", ["1_0,1,2,3", "٠,1,2,3", "0,1,２,3"])
def test_bbox_numbers_are_plain_decimals_in_ascii_digits(value):
    with pytest.raises(ParamError, match="bbox: .* is not a number; write it with the digits"):
        parse_bbox(value)
    assert parse_bbox(".5,1.,2e0,+3").as_list() == [0.5, 1.0, 2.0, 3.0]


def test_offset_and_cursors_are_integers():
    assert parse_offset(None) == 0
    assert parse_offset("900000") == 900_000
    assert parse_cursor("after", "42") == 42
    with pytest.raises(ParamError):
        parse_offset("-1")
    with pytest.raises(ParamError, match="after"):
        parse_cursor("after", "4a")


# /req/core/fc-bbox-definition, /req/core/fc-bbox-response


def test_bbox_of_four_numbers_is_lower_then_upper_corner():
    box = parse_bbox("-90.3,32.2,-90.1,32.4")
    assert box.as_list() == [-90.3, 32.2, -90.1, 32.4]
    assert box.crs is crs.CRS84


def test_bbox_of_six_numbers_ignores_heights():
    assert parse_bbox("-90.3,32.2,0,-90.1,32.4,100").as_list() == [-90.3, 32.2, -90.1, 32.4]


def test_bbox_lower_longitude_east_of_upper_crosses_the_antimeridian():
    box = parse_bbox("170,-10,-170,10")
    assert box.crosses_antimeridian


@pytest.mark.parametrize(
    "value",
    [
        "1,2,3",
        "1,2,3,4,5",
        "1,2,3,4,5,6,7",
        "a,2,3,4",
        "inf,0,1,1",
        "0,5,1,4",
        "0,-91,1,0",
        "-181,0,0,1",
        "",
    ],
)
def test_bbox_malformed_or_out_of_range_is_invalid(value):
    with pytest.raises(ParamError, match="bbox"):
        parse_bbox(value)


def test_bbox_in_epsg_4326_is_latitude_first():
    box = parse_bbox("32.2,-90.3,32.4,-90.1", crs.EPSG_4326)
    assert box.as_list() == [-90.3, 32.2, -90.1, 32.4]


def test_bbox_in_a_projected_crs_may_not_cross_over():
    assert parse_bbox("2000000,1000000,2100000,1100000", crs.MS_WEST_FTUS).maxx == 2_100_000
    with pytest.raises(ParamError):
        parse_bbox("2100000,1000000,2000000,1100000", crs.MS_WEST_FTUS)


# Part 2: /req/crs/fc-crs-valid-value, /req/crs/fc-bbox-crs-valid-value


def test_crs_defaults_to_crs84():
    assert parse_crs(None) is crs.CRS84


def test_crs_by_uri_and_by_safe_curie():
    assert parse_crs("http://www.opengis.net/def/crs/EPSG/0/2255") is crs.MS_WEST_FTUS
    assert parse_crs("[EPSG:3814]") is crs.MS_TM
    assert parse_crs("[OGC:CRS84]") is crs.CRS84


def test_a_crs_not_served_is_invalid_and_names_the_parameter():
    with pytest.raises(ParamError, match="bbox-crs"):
        parse_crs("http://www.opengis.net/def/crs/EPSG/0/3857", "bbox-crs")


# /req/core/fc-time-definition (RFC 3339, intervals with open ends)


def test_datetime_instant():
    interval = parse_datetime("2018-02-12T23:20:50Z")
    assert interval.start == interval.end == dt.datetime(2018, 2, 12, 23, 20, 50, tzinfo=UTC)


def test_datetime_with_an_offset_is_converted_to_utc():
    interval = parse_datetime("2018-02-12T20:00:00-06:00")
    assert interval.start == dt.datetime(2018, 2, 13, 2, 0, tzinfo=UTC)


def test_datetime_date_means_the_whole_day():
    interval = parse_datetime("2018-02-12")
    assert interval.start == dt.datetime(2018, 2, 12, tzinfo=UTC)
    assert interval.end.date() == dt.date(2018, 2, 12) and interval.end.hour == 23


def test_a_date_time_falls_on_its_day_in_the_trusts_time_zone_not_utcs():
    # 11 pm on 2 April in Jackson (CDT, UTC-5) is 3 April at 04:00 in UTC.
    interval = parse_datetime("2019-04-02T23:00:00-05:00")
    assert interval.start == dt.datetime(2019, 4, 3, 4, 0, tzinfo=UTC)
    assert interval.first_day == interval.last_day == dt.date(2019, 4, 2)
    assert parse_datetime("2019-04-03T02:00:00Z").first_day == dt.date(2019, 4, 2)


def test_a_date_is_its_own_day_whatever_the_time_zone():
    interval = parse_datetime("2019-04-02/2019-04-05")
    assert (interval.first_day, interval.last_day) == (dt.date(2019, 4, 2), dt.date(2019, 4, 5))


def test_an_evening_to_the_same_days_date_is_one_day_not_an_inverted_interval():
    interval = parse_datetime("2019-04-02T23:00:00-05:00/2019-04-02")
    assert interval.first_day == interval.last_day == dt.date(2019, 4, 2)


def test_the_first_instant_of_the_calendar_is_before_every_day_in_jackson():
    interval = parse_datetime("0001-01-01T00:00:00Z/..")
    assert interval.first_day == dt.date.min and interval.last_day is None


def test_datetime_closed_interval():
    interval = parse_datetime("2018-02-12T00:00:00Z/2018-03-18T12:31:12Z")
    assert interval.end == dt.datetime(2018, 3, 18, 12, 31, 12, tzinfo=UTC)


@pytest.mark.parametrize("value", ["../2018-03-18", "/2018-03-18"])
def test_datetime_open_start(value):
    interval = parse_datetime(value)
    assert interval.start is None and interval.end.date() == dt.date(2018, 3, 18)


@pytest.mark.parametrize("value", ["2018-02-12/..", "2018-02-12/"])
def test_datetime_open_end(value):
    interval = parse_datetime(value)
    assert interval.end is None and interval.start.date() == dt.date(2018, 2, 12)


@pytest.mark.parametrize(
    "value",
    [
        "../..",
        "/",
        "2018-13-01",
        "2018-02-12T23:20:50",
        "12/02/2018",
        "2019-01-01/2018-01-01",
        "now",
        "",
    ],
)
def test_datetime_invalid(value):
    with pytest.raises(ParamError, match="datetime"):
        parse_datetime(value)


# /rec/core/query-param-unknown, /req/core/query-param-invalid


def test_unknown_parameters_are_refused_by_name():
    with pytest.raises(ParamError, match="owner"):
        check_known(QueryDict("limit=1&owner=x"), ["limit"])


def test_a_repeated_parameter_is_refused():
    with pytest.raises(ParamError, match="limit"):
        single(QueryDict("limit=1&limit=2"), "limit")


def test_f_is_json_or_html():
    assert parse_f("html") == "html"
    assert parse_f(None) is None
    with pytest.raises(ParamError):
        parse_f("xml")


# /req/core/query-param-invalid for property filters: values by the field's declared type


def test_property_filters_are_parsed_by_field_type():
    from django.db.models import F

    from maps.layers import Audience, Layer, LayerField
    from maps.ogcapi.params import parse_properties

    layer = Layer(
        "t",
        "T",
        "",
        Audience.PUBLIC,
        lambda: None,
        fields=(
            LayerField("n", F("n"), "integer"),
            LayerField("d", F("d"), "date"),
            LayerField("s", F("s")),
        ),
    )
    parsed = parse_properties(layer, QueryDict("n=12&d=2020-02-29&s=R-1"))
    assert [value for _, value in parsed] == [12, dt.date(2020, 2, 29), "R-1"]
    for bad in ("n=1.5", "d=2021-02-29", "d=2021-2-1", "s=a%00b", "n=%EF%BC%92%EF%BC%90"):
        with pytest.raises(ParamError):
            parse_properties(layer, QueryDict(bad))


def money_layer():
    """A layer with one money field, numeric(14, 2) as the leases layer's arrears."""
    from django.db.models import DecimalField, F
    from django.db.models.functions import Cast

    from maps.layers import Audience, Layer, LayerField

    column = DecimalField(max_digits=14, decimal_places=2)
    owed = LayerField("owed", Cast(F("owed"), column), "decimal")
    return Layer("t", "T", "", Audience.PUBLIC, lambda: None, fields=(owed,))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("1e999999999", "'1e999999999' is too large; give at most 999999999999.99"),
        ("1e131072", "'1e131072' is too large; give at most 999999999999.99"),
        ("1000000000000", "'1000000000000' is too large; give at most 999999999999.99"),
        ("-1e999999999", "'-1e999999999' is too small; give at least -999999999999.99"),
        ("1e-999999999", "'1e-999999999' has more than 2 decimal places; round it to 2"),
        ("0.001", "'0.001' has more than 2 decimal places; round it to 2"),
        ("1e99999999999999999999", "'1e99999999999999999999' is out of range; give at most"),
    ],
)
def test_a_decimal_the_column_cannot_hold_is_invalid_and_says_what_it_holds(value, said):
    from maps.ogcapi.params import parse_properties

    with pytest.raises(ParamError) as refused:
        parse_properties(money_layer(), QueryDict(f"owed={value}"))
    assert str(refused.value).startswith(f"owed: {said}")


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("999999999999.99", "999999999999.99"), ("12.50", "12.50"), ("1.000", "1.00"),
     ("0E-999999999", "0.00"), ("1" + "." + "0" * 20_000, "1.00")],
)  # fmt: skip
def test_a_decimal_the_column_holds_is_kept_in_a_form_postgresql_reads(value, parsed):
    from maps.ogcapi.params import parse_properties

    ((_, number),) = parse_properties(money_layer(), QueryDict(f"owed={value}"))
    assert str(number) == parsed


@pytest.mark.parametrize("value", ["1_0", "５", "0x10"])
def test_a_decimal_is_a_plain_number_in_ascii_digits(value):
    from maps.ogcapi.params import parse_properties

    with pytest.raises(ParamError, match="owed: .* is not a number; write it with the digits"):
        parse_properties(money_layer(), QueryDict(f"owed={value}"))
