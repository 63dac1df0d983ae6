"""The VBA modules xlsales compiles into its macro-enabled workbooks, kept as text (``*.bas``
standard modules, ``*.cls`` class modules as the VBA editor exports them). Installed as the
data package ``xlsales._macros``; read by :mod:`xlsales.vba.macros`."""
