from __future__ import annotations

import pytest

from service.settings import SettingsError, load_settings


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORROBORATE_PORT", "9123")
    monkeypatch.setenv("CORROBORATE_LOG_ORIGIN", "example.org/log")
    settings = load_settings()
    assert settings.port == 9123
    assert settings.log_origin == "example.org/log"
    assert settings.is_sqlite


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CORROBORATE_PORT", "eighty", "CORROBORATE_PORT"),
        ("CORROBORATE_PORT", "70000", "less than or equal to 65535"),
        ("CORROBORATE_DATABASE_URL", "mysql://x/y", "sqlite+aiosqlite://"),
        ("CORROBORATE_LOG_ORIGIN", "https://has a space", "schema-less"),
        ("CORROBORATE_LOG_LEVEL", "loud", "debug, info"),
    ],
)
def test_bad_setting_names_the_variable_on_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(variable)
    assert expected in message
    assert "\n" not in message
