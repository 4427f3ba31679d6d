"""Neural networks used by learned priors and unrolled solvers, and their shipped weights.

``core.nets.weights`` saves/loads weights by name from resources/weights/ (SHA-256 checked,
``torch.load(..., weights_only=True)``). Network modules are imported where they are used.
"""
from .weights import WeightsError, load_weights, save_weights  # noqa: F401
