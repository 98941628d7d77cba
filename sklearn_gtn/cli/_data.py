"""Data files of the command line: checking paths, reading tables, writing.

Reading. A ``.npy`` file is a real numeric array (complex and object arrays
are refused). The numbers of a delimited text file are read by
:func:`numpy.loadtxt`, which rounds correctly: pandas' default C parser does
not, and its exact mode is slower than ``loadtxt`` (``docs/benchmarks.rst``,
"Reading CSV files"). A table with text columns is read by pandas (as
strings; the numeric columns are then converted by NumPy). The rules:

- the delimiter is ``--delimiter``, else a tab for ``.tsv`` files or a first
  line with tabs and no commas, else whitespace for a first line with neither
  commas nor tabs, else a comma;
- the first non-blank row is a header when none of its fields is a number,
  data when all are; a row that mixes both is an error naming the first
  field that is not a number (``--header yes`` or ``no`` decides instead);
- an unnamed first column (empty or ``Unnamed: 0`` in the header) holding
  ``0 .. n - 1`` is the index pandas writes, and is skipped;
  ``--index-col NAME|POSITION`` skips any other column;
- a column is numeric when all its values are numbers and text when none is;
  a column that mixes both is an error naming the line and the column (by its
  header name). Text columns need a header and pandas.

Writing. Every file is written to a temporary file in the same folder, then
renamed over the destination (``sklearn_gtn.persistence``'s atomic
write), so a failed or interrupted write leaves the previous file as it was.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._common import UsageError, one_line, progress

__all__ = ["Table", "read_data", "read_table", "write_data"]

_OUTPUT_SUFFIXES = (".csv", ".npy")
_WRITE_CHUNK_ROWS = 20_000
_CSV_FORMAT = "%.9g"
# a CSV value takes at least one character and a delimiter
_MIN_CSV_BYTES_PER_VALUE = 2
_INDEX_NAMES = ("", "Unnamed: 0")  # pandas' name of an unnamed index column
_HEADER_CHOICES = ("auto", "yes", "no")
_NAN_STRINGS = ["nan", "NaN", "NAN"]  # the spellings both readers take as NaN


# ----------------------------------------------------------------------------
# paths
# ----------------------------------------------------------------------------
def check_input_file(path, what):
    """``path`` is an existing regular file (never a pipe: reading one blocks)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError(f"{what} {path!r} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{what} {path!r} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise UsageError(
            f"{what} {path!r} is not a regular file (a named pipe, device or "
            "socket); give a file"
        )


def check_output_path(path, what="output", *, suffixes=_OUTPUT_SUFFIXES):
    """Check that ``path`` can be written, before any expensive work.

    Returns the suffix (``".csv"`` or ``".npy"``) when ``suffixes`` is given.
    The folder must exist and take a new file (tried by creating and removing
    one); an existing ``path`` must be a regular file, which is replaced only
    once the new one is complete.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffixes and suffix not in suffixes:
        raise UsageError(
            f"{what} {path!r} must end in .csv or .npy (the format is chosen by "
            "the extension)"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{what} folder {folder!r} does not exist")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"cannot write {what} {path!r}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"{what} {path!r} is a folder")
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(
            f"{what} {path!r} is not a regular file (a named pipe, device or "
            "socket); give a file path"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".sklearn-gtn-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"cannot write {what} {path!r}: {exc.strerror or one_line(exc)}"
        ) from None
    return suffix


def check_not_an_input(path, *inputs, what="output"):
    """Refuse an output that is one of the command's input files."""
    for given in inputs:
        if given is None:
            continue
        try:
            same = os.path.samefile(path, given)
        except OSError:  # one of them does not exist (yet)
            same = False
        if same:
            raise UsageError(
                f"{what} {path!r} is the input file {given!r}; writing it would "
                "destroy the input (choose another output)"
            )


