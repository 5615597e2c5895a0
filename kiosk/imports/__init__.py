"""Importing and exporting the worker list as CSV or XLSX (the office's lists come as Excel).

An import runs in two steps. ``preview(file)`` reads the file (``reading``, then ``rows``), checks
every row (``checking``) and says for each whether it will be added, will update the worker
already enrolled with that NIK, or is refused and why — writing nothing. The preview waits
server-side (``previews``) until the person confirms; ``commit`` (``writing``) then checks the
rows again and writes every accepted row in one transaction, all or nothing. ``columns`` names the
columns and their synonyms; ``export`` writes the template and the filtered list with the same
columns. ``uploads`` keeps the uploaded file (in the database, a few hours) to ask which column is
which (``mappings``, remembered by header row) and to give back the refused rows as a spreadsheet.

The names below are the package's entry points for the views, the CLI and the tests.
"""

from .checking import ImportPreview, RowResult, base_income, check_rows, preview
from .columns import COLUMNS, EXAMPLE_ROW, HEADERS, TEMPLATE_KEYS, column_for
from .export import export_csv, export_xlsx, template
from .previews import STORE_HOURS, ImportExpired, discard, load, mark_different, save
from .reading import MAX_ROWS, ImportFileError, UnknownColumns, read_table
from .rows import rows_from_table
from .writing import ImportChanged, ImportOutcome, commit
from . import mappings, uploads  # noqa: E402 - they use the modules above

__all__ = [
    "COLUMNS", "EXAMPLE_ROW", "HEADERS", "MAX_ROWS", "STORE_HOURS", "TEMPLATE_KEYS", "ImportChanged",
    "ImportExpired", "ImportFileError", "ImportOutcome", "ImportPreview", "RowResult", "base_income", "check_rows",
    "column_for", "commit", "discard", "export_csv", "export_xlsx", "load", "mark_different", "preview", "read_table",
    "rows_from_table", "save", "template", "UnknownColumns",
]
