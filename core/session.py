"""Save and open sessions: a folder with session.toml, metrics.csv and iterates.npz.

* ``session.toml``: ``schema_version``, ``seed`` and the full resolved config (``[config]``).
* ``metrics.csv``: one row per lane per iteration (:data:`core.engine.CSV_COLUMNS`).
* ``iterates.npz``: kept iterates as display images, ``lane<i>_k<k>`` plus ``lane_labels``;
  read with ``allow_pickle=False``.

A save writes the three files into a staging folder beside the session and swaps it in
(:func:`core.atomic.atomic_folder`), so the folder is always one whole save; ``session.toml``
also records the SHA-256 of the other two (``[files]``), checked on open. Opening a session and
running its config reproduces the metrics (the run is seeded).
"""

from __future__ import annotations

import csv
import math
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .atomic import atomic_folder, recover_folder, sha256_file
from .config import Config
from .engine import CSV_COLUMNS, METRIC_NAMES, Run, write_metrics_csv
from .toml_fields import read_toml

SCHEMA_VERSION = 1
SESSION_FILE = "session.toml"
METRICS_FILE = "metrics.csv"
ITERATES_FILE = "iterates.npz"
SESSION_FILES = (SESSION_FILE, METRICS_FILE, ITERATES_FILE)

#: metrics table: lane label -> column -> array ("iteration" int, metrics float, "status" str)
MetricsTable = dict[str, dict[str, np.ndarray]]
#: iterates: lane label -> iteration -> display image
Iterates = dict[str, dict[int, np.ndarray]]


def save_session(run: Run, folder: str | Path) -> Path:
    """Write ``run`` (config, metrics, kept iterates) into ``folder`` (created if needed).

    The three files are written as one unit (:func:`core.atomic.atomic_folder`): after a crash,
    a full disk or any error the folder holds either the previous session or this one, whole.
    ``session.toml`` records the SHA-256 of its two companions, so a folder whose files come
    from different saves is refused on open.

    Returns
    -------
    Path
        The session folder.
    """
    snapshot = run.snapshot()
    arrays = {"lane_labels": np.array([lane.label for lane in run.lanes], dtype=str)}
    for index in range(len(run.lanes)):
        for k in run.kept_iterations(index):
            arrays[f"lane{index}_k{k}"] = run.iterate(index, k)
    return write_session(
        folder, run.config.to_dict(), run.config.problem.seed, lambda path: write_metrics_csv(snapshot, path), arrays
    )


