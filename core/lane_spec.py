"""A lane's description and the rules of what it may combine.

Which prior/denoiser a solver takes, which parameters each component declares, which
degradations a solver applies to: the config check, the engine and the GUI's lane editor all
ask here, so they accept exactly the same lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .registry import DENOISERS, PRIORS, SOLVERS, load_all

#: what a lane gets when its solver needs a prior / denoiser and it names none (GUI editing)
DEFAULT_COMPONENTS = {"prior": "l1_wavelet", "denoiser": "tv"}


@dataclass
class LaneSpec:
    """One ``[[lanes]]`` entry: a solver with its prior/denoiser and parameters.

    Attributes
    ----------
    solver : str
    label : str
        Unique lane name (defaults to the solver name).
    prior, denoiser : str or None
        Required when the solver takes one, forbidden otherwise.
    color : str or None
        Curve colour such as ``"#1f77b4"``.
    params : dict
        Solver, prior and denoiser parameters together (split by :func:`split_lane_params`).
    """

    solver: str
    label: str = ""
    prior: str | None = None
    denoiser: str | None = None
    color: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def lane_entries(lane: LaneSpec):
    """Registry entries ``(solver, prior or None, denoiser or None)`` of a lane."""
    solver = SOLVERS.get_entry(lane.solver)
    prior = PRIORS.get_entry(lane.prior) if lane.prior is not None else None
    denoiser = DENOISERS.get_entry(lane.denoiser) if lane.denoiser is not None else None
    return solver, prior, denoiser


def split_lane_params(lane: LaneSpec) -> tuple[dict, dict, dict]:
    """Split a lane's flat ``params`` into resolved (solver, prior, denoiser) parameter dicts.

    Each name goes to the component that declares it; defaults fill the rest.

    Raises
    ------
    ValueError
        For a name no component of the lane declares (listing the valid names), or an
        invalid value.
    """
    solver, prior, denoiser = lane_entries(lane)
    parts = [(solver, {}), (prior, {}), (denoiser, {})]
    owner_of = {}
    for entry, bucket in parts:
        if entry is not None:
            for p in entry.params:
                owner_of.setdefault(p.name, bucket)
    where = f"[lanes.params] of lane '{lane.label or lane.solver}'"
    unknown = sorted(set(lane.params) - set(owner_of))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown}; valid: {sorted(owner_of) or 'none'}")
    for name, value in lane.params.items():
        owner_of[name][name] = value
    resolved = []
    for entry, bucket in parts:
        if entry is None:
            resolved.append({})
            continue
        try:
            resolved.append(entry.resolve(bucket))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return resolved[0], resolved[1], resolved[2]


def check_unique_labels(lanes) -> None:
    """Raise ``ValueError`` if two lanes share a label."""
    seen = set()
    for lane in lanes:
        if lane.label in seen:
            raise ValueError(f"[[lanes]]: duplicate label '{lane.label}' (labels must be unique)")
        seen.add(lane.label)


def resolve_lane(lane: LaneSpec) -> LaneSpec:
    """Validate a lane (names, prior/denoiser presence, params) and fill parameter defaults."""
    load_all()
    label = lane.label or lane.solver
    where = f"[[lanes]] '{label}'"
    if lane.solver not in SOLVERS:
        raise ValueError(f"{where}: key 'solver': unknown solver '{lane.solver}'; available: {sorted(SOLVERS)}")
    entry = SOLVERS[lane.solver]
    for key, registry, needed in (
        ("prior", PRIORS, entry.extra.get("needs_prior", False)),
        ("denoiser", DENOISERS, entry.extra.get("needs_denoiser", False)),
    ):
        name = getattr(lane, key)
        if needed and name is None:
            raise ValueError(
                f"{where}: key '{key}' is required by solver '{lane.solver}'; available: {sorted(registry)}"
            )
        if not needed and name is not None:
            raise ValueError(f"{where}: key '{key}': solver '{lane.solver}' takes no {key}")
        if name is not None and name not in registry:
            raise ValueError(f"{where}: key '{key}': unknown {key} '{name}'; available: {sorted(registry)}")
    resolved = LaneSpec(
        solver=lane.solver,
        label=label,
        prior=lane.prior,
        denoiser=lane.denoiser,
        color=lane.color,
        params=dict(lane.params),
    )
    merged = {}
    for part in split_lane_params(resolved):
        merged.update(part)
    resolved.params = merged
    return resolved


def applicability(solver: str, degradation: str) -> str | None:
    """Why ``solver`` does not apply to ``degradation``, or None when it does.

    A solver declares the degradations it applies to with ``degradations=(...)`` in its
    registration (learned solvers: what their weights were trained for); no declaration means
    every degradation.
    """
    entry = SOLVERS.get_entry(solver)
    allowed = entry.extra.get("degradations")
    if allowed is None or degradation in allowed:
        return None
    return f"solver '{solver}' applies to degradation(s) {', '.join(repr(d) for d in allowed)}, not '{degradation}'" + (
        " (its weights were trained for those)" if entry.extra.get("learned") else ""
    )


def check_applicable(lane: LaneSpec, degradation: str) -> None:
    """Raise ``ValueError`` naming the lane when its solver does not apply to ``degradation``."""
    reason = applicability(lane.solver, degradation)
    if reason is not None:
        raise ValueError(f"[[lanes]] '{lane.label or lane.solver}': key 'solver': {reason}")


def complete_lane(lane: dict) -> dict:
    """Make an edited lane table valid for its solver, in place: give it a prior/denoiser exactly
    when the solver needs one (keeping the current one when it is valid) and keep only the
    parameters its components declare. Returns ``lane``."""
    load_all()
    entry = SOLVERS.get_entry(lane["solver"])
    for kind, registry in (("prior", PRIORS), ("denoiser", DENOISERS)):
        if entry.extra.get(f"needs_{kind}", False):
            if lane.get(kind) not in registry:
                fallback = DEFAULT_COMPONENTS[kind]
                lane[kind] = fallback if fallback in registry else sorted(registry)[0]
        else:
            lane.pop(kind, None)
    declared = {p.name for p in entry.params}
    for kind, registry in (("prior", PRIORS), ("denoiser", DENOISERS)):
        if lane.get(kind) in registry:
            declared |= {p.name for p in registry[lane[kind]].params}
    lane["params"] = {k: v for k, v in lane.get("params", {}).items() if k in declared}
    return lane
