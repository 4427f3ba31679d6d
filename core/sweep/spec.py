"""The sweep file (``SWEEP.toml``): a base config and a grid, expanded into one run per point.

A sweep file is a config (``[problem]``, ``[[lanes]]``, ``[run]``, or a ``base`` config file
they override) plus a ``[grid]`` whose leaves are lists of values. Every point of the grid
times every ``[[lanes]]`` entry is one :class:`RunPlan`: a complete, validated one-lane
:class:`~core.config.Config`::

    [sweep]
    base = "blur.toml"            # optional: the config the sections below override
    cpus_per_run = 1              # Ray CPUs and torch threads of each run (serial runs too)
    gpus_per_run = 1              # GPUs Ray reserves for each run whose device is cuda
    [[lanes]]                     # each lane is its own run (replaces the base's lanes)
    solver = "fista"
    prior = "tv"
    [grid.problem]
    image = ["camera", "coins"]   # or one glob pattern, relative to this file ("{data}/Set12/*.png")
    seed = [0, 1]
    [grid.problem.params]         # degradation parameters
    kernel_sigma = [1.2, 1.6]
    [grid.lanes.params]           # lane parameters, set on every lane
    lam = [0.005, 0.02]
    [grid.run]
    iterations = [50]

A run's identity is the SHA-256 of its resolved config, so a resumed or extended sweep finds
the runs it already has whatever their position in the grid.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import Config, ProblemSpec, RunSpec
from ..toml_fields import check_keys, read_toml, table_of, typed_value

#: axes that vary within one setting of the results table (mean/best are taken over them)
REPLICATE_AXES = ("image", "seed")
#: more runs than this is a typo in a grid, not a sweep
MAX_RUNS = 100_000
SWEEP_KEYS = {"name", "base", "out", "cpus_per_run", "gpus_per_run"}


@dataclass
class RunPlan:
    """One run of a sweep.

    Attributes
    ----------
    key : str
        Hex SHA-256 of the resolved config (the run's identity).
    name : str
        Folder name under ``runs/``: readable axis values and the first digits of ``key``.
    axes : dict
        Axis name -> value shown in the tables (``image``, ``lane``, ``seed`` and the grid keys).
    config : dict
        The resolved one-lane config (:meth:`Config.to_dict`).
    """

    key: str
    name: str
    axes: dict[str, Any]
    config: dict[str, Any]

    @property
    def uses_cuda(self) -> bool:
        return self.config["run"].get("device") == "cuda"


@dataclass
class Sweep:
    """A parsed sweep file: where it came from, its settings and its runs (in grid order)."""

    path: Path
    name: str
    runs: list[RunPlan]
    axes: list[str]
    out: Path | None = None
    cpus_per_run: int = 1
    gpus_per_run: float = 1.0
    setting_axes: list[str] = field(default_factory=list)


def load_sweep(path: str | Path, *, device: str | None = None) -> Sweep:
    """Read, validate and expand a sweep file.

    Parameters
    ----------
    path : path
        The sweep TOML file.
    device : {"cpu", "cuda"}, optional
        Override ``[run] device`` of every run.

    Raises
    ------
    ValueError
        One line naming the file, the key and the reason.
    """
    path = Path(path)
    raw = read_toml(path, "sweep")
    try:
        return _expand(path, raw, device)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _expand(path: Path, raw: Mapping, device: str | None) -> Sweep:
    check_keys(raw, {"sweep", "problem", "lanes", "run", "grid"}, "top level")
    settings = table_of(raw.get("sweep", {}), "[sweep]")
    check_keys(settings, SWEEP_KEYS, "[sweep]")
    folder = path.parent
    base = _base_config(settings, folder)
    for section in ("problem", "run"):
        if section in raw:
            base[section] = _merged(
                table_of(base.get(section, {}), f"base [{section}]"), table_of(raw[section], f"[{section}]")
            )
    if "lanes" in raw:
        base["lanes"] = raw["lanes"]
    if device is not None:
        base.setdefault("run", {})["device"] = device
    lanes = base.get("lanes", [])
    if not isinstance(lanes, list) or not lanes:
        raise ValueError("[[lanes]]: a sweep needs at least one lane (in the sweep file or its base)")
    labels = []
    for i, lane in enumerate(lanes):
        if "solver" not in table_of(lane, f"[[lanes]] #{i + 1}"):
            raise ValueError(f"[[lanes]] #{i + 1}: missing required key 'solver'")
        labels.append(lane.get("label") or lane["solver"])
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise ValueError(f"[[lanes]] #{i + 1}: label '{label}' is used twice; give each lane its own 'label'")
    axes = _grid_axes(table_of(raw.get("grid", {}), "[grid]"), folder)
    sweep = Sweep(
        path=path,
        name=typed_value(settings, "name", str, "[sweep]", path.stem),
        runs=[],
        axes=[],
        cpus_per_run=typed_value(settings, "cpus_per_run", int, "[sweep]", 1, low=1, high=1024),
        gpus_per_run=typed_value(settings, "gpus_per_run", float, "[sweep]", 1.0, low=1e-3, high=64.0),
    )
    out = typed_value(settings, "out", str, "[sweep]", None, optional=True)
    sweep.out = None if out is None else folder / out
    names = _axis_names(axes)
    image_base = _resolve_image(str(base.get("problem", {}).get("image", ProblemSpec.image)), folder)
    count = len(lanes) * math.prod(len(values) for _, values in axes)
    if count > MAX_RUNS:
        raise ValueError(f"[grid]: {count} runs is more than {MAX_RUNS}; split the sweep")
    lane_position = sum(1 for where, _ in axes if where[0] == "problem")
    outer, inner = axes[:lane_position], axes[lane_position:]
    for problem_point in itertools.product(*(values for _, values in outer)):
        for lane, label in zip(lanes, labels):
            for lane_point in itertools.product(*(values for _, values in inner)):
                config = copy.deepcopy(base)
                config["lanes"] = [dict(lane, label=label)]
                config.setdefault("problem", {})["image"] = image_base
                shown = {}
                for (where, _), name, value in zip(axes, names, problem_point + lane_point):
                    _set(config, where, value)
                    shown[name] = Path(value).name if where == ("problem", "image") and _is_file(value) else value
                shown.setdefault("image", Path(image_base).name if _is_file(image_base) else image_base)
                shown.setdefault("seed", config["problem"].get("seed", ProblemSpec.seed))
                shown["lane"] = label
                order = ["image", "seed", *names[:lane_position], "lane", *names[lane_position:]]
                sweep.runs.append(_plan(config, {name: shown[name] for name in order}))
    sweep.axes = list(sweep.runs[0].axes)
    sweep.setting_axes = [name for name in sweep.axes if name not in REPLICATE_AXES]
    keys = {}
    for plan in sweep.runs:
        if plan.key in keys:
            raise ValueError(f"[grid]: runs {keys[plan.key]} and {plan.name} are the same run; remove the duplicate")
        keys[plan.key] = plan.name
    return sweep


def _base_config(settings: Mapping, folder: Path) -> dict:
    base = typed_value(settings, "base", str, "[sweep]", None, optional=True)
    if base is None:
        return {}
    path = folder / base
    try:
        data = read_toml(path, "config")
    except ValueError as exc:
        raise ValueError(f"[sweep] key 'base': {exc}") from None
    check_keys(data, {"problem", "lanes", "run"}, f"[sweep] key 'base' ({path}) top level")
    image = data.get("problem", {}).get("image")
    if isinstance(image, str) and (path.parent / image).is_file():
        data["problem"]["image"] = str((path.parent / image).resolve())
    return data


def _merged(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override``'s keys set; sub-tables merged key by key."""
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            _merged(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) else value
        )
    return out


