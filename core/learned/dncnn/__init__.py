"""dncnn: the noise-level-aware dilated residual CNN denoiser (IRCNN style) used by PnP and PODM."""
