"""Inside Excel: xlwings worksheet functions (UDFs) and the buttons' entry points."""
