"""Package layout beyond what pyproject.toml can say: the shipped weights (resources/weights) and
the presets (sessions/examples) stay where the checkout keeps them and are installed as the
package data ``core.data.weights`` and ``core.data.presets`` (found with importlib.resources).
Every other setting is in pyproject.toml."""

from setuptools import find_packages, setup

DATA_PACKAGES = {"core.data.weights": "resources/weights", "core.data.presets": "sessions/examples"}

setup(
    packages=find_packages(include=["core", "core.*", "workbench", "workbench.*"]) + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
    package_data={"core.data.weights": ["*.pt", "*.json", "*.log"], "core.data.presets": ["*.toml"]},
)
