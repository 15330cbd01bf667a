"""Data of score-supervised training: scored mixtures, labelled vocal stems, cached features.

A *scored track* is a folder with a score (``vocals.mid`` or ``pitch.pv``, see
``offline_training.scores``) and either ``mixture.*`` or the two stems ``vocals.*`` +
``accompaniment.*``, whose sum is then the mixture (MIR-1K's clips in ``shared/data/train``).
The rendered corpus (``render-corpus``) has both, with an exact MIDI score.

What each recipe may read (``FeatureCache.build(..., stems=...)``):

- the separator of the score-supervised recipe sees only the mixture and the score: its cache
  entries hold ``mix`` and ``f0`` (the stems are summed once when the entry is written, and
  never stored);
- the transcriptor (the critic, trained first) and the supervised reference arm of the
  ablation read the stems (``voc``, ``acc``): built with ``stems=True``.

Never trained on (``check_allowed`` raises; every build calls it): MIR-1K's singers reserved
for evaluation (``shared/data/README.md``) and anything in, or named like a track of, the dev
set. Validation is split off by singer (MIR-1K) or by folder (rendered songs of another seed).

Audio is cached once as mono float16 at 44.1 kHz (``.npy``, memory-mapped by every process);
crops are transformed in batches with the engine's own analysis window, so a crop's frames are
exactly those ``rtsep.core.stft.stft_offline`` gives for the whole track (a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path

import numpy as np

from .scores import accompaniment_notes, read_score

SR = 44100
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")
# MIR-1K singers reserved for evaluation (shared/data/README.md); dev uses four of them.
RESERVED_SINGERS = frozenset(s.lower() for s in (
    "amy", "bobon", "fdps", "heycat", "stool", "Kenshin", "abjones", "bug"))
# MIR-1K singers of train/ held out for validation (the same two as the real-stem pipeline of
# issue 15, chosen before any model was scored).
VALIDATION_SINGERS = ("annar", "titon")
MIR1K_LICENCE = "MIR-1K (Hsu and Jang, 2010): research use only, no explicit licence"
_MIR1K_CLIP = re.compile(r"^(?:mir-1k\s+)?([A-Za-z]+)_\d+_\d+$", re.IGNORECASE)


def mir1k_singer(name: str) -> str | None:
    """Singer of a MIR-1K clip name (``Ani_1_01``, ``MIR-1K amy_6_11``), lower case, else None."""
    m = _MIR1K_CLIP.match(name.strip())
    return m.group(1).lower() if m else None


def _normal(name: str) -> str:
    name = name.strip().lower()
    return name[len("mir-1k "):] if name.startswith("mir-1k ") else name


def check_allowed(track_dir, dev_dirs=()) -> None:
    """Raise ``ConfigError`` if ``track_dir`` is reserved for evaluation: a reserved MIR-1K
    singer, a folder inside a dev set, or a track named like one of the dev set's."""
    from rtsep.errors import ConfigError

    track_dir = Path(track_dir)
    singer = mir1k_singer(track_dir.name)
    if singer in RESERVED_SINGERS:
        raise ConfigError(f"{track_dir.name}: MIR-1K singer {singer!r} is reserved for "
                          "evaluation and is never trained on")
    resolved = track_dir.resolve()
    for dev in map(Path, dev_dirs):
        if not dev.is_dir():
            continue
        dev = dev.resolve()
        if dev == resolved or dev in resolved.parents:
            raise ConfigError(f"{track_dir} is inside the dev set {dev}, which is never "
                              "trained on")
        if _normal(track_dir.name) in {_normal(p.name) for p in dev.iterdir() if p.is_dir()}:
            raise ConfigError(f"{track_dir.name} is a track of the dev set {dev}")


