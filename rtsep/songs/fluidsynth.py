"""Rendering generated MIDI into stems with the FluidSynth CLI, and the built-in default song.

Each stem is rendered from its own MIDI file with reverb and chorus off, so stems are clean and
the mixture is their exact sum. Arrays are channels-first ``(2, samples)`` float64 (FluidSynth
renders stereo); sample rates are in Hz.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import RtsepError

SOUNDFONT_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/soundfonts"))
SOUNDFONT_NAMES = ("FluidR3_GM.sf2", "default-GM.sf2", "TimGM6mb.sf2")
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm"
FLUIDSYNTH_GAIN = 0.5
# FluidSynth starts a note at the first 64-sample block after its millisecond timer passes the
# event: measured onsets lag the score by 52-140 samples at 44.1 kHz. Dropping the mean lag
# centres that jitter on zero, so the written MIDI lines up with the audio.
_BLOCK = 64


def render_delay_samples(sr: int) -> int:
    """Samples by which FluidSynth's output trails its MIDI input on average, at ``sr`` Hz."""
    return _BLOCK + round(0.0005 * sr)


def find_soundfont() -> Path:
    """The first General MIDI soundfont installed; ``RtsepError`` saying what to install if none."""
    override = os.environ.get("RTSEP_SOUNDFONT")
    if override and Path(override).is_file():
        return Path(override)
    for folder in SOUNDFONT_DIRS:
        for name in SOUNDFONT_NAMES:
            if (folder / name).is_file():
                return folder / name
    missing = "fluidsynth and a GM soundfont" if shutil.which("fluidsynth") is None else \
        "a GM soundfont"
    raise RtsepError(f"rendering needs {missing}: {INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def fluidsynth_version() -> str:
    """``"FluidSynth 2.3.1"`` (or ``"FluidSynth (unknown version)"``), recorded with renders."""
    try:
        out = subprocess.run([_fluidsynth(), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for word in out.split():
        if word[:1].isdigit() and "." in word:
            return f"FluidSynth {word}"
    return "FluidSynth (unknown version)"


def _fluidsynth() -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RtsepError(f"rendering needs the fluidsynth program: {INSTALL_HINT}")
    return exe


def render_midi(midi_path: str | os.PathLike, wav_path: str | os.PathLike | None = None,
                sr: int = 44100, length: int | None = None) -> np.ndarray:
    """Render a MIDI file with FluidSynth into ``(2, samples)`` float64 at ``sr`` Hz.

    The render is advanced by ``render_delay_samples(sr)`` so the audio lines up with the score,
    then cut or zero-padded to ``length`` samples when given. When ``wav_path`` is given the
    result is also written there (32-bit float WAV, atomically).
    """
    from ..io.audio import read_audio, write_audio

    midi_path = Path(midi_path)
    if not midi_path.is_file():
        raise RtsepError(f"no such MIDI file: {midi_path}")
    exe, soundfont = _fluidsynth(), find_soundfont()
    with tempfile.TemporaryDirectory(prefix="rtsep-render-") as tmp:
        raw = Path(tmp) / "render.wav"
        # Dynamic sample loading reads only the samples a song plays: the same audio, bitwise,
        # from a third of the start-up time and memory (FluidR3 is 140 MB).
        cmd = [exe, "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(FLUIDSYNTH_GAIN),
               "-o", "synth.dynamic-sample-loading=1", "-r", str(int(sr)), "-O", "float",
               "-T", "wav", "-F", str(raw), str(soundfont), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.is_file() or raw.stat().st_size == 0:
            reason = " ".join((proc.stderr or proc.stdout or "no output").split())[:300]
            raise RtsepError(f"fluidsynth could not render {midi_path}: {reason}")
        x, got_sr = read_audio(raw)
    if got_sr != sr:
        raise RtsepError(f"fluidsynth rendered {midi_path} at {got_sr} Hz instead of {sr} Hz")
    x = x[:, render_delay_samples(sr):]
    if length is not None:
        out = np.zeros((x.shape[0], int(length)))
        n = min(int(length), x.shape[1])
        out[:, :n] = x[:, :n]
        x = out
    if wav_path is not None:
        write_audio(wav_path, x, sr)
    return x


def rms(x: np.ndarray) -> float:
    """Root mean square over all channels and samples of ``x``."""
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def mix_stems(stems: dict[str, np.ndarray], vocal_db: float, peak: float = 0.89,
              levels_db: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Balance and mix stems ``{name: (channels, samples)}``; return float32-exact stems and sums.

    Accompaniment stems are set to ``levels_db`` (RMS, dB re full scale); vocals to ``vocal_db``
    re the accompaniment's RMS; then everything is scaled by one factor so the mixture peaks at
    ``peak``. Every returned array holds float32 values (in float64 arrays), and
    ``accompaniment`` and ``mixture`` are the float32-rounded sums of the stems, so files written
    in float32 add up to within 1e-7.
    """
    levels_db = levels_db or {"drums": -20.0, "bass": -22.0, "other": -22.0}
    scaled = {}
    for name, x in stems.items():
        if name == "vocals":
            continue
        level = rms(x)
        gain = 10.0 ** (levels_db.get(name, -22.0) / 20.0) / level if level > 0 else 0.0
        scaled[name] = x * gain
    accompaniment = sum(scaled.values())
    vocals = stems["vocals"]
    v_level, a_level = rms(vocals), rms(accompaniment)
    if v_level > 0 and a_level > 0:
        vocals = vocals * (a_level / v_level * 10.0 ** (vocal_db / 20.0))
    mixture = vocals + accompaniment
    top = float(np.max(np.abs(mixture))) if mixture.size else 0.0
    factor = peak / top if top > 0 else 1.0

    def f32(x: np.ndarray) -> np.ndarray:
        return (x * factor).astype(np.float32).astype(np.float64)

    out = {name: f32(x) for name, x in scaled.items()}
    out["vocals"] = f32(vocals)
    out["accompaniment"] = sum(out[n] for n in scaled).astype(np.float32).astype(np.float64)
    out["mixture"] = (out["vocals"] + out["accompaniment"]).astype(np.float32).astype(np.float64)
    return out


def render_stems(song, out_dir: str | os.PathLike, sr: int, workers: int = 2) -> dict:
    """Render each stem of a composed ``song`` from its own MIDI file.

    Writes the score, ``song.mid`` and ``vocals.mid``, into ``out_dir``; returns
    ``{stem: (2, samples) float64}``, each exactly ``round(song.seconds * sr)`` samples long.
    Vocal notes are sent early by their sample's attack delay so the sung onsets fall on the
    score's onsets.
    """
    from .attack import advance_seconds
    from .compose import STEMS
    from .midi import write_midi

    out_dir = Path(out_dir)
    length = round(song.seconds * sr)
    write_midi(song, song.parts, out_dir / "song.mid")
    if song.stem_parts("vocals"):
        write_midi(song, song.stem_parts("vocals"), out_dir / "vocals.mid")
    with tempfile.TemporaryDirectory(prefix="rtsep-stems-") as tmp:
        jobs = {}
        for stem in STEMS:
            parts = song.stem_parts(stem)
            if parts:
                advance = ({p.name: advance_seconds(p.program, sr) for p in parts}
                           if stem == "vocals" else None)
                jobs[stem] = write_midi(song, parts, Path(tmp) / f"{stem}.mid", advance)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {stem: pool.submit(render_midi, mid, None, sr, length)
                       for stem, mid in jobs.items()}
            stems = {stem: fut.result() for stem, fut in futures.items()}
    for stem in STEMS:
        stems.setdefault(stem, np.zeros((2, length)))
    return stems


# Bump when the composition or the mixing changes, so stale cached songs are not reused.
DEFAULT_SONG_VERSION = 3
DEFAULT_SONG_FILES = {"mixture": "mixture.wav", "vocals": "vocals.wav",
                      "accompaniment": "accompaniment.wav", "song_midi": "song.mid",
                      "vocals_midi": "vocals.mid"}


def cache_dir() -> Path:
    """``$RTSEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/rtsep``, else ``~/.cache/rtsep``."""
    if os.environ.get("RTSEP_CACHE_DIR"):
        return Path(os.environ["RTSEP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rtsep"


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

    Without ``out_dir`` the song lives in ``cache_dir()/songs/<key>`` and later calls with the
    same arguments return at once. Files are moved into place only when all are rendered; a
    ``song.json`` written last marks a complete set.
    """
    from ..io.audio import MAX_SR, MIN_SR, write_outputs_atomically
    from ..errors import ConfigError
    from .compose import compose

    if seconds <= 0:
        raise ConfigError(f"song length must be positive, got {seconds} s")
    if not MIN_SR <= sr <= MAX_SR:
        raise ConfigError(f"cannot render at {sr} Hz; supported rates are {MIN_SR}-{MAX_SR} Hz")
    key = _song_key(sr, seconds, seed)
    final = Path(out_dir) if out_dir is not None else cache_dir() / "songs" / key
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
