"""Separation with and without a score: exact, shifted, with notes missing, in one run.

    .venv/bin/python benchmarks/score_quality.py [--write] [--songs 6] [--seconds 20]
    .venv/bin/python benchmarks/score_quality.py --tune     # the settings grid, tuning data only

Sets of tracks:

- ``rendered``: songs rendered by FluidSynth from generated MIDI (``offline_training.corpus``,
  seed 9001, never used for tuning); the score is their exact ``vocals.mid``;
- ``dev``: the four MIR-1K clips of ``shared/data/dev``; the score is made from their
  ``pitch.pv`` (one MIDI pitch per 20 ms frame, 0 = unvoiced) by
  ``rtsep.score.notes_from_pitch_track`` (a run of frames rounding to one key is a note);
- ``--tune`` uses other data only: rendered songs of seed 9002 and MIR-1K training clips of
  singers that are not reserved for evaluation.

Conditions: no score (the engine's default primitives), the exact score, the score 50 ms and
200 ms late, 200 ms early, with 10 % of its notes deleted (seeded), and with wrong notes (every
note a fourth up). Each track is streamed
through the engine (``separate_array``, default preset); vocals SDR is BSS Eval v4 (1 s
windows, median over windows; ``rtsep.evaluation.metrics``), then median and mean over tracks.
``--write`` replaces the "## Score guidance" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT, machine, replace_section  # noqa: E402

from rtsep.config import DEFAULT_WEIGHTS, SCORE_PRIMITIVES, EngineConfig  # noqa: E402
from rtsep.evaluation.metrics import bss_eval_v4, track_median  # noqa: E402
from rtsep.io.audio import read_audio  # noqa: E402
from rtsep.score import (  # noqa: E402
    FileScore,
    ScoreGuidance,
    notes_from_pitch_track,
    read_score,
    timeline_from_notes,
    timeline_notes,
)
from rtsep.separate import separate_array  # noqa: E402

SECTION = "## Score guidance"
# Written after the run that produced the table in BENCHMARKS.md; keep it true when rerunning.
NOTES = """
How the settings were chosen (nothing here was tuned on `dev/`): `python
benchmarks/score_quality.py --tune --songs 2 --seconds 12 --clips 8 --grid ...`, on two rendered
songs of another seed (9002) and eight MIR-1K training clips of singers not reserved for
evaluation; mean vocals SDR gain over no score (4.46 dB on those ten tracks):

| setting (changes from the row above, unless said) | exact | late 200 ms | early 200 ms | wrong notes |
| --- | --- | --- | --- | --- |
| first version: weight 1, hold 0.15 s, rest gain 0.5, no look-ahead | +0.51 | -0.30 | +0.53 | |
| the same without the rest gate (rest gain 1) | +0.46 | -0.09 | +0.52 | |
| look-ahead 0.2 s (a file offers the notes starting within it, and does not gate before them) | +0.61 | +0.58 | +0.58 | |
| weight 2 | +0.62 | +0.69 | +0.43 | |
| hold 0.25 s | +0.73 | +0.67 | +0.62 | |
| weight 3 instead of 2 (hold 0.15 s) | +0.56 | +0.63 | +0.25 | |
| a note gate (mask x 0.5 between the partials of sounding notes) | +0.55 | +0.47 | +0.43 | |
| agreement weighting (adopted defaults: all of the above but weight 3 and the note gate) | +0.73 | +0.69 | +0.63 | -0.47 |
| gate hold 0.5 s instead of 0.25 s | +0.72 | +0.69 | +0.63 | -0.47 |
| gate hold 0.5 s and hold 0.4 s | +0.69 | +0.60 | +0.71 | -0.50 |

The agreement weighting came from the default song (`tests/test_score_engine.py`): with weight 2
a score transposed by a fourth cost 4.3 dB there; weighing the cue by how well the audio bears the
score out (harmonic salience of its notes over the strongest series anywhere, mean 0.93-0.98 for
exact scores, 0.27-0.66 a fourth off; weight falls from 1 at 0.9 to 0 at 0.6, smoothed over 1 s)
brought that to -0.2 dB while the exact score still gains 2.2 dB. An agreement measure with
thresholds 0.3-0.6 never engaged (identical results).

What it says:

1. **Exact scores**: +1.15 dB median (+1.45 mean) on the rendered songs, which meets the +1 dB
   goal; +0.76 dB median (+1.33 mean) on the four MIR-1K dev clips, which misses it on the median
   (one clip gains 2.2 dB, another 0.6). Their scores are semitone notes made from a pitch track,
   while amateur singers glide and drift between and within notes; the cue refines each note to
   the sung pitch within a semitone, but the comb still misses partials during fast glides.
