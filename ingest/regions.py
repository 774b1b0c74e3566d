"""Regions and the mapping of publishers' place names onto them.

Codes are ISO 3166: alpha-3 for countries and territories (``ITA``, ``GRL``), ISO 3166-2 for
subdivisions (``US-NY``, ``CA-ON``), and ``US-FIPS-<5 digits>`` for US counties. The hierarchy is
county -> subdivision -> country, through ``Region.parent``.

Seeded from:
- pycountry: every ISO 3166-1 country, and the top-level ISO 3166-2 subdivisions of the countries
  our publishers break down (US states, DC and outlying areas; Australian states; Canadian
  provinces; Chinese provinces). Hong Kong, Macao and Taiwan are left out of China's
  subdivisions: every publisher here that lists them apart uses their ISO 3166-1 codes (HKG, MAC,
  TWN), so that is where they map.
- JHU CSSE's ``UID_ISO_FIPS_LookUp_Table.csv`` (packaged in ``ingest/data/``): US counties by FIPS,
  and the FIPS code of each state and territory.
- By hand: Kosovo as ``XKX`` (a user-assigned code, not ISO 3166; the EU, IMF, WHO and ECDC use
  XK/XKX and ISO reserves it for this use), and the CDC's New York jurisdictions (below).

Jurisdictions: the CDC reports New York City (``US-NY-NYC``) apart from the rest of New York State
(``US-NY-EXCL-NYC``); both have parent ``US-NY`` and ``PARTITIONS`` says that together they make it
up. The adapter maps each to its own code; composing them into ``US-NY`` is the reconciler's job.

US outlying areas have two codes: ``US-PR`` as a subdivision of the United States (how US
publishers report it) and ``PRI`` as an ISO 3166-1 entity (how WHO, ECDC and OWID report it).
``Region.same_as`` links the two; nothing here merges them.

Every lookup is exact after a light normalisation (case, accents, punctuation, ``_``); no
fuzzy matching. A name that cannot be mapped gives ``None``; adapters list it as unmapped.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import pycountry

Level = Literal["country", "subdivision", "county", "jurisdiction"]


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    level: Level
    parent: str | None
    same_as: str | None = None  # the same territory under another code (US-PR <-> PRI)


NEW_YORK_CITY = "US-NY-NYC"
NEW_YORK_EXCLUDING_NYC = "US-NY-EXCL-NYC"

# Jurisdictions that together make up their parent.
PARTITIONS: dict[str, tuple[str, ...]] = {"US-NY": (NEW_YORK_CITY, NEW_YORK_EXCLUDING_NYC)}

KOSOVO = "XKX"

_JURISDICTIONS = (
    Region(NEW_YORK_CITY, "New York City", "jurisdiction", "US-NY"),
    Region(
        NEW_YORK_EXCLUDING_NYC, "New York State excluding New York City", "jurisdiction", "US-NY"
    ),
)

_US_OUTLYING_AREAS = {
    "US-AS": "ASM",
    "US-GU": "GUM",
    "US-MP": "MNP",
    "US-PR": "PRI",
    "US-UM": "UMI",
    "US-VI": "VIR",
}

_SUBDIVIDED_COUNTRIES = ("US", "AU", "CA", "CN")
_SUBDIVISIONS_WITH_OWN_ISO_3166_1 = {"CN-HK", "CN-MO", "CN-TW"}

# Codes that publishers use but ISO 3166-1 does not assign (ECDC: UK, EL; WHO/ECDC: XK).
_CODE_ALIASES = {"UK": "GBR", "EL": "GRC", "XK": KOSOVO, KOSOVO: KOSOVO}

# Publishers' spellings of country names that are none of pycountry's names.
_COUNTRY_ALIASES = {
    # JHU CSSE
    "Korea, South": "KOR",
    "US": "USA",
    "Taiwan*": "TWN",
    "Burma": "MMR",
    "Congo (Kinshasa)": "COD",
    "Congo (Brazzaville)": "COG",
    "Holy See": "VAT",
    "Kosovo": KOSOVO,
    "West Bank and Gaza": "PSE",
    "Laos": "LAO",
    "Russia": "RUS",
    "Iran": "IRN",
    "Syria": "SYR",
    "Vietnam": "VNM",
    "Brunei": "BRN",
    "Moldova": "MDA",
    "Tanzania": "TZA",
    "Bolivia": "BOL",
    "Venezuela": "VEN",
    "Micronesia": "FSM",
    "Macau": "MAC",
    "St Martin": "MAF",
    "British Virgin Islands": "VGB",
    "Sint Maarten": "SXM",
    "Turkey": "TUR",  # pycountry now has "Türkiye"
    # WHO
    "Kosovo[1]": KOSOVO,
    "occupied Palestinian territory, including east Jerusalem": "PSE",
    "The United Kingdom": "GBR",
    "United States Virgin Islands": "VIR",
    "Northern Mariana Islands (Commonwealth of the)": "MNP",
    "Pitcairn Islands": "PCN",
    "Saint Helena": "SHN",
    "Democratic Republic of the Congo": "COD",
    "Republic of Korea": "KOR",
    "Democratic People's Republic of Korea": "PRK",
    "Iran (Islamic Republic of)": "IRN",
    "Micronesia (Federated States of)": "FSM",
    "Republic of Moldova": "MDA",
    "United Republic of Tanzania": "TZA",
    "Venezuela (Bolivarian Republic of)": "VEN",
    "Bolivia (Plurinational State of)": "BOL",
    # ECDC (underscores are normalised away)
    "South_Korea": "KOR",
    "Palestine": "PSE",
    "Cape_Verde": "CPV",
    "Bonaire, Saint Eustatius and Saba": "BES",
    # OWID, WHO
    "Democratic Republic of Congo": "COD",
    "Falkland Islands": "FLK",
    "Faeroe Islands": "FRO",
    "Macedonia": "MKD",
    "Swaziland": "SWZ",
    "Timor": "TLS",
    "Vatican": "VAT",
    "Saint Martin": "MAF",
}

_SUBDIVISION_ALIASES = {
    ("CHN", "Inner Mongolia"): "CN-NM",
    ("CHN", "Tibet"): "CN-XZ",
}

# Words pycountry appends to Chinese province names ("Hubei Sheng", "Xinjiang Uygur Zizhiqu").
_CHINESE_ADMINISTRATIVE_SUFFIXES = {"sheng", "shi", "zizhiqu", "huizu", "zhuangzu", "uygur"}

_US_STATE_ALIASES = {
    "Virgin Islands": "US-VI",
    "United States Virgin Islands": "US-VI",
    "U.S. Virgin Islands": "US-VI",
}

AGGREGATE = "aggregate"

# Names that publishers list like places but that are none; the reason an adapter reports.
_NOT_A_PLACE = {
    "Diamond Princess": "cruise ship",
    "Grand Princess": "cruise ship",
    "MS Zaandam": "cruise ship",
    "Other": "international conveyance (cruise ships), not a region",
    "International": "international conveyance (cruise ships), not a region",
    "Cases_on_an_international_conveyance_Japan": "international conveyance (Diamond Princess)",
    "Channel Islands": "no ISO 3166 code: Jersey and Guernsey reported together",
    "Repatriated Travellers": "no region of its own (repatriated travellers)",
    "Unknown": "no region of its own (location unknown)",
    "Unassigned": "no region of its own (not assigned to a county)",
    "US Military": "no region of its own (US military)",
    "Federal Bureau of Prisons": "no region of its own (federal prisons)",
    "Veteran Hospitals": "no region of its own (veteran hospitals)",
    "World": AGGREGATE,
    "Africa": AGGREGATE,
    "Asia": AGGREGATE,
    "Europe": AGGREGATE,
    "European Union": AGGREGATE,
    "North America": AGGREGATE,
    "South America": AGGREGATE,
    "Oceania": AGGREGATE,
    "High income": AGGREGATE,
    "Upper middle income": AGGREGATE,
    "Lower middle income": AGGREGATE,
    "Low income": AGGREGATE,
}


def normalize_name(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key for a place name: "Côte d’Ivoire",
    "Cote_dIvoire" and "cote divoire" are one key."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    for mark in ("'", "’", "`"):
        bare = bare.replace(mark, "")
    spaced = "".join(c if c.isalnum() else " " for c in bare.casefold())
    return " ".join(spaced.split())


@dataclass(frozen=True)
class _Registry:
    regions: dict[str, Region]
    country_codes: dict[str, str]  # exact code (alpha-2, alpha-3, publisher quirk) -> alpha-3
    country_names: dict[str, str]  # normalised name -> alpha-3
    subdivision_names: dict[tuple[str, str], str]  # (alpha-3, normalised name) -> code
    us_state_names: dict[str, str]  # normalised name -> US-XX
    us_state_fips: dict[int, str]
    not_a_place: dict[str, str]  # normalised name -> reason


def _chinese_base_name(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[-1].casefold() in _CHINESE_ADMINISTRATIVE_SUFFIXES:
        words.pop()
    return " ".join(words)


def _read_jhu_lookup() -> list[dict[str, str]]:
    data = resources.files("ingest.data").joinpath("UID_ISO_FIPS_LookUp_Table.csv").read_bytes()
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@functools.cache
def _registry() -> _Registry:
    regions: dict[str, Region] = {}
    country_codes: dict[str, str] = {}
    country_names: dict[str, str] = {}

    for country in pycountry.countries:
        alpha3 = country.alpha_3
        # The everyday name where pycountry has one ("Bolivia", not "Bolivia, Plurinational ...").
        name = getattr(country, "common_name", None) or country.name
        regions[alpha3] = Region(alpha3, name, "country", None)
        country_codes[alpha3] = alpha3
        country_codes[country.alpha_2] = alpha3
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                country_names.setdefault(normalize_name(value), alpha3)
    regions[KOSOVO] = Region(KOSOVO, "Kosovo", "country", None)
    country_codes.update(_CODE_ALIASES)
    for alias, alpha3 in _COUNTRY_ALIASES.items():
        country_names[normalize_name(alias)] = alpha3

    subdivision_names: dict[tuple[str, str], str] = {}
    us_state_names: dict[str, str] = {}
    for alpha2 in _SUBDIVIDED_COUNTRIES:
        alpha3 = country_codes[alpha2]
        for sub in pycountry.subdivisions.get(country_code=alpha2) or []:
            if sub.parent_code is not None or sub.code in _SUBDIVISIONS_WITH_OWN_ISO_3166_1:
                continue
            same_as = _US_OUTLYING_AREAS.get(sub.code)
            regions[sub.code] = Region(sub.code, sub.name, "subdivision", alpha3, same_as)
            if same_as:
                own = regions[same_as]
                regions[same_as] = Region(own.code, own.name, own.level, own.parent, sub.code)
            name = _chinese_base_name(sub.name) if alpha2 == "CN" else sub.name
            subdivision_names[(alpha3, normalize_name(name))] = sub.code
            if alpha2 == "US":
                us_state_names[normalize_name(sub.name)] = sub.code
    for (alpha3, alias), code in _SUBDIVISION_ALIASES.items():
        subdivision_names[(alpha3, normalize_name(alias))] = code
    for alias, code in _US_STATE_ALIASES.items():
        us_state_names[normalize_name(alias)] = code

    us_state_fips: dict[int, str] = {}
    for row in _read_jhu_lookup():
        if row["Country_Region"] != "US" or not row["FIPS"]:
            continue
        state = us_state_names.get(normalize_name(row["Province_State"]))
        if state is None:
            continue  # cruise ships, federal agencies
        fips = int(row["FIPS"])
        if not row["Admin2"] and len(row["FIPS"]) <= 2:
            us_state_fips[fips] = state
        elif (
            row["Admin2"]
            and len(row["FIPS"]) == 5
            and fips < 80000
            and row["Admin2"] != "Unassigned"
            and not row["Admin2"].startswith("Out of ")
        ):
            # 800xx ("Out of XX") and 900xx ("Unassigned") are JHU bookkeeping, not counties;
            # so are Puerto Rico's, which have FIPS 72888 and 72999.
            code = f"US-FIPS-{fips:05d}"
            name = f"{row['Admin2']}, {row['Province_State']}"
            regions[code] = Region(code, name, "county", state)

    for jurisdiction in _JURISDICTIONS:
        regions[jurisdiction.code] = jurisdiction

    return _Registry(
        regions=regions,
        country_codes=country_codes,
        country_names=country_names,
        subdivision_names=subdivision_names,
        us_state_names=us_state_names,
        us_state_fips=us_state_fips,
        not_a_place={normalize_name(k): v for k, v in _NOT_A_PLACE.items()},
    )


def all_regions() -> list[Region]:
    """Every region, countries first, then subdivisions, jurisdictions and counties."""
    order = {"country": 0, "subdivision": 1, "jurisdiction": 2, "county": 3}
    return sorted(_registry().regions.values(), key=lambda r: (order[r.level], r.code))


def region(code: str) -> Region | None:
    return _registry().regions.get(code)


def children(code: str) -> list[Region]:
    return [r for r in all_regions() if r.parent == code]


def country_code(name_or_code: str) -> str | None:
    """ISO 3166-1 alpha-3 (or XKX) for a country or territory given by code or name.

    Codes are matched exactly (alpha-2, alpha-3, and the quirks UK, EL, XK); names after
    normalisation, including publishers' own spellings ("Korea, South", "Taiwan*", "Burma",
    "Congo (Kinshasa)", "Holy See", "Kosovo[1]", "Cote_dIvoire").
    """
    registry = _registry()
    text = name_or_code.strip()
    if not text:
        return None
    code = registry.country_codes.get(text)
    if code is not None:
        return code
    return registry.country_names.get(normalize_name(text))


def subdivision_code(country: str, name: str) -> str | None:
    """ISO 3166-2 code of a top-level subdivision of ``country`` (alpha-3) by name."""
    return _registry().subdivision_names.get((country, normalize_name(name)))


def us_state_code(abbrev_or_name_or_fips: str | int) -> str | None:
    """``US-XX`` for a state, DC or outlying area given as "NY", "New York", "US-NY" or FIPS 36.

    New York City is no state: see ``NEW_YORK_CITY``.
    """
    registry = _registry()
    if isinstance(abbrev_or_name_or_fips, int):
        return registry.us_state_fips.get(abbrev_or_name_or_fips)
    text = abbrev_or_name_or_fips.strip()
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return registry.us_state_fips.get(int(text))
    if len(text) == 2 and text.isupper():
        text = f"US-{text}"
    if text.startswith("US-"):
        found = registry.regions.get(text)
        return text if found is not None and found.level == "subdivision" else None
    return registry.us_state_names.get(normalize_name(text))


def us_county_code(fips: int) -> str | None:
    """``US-FIPS-xxxxx`` if ``fips`` is a county (or equivalent) in JHU's lookup table."""
    code = f"US-FIPS-{fips:05d}"
    return code if code in _registry().regions else None


def unmapped_reason(name: str) -> str:
    """Why a name maps to no region: a known non-place's reason, else "unknown name"."""
    return _registry().not_a_place.get(normalize_name(name), "unknown name")
