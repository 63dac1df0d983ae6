"""The ledger's Alembic migrations (run by :func:`xlsales.ledger.store.migrate`)."""
