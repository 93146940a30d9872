"""The import's reject file opens in a spreadsheet without running what a county file holds."""

from __future__ import annotations

import json

import pytest

from tests.parcels.test_importing import county_frame, rejects, run
from tests.parcels.test_importing_bad_input import OPEN

pytestmark = pytest.mark.django_db


def test_a_formula_in_a_rejected_features_attributes_is_written_as_text(tmp_path):
    collection = json.loads(county_frame(2).to_crs(4326).to_json())
    collection["features"][0]["properties"] |= {
        "apn": "-2+3+cmd|' /C calc'!A0", "owner": "=1+1", "address": "@SUM(1+1)",
        "land_value": -1500,
    }  # fmt: skip
    collection["features"][0]["geometry"] = OPEN
    source = tmp_path / "formulas.geojson"
    source.write_text(json.dumps(collection))

    result = run(source, tmp_path)

    assert (result.new, result.rejected) == (1, 1)
    [reject] = rejects(result)
    assert (reject["APN"], reject["apn (in file)"]) == ("'-2+3+cmd|' /C calc'!A0",) * 2
    assert (reject["owner"], reject["address"]) == ("'=1+1", "'@SUM(1+1)")
    # Numbers stay numbers: the row the program counted, the file's own figures
    assert (reject["row"], reject["land_value"], reject["acreage"]) == ("1", "-1500", "0.3444")
