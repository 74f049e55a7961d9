"""Alembic's environment for analytics's migrations (platform/migrations.py runs them)."""

from derlink.platform.migrations import run_environment

run_environment()
