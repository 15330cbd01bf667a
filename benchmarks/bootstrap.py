"""Paper 000 at small scale: does a bootstrapped student beat its teacher, does the confidence
filter matter, and does the teacher's confidence predict its SDR?

Work folder W (default /tmp/rtsep-bootstrap-bench). Steps, in order (each is a subcommand):

    render      W/corpus: rendered songs (offline_training.corpus.render_corpus)
    voiced      W/corpus instead holds songs with REAL voices: rendered accompaniment (and
                Debian's drascula-music when installed) under CC BY singing and speech from
                shared/data/solo, pitch-shifted for variety; stems kept for the references
    (data)      python -m offline_training bootstrap W/corpus CC-FILES... --run-dir W/run_q234
                    --out W/student_q234 --data-only [...]       (under torchrun if you like)
    q1-run      W/run_q1: the same segments and teacher outputs, for the lowest-quartile student
    sup-sources W/sup_sources: the TRUE stems of the rendered segments (supervised reference)
    train-sup   W/supervised_ref: the same student and trainer on true-stem remixes
    evaluate    vocals SDR (BSS Eval v4 median over 1 s windows) and SI-SDR on the dev set,
                streamed through the engine: the teacher (primitive clustering, no model) and
                each model (use_primitives=False); dev tracks are resampled to 44.1 kHz
    offline-teacher  vocals SDR on the dev set of the offline teacher itself
    confidence  teacher confidence vs SI-SDR of its vocals on labelled segments (rendered
                segments and dev tracks): Pearson r, p; scatter in benchmarks/figures/

Students themselves are trained with ``python -m offline_training bootstrap`` on the run
folders (see BENCHMARKS.md, "Bootstrap (paper 000)", for the exact commands and numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("RTSEP_SHARED_DATA", REPO.parent / "shared" / "data"))
SR = 44100


def render(w: Path, songs: int, seconds: float) -> None:
    """The training corpus (seed 100) and a held-out rendered test set (seed 999, 6 x 15 s)."""
    from offline_training.corpus import render_corpus

    render_corpus(w / "corpus", songs, seconds, seed=100)
    render_corpus(w / "heldout", 6, 15.0, seed=999)


# Licence-clean real voices in shared/data/solo (its README): Vocadito (CC BY 4.0) and
# LibriSpeech (CC BY 4.0). The Essentia and Children's Song Dataset clips are not licence-clean.
VOICES = {"solo/vocals/vocadito_1.wav": "CC BY 4.0 (Vocadito)",
          "solo/vocals/vocadito_10.wav": "CC BY 4.0 (Vocadito)",
          "solo/vocals/vocadito_14.wav": "CC BY 4.0 (Vocadito)",
          "solo/speech/198-209-0000.hq.ogg": "CC BY 4.0 (LibriSpeech)",
          "solo/speech/3436-172162-0000.hq.ogg": "CC BY 4.0 (LibriSpeech)",
          "solo/speech/5703-47212-0000.hq.ogg": "CC BY 4.0 (LibriSpeech)"}
# For experiments only (never for a shipped model): the other solo voices, research use or
# non-commercial licences.
VOICES_RESEARCH = {"solo/vocals/csd_en001b.mp3": "CC BY-NC-SA 4.0 (Children's Song Dataset)",
                   "solo/vocals/singing-female.wav": "research use (Essentia examples)",
                   "solo/vocals/vignesh.wav": "research use (Essentia examples)",
                   "solo/vocals/long_voice.flac": "research use (Essentia examples)"}
DRASCULA = Path("/usr/share/scummvm/drascula/audio")  # Debian package drascula-music
VOICE_SHIFTS = (-4, -2, 0, 2, 4)  # semitones: each voice at five pitches


def _voice_bank(voices: dict, shifts=VOICE_SHIFTS) -> list[np.ndarray]:
    """Each voice at 44.1 kHz, pitch-shifted by each of ``shifts`` semitones."""
    import librosa

    from offline_training.audio_sources import read_mono

    bank = []
    for rel in voices:
        x = read_mono(SHARED / rel)  # mono, resampled to 44.1 kHz
        x = x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.1
        for k in shifts:
            bank.append(x if k == 0 else librosa.effects.pitch_shift(x, sr=SR, n_steps=k))
    return bank


def _voiced_licence(drascula: bool, research: bool) -> str:
    return ("derived by rtsep: accompaniment rendered from generated MIDI with FluidR3_GM (MIT)"
            + (" or from Debian drascula-music (Drascula licence, DFSG-free)" if drascula else "")
            + ("; voices CC BY 4.0 (Vocadito, LibriSpeech) and research-only or NC voices: NOT "
               "for a shipped model" if research else "; voices CC BY 4.0 (Vocadito, LibriSpeech)"))


def voiced(w: Path, songs: int, seconds: float, seed: int = 7, research: bool = False) -> None:
    """Songs whose voice is a real recording: rendered accompaniment, CC BY voices on top.

    The bootstrap reads only each ``mixture.wav``; the stems feed the supervised reference and
    the confidence study. Voice phrases (3-8 s crops, gaps of 0-2 s) are placed at a random
    vocal-to-accompaniment ratio in [-4, 4] dB per song.
    """
    import soundfile as sf

    from offline_training.audio_sources import read_mono
    from offline_training.corpus import render_corpus

    rng = np.random.default_rng(seed)
    accomp_dir = w / "accompaniment_src"
    if not accomp_dir.exists():
        render_corpus(accomp_dir, songs, seconds, seed=100)
    extra = sorted(DRASCULA.glob("*.ogg"))[:12] if DRASCULA.is_dir() else []
    licence = _voiced_licence(bool(extra), research)
    extra_audio = [read_mono(p).astype(np.float32) for p in extra]
    voice_files = {**VOICES, **(VOICES_RESEARCH if research else {})}
    voices = _voice_bank(voice_files)
    n = int(seconds * SR)
    for i in range(songs):
        acc = read_mono(accomp_dir / f"song_{i:04d}" / "accompaniment.wav")[:n]
        acc = np.pad(acc, (0, n - len(acc)))
        if extra_audio and i % 2:  # every other song: a real instrumental track, alone
            src = extra_audio[rng.integers(len(extra_audio))]
            if len(src) > n:
                a0 = int(rng.integers(len(src) - n))
                acc = src[a0 : a0 + n] * (np.sqrt(np.mean(acc**2)) /
                                          (np.sqrt(np.mean(src[a0 : a0 + n] ** 2)) + 1e-9))
        voc = np.zeros(n)
        pos = int(rng.uniform(0, 2) * SR)
        while pos < n:
            v = voices[rng.integers(len(voices))]
            length = min(int(rng.uniform(3, 8) * SR), len(v), n - pos)
            v0 = int(rng.integers(max(1, len(v) - length)))
            seg = v[v0 : v0 + length].copy()
            fade = min(2048, length // 4)
            ramp = np.linspace(0, 1, fade)
            seg[:fade] *= ramp
            seg[length - fade :] *= ramp[::-1]
            voc[pos : pos + length] += seg
            pos += length + int(rng.uniform(0, 2) * SR)
        active = np.abs(voc) > 1e-4
        ratio_db = rng.uniform(-4, 4)
        voc *= (np.sqrt(np.mean(acc**2)) / (np.sqrt(np.mean(voc[active] ** 2)) + 1e-9)
                * 10 ** (ratio_db / 20))
        mix = voc + acc
        peak = np.max(np.abs(mix))
        if peak > 0.95:
            voc, acc, mix = voc * 0.95 / peak, acc * 0.95 / peak, mix * 0.95 / peak
        out = w / "corpus" / f"song_{i:04d}"
        out.mkdir(parents=True, exist_ok=True)
        for name, x in (("vocals", voc), ("accompaniment", acc), ("mixture", mix)):
            sf.write(out / f"{name}.wav", x.astype(np.float32), SR, subtype="FLOAT")
        (out / "provenance.json").write_text(json.dumps({"licence": licence}))
    (w / "corpus" / "VOICED.json").write_text(json.dumps({
        "recipe": f"benchmarks/bootstrap.py voiced --songs {songs} --seconds {seconds}"
                  + (" --research-voices" if research else ""),
        "licence": licence,
        "voices": {f"shared/data/{k}": v for k, v in voice_files.items()},
        "voice_pitch_shifts_semitones": list(VOICE_SHIFTS),
        "accompaniment": {"rendered": "render_corpus(seed=100) accompaniment stems, FluidR3_GM "
                                      "(MIT)",
                          "drascula-music": [p.name for p in extra],
                          "drascula_licence": "Drascula licence (BSD-like, Debian main)"},
        "songs": songs, "seconds": seconds, "seed": seed}, indent=2))


def q1_run(w: Path) -> None:
    """A run folder sharing the data stages of run_q234 (the teacher is run once)."""
    src, dst = w / "run_q234", w / "run_q1"
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("segments.json", "teacher.json"):
        shutil.copy(src / name, dst / name)
    for name in ("teacher", "sources"):
        if not (dst / name).exists():
            (dst / name).symlink_to((src / name).resolve())


def _rendered_segments(w: Path) -> list[dict]:
    """Scored segments of rendered songs (their folders hold the true stems)."""
    scored = json.loads((w / "run_q234" / "teacher.json").read_text())["segments"]
    return [s for s in scored if (Path(s["file"]).parent / "vocals.wav").is_file()]


def _stem(song_file: str, name: str, start: int, stop: int) -> np.ndarray:
    from offline_training.audio_sources import read_mono

    return read_mono(Path(song_file).parent / f"{name}.wav")[start:stop]


def sup_sources(w: Path) -> None:
    from offline_training.remix import SourceBank

    for s in _rendered_segments(w):
        SourceBank.write(w / "sup_sources", s["key"], _stem(s["file"], "vocals", s["start"],
                                                             s["stop"]),
                         _stem(s["file"], "accompaniment", s["start"], s["stop"]))


def train_sup(w: Path, steps: int, batch: int, crop_s: float, seed: int = 0) -> None:
    """The supervised reference: same student size, trainer, remixing; true stems as sources."""
    import torch

    from models.io import save_model
    from offline_training.remix import SourceBank, remix_batch
    from offline_training.trainer import build_student, count_parameters, train
    from rtsep.config import geometry_for

    torch.set_num_threads(1)
    segs = _rendered_segments(w)
    bank = SourceBank(w / "sup_sources", [s["key"] for s in segs])
    g = geometry_for(SR)
    length = int(crop_s * SR)
    model = build_student("gru", "student", g.n_bins, seed)
    valid = [remix_batch(bank, batch, length, g, np.random.default_rng(10_000 + seed))
             for _ in range(2)]
    hist = train(model, lambda rng: remix_batch(bank, batch, length, g, rng), steps=steps,
                 seed=seed, checkpoint=w / "checkpoints_sup" / "student", valid_batches=valid,
                 log=lambda t: print(t, flush=True))
    files = sorted({s["file"] for s in segs})
    save_model(model, w / "supervised_ref", {
        "sample_rate": SR, "stft": {"n_fft": g.n_fft, "hop": g.hop, "preset": "default"},
        "training": {"method": "supervised", "recipe": "benchmarks/bootstrap.py train-sup "
                     "(offline_training.trainer on true-stem remixes)",
                     "student": {"arch": "gru", "size": "student",
                                 "parameters": count_parameters(model), "steps": steps,
                                 "batch": batch, "crop_s": crop_s, "seed": seed}},
        "provenance": [{"source": f, "licence": "rendered by rtsep from generated MIDI with "
                        "FluidR3_GM (MIT)", "role": "true stems"} for f in files],
        "metrics": {"valid_loss_first": hist["valid_first"], "valid_loss_last": hist["valid_last"]},
    })


def _dev_tracks(root: Path | None = None):
    import librosa

    from rtsep.io.datasets import load_track, track_folders

    for folder in track_folders(root or SHARED / "dev"):
        t = load_track(folder)
        if t.sr != SR:
            res = [librosa.resample(a, orig_sr=t.sr, target_sr=SR)
                   for a in (t.vocals, t.accompaniment)]
            t.vocals, t.accompaniment = res
            t.mixture = res[0] + res[1]
            t.sr = SR
        yield t


def evaluate(w: Path, models: list[str], dev: Path | None = None) -> None:
    from rtsep.config import EngineConfig
    from rtsep.evaluation.metrics import separation_scores
    from rtsep.separate import separate_array

    methods = {"teacher (pcl, streaming)": EngineConfig()}
    for spec in models:
        name, path = spec.split("=", 1)
        methods[name] = EngineConfig(models=(path,), use_primitives=False)
    rows = []
    tag = "" if dev is None else "_" + dev.name
    cache = w / f"eval_rows{tag}"
    cache.mkdir(parents=True, exist_ok=True)
    tracks = list(_dev_tracks(dev))
    for name, cfg in methods.items():
        # One file per method, so a method scored earlier is not streamed again.
        path = cache / (name.split(" ")[0] + ".json")
        if path.is_file():
            rows += json.loads(path.read_text())
            continue
        mine = []
        for t in tracks:
            refs = np.stack([t.vocals, t.accompaniment])
            v, k = separate_array(t.mixture, SR, cfg)
            sc = separation_scores(refs, np.stack([v, k]), t.mixture, SR)[0]
            mine.append({"track": t.name, "method": name, "sdr": sc["sdr"],
                         "si_sdr": sc["si_sdr"], "si_sdri": sc["si_sdri"]})
            print(json.dumps(mine[-1]), flush=True)
        path.write_text(json.dumps(mine))
        rows += mine
    summary = {}
    for name in methods:
        mine = [r for r in rows if r["method"] == name]
        summary[name] = {k: float(np.nanmedian([r[k] for r in mine]))
                         for k in ("sdr", "si_sdr", "si_sdri")}
        summary[name]["mean_sdr"] = float(np.nanmean([r["sdr"] for r in mine]))
    (w / f"eval{tag}.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))
    print("| method | vocals SDR median (dB) | vocals SDR mean | SI-SDR median | SI-SDRi median |")
    print("| --- | --- | --- | --- | --- |")
    for name, s in summary.items():
        print(f"| {name} | {s['sdr']:.2f} | {s['mean_sdr']:.2f} | {s['si_sdr']:.2f} | "
              f"{s['si_sdri']:.2f} |")


def offline_teacher() -> None:
    """Vocals SDR on the dev set of the teacher the students learn from (offline, full context)."""
    from offline_training.teacher import teacher_separate
    from rtsep.evaluation.metrics import separation_scores

    rows = []
    for t in _dev_tracks():
        res = teacher_separate(t.mixture.mean(axis=0), SR)
        v = np.repeat(res.vocals[None], t.mixture.shape[0], axis=0)[:, : t.mixture.shape[1]]
        sc = separation_scores(np.stack([t.vocals, t.accompaniment]), np.stack([v, t.mixture - v]),
                               t.mixture, SR)[0]
        rows.append(sc)
        print(f"{t.name}: SDR {sc['sdr']:.2f} SI-SDR {sc['si_sdr']:.2f}", flush=True)
    print(f"median SDR {np.median([r['sdr'] for r in rows]):.2f}, mean "
          f"{np.mean([r['sdr'] for r in rows]):.2f}, median SI-SDR "
          f"{np.median([r['si_sdr'] for r in rows]):.2f}")


def confidence(w: Path, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import pearsonr

    from offline_training.teacher import teacher_separate
    from rtsep.evaluation.metrics import si_sdr

    points = {"rendered segments": [], "dev tracks": []}
    for s in _rendered_segments(w):
        est = np.load(w / "run_q234" / "sources" / f"{s['key']}.vocals.npy").astype(np.float64)
        ref = _stem(s["file"], "vocals", s["start"], s["stop"])
        if np.any(ref):
            points["rendered segments"].append((s["confidence"], si_sdr(est[None], ref[None])))
    for t in _dev_tracks():
        res = teacher_separate(t.mixture.mean(axis=0), SR)
        points["dev tracks"].append((res.confidence, si_sdr(res.vocals[None],
                                                            t.vocals.mean(axis=0)[None])))
    stats = {}
    fig, ax = plt.subplots(figsize=(5, 4))
    for (name, pts), marker in zip(points.items(), ("o", "s")):
        c, s = np.array(pts).T
        r, p = pearsonr(c, s) if len(pts) > 2 else (float("nan"), float("nan"))
        stats[name] = {"n": len(pts), "pearson_r": float(r), "p": float(p)}
        ax.scatter(c, s, marker=marker, s=14, label=f"{name} (n={len(pts)}, r={r:.2f})")
    c_all, s_all = np.array(points["rendered segments"] + points["dev tracks"]).T
    r, p = pearsonr(c_all, s_all)
    stats["pooled"] = {"n": len(c_all), "pearson_r": float(r), "p": float(p)}
    ax.set_xlabel("teacher confidence (silhouette x posterior strength)")
    ax.set_ylabel("teacher vocals SI-SDR (dB)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    (w / "confidence.json").write_text(json.dumps({"stats": stats, "points": points}, indent=2))
    print(json.dumps(stats, indent=2))


def ship(w: Path, model: Path, name: str) -> None:
    """Copy a trained model into models/weights/NAME: provenance paths made relative to the
    corpus (rendered songs) or to the shared mixtures folder, dev-set scores added."""
    from models.io import load_model, save_model

    net, doc = load_model(model)
    from offline_training.audio_sources import licence_of

    voiced_doc = w / "corpus" / "VOICED.json"
    if voiced_doc.is_file():
        # Files were given one by one, so the run named each song's mixture only
        # "mixture.wav": rebuild the list from the run folder, which kept full paths.
        ingredients = json.loads(voiced_doc.read_text())
        if "NOT for a shipped model" in ingredients["licence"]:
            raise SystemExit(f"{w / 'corpus'} has research-only voices: its models may not ship")
        run = next(r for r in (Path(f"{model}.run"), w / f"run_{model.name.removeprefix('student_')}",
                               w / "run_q234") if (r / "teacher.json").is_file())
        per_file: dict = {}
        for seg in json.loads((run / "teacher.json").read_text())["segments"]:
            e = per_file.setdefault(seg["file"], {"segments_kept": 0, "segments_dropped": 0})
            e["segments_kept" if seg["kept"] else "segments_dropped"] += 1
        doc["provenance"] = []
        for f, counts in per_file.items():
            src = Path(f)
            if src.parent.name.startswith("song_"):
                entry = {"source": f"voiced corpus/{src.parent.name}/{src.name}",
                         "licence": ingredients["licence"]}
            else:
                entry = {"source": f"shared/data/mixtures/{src.name}",
                         "licence": licence_of(SHARED / "mixtures" / src.name, "unknown")}
            doc["provenance"].append({**entry, **counts})
        doc["training"]["corpus_ingredients"] = ingredients
    for entry in doc["provenance"]:
        src = Path(entry["source"])
        if entry["source"].startswith(("voiced corpus/", "shared/")):
            continue
        if src.parent.name.startswith("song_"):
            entry["source"] = f"rendered corpus (seed 100)/{src.parent.name}/{src.name}"
        else:
            entry["source"] = f"shared/data/mixtures/{src.name}"
            # the run recorded each file's licence when it was segmented; re-read it here so a
            # fix to licence_of reaches the shipped JSON
            entry["licence"] = licence_of(SHARED / "mixtures" / src.name, entry["licence"])
    summary = json.loads((w / "eval.json").read_text())["summary"]
    key = next((k for k in summary if k.startswith(model.name)), None)
    metrics = dict(doc["metrics"])
    if key:
        metrics["dev_vocals_sdr_median_db"] = round(summary[key]["sdr"], 3)
        metrics["dev_vocals_si_sdr_median_db"] = round(summary[key]["si_sdr"], 3)
        metrics["dev_note"] = "6 dev tracks resampled to 44.1 kHz, streamed through the engine"
    save_model(net, REPO / "models" / "weights" / name, {
        "sample_rate": doc["sample_rate"], "stft": doc["stft"], "training": doc["training"],
        "provenance": doc["provenance"], "metrics": metrics})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["render", "voiced", "offline-teacher", "q1-run", "sup-sources", "train-sup", "evaluate",
                                     "confidence", "ship"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/rtsep-bootstrap-bench"))
    ap.add_argument("--songs", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop-s", type=float, default=2.0)
    ap.add_argument("--model", action="append", default=[],
                    help="NAME=PATH for evaluate; PATH=NAME for ship")
    ap.add_argument("--research-voices", action="store_true",
                    help="voiced: also the research-only / NC solo voices (experiments only)")
    ap.add_argument("--dev", type=Path, default=None,
                    help="labelled folder for evaluate (default: the shared dev set)")
    ap.add_argument("--figure", type=Path,
                    default=REPO / "benchmarks" / "figures" / "bootstrap_confidence.png")
    a = ap.parse_args()
    w = a.work
    {"render": lambda: render(w, a.songs, a.seconds), "q1-run": lambda: q1_run(w),
     "voiced": lambda: voiced(w, a.songs, a.seconds, research=a.research_voices), "offline-teacher": offline_teacher,
     "sup-sources": lambda: sup_sources(w),
     "train-sup": lambda: train_sup(w, a.steps, a.batch, a.crop_s),
     "evaluate": lambda: evaluate(w, a.model, a.dev),
     "confidence": lambda: confidence(w, a.figure),
     "ship": lambda: [ship(w, Path(m.split("=")[0]), m.split("=")[1]) for m in a.model],
     }[a.step]()


if __name__ == "__main__":
    main()
