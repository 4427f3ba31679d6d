"""Save and open sessions: a folder with session.toml, metrics.csv and iterates.npz.

* ``session.toml``: ``schema_version``, ``seed`` and the full resolved config (``[config]``).
* ``metrics.csv``: one row per lane per iteration (:data:`core.engine.CSV_COLUMNS`).
* ``iterates.npz``: kept iterates as display images, ``lane<i>_k<k>`` plus ``lane_labels``;
  read with ``allow_pickle=False``.

Every file is written to a temporary name in the folder and renamed into place
(``os.replace``); ``session.toml`` is written last, so a folder with a readable session.toml
has complete companions. Opening a session and running its config reproduces the metrics
(the run is seeded).
"""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import tomllib

from .atomic import atomic_open, atomic_write_text
from .config import Config
from .engine import CSV_COLUMNS, METRIC_NAMES, Run, write_metrics_csv

SCHEMA_VERSION = 1
SESSION_FILE = "session.toml"
METRICS_FILE = "metrics.csv"
ITERATES_FILE = "iterates.npz"

#: metrics table: lane label -> column -> array ("iteration" int, metrics float, "status" str)
MetricsTable = dict[str, dict[str, np.ndarray]]
#: iterates: lane label -> iteration -> display image
Iterates = dict[str, dict[int, np.ndarray]]


def save_session(run: Run, folder: str | Path) -> Path:
    """Write ``run`` (config, metrics, kept iterates) into ``folder`` (created if needed).

    Returns
    -------
    Path
        The session folder.
    """
    import tomli_w

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = run.snapshot()
    write_metrics_csv(snapshot, folder / METRICS_FILE)
    arrays = {"lane_labels": np.array([lane.label for lane in run.lanes], dtype=str)}
    for index, lane in enumerate(run.lanes):
        for k in run.kept_iterations(index):
            arrays[f"lane{index}_k{k}"] = run.iterate(index, k)
    with atomic_open(folder / ITERATES_FILE, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    document = {"schema_version": SCHEMA_VERSION, "seed": run.config.problem.seed,
                "config": run.config.to_dict()}
    atomic_write_text(folder / SESSION_FILE, tomli_w.dumps(document))
    return folder


def open_session(folder: str | Path) -> tuple[Config, MetricsTable, Iterates]:
    """Read a session folder.

    Returns
    -------
    config : Config
    metrics : dict
        Lane label -> {"iteration": int array, metric name -> float array, "status": str array}.
    iterates : dict
        Lane label -> {iteration: display image}.

    Raises
    ------
    ValueError
        Naming the file and the problem (missing, corrupt, foreign schema version, invalid config).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a session folder (does not exist or is not a directory)")
    config = read_session_config(folder / SESSION_FILE)
    metrics = read_metrics_csv(folder / METRICS_FILE)
    iterates = read_iterates(folder / ITERATES_FILE)
    return config, metrics, iterates


def read_session_config(path: Path) -> Config:
    """The config stored in a ``session.toml`` (checks the schema version)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing session file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read session file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: corrupt session file (TOML syntax error: {exc})") from None
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported schema_version {version!r} (this version reads {SCHEMA_VERSION})")
    if not isinstance(document.get("config"), dict):
        raise ValueError(f"{path}: missing [config] table")
    try:
        return Config.from_dict(document["config"])
    except ValueError as exc:
        raise ValueError(f"{path}: invalid config: {exc}") from None


def read_metrics_csv(path: Path) -> MetricsTable:
    """Parse a ``metrics.csv`` written by :func:`core.engine.write_metrics_csv`."""
    rows: dict[str, list[list[str]]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header) != CSV_COLUMNS:
                raise ValueError(f"{path}: corrupt metrics file (header {header} is not {list(CSV_COLUMNS)})")
            for line_number, row in enumerate(reader, start=2):
                if len(row) != len(CSV_COLUMNS):
                    raise ValueError(f"{path}: corrupt metrics file (line {line_number} has {len(row)} "
                                     f"fields, expected {len(CSV_COLUMNS)})")
                rows.setdefault(row[0], []).append(row)
    except FileNotFoundError:
        raise ValueError(f"{path}: missing metrics file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: cannot read metrics file ({exc})") from None
    table: MetricsTable = {}
    for label, lane_rows in rows.items():
        columns = list(zip(*lane_rows))
        try:
            entry = {"iteration": np.array(columns[1], dtype=np.int64)}
            for offset, name in enumerate(METRIC_NAMES, start=2):
                entry[name] = np.array(columns[offset], dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: corrupt metrics file (lane '{label}': {exc})") from None
        entry["status"] = np.array(columns[-1], dtype=str)
        table[label] = entry
    return table


def read_iterates(path: Path) -> Iterates:
    """Kept iterates from ``iterates.npz`` (no pickle)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            labels = [str(label) for label in data["lane_labels"]]
            iterates: Iterates = {label: {} for label in labels}
            for key in data.files:
                if key == "lane_labels":
                    continue
                lane_part, k_part = key.split("_k")
                iterates[labels[int(lane_part[len("lane"):])]][int(k_part)] = data[key]
    except FileNotFoundError:
        raise ValueError(f"{path}: missing iterates file") from None
    except (OSError, KeyError, IndexError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: corrupt iterates file ({type(exc).__name__}: {exc})") from None
    return {label: dict(sorted(kept.items())) for label, kept in iterates.items()}
