"""Forward models A (degradations). Importing this package registers every built-in one."""

from .._discover import import_package_tree as _import_package_tree
from .base import MatrixOperator, Operator, conjugate_gradient, inner  # noqa: F401

_import_package_tree(__name__)
