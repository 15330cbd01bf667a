"""Causal neural separators, their model file format and the architecture registry.

Imports torch (and kernels) only, never ``rtsep``. The submodules are imported on use:

- ``models.registry``: name -> class (``CausalGRUSeparator``, ``CausalTCNSeparator``)
- ``models.base``: the shared front end, chimera heads (mask + embedding) and look-ahead rule
- ``models.gru`` / ``models.tcn``: the architectures
- ``models.configs``: named sizes (``tiny`` for tests, ``small`` to ship)
- ``models.io``: ``save_model`` / ``load_model`` (safetensors + JSON, hash-checked)
- ``models.export``: the step as a tensor-only module and its ONNX export
- ``models.catalog``: shipped (``models/weights/``) and user model files
- ``models.critic``: the Wasserstein critics of adversarial training (paper 001); training only
- errors are ``rtsep.errors.ModelFileError``; files are written by ``rtsep.io.atomic``
"""
