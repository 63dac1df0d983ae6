"""The team ledger: every table row the commands read, version by version, in SQLite (a
file in the workspace) or PostgreSQL — history that outlives the workbook and an audit
trail of the dailies.

- :mod:`xlsales.ledger.hook` decides whether and where the running command records (no
  SQLAlchemy imported until a ledger is really opened);
- :mod:`xlsales.ledger.store` is the database (SQLAlchemy Core, Alembic migrations in
  ``migrations/``);
- :mod:`xlsales.ledger.keys` the natural keys and content hashes of rows;
- :mod:`xlsales.ledger.audit` the findings about dailies edited or deleted after
  submission.
"""