def check_room(path, n_rows, values_per_row, *, suffix):
    """Refuse a request whose rows cannot fit in memory or on the disk."""
    n_values = n_rows * values_per_row
    need_memory = n_values * 8  # float64 samples
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        memory = None
    if memory is not None and need_memory > memory:
        raise UsageError(
            f"{n_rows} samples of {values_per_row} values need "
            f"{_size(need_memory)} of memory; this machine has {_size(memory)}"
        )
    per_value = 8 if suffix == ".npy" else _MIN_CSV_BYTES_PER_VALUE
    need_disk = n_values * per_value
    folder = os.path.dirname(os.path.abspath(path))
    free = shutil.disk_usage(folder).free
    if need_disk > free:
        raise UsageError(
            f"{n_rows} samples of {values_per_row} values need at least "
            f"{_size(need_disk)} on disk; {folder!r} has {_size(free)} free"
        )


def _size(n_bytes):
    """``1536`` -> ``"1.5 KiB"``."""
    value, unit = float(n_bytes), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:,.1f} {unit}"


# ----------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------
@dataclass
class Table:
    """What :func:`read_table` read.

    Attributes
    ----------
    data : ndarray of float64 or pandas.DataFrame
        An array when every column is numeric (or for ``.npy`` files), else a
        DataFrame with the text columns as ``object`` columns.
    columns : list of str or None
        The header's column names (index column removed), if any.
    skipped : str or None
        How the skipped index column was found (``"pandas index"`` or
        ``"--index-col"``), if one was.
    text_columns : list of str
        Names of the columns that hold text (empty for numeric data).
    """

    data: object
    columns: list | None = None
    skipped: str | None = None
    text_columns: list = field(default_factory=list)


def read_data(path, *, delimiter=None, index_col=None, header="auto"):
    """Read a numeric data file for the command line: CSV (header or not) or NPY.

    Parameters
    ----------
    path : str
        A ``.npy`` file (a real numeric array, 2-D rows of features or a stack
        of images) or a delimited text file (``.csv``, ``.tsv``, ``.txt``...).
        The rules are in :doc:`/cli` ("Text files"): a first row with no
        numbers is a header, one with only numbers is data, a first row that
        mixes both is an error.
    delimiter : str, default=None
        The field delimiter of a text file; ``None`` guesses it.
    index_col : str or int, default=None
        A column to skip: its header name or its position from 0. ``None``
        skips the unnamed ``0 .. n - 1`` index column pandas writes.
    header : {"auto", "yes", "no"}, default="auto"
        Whether the first row is a header; ``"auto"`` decides as above.

    Returns
    -------
    X : ndarray of float64
        The data; NaN and infinite values are rejected.

    Raises
    ------
    UsageError
        On a missing, unreadable, empty or non-numeric file; the message
        names the line and the column.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_gtn.cli import read_data
    >>> path = os.path.join(tempfile.mkdtemp(), "x.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write(",width,height\\n0,1.5,2\\n1,3,4.25\\n")
    >>> read_data(path)
    array([[1.5 , 2.  ],
           [3.  , 4.25]])
    """
    table = read_table(path, delimiter=delimiter, index_col=index_col, header=header)
    if table.text_columns:
        name = table.text_columns[0]
        raise UsageError(f"{path!r}: column {name!r} holds text, not numbers")
    return table.data


def read_table(path, *, delimiter=None, index_col=None, header="auto"):
    """Read a data file into a :class:`Table` (see :func:`read_data`).

    Text columns are allowed here: with any, ``Table.data`` is a DataFrame.
    """
    if header not in _HEADER_CHOICES:
        raise UsageError(f"--header must be one of {_HEADER_CHOICES}, got {header!r}")
    check_input_file(path, "data file")
    if path.lower().endswith(".npy"):
        return Table(_read_npy(path))
    return _read_text(path, delimiter=delimiter, index_col=index_col, header=header)