def _grid_axes(grid: Mapping, folder: Path) -> list[tuple[tuple, list]]:
    """``[(path in the config, values)]`` in file order; validates names and values."""
    check_keys(grid, {"problem", "lanes", "run"}, "[grid]")
    allowed = {
        "problem": {f.name for f in fields(ProblemSpec)},
        "lanes": {"params"},
        "run": {f.name for f in fields(RunSpec)},
    }
    axes = []
    for section in (s for s in allowed if s in grid):  # problem, lanes, run: the order of the tables
        table = table_of(grid[section], f"[grid.{section}]")
        check_keys(table, allowed[section], f"[grid.{section}]")
        for key, values in table.items():
            if key == "params":
                for name, param_values in table_of(values, f"[grid.{section}.params]").items():
                    where = f"[grid.{section}.params] key '{name}'"
                    axes.append(((section, "params", name), _values(param_values, where)))
            elif (section, key) == ("problem", "image"):
                axes.append(((section, key), _images(values, folder)))
            else:
                axes.append(((section, key), _values(values, f"[grid.{section}] key '{key}'")))
    return axes


def _values(values, where: str) -> list:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{where} must be a non-empty array of values, got {values!r}")
    for value in values:
        if isinstance(value, (Mapping, list)):
            raise ValueError(f"{where}: values must be numbers, strings or booleans, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where}: values must be finite, got {value!r}")
    for i, value in enumerate(values):
        if any(type(value) is type(other) and value == other for other in values[:i]):
            raise ValueError(f"{where}: value {value!r} is listed twice")
    return list(values)


def _images(values, folder: Path) -> list[str]:
    """Image axis values: an array of catalogue names / paths, or one glob pattern."""
    where = "[grid.problem] key 'image'"
    if isinstance(values, str):
        from ..paths import data_dir

        pattern = values.replace("{data}", str(data_dir()))
        if not Path(pattern).is_absolute():
            pattern = str(folder / pattern)
        found = sorted(glob.glob(pattern))
        if not found:
            raise ValueError(f"{where}: the pattern {values!r} matches no file (looked for {pattern})")
        return [str(Path(p).resolve()) for p in found]
    for value in _values(values, where):
        if not isinstance(value, str):
            raise ValueError(f"{where}: images are catalogue names or file paths (strings), got {value!r}")
    return [_resolve_image(value, folder) for value in values]


def _resolve_image(image: str, folder: Path) -> str:
    """Image paths relative to the sweep file become absolute (catalogue names stay)."""
    return str((folder / image).resolve()) if (folder / image).is_file() else image


def _is_file(image) -> bool:
    return isinstance(image, str) and Path(image).is_absolute()


def _axis_names(axes) -> list[str]:
    """Short axis names (the key), qualified by section where two sections use the same key."""
    short = [where[-1] for where, _ in axes]
    return [name if short.count(name) == 1 else ".".join(where) for name, (where, _) in zip(short, axes)]


def _set(config: dict, where: tuple, value) -> None:
    if where[0] == "lanes":
        for lane in config["lanes"]:
            lane.setdefault("params", {})[where[-1]] = value
        return
    table = config
    for key in where[:-1]:
        table = table.setdefault(key, {})
    table[where[-1]] = value


def _plan(raw: dict, axes: dict) -> RunPlan:
    from ..cli import safe_filename

    label = ", ".join(f"{k}={v}" for k, v in axes.items())
    try:
        resolved = Config.from_dict(raw).to_dict()
    except ValueError as exc:
        raise ValueError(f"run ({label}): {exc}") from None
    key = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()
    slug = safe_filename("_".join(str(v) for v in axes.values()), limit=60)
    return RunPlan(key=key, name=f"{slug}-{key[:10]}", axes=axes, config=resolved)
