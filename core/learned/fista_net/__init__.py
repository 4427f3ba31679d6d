"""FISTA-Net (Xiang et al., 2021): unrolled FISTA with a shared learned proximal block, block CS."""