def _read_npy(path):
    try:
        # mapped first: the dtype and shape are checked before anything is read
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise UsageError(f"cannot read {path!r} as a .npy file: {exc}") from None
    if data.dtype.kind == "c":
        raise UsageError(
            f"{path!r} holds complex values ({data.dtype}); expected real numbers "
            "(split the real and imaginary parts into columns)"
        )
    if data.dtype.kind not in "biuf":
        raise UsageError(f"{path!r} holds {data.dtype} values; expected numbers")
    if data.ndim < 2 or data.size == 0:
        raise UsageError(
            f"{path!r} has shape {data.shape}; expected a non-empty array of "
            "rows (n_samples, n_features) or of images"
        )
    data = np.array(data, dtype=np.float64)
    _check_finite(data, path, None, None)
    return data


@dataclass
class _Layout:
    """Where the data of a text file starts and how its fields are split."""

    delimiter: str | None  # None: runs of whitespace
    first_line: int  # 1-based number of the first non-blank line
    header: list | None
    width: int


def _split(line, delimiter):
    if delimiter is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def _is_number(text):
    if not text.strip():
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _layout(path, delimiter, header):
    number, line = 0, ""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            while not line.strip():
                line = f.readline()
                number += 1
                if not line:
                    raise UsageError(f"{path!r} holds no data")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r}: {one_line(exc)}") from None
    line = line.rstrip("\r\n")
    if delimiter is None:
        if path.lower().endswith(".tsv") or ("\t" in line and "," not in line):
            delimiter = "\t"
        elif "," not in line and len(line.split()) > 1:
            delimiter = None
        else:
            delimiter = ","
    fields = _split(line, delimiter)
    numeric = [_is_number(f) for f in fields]
    if header == "auto":
        if all(numeric):
            header = "no"
        elif not any(numeric):
            header = "yes"
        else:
            j = numeric.index(False)
            raise UsageError(
                f"{path}, line {number}: the first row mixes numbers and text "
                f"(column {j + 1}: {fields[j]!r} is not a number); a header has "
                "no numbers and a data row only numbers (--header yes or no "
                "decides)"
            )
    names = None
    if header == "yes":
        names = list(fields)
        if names and line.startswith("#"):  # np.savetxt's "# a,b" header
            names[0] = names[0].lstrip("#").strip()
    return _Layout(delimiter, number, names, len(fields))


def _read_text(path, *, delimiter, index_col, header):
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter must be one character, got {delimiter!r}")
    layout = _layout(path, delimiter, header)
    frame = _numbers(path, layout)
    if frame is _HAS_TEXT:
        frame = _strings(path, layout)
    return _finish(frame, path, layout, index_col)


_HAS_TEXT = object()  # a table with a header and fields that are not numbers


def _numbers(path, layout):
    """The body as float64 by :func:`numpy.loadtxt` (correctly rounded).

    On a field that is not a number: ``_HAS_TEXT`` when the file has a header
    and pandas is installed, else the error naming the line and column.
    """
    skip = _skip(layout)
    try:
        with warnings.catch_warnings():  # an empty body is reported below
            warnings.filterwarnings("ignore", message="loadtxt: input contained no")
            data = np.loadtxt(
                path,
                delimiter=layout.delimiter,
                skiprows=skip,
                ndmin=2,
                dtype=np.float64,
                comments=None,
                quotechar='"',
                encoding="utf-8-sig",
            )
    except ValueError as exc:
        # text columns, missing fields or ragged rows: find and name the first
        _locate_problem(path, layout, skip, columns=())  # widths first
        if layout.header is not None and _has_pandas():
            return _HAS_TEXT
        hint = " (text columns need pandas)" if layout.header is not None else ""
        _locate_problem(path, layout, skip, hint=hint)
        raise UsageError(f"cannot read {path!r}: {one_line(exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r}: {one_line(exc)}") from None
    if data.size == 0:
        return None
    return data


def _has_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _strings(path, layout):
    """The body as a DataFrame of strings (pandas' C parser)."""
    import pandas as pd

    try:
        return pd.read_csv(
            path,
            sep=r"\s+" if layout.delimiter is None else layout.delimiter,
            header=None,
            skiprows=_skip(layout),
            skip_blank_lines=True,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=True,
            encoding="utf-8-sig",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path!r}: {one_line(exc)}") from None