2. **Timing**: a score 50 or 200 ms late gains as much as the exact one or more, and 200 ms early
   still gains (+0.32 and +0.64 dB): no loss anywhere (the goal was at most 0.3 dB of loss at
   200 ms). Late scores do well because a file offers the notes starting within 0.2 s and an
   ended note stays on offer for 0.25 s, so near every note boundary both notes are combed, and
   the rendered voice's releases (the composer fades it over 0.45 s after each phrase) outlast
   the rest gate's 0.25 s hold. A live MIDI port cannot look ahead, so there only the hold
   gives slack (a late live score is not measured here).
3. **Missing notes** (10 % deleted): +0.76 dB on both sets; a deleted note's voice is scaled
   down (the score says nobody sings), but the other 90 % still help.
4. **Wrong notes** (every note a fourth up): -0.24 dB median on both sets; the agreement weighting
   keeps a wrong score from doing harm beyond that.
5. Live, through the JACK dummy server (`tests/test_live_midi.py`, load average ~13): events
   reach the mask 7.1 ms (median) after they arrive, p99 24 ms; the hop is 5.8 ms, so the median
   meets the "5 ms plus one hop" goal and the tail is the shared machine's scheduler. The median is
   one device period (the event waits for the audio it arrived with) plus the hop's compute.
