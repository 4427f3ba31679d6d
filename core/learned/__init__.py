"""Learned methods, one folder each, and what they share.

``core/learned/<method>/`` holds a method's network (``net.py``), its lane — the registered
solver or denoiser (``lane.py``, ``denoiser.py``) —, its trainer (``train.py``) and its
reproduction (``reproduce.py``). ``weights.py`` saves, verifies and caches the shipped weights;
``training/`` is the shared training loop and the ``python -m core train`` command.
:func:`core.registry.load_all` imports every module below this package, so a new method folder
needs no edit elsewhere.
"""
