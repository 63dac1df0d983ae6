"""VBA projects, one file format in one place: ``vbaProject.bin`` as Excel writes it.

* :mod:`~xlsales.vba.compression`: MS-OVBA 2.4.1 compression,
* :mod:`~xlsales.vba.encryption`: MS-OVBA 2.4.3 data encryption (``CMG``/``DPB``/``GC``),
* :mod:`~xlsales.vba.project`: the project's streams (MS-OVBA 2.3) and the file,
* :mod:`~xlsales.vba.cfb`: the compound file (MS-CFB) holding them,
* :mod:`~xlsales.vba.macros`: the sources (``macros/``, the xlwings module) and the buttons.

Only :mod:`~xlsales.vba.macros` touches xlwings (to find its VBA module); nothing here
imports a file-format library.
"""

from xlsales.vba.project import Module, vba_project, workbook_modules

__all__ = ["Module", "vba_project", "workbook_modules"]
