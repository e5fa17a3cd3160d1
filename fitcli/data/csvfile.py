"""Reading a CSV file as a spreadsheet exports it: one table of named string columns.

Rules (the README's "Your own data" repeats them):

- comma-separated UTF-8 text (a byte-order mark is skipped), LF or CRLF line
  ends, fields quoted with ``"`` where needed (commas, quotes and line breaks
  inside a field); blank lines are skipped; leading/trailing spaces of a cell
  are ignored;
- the first row names the columns (an empty name becomes ``column<k>``, k from
  1; duplicate names are an error); every row has as many cells as the header;
- a cell is *missing* when it is empty or one of ``NA``, ``N/A``, ``NaN``,
  ``null``, ``None``, ``?`` (any letter case); ``inf`` in a numeric column is
  a non-finite value and is treated like a missing one;
- a column whose present cells all read as numbers is numeric; any other is a
  string (categorical) column.

Everything here is numpy on strings (no pandas); the file is checked before it
is read (a regular file, at most ``MAX_CSV_BYTES``) so a link to ``/dev/zero``
or a multi-gigabyte dump is refused in one line instead of filling memory.
"""

from __future__ import annotations

import csv
import difflib
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError

__all__ = ["MAX_CSV_BYTES", "MISSING_TOKENS", "Column", "Table", "read_csv"]

MAX_CSV_BYTES = 2 * 1024**3
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "?")   # compared in any case
# every letter-case spelling, so a column is matched with np.isin (no per-cell lower())
_MISSING_SPELLINGS = np.array(sorted({"".join(p) for t in MISSING_TOKENS
                                      for p in itertools.product(*({c.lower(), c.upper()}
                                                                   for c in t))}))


@dataclass
class Column:
    """One parsed column: ``kind`` "number" (``values`` float64, NaN where missing) or
    "string" (``values`` str, "" where missing); ``missing`` marks the missing cells
    (for numbers also ±inf)."""

    name: str
    kind: str
    values: np.ndarray
    missing: np.ndarray


@dataclass
class Table:
    """The cells of a CSV file by column name (tuples of the strings as read), in file
    order."""

    path: Path
    header: list[str]
    cells: dict[str, tuple]

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.cells.values()))) if self.cells else 0

    def strings(self, name: str) -> np.ndarray:
        """The cells of column ``name`` without surrounding spaces."""
        return np.strings.strip(np.array(self.cells[name], dtype=str))

    def column(self, name: str, kind: str | None = None) -> Column:
        """The column ``name`` parsed as numbers when every present cell is one (``kind``
        None), or as the ``kind`` ("number" / "string") the training part fixed."""
        if kind != "string":
            try:   # the common case first: a clean numeric column ("nan", "inf" included)
                values = np.array(self.cells[name], dtype=np.float64)
                return Column(name, "number", values, ~np.isfinite(values))
            except ValueError:
                pass
        raw = self.strings(name)
        missing = np.isin(raw, _MISSING_SPELLINGS)
        if kind != "string":
            try:
                values = np.where(missing, "nan", raw).astype(np.float64)
            except ValueError:
                if kind == "number":
                    self._not_a_number(name, raw, missing)
            else:
                return Column(name, "number", values, missing | ~np.isfinite(values))
        return Column(name, "string", np.where(missing, "", raw), missing)

    def _not_a_number(self, name: str, raw: np.ndarray, missing: np.ndarray):
        """Raise: a cell of a column that must be numeric does not read as a number. The
        loop over cells runs only to word this error."""
        for row, (cell, gap) in enumerate(zip(raw, missing, strict=True)):
            if gap:
                continue
            try:
                float(cell)
            except ValueError:
                raise InputError(f"{self.path}: column {name!r} is numeric in the training "
                                 f"data but line {self.line_of(row)} has {str(cell)!r}") from None

    def line_of(self, row: int) -> int:
        """The file line on which data row ``row`` (0-based) ends; only for messages
        (re-reads the file, so it costs nothing unless an error is reported)."""
        with self.path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            seen = -2                      # the header is record -1
            for rec in reader:
                if rec:
                    seen += 1
                    if seen == row:
                        return reader.line_num
        return row + 2

    def need(self, name: str, field: str) -> None:
        """``name`` must be a column: else a ConfigError naming ``field`` and the closest
        column."""
        if name in self.cells:
            return
        lower = {h.lower(): h for h in reversed(self.header)}   # 'ID' finds 'id'
        close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.5)
        hint = (f"did you mean {lower[close[0]]!r}?" if close
                else "columns: " + ", ".join(self.header))
        raise ConfigError(field, f"a column of {self.path.name}", name, hint)


def _check_file(path: Path) -> None:
    if not path.resolve().is_file():
        raise InputError(f"{path}: not a regular file (expected a CSV text file)")
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(f"{path}: {size / 2**30:.1f} GiB is larger than the "
                         f"{MAX_CSV_BYTES / 2**30:.0f} GiB a CSV file may have")


def _records(path: Path) -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(filter(None, csv.reader(f)))      # filter: blank lines read as []
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                         f"offset {exc.start}); save it as 'CSV UTF-8'") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None


def _names(path: Path, header: list[str]) -> list[str]:
    names = [h.strip() or f"column{k}" for k, h in enumerate(header, 1)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"{path}: the column name {name!r} appears twice in the header")
        seen.add(name)
    return names


def read_csv(path: Path) -> Table:
    """The table of ``path`` (see the module docstring for the rules)."""
    _check_file(path)
    records = _records(path)
    if not records:
        raise InputError(f"{path}: empty CSV file (expected a header row)")
    names = _names(path, records[0])
    rows = records[1:]
    if not rows:
        raise InputError(f"{path}: no data rows after the header")
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(lengths != len(names))
    if len(bad):
        table = Table(path, names, {})
        raise InputError(f"{path}: line {table.line_of(int(bad[0]))} has "
                         f"{lengths[bad[0]]} cells for {len(names)} column names")
    cells = dict(zip(names, zip(*rows, strict=True), strict=True))
    return Table(path, names, cells)
