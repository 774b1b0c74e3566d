"""The demo database (reconciled) for moderation's tests, as the API's tests use it."""

from tests.api.conftest import demo_runtime, demo_settings, demo_templates

__all__ = ["demo_runtime", "demo_settings", "demo_templates"]
