"""Everything that touches an Excel library (XlsxWriter, openpyxl, python-calamine)."""
