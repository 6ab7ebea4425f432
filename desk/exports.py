"""Tables as CSV (UTF-8 with a BOM, so Excel opens the Chinese correctly) and as Excel workbooks."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    # (first row, last row, label column, value column), 1-based within the data rows: a bar chart of that block.
    chart: Optional[tuple[str, int, int, int, int]] = None
    notes: list[str] = field(default_factory=list)


def _cell(value: object) -> object:
    # Spreadsheets read a leading "=" as a formula: never let text start one.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True,
              blank_line: bool = False) -> bytes:
    """A table as CSV; ``bom=False`` and ``blank_line`` for a further table appended to the same file."""
    out = io.StringIO()
    writer = csv.writer(out)
    if blank_line:
        writer.writerow([])
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for spec in sheets:
        ws = book.create_sheet(spec.title[:31])  # Excel's limit on sheet names
        # Titles name areas and service points an admin typed: neutralised like any cell.
        for note in spec.notes:
            ws.append([_cell(note)])
        if spec.notes:
            ws.append([])
        ws.append([_cell(h) for h in spec.header])
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = Font(bold=True)
        for row in spec.rows:
            ws.append([_cell(v) for v in row])
        for i, _ in enumerate(spec.header, start=1):
            ws.column_dimensions[get_column_letter(i)].width = 28 if i <= 2 else 14
        if spec.chart:
            title, first, last, label_col, value_col = spec.chart
            chart = BarChart()
            chart.type, chart.title, chart.legend = "bar", title, None
            data = Reference(ws, min_col=value_col, min_row=header_row + first, max_row=header_row + last)
            labels = Reference(ws, min_col=label_col, min_row=header_row + first, max_row=header_row + last)
            chart.add_data(data, titles_from_data=False)
            chart.set_categories(labels)
            chart.height, chart.width = 9, 16
            ws.add_chart(chart, f"{get_column_letter(len(spec.header) + 2)}{header_row}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
