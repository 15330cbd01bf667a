"""Named configurations: ``tiny`` (a few thousand parameters, for tests and CLI smoke runs),
``compact`` (about 115k parameters, small enough to keep as a test fixture) and ``small`` (the
shippable size, within the per-hop compute budget on one CPU core; see BENCHMARKS.md, "Model
backends").

The GRU also has ``medium``, ``large`` and ``xlarge`` (about 1.3 M, 5.3 M and 25 M parameters):
sizes for the question of where one CPU core stops keeping up and a GPU is needed
(``benchmarks/gpu_check.py``; BENCHMARKS.md, "GPU path"). Nothing is trained at those sizes yet.
"""

from __future__ import annotations

SIZES = {
    "CausalGRUSeparator": {
        "tiny": dict(n_features=8, hidden=12, layers=2, emb_dim=4, emb_rank=4),
        "compact": dict(n_features=32, hidden=48, layers=1, emb_dim=8, emb_rank=8),
        "small": dict(n_features=96, hidden=128, layers=2, emb_dim=20, emb_rank=32),
        "medium": dict(n_features=128, hidden=256, layers=2, emb_dim=20, emb_rank=32),
        "large": dict(n_features=192, hidden=512, layers=3, emb_dim=20, emb_rank=32),
        "xlarge": dict(n_features=256, hidden=1024, layers=4, emb_dim=20, emb_rank=32),
    },
    "CausalRefinerSeparator": {
        "tiny": dict(n_bands=8, n_features=8, hidden=12, layers=1, ctx_rank=4, emb_rank=4,
                     emb_dim=4),
        "small": dict(n_bands=48, n_features=64, hidden=128, layers=2, ctx_rank=16,
                      emb_rank=16, emb_dim=8),
        # small plus a frequency-local conv branch (models.refiner) that starts at zero, so it
        # can continue a trained small model (train-stems --init-from)
        "small-local": dict(n_bands=48, n_features=64, hidden=128, layers=2, ctx_rank=16,
                            emb_rank=16, emb_dim=8, local_channels=8, local_kernel=5,
                            local_ctx=4),
    },
    "CausalTCNSeparator": {
        "tiny": dict(n_features=8, channels=8, hidden=12, blocks=3, emb_dim=4, emb_rank=4),
        "small": dict(n_features=96, channels=96, hidden=128, blocks=6, emb_dim=20, emb_rank=32),
    },
}


def arguments(arch: str, size: str, n_bins: int, lookahead_frames: int = 0) -> dict:
    """Constructor arguments of architecture ``arch`` at ``size`` for ``n_bins`` STFT bins."""
    try:
        base = SIZES[arch][size]
    except KeyError:
        raise ValueError(f"no size {size!r} for {arch!r}; sizes: "
                         f"{ {a: sorted(s) for a, s in SIZES.items()} }") from None
    return dict(base, n_bins=int(n_bins), lookahead_frames=int(lookahead_frames))


def create(arch: str, size: str, n_bins: int, lookahead_frames: int = 0, seed: int = 0):
    """A freshly initialised model (weights drawn from ``seed``), in eval mode."""
    import torch

    from .registry import build

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(arch, arguments(arch, size, n_bins, lookahead_frames)).eval()
