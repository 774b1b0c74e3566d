"""Regions: the hierarchy, publishers' names, and the CDC's New York jurisdictions."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from ingest.regions import (
    NEW_YORK_CITY,
    NEW_YORK_EXCLUDING_NYC,
    PARTITIONS,
    all_regions,
    children,
    country_code,
    region,
    subdivision_code,
    unmapped_reason,
    us_county_code,
    us_state_code,
)


def test_every_parent_exists_and_levels_nest() -> None:
    regions = {r.code: r for r in all_regions()}
    expected_parent_level = {
        "country": None,
        "subdivision": "country",
        "county": "subdivision",
        "jurisdiction": "subdivision",
    }
    for r in regions.values():
        if r.parent is None:
            assert r.level == "country", r
        else:
            assert regions[r.parent].level == expected_parent_level[r.level], r


def test_county_to_state_to_country() -> None:
    manhattan = region("US-FIPS-36061")
    assert manhattan is not None and manhattan.level == "county"
    assert manhattan.name == "New York, New York"
    state = region(manhattan.parent or "")
    assert state is not None and (state.code, state.level, state.parent) == (
        "US-NY",
        "subdivision",
        "USA",
    )
    assert us_county_code(36061) == "US-FIPS-36061"
    assert us_county_code(90036) is None  # JHU's "Unassigned, New York": no county
    assert us_county_code(80036) is None  # JHU's "Out of NY": no county


def test_us_subdivisions_are_states_dc_and_outlying_areas() -> None:
    us = {r.code for r in children("USA")}
    assert len(us) == 57  # 50 states, DC, AS, GU, MP, PR, UM, VI
    counties = [r for r in all_regions() if r.level == "county"]
    assert len(counties) == 3222  # not JHU's "Unassigned" and "Out of PR" (72999, 72888)
    assert all(r.code.startswith("US-FIPS-") and len(r.code) == 13 for r in counties)


def test_outlying_areas_link_their_two_codes() -> None:
    for subdivision, country in [("US-PR", "PRI"), ("US-GU", "GUM"), ("US-VI", "VIR")]:
        sub, own = region(subdivision), region(country)
        assert sub is not None and own is not None
        assert (sub.same_as, own.same_as) == (country, subdivision)
        assert (sub.level, own.level) == ("subdivision", "country")


def test_new_york_city_is_a_jurisdiction_within_new_york() -> None:
    nyc, rest = region(NEW_YORK_CITY), region(NEW_YORK_EXCLUDING_NYC)
    assert nyc is not None and rest is not None
    assert (nyc.code, nyc.level, nyc.parent) == ("US-NY-NYC", "jurisdiction", "US-NY")
    assert (rest.level, rest.parent) == ("jurisdiction", "US-NY")
    assert PARTITIONS["US-NY"] == (NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC)
    assert us_state_code("NYC") is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Korea, South", "KOR"),
        ("US", "USA"),
        ("Taiwan*", "TWN"),
        ("Burma", "MMR"),
        ("Congo (Kinshasa)", "COD"),
        ("Congo (Brazzaville)", "COG"),
        ("Holy See", "VAT"),
        ("Kosovo", "XKX"),
        ("Kosovo[1]", "XKX"),
        ("XK", "XKX"),
        ("XKX", "XKX"),
        ("UK", "GBR"),
        ("EL", "GRC"),
        ("GR", "GRC"),
        ("NA", "NAM"),
        ("Cote d'Ivoire", "CIV"),
        ("Côte d’Ivoire", "CIV"),
        ("Cote_dIvoire", "CIV"),
        ("United_States_of_America", "USA"),
        ("West Bank and Gaza", "PSE"),
        ("occupied Palestinian territory, including east Jerusalem", "PSE"),
        ("Turkey", "TUR"),
        ("Greenland", "GRL"),
        ("Faroe Islands", "FRO"),
        ("Macau", "MAC"),
        ("St Martin", "MAF"),
        ("Bonaire, Sint Eustatius and Saba", "BES"),
        ("Georgia", "GEO"),
    ],
)
def test_publisher_country_names(name: str, code: str) -> None:
    assert country_code(name) == code


@pytest.mark.parametrize("name", ["Diamond Princess", "Channel Islands", "World", "Other", "", " "])
def test_names_that_are_no_country(name: str) -> None:
    assert country_code(name) is None


def test_unmapped_reasons() -> None:
    assert unmapped_reason("MS Zaandam") == "cruise ship"
    assert unmapped_reason("World") == "aggregate"
    assert unmapped_reason("Atlantis") == "unknown name"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("NY", "US-NY"),
        ("New York", "US-NY"),
        ("US-NY", "US-NY"),
        (36, "US-NY"),
        ("36", "US-NY"),
        ("06", "US-CA"),
        ("District of Columbia", "US-DC"),
        ("Virgin Islands", "US-VI"),
        ("Northern Mariana Islands", "US-MP"),
        ("Puerto Rico", "US-PR"),
        (72, "US-PR"),
        ("Georgia", "US-GA"),
    ],
)
def test_us_state_codes(given: str | int, code: str) -> None:
    assert us_state_code(given) == code


@pytest.mark.parametrize("given", ["NYC", "XX", "Diamond Princess", 88888, "US-FIPS-36061"])
def test_us_state_code_rejects_what_is_no_state(given: str | int) -> None:
    assert us_state_code(given) is None


@pytest.mark.parametrize(
    ("country", "name", "code"),
    [
        ("CHN", "Hubei", "CN-HB"),
        ("CHN", "Inner Mongolia", "CN-NM"),
        ("CHN", "Tibet", "CN-XZ"),
        ("CHN", "Ningxia", "CN-NX"),
        ("CAN", "Quebec", "CA-QC"),
        ("AUS", "Australian Capital Territory", "AU-ACT"),
    ],
)
def test_subdivision_codes(country: str, name: str, code: str) -> None:
    assert subdivision_code(country, name) == code


def test_hong_kong_macao_and_taiwan_are_no_chinese_subdivisions() -> None:
    assert {region(c) for c in ("CN-HK", "CN-MO", "CN-TW")} == {None}
    assert subdivision_code("CHN", "Hong Kong") is None


def test_packaged_lookup_table_is_the_published_file() -> None:
    data = resources.files("ingest.data").joinpath("UID_ISO_FIPS_LookUp_Table.csv").read_bytes()
    assert hashlib.sha256(data).hexdigest() == (
        "974647370e770ce974d89e0040b3574b4e1a7bdcdfca1544ea79e27053a6dd16"
    )