def default_dev_dirs() -> list[Path]:
    from rtsep.io.datasets import dev_set

    dev = dev_set()
    return [dev] if dev is not None else []


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in AUDIO_SUFFIXES:
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def scored_tracks(folders) -> list[Path]:
    """Track folders under ``folders`` (each a data set of track folders, or a track itself)
    that have a score and audio; sorted. ``ConfigError`` when there are none."""
    from rtsep.errors import ConfigError

    out = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ConfigError(f"data folder {folder} does not exist")
        candidates = [folder] if _has_score(folder) else sorted(
            p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        out += [p for p in candidates if _has_score(p)
                and (_find(p, "mixture") or (_find(p, "vocals") and _find(p, "accompaniment")))]
    if not out:
        raise ConfigError(f"no scored tracks (vocals.mid or pitch.pv beside the audio) under "
                          f"{', '.join(map(str, folders))}")
    return out


def _has_score(folder: Path) -> bool:
    return (folder / "vocals.mid").is_file() or (folder / "pitch.pv").is_file()


def group_of(track_dir: Path) -> str:
    """Split unit: ``singer:NAME`` for MIR-1K clips, ``song:FOLDER/NAME`` otherwise."""
    singer = mir1k_singer(track_dir.name)
    return f"singer:{singer}" if singer else f"song:{track_dir.parent.name}/{track_dir.name}"


def licence_of(track_dir: Path, given: str | None = None) -> str:
    """``given``, else the ``licence`` of the track's ``meta.json`` (rendered corpus), else
    MIR-1K's terms for MIR-1K clips, else "unknown"."""
    if given:
        return given
    meta = track_dir / "meta.json"
    if meta.is_file():
        try:
            doc = json.loads(meta.read_text())
            if isinstance(doc, dict) and doc.get("licence"):
                return str(doc["licence"])
        except (OSError, ValueError):
            pass
    return MIR1K_LICENCE if mir1k_singer(track_dir.name) else "unknown"


def read_mono_44k(path: Path) -> np.ndarray:
    """``(samples,)`` float32 mono at 44.1 kHz (channels averaged, polyphase resampling)."""
    from scipy.signal import resample_poly

    from rtsep.io.audio import read_audio

    x, sr = read_audio(path)
    mono = x.mean(axis=0)
    if sr != SR:
        g = gcd(int(sr), SR)
        mono = resample_poly(mono, SR // g, int(sr) // g)
    return mono.astype(np.float32)


@dataclass
class Entry:
    """One cached track. ``frames``: engine frames of the whole track."""

    name: str
    source: str  # folder path as given
    group: str
    key: str
    samples: int
    frames: int
    score_file: str
    licence: str
    has_stems: bool
    has_acc_notes: bool


def _key(track_dir: Path) -> str:
    h = hashlib.sha256(str(track_dir.resolve()).encode())
    for p in sorted(track_dir.iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return f"{track_dir.name[:40].replace(' ', '_')}-{h.hexdigest()[:12]}"


def _save(path: Path, x: np.ndarray) -> None:
    tmp = path.with_name("." + path.name + ".tmp.npy")
    np.save(tmp, x)
    os.replace(tmp, path)


class FeatureCache:
    """Cached audio and scores of scored tracks (see the module docstring).

    ``audio(i, "mix"|"voc"|"acc")`` ``(samples,)`` float16 memory map; ``f0(i)`` ``(frames,)``
    MIDI per engine frame; ``acc_notes(i)`` ``(n, 4)`` or None.
    """

    def __init__(self, root: Path, entries: list[Entry], stems: bool):
        self.root, self.entries, self.stems = Path(root), entries, stems
        self._maps: dict = {}

    @classmethod
    def build(cls, tracks, root, *, stems: bool, geometry, dev_dirs=(), licences=None,
              log=None) -> "FeatureCache":
        """Cache every track of ``tracks`` (folders) under ``root``; ``licences`` maps a data
        folder (the parent of tracks) to its licence. Stems are stored only with ``stems``."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        entries = []
        for n, track_dir in enumerate(map(Path, tracks)):
            check_allowed(track_dir, dev_dirs)
            key = _key(track_dir)
            meta_path = root / f"{key}.json"
            doc = json.loads(meta_path.read_text()) if meta_path.is_file() else None
            if doc is None or (stems and not doc["has_stems"]):
                doc = cls._write(track_dir, root, key, stems, geometry, licences or {})
                if log and (n + 1) % 50 == 0:
                    log(f"features: {n + 1}/{len(tracks)} tracks cached")
            entries.append(Entry(**doc))
        return cls(root, entries, stems)

    @staticmethod
    def _write(track_dir: Path, root: Path, key: str, stems: bool, geometry,
               licences: dict) -> dict:
        mix_path = _find(track_dir, "mixture")
        voc_path, acc_path = _find(track_dir, "vocals"), _find(track_dir, "accompaniment")
        if stems and not (voc_path and acc_path):
            from rtsep.errors import ConfigError

            raise ConfigError(f"track {track_dir.name!r} has no vocals and accompaniment stems")
        voc = read_mono_44k(voc_path) if voc_path else None
        acc = read_mono_44k(acc_path) if acc_path else None
        if mix_path is not None:
            mix = read_mono_44k(mix_path)
        else:
            n = min(len(voc), len(acc))
            mix = voc[:n] + acc[:n]  # the mixture is the sum of the stems; they go no further
        n = len(mix) if not stems else min(len(mix), len(voc), len(acc))
        frames = -(-n // geometry.hop) + 1  # as stft_offline
        f0, score_file = read_score(track_dir, frames, geometry.hop, geometry.sr)
        _save(root / f"{key}.mix.npy", mix[:n].astype(np.float16))
        _save(root / f"{key}.f0.npy", f0)
        if stems:
            _save(root / f"{key}.voc.npy", voc[:n].astype(np.float16))
            _save(root / f"{key}.acc.npy", acc[:n].astype(np.float16))
        notes = accompaniment_notes(track_dir)
        if notes is not None:
            _save(root / f"{key}.accnotes.npy", notes)
        doc = asdict(Entry(name=track_dir.name, source=str(track_dir.parent),
                           group=group_of(track_dir), key=key, samples=int(n),
                           frames=int(frames), score_file=score_file,
                           licence=licence_of(track_dir, licences.get(str(track_dir.parent))),
                           has_stems=bool(stems), has_acc_notes=notes is not None))
        tmp = root / f".{key}.json.tmp"
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, root / f"{key}.json")
        return doc

    def __len__(self) -> int:
        return len(self.entries)

    def audio(self, i: int, kind: str) -> np.ndarray:
        if kind != "mix" and not self.stems:
            raise RuntimeError("this recipe reads mixtures and scores only, not stems")
        if (i, kind) not in self._maps:
            self._maps[(i, kind)] = np.load(self.root / f"{self.entries[i].key}.{kind}.npy",
                                            mmap_mode="r")
        return self._maps[(i, kind)]

    def f0(self, i: int) -> np.ndarray:
        if (i, "f0") not in self._maps:
            self._maps[(i, "f0")] = np.load(self.root / f"{self.entries[i].key}.f0.npy")
        return self._maps[(i, "f0")]

    def acc_notes(self, i: int) -> np.ndarray | None:
        if not self.entries[i].has_acc_notes:
            return None
        if (i, "notes") not in self._maps:
            self._maps[(i, "notes")] = np.load(
                self.root / f"{self.entries[i].key}.accnotes.npy")
        return self._maps[(i, "notes")]

    def subset(self, keep) -> "FeatureCache":
        """The same cache restricted to entries where ``keep(entry)`` is true."""
        return FeatureCache(self.root, [e for e in self.entries if keep(e)], self.stems)

    def seconds(self) -> float:
        return sum(e.samples for e in self.entries) / SR

    def provenance(self) -> list[dict]:
        """One entry per data folder: tracks, seconds, licence, score files (for a JSON)."""
        out: dict = {}
        for e in self.entries:
            d = out.setdefault((e.source, e.licence), {
                "source": "/".join(Path(e.source).parts[-3:]), "licence": e.licence,
                "tracks": 0, "seconds": 0.0, "scores": []})
            d["tracks"] += 1
            d["seconds"] = round(d["seconds"] + e.samples / SR, 1)
            if e.score_file not in d["scores"]:
                d["scores"].append(e.score_file)
        return list(out.values())


# --- crops and batched transforms ------------------------------------------------------------

_WINDOWS: dict = {}


def _window(geometry) -> np.ndarray:
    key = (geometry.n_fft, geometry.hop)
    if key not in _WINDOWS:
        from rtsep.core.stft import low_delay_windows

        _WINDOWS[key] = low_delay_windows(geometry.n_fft, geometry.hop)[0].astype(np.float32)
    return _WINDOWS[key]


def crop(x: np.ndarray, k0: int, n_frames: int, geometry) -> np.ndarray:
    """The samples that frames ``k0 .. k0 + n_frames - 1`` of ``stft_offline(x)`` read:
    ``((n_frames - 1) * hop + n_fft,)`` float32, zeros outside the signal."""
    hop, n_fft = geometry.hop, geometry.n_fft
    start = k0 * hop + hop - n_fft
    length = (n_frames - 1) * hop + n_fft
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(0, start), min(len(x), start + length)
    if hi > lo:
        out[lo - start: hi - start] = x[lo:hi]
    return out


def spectra(x: np.ndarray, geometry) -> np.ndarray:
    """Spectra ``(..., bins, frames)`` complex64 of crops ``(..., samples)`` from ``crop``."""
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    view = sliding_window_view(x, geometry.n_fft, axis=-1)[..., :: geometry.hop, :]
    spec = scipy.fft.rfft(view * _window(geometry), axis=-1)
    return np.swapaxes(spec.astype(np.complex64, copy=False), -1, -2)


class CropSampler:
    """Random crops of ``n_frames`` frames from a cache, tracks drawn in proportion to their
    length. ``draw(batch)`` -> list of ``(entry index, first frame)``."""

    def __init__(self, cache: FeatureCache, n_frames: int, rng: np.random.Generator):
        if not len(cache):
            from rtsep.errors import ConfigError

            raise ConfigError("no tracks to train on")
        self.cache, self.n_frames, self.rng = cache, int(n_frames), rng
        frames = np.array([e.frames for e in cache.entries], dtype=np.float64)
        self.p = frames / frames.sum()

    def draw(self, batch: int) -> list[tuple[int, int]]:
        out = []
        for i in self.rng.choice(len(self.p), size=batch, p=self.p):
            last = max(0, self.cache.entries[i].frames - self.n_frames)
            out.append((int(i), int(self.rng.integers(0, last + 1))))
        return out

    def audio(self, picks, kind: str, geometry) -> np.ndarray:
        """``(batch, samples)`` crops of ``kind`` audio for ``picks``."""
        return np.stack([crop(self.cache.audio(i, kind), k0, self.n_frames, geometry)
                         for i, k0 in picks])

    def f0(self, picks) -> np.ndarray:
        """``(batch, n_frames)`` score f0 (MIDI, 0 = silent) of ``picks``."""
        out = np.zeros((len(picks), self.n_frames), dtype=np.float32)
        for row, (i, k0) in enumerate(picks):
            f = self.cache.f0(i)[k0: k0 + self.n_frames]
            out[row, : len(f)] = f
        return out
