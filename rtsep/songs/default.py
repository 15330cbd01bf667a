"""The built-in song: composed, rendered with FluidSynth and cached, for the demo and tests.

Paths are returned for a stereo mixture, its vocal and accompaniment stems (float32 WAVs,
mixture = vocals + accompaniment) and its MIDI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from kernels import user_cache_dir

from ..errors import RtsepError
from .fluidsynth import find_soundfont, fluidsynth_version
from .stems import mix_stems, render_stems

# Bump when the composition or the mixing changes, so stale cached songs are not reused.
DEFAULT_SONG_VERSION = 3
DEFAULT_SONG_FILES = {"mixture": "mixture.wav", "vocals": "vocals.wav",
                      "accompaniment": "accompaniment.wav", "song_midi": "song.mid",
                      "vocals_midi": "vocals.mid"}


def default_song_style():
    """The built-in song: C major, 110 bpm, piano comp and strings over bass and a pop beat."""
    from .compose import Style

    return Style(tonic=60, mode="major", tempo_bpm=110.0, beats_per_bar=4, swing=0.0,
                 progression=(0, 4, 5, 3), vocal_program=53, bass_program=33, chord_program=0,
                 pad_program=48, counter_program=None, drum_kit=0)


def _song_key(sr: int, seconds: float, seed: int) -> str:
    soundfont = find_soundfont()
    ident = {"version": DEFAULT_SONG_VERSION, "sr": int(sr), "seconds": float(seconds),
             "seed": int(seed), "soundfont": soundfont.name, "bytes": soundfont.stat().st_size,
             "renderer": fluidsynth_version()}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def _song_paths(folder: Path) -> dict[str, Path]:
    return {name: folder / fname for name, fname in DEFAULT_SONG_FILES.items()}


def _complete(folder: Path, key: str) -> bool:
    """True when ``folder`` holds every file of the song ``key`` (its stamp is written last)."""
    if not all(p.is_file() for p in _song_paths(folder).values()):
        return False
    try:
        return json.loads((folder / "song.json").read_text()).get("key") == key
    except (OSError, ValueError):
        return False  # no stamp or a damaged one: render again


def render_default_song(out_dir: str | os.PathLike | None = None, sr: int = 44100,
                        seconds: float = 20.0, seed: int = 0) -> dict[str, Path]:
    """Render (or reuse) the built-in song; return paths keyed ``mixture``, ``vocals``,
    ``accompaniment`` (stereo float32 WAVs, mixture = vocals + accompaniment), ``song_midi`` and
    ``vocals_midi``.

    Without ``out_dir`` the song lives in ``user_cache_dir()/songs/<key>`` and later calls with the
    same arguments return at once. Files are moved into place only when all are rendered; a
    ``song.json`` written last marks a complete set.
    """
    from ..config import MAX_SR, MIN_SR
    from ..errors import ConfigError
    from ..io.audio import write_outputs_atomically
    from .compose import compose

    if seconds <= 0:
        raise ConfigError(f"song length must be positive, got {seconds} s")
    if not MIN_SR <= sr <= MAX_SR:
        raise ConfigError(f"cannot render at {sr} Hz; supported rates are {MIN_SR}-{MAX_SR} Hz")
    key = _song_key(sr, seconds, seed)
    final = Path(out_dir) if out_dir is not None else user_cache_dir() / "songs" / key
    if _complete(final, key):
        return _song_paths(final)
    try:
        final.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if out_dir is not None:
            raise RtsepError(f"cannot write the song to {final}: {exc.strerror or exc}") from None
        # A read-only home: keep the song for this machine's session in the temp folder.
        final = Path(tempfile.gettempdir()) / f"rtsep-cache-{os.getuid()}" / "songs" / key
        if _complete(final, key):
            return _song_paths(final)
        final.mkdir(parents=True, exist_ok=True)
    paths, stamp = _song_paths(final), final / "song.json"
    song = compose(default_song_style(), seconds, seed)
    tmp = Path(tempfile.mkdtemp(prefix=".render-", dir=final))
    try:
        stems = render_stems(song, tmp, sr)
        mixed = mix_stems(stems, vocal_db=0.0)
        write_outputs_atomically({n: (paths[n], mixed[n])
                                  for n in ("mixture", "vocals", "accompaniment")}, sr)
        for name in ("song_midi", "vocals_midi"):
            os.replace(tmp / DEFAULT_SONG_FILES[name], paths[name])
        meta = {"key": key, "sr": sr, "seconds": seconds, "seed": seed,
                "style": song.style.key_name, "tempo_bpm": song.style.tempo_bpm,
                "soundfont": find_soundfont().name, "renderer": fluidsynth_version()}
        stamp_tmp = tmp / "song.json"
        stamp_tmp.write_text(json.dumps(meta, indent=2))
        os.replace(stamp_tmp, stamp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths
