"""Every model change has a migration: the migrated schema equals the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.models import db


def test_migrations_match_models(hub_db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
