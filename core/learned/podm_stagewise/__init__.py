"""PODM (Liu et al., NeurIPS 2018, §4.1) with a propagation module A^l trained greedily stage by stage."""
