"""Differentiable unrolled ADMM with one learned projector (OneNet-style), any linear inverse problem."""