def write_session(
    folder: str | Path,
    config: dict,
    seed: int,
    write_metrics: Callable[[Path], None],
    arrays: dict[str, np.ndarray],
    compress: bool = True,
) -> Path:
    """Write a session folder from detached data (what :func:`save_session` and the workbench's
    autosave share), atomically as one unit.

    Parameters
    ----------
    folder : path
    config : dict
        ``Config.to_dict()`` of the run.
    seed : int
    write_metrics : callable(path)
        Writes ``metrics.csv`` (the rows of :func:`core.engine.write_metrics_csv`) at ``path``.
    arrays : dict
        The ``iterates.npz`` arrays: ``lane_labels`` and ``lane<i>_k<k>`` display images.
    compress : bool
        ``np.savez_compressed`` (smaller) or ``np.savez`` (faster).
    """
    import tomli_w

    folder = Path(folder)
    with atomic_folder(folder, SESSION_FILES) as staging:
        write_metrics(staging / METRICS_FILE)
        with open(staging / ITERATES_FILE, "wb") as handle:
            (np.savez_compressed if compress else np.savez)(handle, **arrays)
        document = {
            "schema_version": SCHEMA_VERSION,
            "seed": seed,
            "files": {name: sha256_file(staging / name) for name in (METRICS_FILE, ITERATES_FILE)},
            "config": config,
        }
        (staging / SESSION_FILE).write_text(tomli_w.dumps(document), encoding="utf-8")
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
    recover_folder(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a session folder (does not exist or is not a directory)")
    config = read_session_config(folder / SESSION_FILE)
    labels = [lane.label for lane in config.lanes]
    metrics = read_metrics_csv(folder / METRICS_FILE)
    foreign = sorted(set(metrics) - set(labels))
    if foreign:
        raise ValueError(f"{folder / METRICS_FILE}: corrupt metrics file (lanes {foreign} are not in the session)")
    iterates = read_iterates(folder / ITERATES_FILE, labels)
    check_companions(folder)
    return config, metrics, iterates


def check_companions(folder: Path) -> None:
    """Raise ``ValueError`` when metrics.csv or iterates.npz are not the files session.toml was saved
    with (a folder mixing two saves, or a file changed since); sessions without digests pass."""
    document = _read_session_document(folder / SESSION_FILE)
    digests = document.get("files", {})
    if not isinstance(digests, dict):
        raise ValueError(f"{folder / SESSION_FILE}: key 'files' must be a table of SHA-256 digests")
    for name, digest in digests.items():
        if name not in (METRICS_FILE, ITERATES_FILE):
            raise ValueError(f"{folder / SESSION_FILE}: key 'files' names an unknown file {name!r}")
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{path}: missing {name.split('.')[0]} file")
        if sha256_file(path) != digest:
            raise ValueError(
                f"{path}: does not belong to {folder / SESSION_FILE} (SHA-256 differs): the folder "
                "mixes files of two saves or the file was changed; the session cannot be trusted"
            )


def _read_session_document(path: Path) -> dict:
    if not path.exists() and not path.is_symlink():
        raise ValueError(f"{path}: missing session file")
    return read_toml(path, "session")


def read_session_config(path: Path) -> Config:
    """The config stored in a ``session.toml`` (checks the schema version)."""
    document = _read_session_document(path)
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
                    raise ValueError(
                        f"{path}: corrupt metrics file (line {line_number} has {len(row)} "
                        f"fields, expected {len(CSV_COLUMNS)})"
                    )
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
        iterations = entry["iteration"]
        if iterations.size and (iterations[0] != 1 or np.any(np.diff(iterations) != 1)):
            raise ValueError(
                f"{path}: corrupt metrics file (lane '{label}': iterations must run 1, 2, 3, ... "
                "without gaps; the file is truncated or edited)"
            )
        table[label] = entry
    return table


#: largest kept iterate accepted when opening a session (display image elements)
MAX_ITERATE_ELEMENTS = 8192 * 8192 * 3


def _npz_array_header(archive: zipfile.ZipFile, member: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype an ``.npy`` member declares, read from its header without loading it."""
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    return tuple(shape), dtype


def read_iterates(path: Path, labels: list[str] | None = None) -> Iterates:
    """Kept iterates from ``iterates.npz`` (no pickle), each array's declared shape and type
    checked before it is read; ``labels`` (the config's lanes) must be the file's lanes."""
    if not path.is_file():
        raise ValueError(f"{path}: missing iterates file")
    key_re = re.compile(r"^lane(\d+)_k(\d+)$")
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                shape, dtype = _npz_array_header(archive, member)
                if member == "lane_labels.npy":
                    if len(shape) != 1 or dtype.kind != "U" or shape[0] > 10_000:
                        raise ValueError("lane_labels must be a short 1-D array of strings")
                    continue
                if not key_re.match(member.removesuffix(".npy")):
                    raise ValueError(f"unexpected array {member!r}")
                if (
                    len(shape) not in (2, 3)
                    or (len(shape) == 3 and shape[2] != 3)
                    or dtype not in (np.float32, np.float64)
                    or math.prod(shape) > MAX_ITERATE_ELEMENTS
                ):
                    raise ValueError(f"array {member!r} of shape {shape} and type {dtype} is not a display image")
        with np.load(path, allow_pickle=False) as data:
            file_labels = [str(label) for label in data["lane_labels"]]
            if labels is not None and file_labels != list(labels):
                raise ValueError(f"its lanes {file_labels} are not the session's lanes {list(labels)}")
            iterates: Iterates = {label: {} for label in file_labels}
            for key in data.files:
                if key == "lane_labels":
                    continue
                lane_index, k = (int(g) for g in key_re.match(key).groups())
                if lane_index >= len(file_labels):
                    raise ValueError(f"array {key!r} names lane {lane_index}, but there are {len(file_labels)}")
                iterates[file_labels[lane_index]][k] = data[key]
    except (OSError, KeyError, IndexError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path}: corrupt iterates file ({type(exc).__name__}: {exc})") from None
    return {label: dict(sorted(kept.items())) for label, kept in iterates.items()}
