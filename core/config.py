"""Run configuration: the TOML file format, its validation and the built-in default problem.

A :class:`Config` has three parts: the problem (image, degradation, noise, seed), the solver
lanes (solver + prior + denoiser + one flat ``params`` table) and the run settings. Parameters
are validated against the registry's :class:`~core.params.Param` declarations, so the CLI, the
GUI and sessions all accept exactly the same files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .lane_spec import LaneSpec, check_applicable, check_unique_labels, resolve_lane
from .registry import DEGRADATIONS, load_all
from .toml_fields import check_keys, choice_value, color_value, read_toml, table_of, typed_value

DTYPES = ("float32", "float64")
DEVICES = ("cpu", "cuda")
COLOR_MODES = ("y", "rgb")
INITS = ("default", "zeros", "adjoint")
#: largest image side a config may ask for (the image loader's own limit)
MAX_SIZE = 8192


@dataclass
class ProblemSpec:
    """The ``[problem]`` section: what is observed and how.

    Attributes
    ----------
    image : str
        Catalogue name (see ``python -m core list``) or an image file path.
    size : int or None
        Longer side in pixels after resizing (None or omitted: keep the image's own size).
    grayscale : bool
        Convert to one channel.
    color_mode : {"y", "rgb"}
        For colour images: solve the luminance of YCbCr only, or every RGB channel.
    degradation : str
        Registered degradation name.
    noise_sigma : float
        Standard deviation of the additive Gaussian noise on the [0, 1] scale.
    seed : int
        Seed of masks, kernels, random matrices, noise and solver initialisation.
    init : {"default", "zeros", "adjoint"}
        Starting point x⁰ of every lane: the operator's own estimate (the observation for
        blur/denoising, bicubic upsampling for SR, zero filling for inpainting/MRI, Φᵀy for CS),
        zero, or Aᵀy.
    params : dict
        Degradation parameters (resolved: every declared parameter present).
    """

    image: str = "camera"
    size: int | None = None
    grayscale: bool = True
    color_mode: str = "y"
    degradation: str = "sr"
    noise_sigma: float = 0.01
    seed: int = 0
    init: str = "default"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSpec:
    """The ``[run]`` section.

    Attributes
    ----------
    iterations : int
        Iterations per lane for :meth:`core.engine.Run.run`.
    tolerance : float
        Stop a lane once its relative change drops below this (0: never).
    keep_iterates : int
        Number of latest iterates kept per lane (plus x⁰).
    device : {"cpu", "cuda"}
    dtype : {"float32", "float64"}
    sync_every : int or None
        Host synchronisations (divergence/tolerance checks) every this many steps;
        None: 1 on CPU, 10 on CUDA.
    """

    iterations: int = 200
    tolerance: float = 0.0
    keep_iterates: int = 50
    device: str = "cpu"
    dtype: str = "float32"
    sync_every: int | None = None


@dataclass
class Config:
    """A complete run description (problem + lanes + run settings)."""

    problem: ProblemSpec = field(default_factory=ProblemSpec)
    lanes: list[LaneSpec] = field(default_factory=list)
    run: RunSpec = field(default_factory=RunSpec)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Validate a (TOML-shaped) dict and return the resolved config.

        Raises
        ------
        ValueError
            Naming the section and key at fault and the reason.
        """
        load_all()
        if not isinstance(data, Mapping):
            raise ValueError(f"config must be a table, got {type(data).__name__}")
        check_keys(data, {"problem", "lanes", "run"}, "top level")
        problem = _problem_from_dict(data.get("problem", {}))
        lanes_raw = data.get("lanes", [])
        if not isinstance(lanes_raw, list):
            raise ValueError("[[lanes]] must be an array of tables")
        lanes = [_lane_from_dict(raw, i) for i, raw in enumerate(lanes_raw)]
        check_unique_labels(lanes)
        for lane in lanes:
            check_applicable(lane, problem.degradation)
        run = _run_from_dict(data.get("run", {}))
        return cls(problem, lanes, run)

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config as a TOML-serialisable dict.

        Every declared parameter appears with its value; parameters whose value is automatic
        (``None``, e.g. ``step_size = 1/L``) and unset optional keys are omitted, since TOML
        has no null.
        """
        return {
            "problem": _drop_none({**_plain(self.problem), "params": _drop_none(self.problem.params)}),
            "lanes": [
                _drop_none({"label": lane.label, **_plain(lane), "params": _drop_none(lane.params)})
                for lane in self.lanes
            ],
            "run": _drop_none(_plain(self.run)),
        }

    def copy(self) -> Config:
        """An independent copy (round trip through :meth:`to_dict`)."""
        return Config.from_dict(self.to_dict())


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file.

    Relative image paths are taken relative to the config file's folder when that file exists.

    Raises
    ------
    ValueError
        Message starts with the file name, then the section, key and reason.
    """
    path = Path(path)
    data = read_toml(path, "config")
    try:
        config = Config.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    image = Path(config.problem.image)
    if not image.is_absolute() and (path.parent / image).is_file():
        config.problem.image = str((path.parent / image).resolve())
    return config


