"""Parameter sweeps: ``python -m core sweep SWEEP.toml`` expands a grid (images × degradation
parameters × lanes × lane parameters × seeds) into runs and executes them on Ray (a local Ray by
default, ``--address`` for a cluster) or serially (``--serial``), with the same numbers.

* :mod:`core.sweep.spec`: the sweep file and its expansion into :class:`RunPlan` s
* :mod:`core.sweep.execute`: one run (in a worker) and its atomic folder
* :mod:`core.sweep.backends`: serial and Ray execution
* :mod:`core.sweep.runner`: resume, progress, tables; :mod:`core.sweep.results`: the tables
* :mod:`core.sweep.cli`: the command
"""

from .runner import SweepReport, run_sweep
from .spec import RunPlan, Sweep, load_sweep

__all__ = ["RunPlan", "Sweep", "SweepReport", "load_sweep", "run_sweep"]
