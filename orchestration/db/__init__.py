"""Schema of the application (OLTP) database, managed with Alembic."""

from orchestration.db.migrate import downgrade, upgrade

__all__ = ["downgrade", "upgrade"]
