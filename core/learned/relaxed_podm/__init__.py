"""Relaxed PODM (Liu et al., NeurIPS 2018, §4.2): learned non-blind deconvolution with a sparsity constraint."""