def save_config(config: Config, path: str | Path) -> None:
    """Write ``config.to_dict()`` as TOML (atomically: temp name, then rename)."""
    import tomli_w

    from .atomic import atomic_write_text

    atomic_write_text(path, tomli_w.dumps(config.to_dict()))


def figure2_config() -> Config:
    """The PODM paper's Fig. 2 problem (the default before the inpainting demo; also the preset
    ``sessions/examples/podm_vs_fista_sr.toml`` with a PnP lane).

    Camera 256², sparse-coding super-resolution ×2 with the ℓ0.8 prior on wavelet coefficients,
    lanes FISTA and PODM (``dncnn`` propagation, σ schedule 15 → 2 /255), 200 iterations. The
    wavelet is db4, not the paper's Haar: with box downsampling the finest Haar details lie in the
    null space of D, so the ℓp prior zeroes them.
    """
    return Config.from_dict(
        {
            "problem": {
                "image": "camera",
                "size": 256,
                "grayscale": True,
                "degradation": "sparse_sr",
                "noise_sigma": 0.0,
                "seed": 0,
                "params": {"scale": 2, "wavelet": "db4"},
            },
            "lanes": [
                {
                    "label": "FISTA",
                    "solver": "fista",
                    "prior": "lp",
                    "color": "#1f77b4",
                    "params": {"lam": DEFAULT_LP_LAM, "p": 0.8},
                },
                {
                    "label": "PODM",
                    "solver": "podm",
                    "prior": "lp",
                    "denoiser": "dncnn",
                    "color": "#d62728",
                    "params": {"lam": DEFAULT_LP_LAM, "p": 0.8, "sigma_max": 15.0, "sigma_min": 2.0},
                },
            ],
            "run": {"iterations": 200},
        }
    )


def default_config() -> Config:
    """The built-in default problem: inpainting that visibly converges.

    Camera 256², 70 % of the pixels missing at random, 1 % noise, every lane starting from the
    zero-filled observation; FISTA and PODM (the learned ``dncnn`` denoiser as propagation module)
    with the same total-variation prior, 100 iterations. Over the run every lane gains many dB
    and reaches its best PSNR late, so a demo shows convergence, not an early peak followed by
    degradation. The PODM paper's Fig. 2 setting (ℓ0.8 sparse-coding SR ×2) is the preset
    ``sessions/examples/podm_vs_fista_sr.toml``.
    """
    return Config.from_dict(
        {
            "problem": {
                "image": "camera",
                "size": 256,
                "grayscale": True,
                "degradation": "inpaint",
                "noise_sigma": 0.01,
                "seed": 0,
                "params": {"mode": "random", "keep_rate": 0.3},
            },
            "lanes": [
                {"label": "FISTA", "solver": "fista", "prior": "tv", "color": "#1f77b4", "params": {"lam": 0.01}},
                {
                    "label": "PODM",
                    "solver": "podm",
                    "prior": "tv",
                    "denoiser": "dncnn",
                    "color": "#d62728",
                    "params": {"lam": 0.01},
                },
            ],
            "run": {"iterations": 100},
        }
    )


