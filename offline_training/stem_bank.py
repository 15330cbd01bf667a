"""A bank of labelled stems at the engine's rate, cached on disk and shared by processes.

Any MUSDB-style folder works (``rtsep.io.datasets``): a track holds ``vocals.*`` and either
``accompaniment.*`` or ``drums/bass/other.*``; a ``mixture.*`` is optional (the mixture is the
sum of the stems). Stems may have any rate and channel count: they are resampled once to 44.1
kHz with the resampler ``rtsep separate`` uses (soxr, high quality), kept mono or stereo (more
channels are folded to two), and stored as float16 ``.npy`` files that every run maps into
memory; the page cache then holds one copy however many trainings read it.

Shapes: a source is ``(channels, samples)``, channels 1 or 2; ``envelope`` is the RMS of each
block of ``ENVELOPE_BLOCK`` samples, ``(blocks,)``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100
ENVELOPE_BLOCK = 4096  # ~93 ms at 44.1 kHz
STEM_NAMES = ("vocals", "accompaniment")
_PARTS = ("drums", "bass", "other")
_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")


@dataclass
class Entry:
    """One track of the bank."""

    name: str
    folder: str  # the data set folder it came from
    group: str  # split unit (offline_training.splits.group_of)
    key: str  # cache file stem
    samples: int
    channels: int
    licence: str
    variant: str = ""  # "" for the track as recorded; "pitch+2", "tempo0.9": vocals only
    prefix: str = ""  # files PREFIX.{vocals,accompaniment}.npy; default CACHE_DIR/KEY


def _find(track_dir: Path, stem: str) -> Path | None:
    for suffix in _SUFFIXES:
        p = track_dir / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def _read_at_sr(path: Path) -> np.ndarray:
    """``(channels <= 2, samples)`` float32 at 44.1 kHz."""
    from rtsep.io.audio import read_audio

    x, sr = read_audio(path)
    if x.shape[0] > 2:
        x = np.stack([x[0::2].mean(0), x[1::2].mean(0)])
    if sr != SR:
        import librosa

        x = librosa.resample(x, orig_sr=sr, target_sr=SR, res_type="soxr_hq", axis=-1)
    return x.astype(np.float32)


def read_stems(track_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vocals, accompaniment) of a track at 44.1 kHz; the accompaniment is
    ``accompaniment.*`` or the sum of ``drums/bass/other.*``."""
    from rtsep.errors import AudioFileError

    vocals_path = _find(track_dir, "vocals")
    if vocals_path is None:
        raise AudioFileError(f"track {track_dir.name!r} has no vocals file in {track_dir}")
    acc_path = _find(track_dir, "accompaniment")
    if acc_path is not None:
        acc = _read_at_sr(acc_path)
    else:
        parts = [_find(track_dir, p) for p in _PARTS]
        if any(p is None for p in parts):
            raise AudioFileError(f"track {track_dir.name!r} needs accompaniment.* or "
                                 "drums/bass/other stems")
        acc = np.sum([_read_at_sr(p) for p in parts], axis=0)
    vocals = _read_at_sr(vocals_path)
    n = min(vocals.shape[1], acc.shape[1])
    channels = max(vocals.shape[0], acc.shape[0])
    return (np.broadcast_to(vocals[:, :n], (channels, n)).copy(),
            np.broadcast_to(acc[:, :n], (channels, n)).copy())


def apply_variant(vocals: np.ndarray, variant: str) -> np.ndarray:
    """``vocals`` ``(channels, samples)`` at 44.1 kHz pitch-shifted (``pitch+2``: semitones) or
    time-stretched (``tempo0.9``: rate) with librosa's phase vocoder."""
    import librosa

    from rtsep.errors import ConfigError

    try:
        if variant.startswith("pitch"):
            steps = float(variant[5:])
            out = librosa.effects.pitch_shift(vocals, sr=SR, n_steps=steps)
        elif variant.startswith("tempo"):
            out = librosa.effects.time_stretch(vocals, rate=float(variant[5:]))
        else:
            raise ValueError(variant)
    except ValueError:
        raise ConfigError(f"unknown vocal variant {variant!r}; use pitchN (semitones) or "
                          "tempoR (rate)") from None
    return np.asarray(out, dtype=np.float32)


def envelope(x: np.ndarray) -> np.ndarray:
    """RMS per block of ``ENVELOPE_BLOCK`` samples of ``x`` ``(channels, samples)``."""
    n = x.shape[1] // ENVELOPE_BLOCK * ENVELOPE_BLOCK
    blocks = x[:, :n].astype(np.float32).reshape(x.shape[0], -1, ENVELOPE_BLOCK)
    return np.sqrt((blocks ** 2).mean(axis=(0, 2)))


