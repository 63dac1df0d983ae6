"""Everything that touches an Excel library (fastexcel, XlsxWriter, openpyxl)."""
