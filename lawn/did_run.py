"""`lawn did`: check the options, read the panel (file or warehouse table), run each chosen
estimator of ``lawn.did`` / ``lawn.did_staggered`` (one failing does not lose the others) and
write the event-study plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lawn.did import SE_TYPES, DidResult, PanelError, did_2x2, did_twfe, event_study, prepare_panel

DID_ESTIMATORS = ("twfe", "event-study", "cs")
MIN_BOOTSTRAP = 100
PLOT_FORMATS = (".png", ".svg", ".pdf")


def plot_target(path: Path) -> Path:
    """The file --plot writes: the path as given, with ``.png`` added when it has no suffix
    (the path printed is the one written); a format other than PNG, SVG or PDF, a folder or a
    place that cannot be written is refused before any estimation (it failed after it, exit 1)."""
    from lawn.paths import unwritable_reason

    if path.is_dir():
        raise PanelError(f"--plot {path}: is a folder; give a file name such as {path / 'event_study.png'}")
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    if path.suffix.lower() not in PLOT_FORMATS:
        raise PanelError(f"--plot {path}: write a {', '.join(PLOT_FORMATS)} file, not {path.suffix}")
    if reason := unwritable_reason(path.parent):
        raise PanelError(f"--plot {path}: cannot write there ({reason})")
    return path


@dataclass
class DidRun:
    """What `lawn did` reports: the estimators that ran, the ones that failed (with why), and
    the plot written (if any)."""

    results: list[DidResult]
    errors: dict[str, str]
    plotted: str | None = None

    def payload(self) -> dict:
        return {"results": [r.to_dict() for r in self.results], "errors": self.errors, "plot": self.plotted}


def choose_estimators(value: str, two_by_two: bool) -> list[str]:
    """--estimator: all (default), or a comma list of twfe, event-study, cs (2x2 for --group/--post)."""
    if two_by_two:
        if value not in ("all", "2x2"):
            raise PanelError(f"--group/--post run the 2x2 only; --estimator {value!r} needs --treat")
        return ["2x2"]
    chosen = list(DID_ESTIMATORS) if value == "all" else [part.strip() for part in value.split(",")]
    chosen = list(dict.fromkeys(chosen))  # `twfe,twfe` ran and printed it twice
    unknown = [name for name in chosen if name not in DID_ESTIMATORS]
    if unknown or not chosen:
        raise PanelError(f"--estimator must be all or a comma list of twfe, event-study, cs; got {value!r}")
    return chosen


def read_panel(
    input_file: Path | None, table: str | None, db_path: Path | None, text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The panel from a CSV or Parquet file, or from a warehouse table (exactly one of them).
    ``text_columns`` (e.g. the unit) are read from a CSV as text, so ``007`` stays ``007``.
    ``frame.attrs`` records where rows came from (``lawn.did_panel``)."""
    import duckdb

    from lawn.paths import duckdb_path

    if (input_file is None) == (table is None):
        raise PanelError("give exactly one of --input FILE or --table SCHEMA.TABLE")
    if input_file is not None and not input_file.exists():
        raise PanelError(f"{input_file}: no such file")
    if input_file is not None and input_file.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise PanelError(f"{input_file}: a spreadsheet workbook; save the sheet as CSV (or Parquet)")
    db_path = db_path or duckdb_path()
    if input_file is None and not db_path.exists():
        raise PanelError(f"no warehouse at {db_path}: run `lawn build` first")
    try:
        if input_file is not None:
            if input_file.suffix.lower() == ".parquet":
                frame = pd.read_parquet(input_file)
                frame.attrs = {"source": input_file.name}
                return frame
            return read_csv_export(input_file, text_columns)
        with duckdb.connect(str(db_path), read_only=True) as con:
            frame = con.execute(f"select * from {table}").df()
            frame.attrs = {"source": table}
            return frame
    except (duckdb.Error, ValueError, OSError, pd.errors.ParserError) as exc:
        raise PanelError(f"cannot read the panel {input_file or table}: {str(exc).splitlines()[0]}") from exc