def _cache_key(track_dir: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(track_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in _SUFFIXES:
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    h.update(str(track_dir.resolve()).encode())
    return f"{track_dir.name[:40].replace(' ', '_')}-{h.hexdigest()[:12]}"


class StemBank:
    """Vocals and accompaniment of labelled tracks, memory-mapped float16 at 44.1 kHz.

    ``vocals(i)`` and ``accompaniment(i)`` are ``(channels, samples)`` float16 maps;
    ``entries[i]`` describes track ``i``; ``envelopes[i]`` ``(2, blocks)`` its vocal and
    accompaniment RMS per block.
    """

    def __init__(self, entries: list[Entry], cache_dir: Path, envelopes: list[np.ndarray]):
        self.entries = entries
        self.cache_dir = Path(cache_dir)
        self.envelopes = envelopes
        self._maps: dict = {}

    @classmethod
    def build(cls, track_dirs, cache_dir, licences: dict | None = None, log=None,
              vocal_variants=()) -> "StemBank":
        """Read (or find in ``cache_dir``) every track of ``track_dirs``; ``licences`` maps a
        data set folder to its licence text. ``vocal_variants`` (``"pitch+2"``, ``"tempo0.9"``,
        ...) add, per track, an entry whose vocals are pitch-shifted (semitones) or
        time-stretched (rate); such entries are only ever sung over other tracks."""
        from .splits import group_of

        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        entries, envelopes = [], []
        jobs = [(d, "") for d in map(Path, track_dirs)]
        jobs += [(d, v) for v in vocal_variants for d in map(Path, track_dirs)]
        for n, (track_dir, variant) in enumerate(jobs):
            key = _cache_key(track_dir) + (f"-{variant}" if variant else "")
            meta_path = cache_dir / f"{key}.json"
            if not meta_path.is_file():
                vocals, acc = read_stems(track_dir)
                if variant:
                    vocals = apply_variant(vocals, variant)
                    acc = np.zeros((vocals.shape[0], 1), dtype=np.float32)
                for stem, x in zip(STEM_NAMES, (vocals, acc)):
                    tmp = cache_dir / f".{key}.{stem}.tmp.npy"
                    np.save(tmp, x.astype(np.float16))
                    os.replace(tmp, cache_dir / f"{key}.{stem}.npy")
                env = envelope(vocals)
                env = np.stack([env, envelope(acc) if not variant else np.zeros_like(env)])
                np.save(cache_dir / f"{key}.env.npy", env)
                tmp = cache_dir / f".{key}.json.tmp"
                tmp.write_text(json.dumps({"samples": int(vocals.shape[1]),
                                           "channels": int(vocals.shape[0])}))
                os.replace(tmp, meta_path)
                if log and (n + 1) % 50 == 0:
                    log(f"stem bank: read {n + 1}/{len(jobs)} tracks")
            meta = json.loads(meta_path.read_text())
            folder = str(track_dir.parent)
            entries.append(Entry(track_dir.name, folder, group_of(track_dir.name), key,
                                 meta["samples"], meta["channels"],
                                 (licences or {}).get(folder, "unknown"), variant))
            envelopes.append(np.load(cache_dir / f"{key}.env.npy"))
        return cls(entries, cache_dir, envelopes)

    def __len__(self) -> int:
        return len(self.entries)

    def has_accompaniment(self, indices) -> np.ndarray:
        """Boolean per index: the entry's accompaniment may be used (not a vocal variant)."""
        return np.array([not self.entries[i].variant for i in indices], dtype=bool)

    @classmethod
    def from_segments(cls, folder, keys, names=None, licences=None, group="segments"
                      ) -> "StemBank":
        """A bank over source pairs written by ``offline_training.remix.SourceBank`` (mono
        float16 ``KEY.{vocals,accompaniment}.npy``, e.g. a teacher's estimates)."""
        folder = Path(folder)
        entries, envelopes = [], []
        for i, key in enumerate(keys):
            v = np.load(folder / f"{key}.vocals.npy", mmap_mode="r")
            a = np.load(folder / f"{key}.accompaniment.npy", mmap_mode="r")
            entries.append(Entry((names or keys)[i], str(folder), f"{group}:{key}", key,
                                 int(min(v.shape[-1], a.shape[-1])), 1,
                                 (licences or {}).get(key, "unknown"),
                                 prefix=str(folder / key)))
            envelopes.append(np.stack([envelope(np.atleast_2d(v)), envelope(np.atleast_2d(a))]))
        return cls(entries, folder, envelopes)

    @classmethod
    def merge(cls, banks) -> "StemBank":
        """One bank holding the entries of ``banks`` in order."""
        entries, envelopes = [], []
        for bank in banks:
            for e in bank.entries:
                prefix = e.prefix or str(bank.cache_dir / e.key)
                entries.append(Entry(**{**e.__dict__, "prefix": prefix}))
            envelopes += list(bank.envelopes)
        return cls(entries, banks[0].cache_dir if banks else Path("."), envelopes)

    def source(self, index: int, stem: str) -> np.ndarray:
        """``(channels, samples)`` float16 map of one stem of entry ``index``."""
        if (index, stem) not in self._maps:
            e = self.entries[index]
            prefix = e.prefix or str(self.cache_dir / e.key)
            x = np.load(f"{prefix}.{stem}.npy", mmap_mode="r")
            self._maps[(index, stem)] = x if x.ndim == 2 else x[None]
        return self._maps[(index, stem)]

    def vocals(self, index: int) -> np.ndarray:
        return self.source(index, "vocals")

    def accompaniment(self, index: int) -> np.ndarray:
        return self.source(index, "accompaniment")

    def seconds(self) -> float:
        return sum(e.samples for e in self.entries) / SR

    def provenance(self) -> list[dict]:
        """One entry per data set folder: tracks used and licence (for a model's JSON)."""
        out: dict = {}
        for e in self.entries:
            if e.variant:
                continue
            d = out.setdefault(e.folder, {"source": _display(e.folder), "licence": e.licence,
                                          "tracks": 0, "seconds": 0.0})
            d["tracks"] += 1
            d["seconds"] = round(d["seconds"] + e.samples / SR, 1)
        return list(out.values())


def _display(folder: str) -> str:
    """``data/train/mir1k`` style: the last three parts of the path, meaningful elsewhere."""
    return "/".join(Path(folder).parts[-3:])
