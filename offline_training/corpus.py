"""A rendered multitrack corpus: generated songs with exact stems and an aligned vocal score.

Each song folder ``OUT/song_0000/`` holds ``mixture.wav``, ``vocals.wav``, ``accompaniment.wav``,
``drums.wav``, ``bass.wav``, ``other.wav`` (stereo float32 WAV; accompaniment = drums + bass +
other and mixture = vocals + accompaniment to float32 precision), ``vocals.mid``, ``song.mid``
and ``meta.json``. Song ``i`` depends only on ``(seed, i)`` (and the length and sample rate),
so the same seed gives bitwise the same files whatever the number of workers, and a corpus can
be extended or resumed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

import numpy as np

from rtsep.errors import RtsepError
from rtsep.songs.compose import PROGRESSIONS, Style, compose
from rtsep.songs.midi import note_times

LICENCE = "rendered by rtsep from generated MIDI with FluidR3_GM (MIT)"
VOCAL_DB_RANGE = (-6.0, 3.0)
STYLES = ("straight", "swing", "waltz")
# 0-based General MIDI programs; voice patches carry the sung line with exact pitch.
VOCAL_PROGRAMS = {52: "Choir Aahs", 53: "Voice Oohs"}
BASS_PROGRAMS = {32: "Acoustic Bass", 33: "Electric Bass (finger)", 34: "Electric Bass (pick)",
                 35: "Fretless Bass", 38: "Synth Bass 1"}
CHORD_PROGRAMS = {0: "Acoustic Grand Piano", 4: "Electric Piano 1", 16: "Drawbar Organ",
                  24: "Acoustic Guitar (nylon)", 25: "Acoustic Guitar (steel)", 26: "Jazz Guitar",
                  48: "String Ensemble 1"}
PAD_PROGRAMS = {48: "String Ensemble 1", 49: "String Ensemble 2", 89: "Pad 2 (warm)",
                19: "Church Organ"}
COUNTER_PROGRAMS = {73: "Flute", 71: "Clarinet", 11: "Vibraphone", 9: "Glockenspiel",
                    56: "Trumpet", 65: "Alto Sax", 40: "Violin", 13: "Xylophone"}
DRUM_KITS = {"straight": {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808"},
             "swing": {32: "Jazz", 40: "Brush", 0: "Standard"},
             "waltz": {0: "Standard", 8: "Room", 32: "Jazz", 40: "Brush"}}
TEMPO_RANGE = {"straight": (80, 150), "swing": (80, 140), "waltz": (80, 150)}


def _pick(rng: np.random.Generator, table: dict) -> int:
    return int(rng.choice(sorted(table)))


def random_style(rng: np.random.Generator, vocal_programs: dict | None = None
                 ) -> tuple[Style, str]:
    """A random key, tempo, meter, swing and set of programs; returns ``(style, style name)``.

    ``vocal_programs`` replaces the voice patches for the lead line (a corpus whose "vocals"
    are, say, a synth lead: a second domain for model-selection experiments).
    """
    name = STYLES[int(rng.integers(len(STYLES)))]
    mode = "major" if rng.random() < 0.6 else "minor"
    progressions = PROGRESSIONS[mode]
    lo, hi = TEMPO_RANGE[name]
    style = Style(
        tonic=60 + int(rng.integers(12)),  # only the pitch class matters: parts pick octaves
        mode=mode,
        tempo_bpm=float(rng.integers(lo, hi + 1)),
        beats_per_bar=3 if name == "waltz" else 4,
        swing=float(rng.uniform(0.6, 1.0)) if name == "swing" else 0.0,
        progression=progressions[int(rng.integers(len(progressions)))],
        vocal_program=_pick(rng, vocal_programs or VOCAL_PROGRAMS),
        bass_program=_pick(rng, BASS_PROGRAMS),
        chord_program=_pick(rng, CHORD_PROGRAMS),
        pad_program=_pick(rng, PAD_PROGRAMS) if rng.random() < 0.5 else None,
        counter_program=_pick(rng, {p: n for p, n in COUNTER_PROGRAMS.items()
                                    if p not in (vocal_programs or {})} or COUNTER_PROGRAMS),
        drum_kit=_pick(rng, DRUM_KITS[name]),
    )
    return style, name


def song_seed(seed: int, index: int) -> int:
    """The seed of song ``index`` in a corpus drawn with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def _programs(style: Style, style_name: str, vocal_programs: dict | None = None) -> dict:
    names = {"vocals": (style.vocal_program, vocal_programs or VOCAL_PROGRAMS),
             "bass": (style.bass_program, BASS_PROGRAMS),
             "chords": (style.chord_program, CHORD_PROGRAMS),
             "pad": (style.pad_program, PAD_PROGRAMS),
             "counter": (style.counter_program, COUNTER_PROGRAMS)}
    out = {part: {"program": prog, "gm_number": prog + 1, "name": table[prog]}
           for part, (prog, table) in names.items() if prog is not None}
    out["drums"] = {"kit": style.drum_kit, "name": DRUM_KITS[style_name][style.drum_kit]}
    return out