"""
DATA = Path(os.environ.get("RTSEP_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESERVED = ("amy", "bobon", "fdps", "heycat", "stool", "kenshin", "abjones", "bug")
CONDITIONS = {"none": None, "exact": 0.0, "late 50 ms": 0.05, "late 200 ms": 0.2,
              "early 200 ms": -0.2, "10 % notes deleted": "delete",
              "wrong notes (a fourth up)": "transpose"}


def rendered_tracks(work: Path, songs: int, seconds: float, seed: int) -> list[dict]:
    from offline_training.corpus import render_song

    out = []
    for i in range(songs):
        folder = render_song(work / f"rendered_{seed}", i, seconds, seed)
        mix, sr = read_audio(folder / "mixture.wav")
        voc, _ = read_audio(folder / "vocals.wav")
        notes = timeline_notes(read_score(folder / "vocals.mid"))
        out.append({"name": folder.name, "sr": sr, "mixture": mix, "vocals": voc,
                    "notes": notes})
    return out


def mir1k_tracks(folders: list[Path]) -> list[dict]:
    out = []
    for folder in folders:
        voc, sr = read_audio(next(folder.glob("vocals.*")))
        acc, _ = read_audio(next(folder.glob("accompaniment.*")))
        n = min(voc.shape[1], acc.shape[1])
        voc, acc = voc[:, :n], acc[:, :n]
        pitch = np.loadtxt(folder / "pitch.pv", ndmin=1)
        out.append({"name": folder.name, "sr": sr, "mixture": voc + acc, "vocals": voc,
                    "notes": notes_from_pitch_track(pitch)})
    return out


def dev_tracks() -> list[dict]:
    return mir1k_tracks(sorted(p for p in (DATA / "dev").glob("MIR-1K *") if p.is_dir()))


def train_tracks(count: int, seed: int = 0) -> list[dict]:
    clips = sorted(p for p in (DATA / "train" / "mir1k").iterdir()
                   if p.is_dir() and not p.name.lower().startswith(RESERVED))
    rng = np.random.default_rng(seed)
    return mir1k_tracks([clips[i] for i in sorted(rng.choice(len(clips), count, replace=False))])


def condition_notes(notes: list, condition, seed: int) -> list | None:
    if condition is None:
        return None
    if condition == "transpose":
        return [(on, off, key + 5) for on, off, key in notes]
    if condition == "delete":
        rng = np.random.default_rng(seed)
        drop = set(rng.choice(len(notes), int(round(0.1 * len(notes))), replace=False).tolist())
        return [n for i, n in enumerate(notes) if i not in drop]
    return [(on + condition, off + condition, key) for on, off, key in notes]


def vocals_sdr(track: dict, notes: list | None, guidance: ScoreGuidance,
               config: EngineConfig) -> float:
    x, sr = track["mixture"], track["sr"]
    score = None
    if notes is not None:
        score = FileScore(timeline_from_notes(notes), guidance=guidance)
        if config.primitives == EngineConfig().primitives:
            config = replace(config, primitives=SCORE_PRIMITIVES)
    vocals, _ = separate_array(x, sr, config, score=score)
    frames = bss_eval_v4(track["vocals"][None], vocals[None], window=sr, hop=sr)
    return float(track_median(frames["sdr"])[0])


def run_conditions(tracks: list[dict], guidance: ScoreGuidance, config: EngineConfig,
                   conditions: dict = CONDITIONS, progress: bool = True) -> dict:
    """``{condition: [sdr per track]}``."""
    results: dict = {c: [] for c in conditions}
    for k, track in enumerate(tracks):
        for name, cond in conditions.items():
            notes = condition_notes(track["notes"], cond, seed=k)
            results[name].append(vocals_sdr(track, notes, guidance, config))
        if progress:
            print(f"\r{k + 1}/{len(tracks)} {track['name'][:40]:<40}", end="", file=sys.stderr,
                  flush=True)
    if progress:
        print(file=sys.stderr)
    return results


def table(rows: dict[str, dict]) -> str:
    """Markdown: one row per set, median (mean) vocals SDR per condition and gains."""
    conds = list(CONDITIONS)
    head = "| set | tracks | " + " | ".join(conds) + " |"
    lines = [head, "|" + "---|" * (len(conds) + 2)]
    for name, res in rows.items():
        base = np.median(res["none"])
        cells = []
        for c in conds:
            med, mean = np.median(res[c]), np.mean(res[c])
            gain = "" if c == "none" else f" **{med - base:+.2f}**"
            cells.append(f"{med:.2f} ({mean:.2f}){gain}")
        lines.append(f"| {name} | {len(res['none'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tune(args) -> None:
    """A small grid on tuning data only (rendered seed 9002, MIR-1K training singers)."""
    tracks = (rendered_tracks(args.work, args.songs, args.seconds, seed=9002)
              + train_tracks(args.clips))
    n_rend = args.songs
    grid = [eval(f"dict({g})") for g in args.grid] if args.grid else [{}]  # noqa: S307
    config = EngineConfig()
    base = np.array(run_conditions(tracks, ScoreGuidance(), config, {"none": None},
                                   progress=False)["none"])
    print(f"no score: mean {base.mean():.2f} dB over {len(tracks)} tracks", flush=True)
    conds = {"exact": 0.0, "late 200 ms": 0.2, "early 200 ms": -0.2, "wrong": "transpose"}
    for kw in grid:
        w = kw.pop("weight", None)  # the score's clustering weight (rtsep.config)
        cfg = config if w is None else replace(config, primitives=SCORE_PRIMITIVES,
                                               weights=(1.0, 0.5, 1.0, float(w)))
        res = run_conditions(tracks, ScoreGuidance(**kw), cfg, conds, progress=False)
        if w is not None:
            kw["weight"] = w
        parts = []
        for c, v in res.items():
            d = np.array(v) - base
            parts.append(f"{c}: {d.mean():+.2f} (rendered {d[:n_rend].mean():+.2f}, "
                         f"mir-1k {d[n_rend:].mean():+.2f})")
        print(kw, " | ".join(parts), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--clips", type=int, default=12, help="with --tune: MIR-1K training clips")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/rtsep-score-bench"))
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--grid", nargs="*", help="with --tune: ScoreGuidance settings, e.g. "
                    "'rest_gain=0.3,hold_s=0.3'")
    args = ap.parse_args()
    if args.tune:
        tune(args)
        return
    t0 = time.time()
    guidance = ScoreGuidance()
    rows = {f"rendered songs ({args.songs} x {args.seconds:.0f} s, exact MIDI)":
            run_conditions(rendered_tracks(args.work, args.songs, args.seconds, 9001), guidance,
                           EngineConfig())}
    if (DATA / "dev").is_dir():
        rows["MIR-1K dev clips (score from pitch.pv)"] = run_conditions(dev_tracks(), guidance,
                                                                         EngineConfig())
    text = table(rows)
    print(text)
    for name, res in rows.items():
        print(name, {c: [round(v, 2) for v in vals] for c, vals in res.items()})
    if args.write:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        intro = (
            "Vocals SDR (BSS Eval v4, 1 s windows, median over windows; then median over "
            "tracks, mean in brackets; **bold**: median gain over no score) of the default "
            "preset streamed through the engine, without a score (repet, hpss, pitch) and "
            "with one (the same plus the score cue and its rest gate, settings "
            f"`{guidance}` and clustering weight {DEFAULT_WEIGHTS['score']}). Rendered songs: "
            "`offline_training.corpus.render_song` seed 9001 (random styles, Choir Aahs / "
            "Voice Oohs leads), scored by their own `vocals.mid`. MIR-1K dev clips: notes "
            "from `pitch.pv` (20 ms frames from 20 ms; each run of frames rounding to one "
            "key is a note, runs under 60 ms merged or dropped), so the score is exact in "
            "time but quantised to semitones. Shifted scores move every event; deleted notes "
            "are 10 % of the notes, drawn per track with a fixed seed.")
        where = (f"Machine: {machine()}, load average {os.getloadavg()[1]:.1f} (shared). "
                 f"Date: {date}. Command: `python benchmarks/score_quality.py --write` "
                 f"({time.time() - t0:.0f} s).")
        body = "\n\n".join([SECTION, textwrap.fill(intro, 100), textwrap.fill(where, 100),
                             text, NOTES.strip()])
        replace_section(SECTION, body + "\n")


if __name__ == "__main__":
    main()
