"""What may be trained on, and the validation split carved from the training data.

Rules (``shared/data/README.md``): the MIR-1K singers reserved for evaluation, the dev set and
the MUSDB18 test split are never trained or tuned on. A track is identified by its folder name;
MIR-1K clips are named ``SINGER_N_MM`` (``amy_6_11``), the dev set's copies ``MIR-1K amy_6_11``.

Validation is carved from the training folders by *group*, so that no singer (MIR-1K) and no
song (MUSDB-style folders) is on both sides: ``group_of`` names the group of a track, and
``validation_groups`` picks a fixed share of the groups of each folder, deterministically (by a
hash of the group name, so adding a track never moves another one across the split).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

# MIR-1K singers reserved for evaluation (shared/data/README.md); dev uses four of them.
RESERVED_SINGERS = frozenset(s.lower() for s in (
    "amy", "bobon", "fdps", "heycat", "stool", "Kenshin", "abjones", "bug"))
# MIR-1K singers of train/ held out for validation (about 15 % of its clips); chosen once,
# before any model was scored, and never changed after looking at results.
VALIDATION_SINGERS = frozenset(("annar", "titon"))
# Share of the songs of any other folder held out for validation.
VALIDATION_SONG_SHARE = 0.12

_MIR1K_CLIP = re.compile(r"^(?:mir-1k\s+)?([A-Za-z]+)_\d+_\d+$", re.IGNORECASE)


def mir1k_singer(name: str) -> str | None:
    """The singer of a MIR-1K clip name (``Kenshin_4_10`` or ``MIR-1K Kenshin_4_10``), lower
    case; None for any other name."""
    m = _MIR1K_CLIP.match(name.strip())
    return m.group(1).lower() if m else None


def group_of(name: str) -> str:
    """Split unit of a track: ``singer:NAME`` for MIR-1K clips, ``song:NAME`` otherwise."""
    singer = mir1k_singer(name)
    return f"singer:{singer}" if singer else f"song:{name.strip().lower()}"


def _normal(name: str) -> str:
    """Folder name without a ``MIR-1K `` prefix, lower case: dev's copy of a clip and the clip
    itself compare equal."""
    name = name.strip().lower()
    return name[len("mir-1k "):] if name.startswith("mir-1k ") else name


class Policy:
    """Decides which tracks are forbidden (reserved singers, dev tracks) and which are
    validation.

    ``dev_dirs``: evaluation folders whose tracks (by name) and whose paths are never used;
    ``extra_reserved``: more track names to refuse (e.g. a MUSDB18 test-split list).
    """

    def __init__(self, dev_dirs=(), extra_reserved=(), validation_singers=VALIDATION_SINGERS,
                 validation_share: float = VALIDATION_SONG_SHARE):
        self.dev_dirs = [Path(d).resolve() for d in dev_dirs if Path(d).is_dir()]
        self.dev_names = {_normal(p.name) for d in self.dev_dirs for p in d.iterdir()
                          if p.is_dir()}
        self.dev_names |= {_normal(n) for n in extra_reserved}
        self.validation_singers = frozenset(s.lower() for s in validation_singers)
        self.validation_share = float(validation_share)

    def forbidden(self, track_dir: Path) -> str | None:
        """Why a track may not be used at all (training or validation), or None."""
        track_dir = Path(track_dir)
        singer = mir1k_singer(track_dir.name)
        if singer in RESERVED_SINGERS:
            return f"MIR-1K singer {singer!r} is reserved for evaluation"
        if _normal(track_dir.name) in self.dev_names:
            return "a track of the dev set"
        resolved = track_dir.resolve()
        if any(d == resolved or d in resolved.parents for d in self.dev_dirs):
            return "inside the dev folder"
        return None

    def is_validation(self, name: str) -> bool:
        """True when the track's group (singer or song) belongs to the validation split."""
        singer = mir1k_singer(name)
        if singer is not None:
            return singer in self.validation_singers
        digest = hashlib.sha256(group_of(name).encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64 < self.validation_share

    def split(self, track_dirs) -> dict:
        """``{"train": [...], "valid": [...], "forbidden": [(dir, reason), ...]}``."""
        out: dict = {"train": [], "valid": [], "forbidden": []}
        for d in map(Path, track_dirs):
            reason = self.forbidden(d)
            if reason:
                out["forbidden"].append((d, reason))
            else:
                out["valid" if self.is_validation(d.name) else "train"].append(d)
        return out


def default_dev_dirs() -> list[Path]:
    """The shared dev set, when present: always excluded from training."""
    from rtsep.io.datasets import dev_set

    dev = dev_set()
    return [dev] if dev is not None else []


def validation_view(data_dirs, folder, every: int = 1, dev_dirs=None) -> Path:
    """A folder of links to the validation tracks of ``data_dirs`` (every ``every``-th of
    each group, in name order), for ``rtsep eval`` and the quality benchmark; returns it."""
    from rtsep.io.datasets import track_folders

    policy = Policy(default_dev_dirs() if dev_dirs is None else dev_dirs)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tracks = [t for d in data_dirs for t in track_folders(d)]
    chosen: dict = {}
    for t in policy.split(tracks)["valid"]:
        chosen.setdefault(group_of(t.name), []).append(t)
    for group in chosen.values():
        for t in sorted(group, key=lambda p: p.name)[::max(1, int(every))]:
            link = folder / t.name
            if not link.exists():
                link.symlink_to(t.resolve())
    return folder
