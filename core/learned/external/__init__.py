"""Networks of your own: denoisers loaded from a TorchScript file or from a safetensors state dict
plus a registered architecture (never pickle), usable in PnP and PODM lanes."""