#: ℓp weight λ' of the default sparse-coding SR problem (½‖Dα − o‖² + λ'‖α‖_p^p).
DEFAULT_LP_LAM = 1e-4


# --- section parsing -------------------------------------------------------------------------
def _problem_from_dict(raw) -> ProblemSpec:
    section = "[problem]"
    raw = table_of(raw, section)
    check_keys(raw, {f.name for f in fields(ProblemSpec)}, section)
    spec = ProblemSpec(
        image=typed_value(raw, "image", str, section, ProblemSpec.image),
        size=typed_value(raw, "size", int, section, ProblemSpec.size, low=8, high=MAX_SIZE, optional=True),
        grayscale=typed_value(raw, "grayscale", bool, section, ProblemSpec.grayscale),
        color_mode=choice_value(raw, "color_mode", COLOR_MODES, section, ProblemSpec.color_mode),
        degradation=typed_value(raw, "degradation", str, section, ProblemSpec.degradation),
        noise_sigma=typed_value(raw, "noise_sigma", float, section, ProblemSpec.noise_sigma, low=0.0, high=1.0),
        seed=typed_value(raw, "seed", int, section, ProblemSpec.seed, low=0, high=2**63 - 1),
        init=choice_value(raw, "init", INITS, section, ProblemSpec.init),
    )
    if spec.degradation not in DEGRADATIONS:
        raise ValueError(
            f"{section} key 'degradation': unknown degradation '{spec.degradation}'; available: {sorted(DEGRADATIONS)}"
        )
    params = table_of(raw.get("params", {}), "[problem.params]")
    try:
        spec.params = DEGRADATIONS[spec.degradation].resolve(params)
    except ValueError as exc:
        raise ValueError(f"[problem.params]: {exc}") from None
    return spec


def _lane_from_dict(raw, index: int) -> LaneSpec:
    section = f"[[lanes]] #{index + 1}"
    raw = table_of(raw, section)
    check_keys(raw, {f.name for f in fields(LaneSpec)}, section)
    if "solver" not in raw:
        raise ValueError(f"{section}: missing required key 'solver'")
    lane = LaneSpec(
        solver=typed_value(raw, "solver", str, section, None),
        label=typed_value(raw, "label", str, section, ""),
        prior=typed_value(raw, "prior", str, section, None, optional=True),
        denoiser=typed_value(raw, "denoiser", str, section, None, optional=True),
        color=color_value(raw, section),
        params=dict(table_of(raw.get("params", {}), f"{section} [lanes.params]")),
    )
    return resolve_lane(lane)


def _run_from_dict(raw) -> RunSpec:
    section = "[run]"
    raw = table_of(raw, section)
    check_keys(raw, {f.name for f in fields(RunSpec)}, section)
    return RunSpec(
        iterations=typed_value(raw, "iterations", int, section, RunSpec.iterations, low=0),
        tolerance=typed_value(raw, "tolerance", float, section, RunSpec.tolerance, low=0.0, high=1.0),
        keep_iterates=typed_value(raw, "keep_iterates", int, section, RunSpec.keep_iterates, low=0),
        device=choice_value(raw, "device", DEVICES, section, RunSpec.device),
        dtype=choice_value(raw, "dtype", DTYPES, section, RunSpec.dtype),
        sync_every=typed_value(raw, "sync_every", int, section, None, low=1, optional=True),
    )


def _plain(spec) -> dict:
    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def _drop_none(d: Mapping) -> dict:
    return {k: v for k, v in d.items() if v is not None}