def render_song(out_dir: str | os.PathLike, index: int, seconds: float, seed: int,
                sr: int = 44100, vocal_programs: dict | None = None) -> Path:
    """Render song ``index`` of the corpus drawn with ``seed`` into ``out_dir/song_XXXX``.

    The folder is built under a temporary name and renamed when complete. A folder whose
    ``meta.json`` already records the same song is kept as it is.
    """
    from rtsep.io.audio import write_outputs_atomically
    from rtsep.songs.fluidsynth import find_soundfont, fluidsynth_version
    from rtsep.songs.stems import mix_stems, render_stems

    out_dir = Path(out_dir)
    final = out_dir / f"song_{index:04d}"
    s_seed = song_seed(seed, index)
    wanted = {"corpus_seed": int(seed), "index": int(index), "seed": s_seed,
              "seconds": float(seconds), "sr": int(sr)}
    if vocal_programs:
        wanted["vocal_programs"] = sorted(int(p) for p in vocal_programs)
    meta_path = final / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if all(meta.get(k) == v for k, v in wanted.items()):
                return final
        except (OSError, ValueError):
            pass
    rng = np.random.default_rng(s_seed)
    style, style_name = random_style(rng, vocal_programs)
    vocal_db = float(np.round(rng.uniform(*VOCAL_DB_RANGE), 2))
    song = compose(style, seconds, int(rng.integers(2 ** 31)))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".song_{index:04d}.", dir=out_dir))
    except OSError as exc:
        raise RtsepError(f"cannot write the corpus to {out_dir}: {exc.strerror or exc}") from None
    try:
        # One worker per song: the corpus parallelises across songs instead.
        stems = render_stems(song, tmp, sr, workers=1)
        mixed = mix_stems(stems, vocal_db=vocal_db)
        names = ("mixture", "vocals", "accompaniment", "drums", "bass", "other")
        write_outputs_atomically({n: (tmp / f"{n}.wav", mixed[n]) for n in names}, sr)
        vocal_notes = note_times(song, song.stem_parts("vocals")[0])
        meta = dict(wanted, style=style_name, key=style.key_name, tempo_bpm=style.tempo_bpm,
                    beats_per_bar=style.beats_per_bar, swing=round(style.swing, 4),
                    progression=list(style.progression), programs=_programs(style, style_name, vocal_programs),
                    vocal_to_accompaniment_db=vocal_db, vocal_notes=len(vocal_notes),
                    soundfont=find_soundfont().name, renderer=fluidsynth_version(),
                    licence=LICENCE)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a corpus is meant to be shared
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def render_corpus(out_dir: str | os.PathLike, songs: int, seconds: float, seed: int,
                  sr: int = 44100, workers: int = 2,
                  progress: Callable[[int, int], None] | None = None,
                  vocal_programs: dict | None = None) -> list[Path]:
    """Render ``songs`` songs of ``seconds`` s each into ``out_dir``; return their folders in order.

    ``workers`` songs render at once (each is mostly a FluidSynth process, so threads suffice).
    ``progress(done, total)`` is called as songs finish.
    """
    from rtsep.errors import ConfigError

    if songs < 1 or seconds <= 0:
        raise ConfigError(f"need at least one song of positive length, got {songs} x {seconds} s")
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(render_song, out_dir, i, seconds, seed, sr, vocal_programs)
                   for i in range(songs)]
        for fut in as_completed(futures):
            fut.result()
            done += 1
            if progress is not None:
                progress(done, songs)
    return [Path(out_dir) / f"song_{i:04d}" for i in range(songs)]
