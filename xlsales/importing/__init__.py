"""Bringing a team's existing data in: CRM exports and home-made spreadsheets.

:mod:`~xlsales.importing.profiles` knows the exports of common CRMs;
:mod:`~xlsales.importing.mapping` proposes and keeps a file's mapping;
:mod:`~xlsales.importing.values` converts its values; :mod:`~xlsales.importing.plan`
decides what happens to every row. The job that reads and writes the workbooks is
:mod:`xlsales.jobs.importing`.
"""
