"""Page-test fixtures (the helpers live in app_helpers.py, importable by name from the tests)."""

from app_helpers import app_env  # noqa: F401  (a fixture, re-exported for pytest)
