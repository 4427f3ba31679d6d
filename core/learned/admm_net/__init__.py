"""ADMM-Net (Yang et al., NeurIPS 2016): unrolled ADMM with learned filters and shrinkage, CS-MRI."""