def _skip(layout):
    """Lines before the first data row."""
    return layout.first_line - (layout.header is None)


def _column_name(layout, j):
    if layout.header is not None and layout.header[j]:
        return repr(layout.header[j])
    return str(j + 1)


def _data_rows(path, layout, skip):
    """(line number, fields) of every non-blank data row (the slow path)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        for number, line in enumerate(f, start=1):
            if number <= skip or not line.strip():
                continue
            yield number, _split(line.rstrip("\r\n"), layout.delimiter)


def _locate_problem(path, layout, skip, *, columns=None, hint=""):
    """Raise a UsageError naming the first bad row or value, if there is one.

    Checks the width of every row and that the values of ``columns`` (all by
    default) are numbers (or NaN, which the caller rejects with its place).
    """
    columns = range(layout.width) if columns is None else columns
    for number, fields in _data_rows(path, layout, skip):
        if len(fields) != layout.width:
            raise UsageError(
                f"{path}, line {number}: {len(fields)} values, expected {layout.width}"
            )
        for j in columns:
            if not _is_number(fields[j]) and fields[j] not in _NAN_STRINGS:
                raise UsageError(
                    f"{path}, line {number}, column {_column_name(layout, j)}: "
                    f"{fields[j]!r} is not a number{hint}"
                )


def _finish(frame, path, layout, index_col):
    """Check the columns, skip the index, return the Table."""
    if frame is None or len(frame) == 0:
        if layout.header is not None:
            raise UsageError(f"{path!r} has a header but no data rows")
        raise UsageError(f"{path!r} holds no data")
    width = frame.shape[1]
    if width != layout.width:
        _locate_problem(path, layout, _skip(layout), columns=())
        raise UsageError(
            f"{path!r}: the first row has {layout.width} values, the data {width}"
        )
    names = layout.header
    text = []
    if not isinstance(frame, np.ndarray):  # strings: numbers, text or a mix
        frame, text = _typed(frame, path, layout)
    drop = _index_column(frame, layout, index_col, path)
    skipped = None
    if drop is not None:
        skipped = "--index-col" if index_col is not None else "pandas index"
    keep = [j for j in range(width) if j != drop]
    if names is not None:
        seen = set()
        for j in keep:
            if not names[j]:
                raise UsageError(
                    f"{path!r}: column {j + 1} has no name in the header and is "
                    "not the 0 .. n-1 index pandas writes; name it, or skip it "
                    f"with --index-col {j}"
                )
            if names[j] in seen:
                raise UsageError(f"{path!r}: column name {names[j]!r} appears twice")
            seen.add(names[j])
    kept = None if names is None else [names[j] for j in keep]
    if isinstance(frame, np.ndarray):
        data = frame[:, keep] if drop is not None else frame
        data = np.ascontiguousarray(data, dtype=np.float64)
        _check_finite(data, path, layout, keep)
        return Table(data, kept, skipped)
    numeric = [j for j in keep if j not in text]
    _check_finite(
        frame.iloc[:, numeric].to_numpy(dtype=np.float64), path, layout, numeric
    )
    frame = frame.iloc[:, keep]
    frame.columns = kept
    if not [j for j in keep if j in text]:
        return Table(
            np.ascontiguousarray(frame.to_numpy(dtype=np.float64)), kept, skipped
        )
    return Table(frame, kept, skipped, [names[j] for j in keep if j in text])


def _typed(frame, path, layout):
    """Columns of strings as int64 or float64 (all numbers) or text (none).

    A column that mixes both is an error naming its first non-number. An
    empty field of a text column is a missing value (NaN).
    """
    import pandas as pd

    out = {}
    text = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j].str.strip()
        is_number = values.map(_is_number) | values.isin(_NAN_STRINGS)
        if is_number.all():
            # integers stay integers (the tabular sampler rounds them back);
            # NumPy's conversion of other numbers is correctly rounded
            strings = values.to_numpy(dtype=str)
            try:
                out[j] = strings.astype(np.int64)
            except (ValueError, OverflowError):
                out[j] = strings.astype(np.float64)
        elif is_number.any():
            _locate_problem(path, layout, _skip(layout), columns=[j])
            raise UsageError(f"{path!r}: column {_column_name(layout, j)} mixes types")
        else:
            values = values.astype(object)
            out[j] = values.where(values != "", np.nan)
            text.append(j)
    return pd.DataFrame(out), text


def _index_column(frame, layout, index_col, path):
    """Position of the column to skip, or None."""
    width = frame.shape[1]
    if index_col is not None:
        if layout.header is not None and index_col in layout.header:
            return layout.header.index(index_col)
        try:
            position = int(index_col)
        except (TypeError, ValueError):
            known = ", ".join(map(repr, layout.header or []))
            raise UsageError(
                f"--index-col {index_col!r} is not a column of {path!r}"
                + (f" (columns: {known})" if known else "")
            ) from None
        if not 0 <= position < width:
            raise UsageError(
                f"--index-col {position} is out of range: {path!r} has {width} columns"
            )
        if width == 1:
            raise UsageError(f"--index-col {position} would leave {path!r} no columns")
        return position
    if layout.header is None or layout.header[0] not in _INDEX_NAMES or width < 2:
        return None
    first = frame[:, 0] if isinstance(frame, np.ndarray) else frame.iloc[:, 0]
    try:
        first = np.asarray(first, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if np.array_equal(first, np.arange(len(first))):
        return 0
    return None


def _check_finite(data, path, layout, columns):
    bad = ~np.isfinite(data)
    if not bad.any():
        return
    if layout is not None:  # a short row read as NaN: name it
        _locate_problem(path, layout, _skip(layout), columns=())
    i, j = np.argwhere(bad)[0]
    where = f"row {i + 1}"
    if layout is not None and columns is not None:
        where = f"data row {i + 1}, column {_column_name(layout, columns[j])}"
    raise UsageError(f"{path!r} contains NaN or infinite values ({where})")


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------
def write_data(path, data, *, columns=None, verbose=0):
    """Write ``data`` as NPY (any shape) or CSV (one flattened row per sample).

    The file is written to a temporary file in the same folder and renamed
    over ``path`` once complete: a failed write leaves ``path`` as it was.

    Parameters
    ----------
    path : str
        Destination, ending in ``.npy`` or ``.csv``.
    data : array-like or pandas.DataFrame
        The rows. A DataFrame keeps its column names and text columns in CSV;
        NPY takes numbers only.
    columns : list of str, default=None
        Header of a CSV file (ignored when ``data`` is a DataFrame or when
        the count differs from the values per row).
    verbose : int, default=0
        Show a progress bar while writing a CSV.

    Raises
    ------
    OSError
        If the file cannot be written (the previous file is kept).
    """
    from ..persistence import _atomic_write

    frame = data if hasattr(data, "iloc") and hasattr(data, "columns") else None
    if path.lower().endswith(".npy"):
        if frame is not None:
            data = frame.to_numpy(dtype=np.float64)
        array = np.asarray(data)
        _atomic_write(path, lambda f: np.save(f, array))
        return
    if frame is None:
        rows = np.asarray(data)
        rows = rows.reshape(len(rows), -1)
        if columns is not None and len(columns) != rows.shape[1]:
            columns = None
    else:
        rows, columns = frame, [str(c) for c in frame.columns]

    def write(binary):
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            if columns is not None:
                csv.writer(text, lineterminator="\n").writerow(columns)
            starts = range(0, len(rows), _WRITE_CHUNK_ROWS)
            for start in progress(starts, verbose=verbose, desc=f"writing {path}"):
                chunk = rows[start : start + _WRITE_CHUNK_ROWS]
                if frame is None:
                    np.savetxt(text, chunk, fmt=_CSV_FORMAT, delimiter=",")
                else:
                    chunk.to_csv(
                        text, header=False, index=False, float_format=_CSV_FORMAT
                    )
            text.flush()
        finally:
            text.detach()

    _atomic_write(path, write)
