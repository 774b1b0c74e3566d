"""The samples in ``samples/`` are small, documented, byte-exact slices of the real files."""

from __future__ import annotations

import pytest

from tests.ingest.support import SAMPLES, sample_bytes, shared_bytes

# (sample, original under shared/data, first record, last record), as in samples/README.md.
CUTS = [
    ("jhu_csse/time_series_covid19_confirmed_global.csv", "real/jhu_csse/time_series_covid19_confirmed_global.csv", 40, 107),
    ("jhu_csse/time_series_covid19_deaths_global.csv", "real/jhu_csse/time_series_covid19_deaths_global.csv", 40, 107),
    ("jhu_csse/time_series_covid19_confirmed_US.csv", "real/jhu_csse/time_series_covid19_confirmed_US.csv", 322, 340),
    ("jhu_csse/time_series_covid19_deaths_US.csv", "real/jhu_csse/time_series_covid19_deaths_US.csv", 324, 342),
    ("who/WHO-COVID-19-global-data.csv", "real/who/WHO-COVID-19-global-data.csv", 50787, 52484),
    ("ecdc/ecdc.csv", "real/ecdc/ecdc.csv", 7500, 7700),
    ("owid/owid-covid-data.csv", "real/owid/owid-covid-data.csv", 19750, 20338),
    ("nyt/us-states.csv", "real/nyt/us-states.csv", 22345, 22454),
    ("ctp/states_daily_4pm_et.csv", "real/ctp/states_daily_4pm_et.csv", 6269, 6388),
    ("ctp_website/all-states-history.csv", "eval/ctp_website/all-states-history.csv", 12765, 12884),
    ("italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", "real/italy_dpc/dpc-covid19-ita-andamento-nazionale.csv", 1, 40),
    ("rki/COVID-19-Todesfaelle_Deutschland.csv", "real/rki/COVID-19-Todesfaelle_Deutschland.csv", 1, 40),
    ("rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv", "real/rki/COVID-19-Faelle_7-Tage-Inzidenz_Deutschland.csv", 1, 280),
    ("cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv", "eval/cdc/United_States_COVID-19_Cases_and_Deaths_by_State_over_Time.csv", 18197, 18496),
]  # fmt: skip


def test_every_sample_is_listed_and_documented() -> None:
    # samples/demo/ holds the demo set, checked by test_demo_samples.py
    on_disk = {
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*.csv")
        if p.relative_to(SAMPLES).parts[0] != "demo"
    }
    assert on_disk == {sample for sample, *_ in CUTS}
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for sample, _, first, last in CUTS:
        assert f"`{sample}`" in readme
        assert f"{first}–{last} ({last - first + 1:,}" in readme


@pytest.mark.parametrize(("sample", "original", "first", "last"), CUTS, ids=lambda v: str(v))
def test_sample_is_the_header_and_a_run_of_the_original(
    sample: str, original: str, first: int, last: int
) -> None:
    data = sample_bytes(sample)
    assert len(data) < 200_000
    lines = shared_bytes(original).splitlines(keepends=True)
    assert data == lines[0] + b"".join(lines[first : last + 1])
