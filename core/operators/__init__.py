"""Forward models A (degradations). Importing this package registers every built-in one."""
from .base import MatrixOperator, Operator, conjugate_gradient, inner  # noqa: F401
