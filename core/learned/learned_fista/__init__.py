"""Learned FISTA: unfolded FISTA with learned per-stage step, threshold and momentum (wavelet ℓ1)."""