def read_csv_export(path: Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV as spreadsheets export it: UTF-16 (with its BOM), UTF-8 (BOM or not), else
    Windows-1252; Windows or Unix line ends; ``,``, ``;``, tab or ``|`` as separator (the
    header line's most frequent one); header names trimmed. Streamed by pandas (the file is
    not held twice); blank lines are kept as empty rows, so row i is line i + 2."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    encodings = ["utf-16"] if head.startswith((b"\xff\xfe", b"\xfe\xff")) else ["utf-8-sig", "cp1252"]
    header = head.decode(encodings[0], errors="replace").split("\n", 1)[0]
    separator = max((",", ";", "\t", "|"), key=header.count)
    if header.count(separator) == 0:
        separator = ","
    for encoding in encodings:
        try:
            options = {
                "sep": separator,
                "encoding": encoding,
                "encoding_errors": "strict",
                "keep_default_na": False,
                "na_values": [""],
            }
            if encoding == "cp1252":  # the last resort: five bytes are undefined there
                options["encoding_errors"] = "replace"
            columns = pd.read_csv(path, nrows=0, **options).columns
            trimmed = [str(column).strip() for column in columns]
            _check_header_and_rows(path, options, trimmed)
            dtype = {c: str for c, clean in zip(columns, trimmed, strict=True) if clean in text_columns}
            frame = pd.read_csv(path, dtype=dtype, skip_blank_lines=False, **options)  # type: ignore[arg-type]
            break
        except UnicodeDecodeError:
            if encoding == encodings[-1]:
                raise
    if len(set(trimmed)) == len(trimmed):
        frame.columns = trimmed
    frame.attrs = {"source": path.name, "first_line": 2, "decimal_comma": separator == ";"}
    return frame


def _check_header_and_rows(path: Path, options: dict, trimmed: list[str]) -> None:
    """A header naming one column twice (pandas read the second as `y.1`, and --outcome y took
    the first without a word), and a record with fewer fields than the header (read as missing
    cells, while one with more is refused by pandas), are refused naming the line."""
    import csv

    header = pd.read_csv(path, nrows=1, header=None, dtype=str, **options).iloc[0].fillna("").str.strip()
    twice = header[header.duplicated()]
    if not twice.empty:
        raise PanelError(f"{path.name}: column {twice.iloc[0]!r} appears twice in the header: name each once")
    errors = "replace" if options["encoding"] == "cp1252" else "strict"
    with open(path, encoding=options["encoding"], errors=errors, newline="") as handle:
        reader = csv.reader(handle, delimiter=options["sep"])
        next(reader, None)
        for record in reader:
            if record and len(record) < len(trimmed) and any(field.strip() for field in record):
                raise PanelError(
                    f"{path.name}: line {reader.line_num} has {len(record)} field(s) where the header "
                    f"has {len(trimmed)}"
                )


def run_did(
    *,
    unit: str,
    time: str,
    outcome: str,
    input_file: Path | None = None,
    table: str | None = None,
    db_path: Path | None = None,
    group: str | None = None,
    post: str | None = None,
    treat: str | None = None,
    estimator: str = "all",
    se: str = "cluster",
    time_order: str | None = None,
    leads: int = 4,
    lags: int = 4,
    control: str = "never_treated",
    base_period: str = "varying",
    bootstrap: int = 0,
    seed: int = 0,
    alpha: float = 0.05,
    plot: Path | None = None,
) -> DidRun:
    """Check the options, read and prepare the panel, run each chosen estimator (one failing
    does not lose the others) and write the event-study plot. Bad input, or every estimator
    failing, raises PanelError with a one-line message."""
    from lawn.did_staggered import BASE_PERIODS, CONTROL_GROUPS, callaway_santanna

    if (group is None) != (post is None):
        raise PanelError("the 2x2 design needs both --group and --post")
    if (group is None) == (treat is None):
        raise PanelError("give --group and --post (2x2) or --treat (staggered designs), not both or neither")
    if se not in SE_TYPES:
        raise PanelError(f"--se must be iid, hc1 or cluster, got {se!r}")
    if control not in CONTROL_GROUPS:
        raise PanelError(f"--control must be never_treated or not_yet_treated, got {control!r}")
    if base_period not in BASE_PERIODS:
        raise PanelError(f"--base-period must be varying or universal, got {base_period!r}")
    if not 0 < alpha < 1:
        raise PanelError(f"--alpha must lie in (0, 1), got {alpha}")
    if leads < 1:
        raise PanelError(f"--leads must be at least 1 (event time -1 is the reference), got {leads}")
    if lags < 0:
        raise PanelError(f"--lags must be at least 0, got {lags}")
    if bootstrap < 0 or 0 < bootstrap < MIN_BOOTSTRAP:
        # 2 draws gave a standard error from the interquartile range of two numbers, and p 0
        raise PanelError(
            f"--bootstrap must be 0 (analytic) or at least {MIN_BOOTSTRAP} draws (R did: 999), "
            f"got {bootstrap}"
        )
    plot = plot_target(plot) if plot is not None else None
    chosen = choose_estimators(estimator, group is not None)
    frame = read_panel(input_file, table, db_path, (unit,))
    roles = {"group": group, "post": post} if group is not None else {"treat": treat}
    try:
        panel = prepare_panel(frame, unit, time, outcome, roles, time_order)  # type: ignore[arg-type]
    except PanelError:
        raise
    except Exception as exc:  # a one-line reason, never a traceback
        raise PanelError(f"cannot prepare the panel: {type(exc).__name__}: {exc}") from exc
    input_warnings = list(panel.attrs.get("warnings", []))
    runners = {
        "2x2": lambda: did_2x2(panel, alpha, se),
        "twfe": lambda: did_twfe(panel, alpha, se),
        "event-study": lambda: event_study(panel, leads, lags, alpha, se),
        "cs": lambda: callaway_santanna(panel, control, base_period, alpha, bootstrap, seed),
    }
    run = DidRun([], {})
    for name in chosen:
        try:
            result = runners[name]()
            result.warnings[:0] = input_warnings
            run.results.append(result)
        except PanelError as exc:
            run.errors[name] = str(exc)
        except Exception as exc:  # one failing must not lose the others
            run.errors[name] = f"{type(exc).__name__}: {exc}"
    if not run.results:  # one line: every failure, then what the input lost (it may be why)
        failures = "; ".join(f"{name}: {message}" for name, message in run.errors.items())
        raise PanelError(failures + "".join(f" (input: {warning})" for warning in input_warnings))
    if plot is not None:
        _plot(run, plot)
    return run


def _plot(run: DidRun, path: Path) -> None:
    from lawn.did_plot import plot_event_study

    series = [r for r in run.results if r.design in ("event_study", "callaway_santanna")]
    if not series:
        run.errors["plot"] = "no event-study or Callaway & Sant'Anna result to plot"
        return
    try:
        run.plotted = str(plot_event_study(series, path))
    except (OSError, ValueError) as exc:
        run.errors["plot"] = f"cannot write {path}: {exc}"
