"""LISTA (Gregor & LeCun, 2010): learned ISTA sparse coding of image patches (a patch denoiser)."""
