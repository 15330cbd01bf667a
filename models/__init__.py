"""Causal neural separators, their model file format and the architecture registry.

Imports torch (and kernels) only, never ``rtsep``. The submodules are imported on use:
``models.registry`` (name -> class), ``models.gru`` / ``models.tcn`` (architectures),
``models.io`` (``save_model`` / ``load_model``), ``models.errors`` (``ModelFileError``, no torch).
"""
