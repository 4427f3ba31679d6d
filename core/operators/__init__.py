"""Forward models A (degradations). Importing this package registers every built-in one."""
from .base import MatrixOperator, Operator, conjugate_gradient, inner  # noqa: F401
from .._discover import import_submodules as _import_submodules

_import_submodules(__name__, __path__)
