"""ISTA-Net⁺ (Zhang & Ghanem, CVPR 2018): unrolled ISTA with learned transforms, block CS."""
