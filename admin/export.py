"""CSV exports a spreadsheet opens as text, never as formulas (OWASP's CSV-injection rule)."""

import csv

from flask import Response, stream_with_context
from werkzeug.utils import secure_filename

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read a formula."""
    text = "" if value is None else str(value)  # a plain str, even from Markup
    if text.startswith(FORMULA_STARTS):
        return f"'{text}"
    return text


class SafeCsvExportMixin:
    """Flask-Admin's CSV export with every cell neutralized and every cell quoted.

    Quoting every cell keeps a value such as `x;=1+1` in one cell for spreadsheets whose
    list separator is `;` (Spanish-language Excel), where a bare `;` would start a new one.
    """

    def _export_csv(self, return_url):
        _count, data = self._export_data()
        writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
        columns = self._export_columns

        def generate():
            yield writer.writerow([neutralized(title) for _name, title in columns])
            for row in data:
                yield writer.writerow(
                    [neutralized(self.get_export_value(row, name)) for name, _title in columns]
                )

        filename = secure_filename(self.get_export_name(export_type="csv"))
        return Response(
            stream_with_context(generate()),
            headers={"Content-Disposition": f"attachment; filename={filename}"},
            mimetype="text/csv",
        )


class _Echo:
    """A file-like object whose write returns the line, so rows stream as they are made."""

    def write(self, value):
        return value
