"""`rtsep eval` end to end on a tiny real data set, and the evaluation API around it."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from rtsep.config import EngineConfig
from rtsep.errors import ConfigError
from rtsep.evaluation.methods import Method, parse_method, resolve_methods
from rtsep.evaluation.runner import evaluate, format_table, summarize

from .music import song

SHARED_DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))
DEV_TRACK = SHARED_DATA / "dev" / "Music Delta - 80s Rock"


def write_track(folder: Path, mix: np.ndarray, voc: np.ndarray, sr: int) -> None:
    folder.mkdir(parents=True)
    for name, x in (("mixture", mix), ("vocals", voc), ("accompaniment", mix - voc)):
        soundfile.write(str(folder / f"{name}.flac"), x.T, sr, subtype="PCM_24")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """One real track cut to 4 s (the MUSDB sample when the shared data is there, otherwise the
    FluidSynth-rendered song), written as a MUSDB-style folder."""
    root = tmp_path_factory.mktemp("tiny") / "set"
    if DEV_TRACK.is_dir():
        from rtsep.io.datasets import load_track

        t = load_track(DEV_TRACK)
        cut = slice(int(1.0 * t.sr), int(5.0 * t.sr))
        write_track(root / t.name, t.mixture[:, cut], t.vocals[:, cut], t.sr)
    else:
        mix, voc = song(4.0, sr=44100, channels=2, with_vocals=True)
        write_track(root / "rendered", mix, voc, 44100)
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtsep", *args], capture_output=True,
                          text=True, timeout=300)


def test_rtsep_eval_writes_table_json_csv_and_png(tiny_dataset, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("eval", str(tiny_dataset), "-m", "mixture", "-m", "oracle-irm", "-m", "pcl",
                   "--json", str(out / "r.json"), "--csv", str(out / "r.csv"),
                   "--plot", str(out / "r.png"))
    assert proc.returncode == 0, proc.stderr
    for name in ("mixture", "oracle-irm", "pcl", "voc SDR", "kar SDR"):
        assert name in proc.stdout

    data = json.loads((out / "r.json").read_text())
    assert data["methods"] == ["mixture", "oracle-irm", "pcl"]
    summary = {(r["method"], r["target"]): r for r in data["summary"]}
    assert len(data["tracks"]) == 6 and len(summary) == 6
    for target in ("vocals", "karaoke"):
        floor, ceiling, pcl = (summary[(m, target)] for m in ("mixture", "oracle-irm", "pcl"))
        # the oracle mask separates far better than leaving the mixture alone
        assert ceiling["sdr"] > floor["sdr"] + 8.0
        assert ceiling["si_sdri"] > 8.0 and floor["si_sdri"] == 0.0
        assert ceiling["sir"] > floor["sir"] + 8.0
        # primitive clustering, streamed through the engine (timed), separates: better than
        # leaving the mixture alone, short of the oracle
        assert pcl["speed_x_rt"] > 0
        assert floor["sdr"] + 1.0 < pcl["sdr"] < ceiling["sdr"]
    assert summary[("mixture", "vocals")]["speed_x_rt"] is None
    for row in data["tracks"]:  # 4 s of audio: four 1 s windows; the track score is their median
        assert len(row["frames"]["sdr"]) == 4
        finite = [v for v in row["frames"]["sdr"] if v is not None]
        assert row["sdr"] == pytest.approx(np.median(finite))

    with open(out / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12  # 1 track x 3 methods x 2 targets, then 6 summary rows
    assert {r["track"] for r in rows[6:]} == {"(median)"}
    by_key = {(r["track"], r["method"], r["target"]): r for r in rows}
    track = data["tracks"][0]["track"]
    assert float(by_key[(track, "oracle-irm", "vocals")]["sdr"]) == pytest.approx(
        summary[("oracle-irm", "vocals")]["sdr"])  # one track: its median is itself

    assert (out / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_rtsep_eval_errors_are_one_line(tiny_dataset, tmp_path):
    proc = run_cli("eval", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"rtsep: error: data set folder {tmp_path / 'missing'} does not exist"]
    proc = run_cli("eval", str(tiny_dataset), "-m", "pcl:gamma=2")
    assert proc.returncode == 2 and "unknown option 'gamma'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_parse_method_spellings():
    assert parse_method("mixture").kind == "mixture"
    irm = parse_method("oracle-irm")
    assert irm.oracle == "irm" and irm.oracle_options["power"] == 2.0
    assert parse_method("irm1:base=oracle-irm,power=1").oracle_options["power"] == 1.0
    assert parse_method("hpss").config.primitives == ("hpss",)
    assert parse_method("pcl").config == EngineConfig()
    assert parse_method("pcl-alpha:alpha=0.5").config.alpha == 0.5
    assert parse_method("low:preset=low-latency").config.preset == "low-latency"
    two = parse_method("two:primitives=repet+pitch,weights=1+0.25,beta=2")
    assert two.config.primitives == ("repet", "pitch") and two.config.weights == (1.0, 0.25)
    assert two.config.beta == 2.0
    for bad, message in (("pcl:alpha=2", "alpha"), ("pcl:preset=fast", "preset"),
                         ("x:base=nothing", "unknown base"), ("oracle-ibm:beta=1", "oracles"),
                         ("pcl:beta", "key=value")):
        with pytest.raises(ConfigError, match=message):
            parse_method(bad)
    with pytest.raises(ConfigError, match="twice"):
        resolve_methods(["pcl", "pcl:alpha=0.5"])


def test_callable_methods_and_medians_over_tracks(tmp_path):
    """Three rendered tracks; a callable method that returns the true vocals scaled by 0.5."""
    for i, offset in enumerate((2.0, 4.0, 6.0)):
        mix, voc = song(1.5, sr=16000, channels=1, with_vocals=True, offset_s=offset)
        write_track(tmp_path / f"t{i}", mix, voc, 16000)

    seen = []

    def from_files(x, sr):  # looks the stems up by the mixture it is given
        for folder in sorted(tmp_path.iterdir()):
            mix, _ = soundfile.read(str(folder / "mixture.flac"), always_2d=True)
            if np.allclose(mix.T, x):
                voc, _ = soundfile.read(str(folder / "vocals.flac"), always_2d=True)
                seen.append(folder.name)
                return 0.5 * voc.T, x - 0.5 * voc.T
        raise AssertionError("unknown mixture")

    results = evaluate(tmp_path, [Method("half", separate=from_files), "mixture"])
    assert seen == ["t0", "t1", "t2"]
    half = [r for r in results.rows if r["method"] == "half" and r["target"] == "vocals"]
    # a scaled true source is a perfect estimate for SI-SDR; its SDR is 10 log10(1/0.25) = 6 dB
    assert all(r["si_sdr"] > 60 for r in half)
    np.testing.assert_allclose([r["sdr"] for r in half], 6.0206, atol=1e-3)
    assert results.lookup("half", "vocals")["sdr"] == pytest.approx(
        np.median([r["sdr"] for r in half]))
    assert summarize(results.rows, ["mixture"])[0]["tracks"] == 3
    assert "half" in format_table(results) and "| half |" in format_table(results, markdown=True)


def test_oracle_masks_split_the_mixture_exactly(tiny_dataset):
    from rtsep.evaluation.oracle import oracle_separate
    from rtsep.io.datasets import iter_tracks

    track = next(iter_tracks(tiny_dataset))
    for kind in ("irm", "ibm"):
        v, k = oracle_separate(track.mixture, track.vocals, track.accompaniment, track.sr, kind)
        assert v.shape == k.shape == track.mixture.shape
        # the two masks sum to one and the low-delay STFT reconstructs perfectly
        np.testing.assert_allclose(v + k, track.mixture, atol=1e-9)
    # with no accompaniment the ratio mask is one wherever there is sound: vocals come back
    v, k = oracle_separate(track.vocals, track.vocals, 0.0 * track.vocals, track.sr)
    np.testing.assert_allclose(v, track.vocals, atol=1e-9)


def test_a_model_file_evaluates_through_the_engine(tiny_dataset, tmp_path):
    """A tiny untrained GRU (models/) as the only candidate: the row exists and is finite."""
    pytest.importorskip("torch")
    from models import configs
    from models.io import save_model

    model = configs.create("CausalGRUSeparator", "tiny", 1025, seed=0)
    save_model(model, tmp_path / "tiny_gru", {"sample_rate": 44100,
                                              "stft": {"n_fft": 2048, "hop": 256,
                                                       "preset": "default"}})
    spec = f"tiny-gru:models={tmp_path / 'tiny_gru'},use_primitives=false,backend=torch"
    results = evaluate(tiny_dataset, ["mixture", spec])
    row = results.lookup("tiny-gru", "vocals")
    assert np.isfinite(row["sdr"]) and row["speed_x_rt"] > 0
    assert results.lookup("tiny-gru", "karaoke")["tracks"] == 1
    # a 16 kHz mono track: the 44.1 kHz model runs on a resampled copy, as in `rtsep separate`
    mix, voc = song(2.0, sr=16000, channels=1, with_vocals=True)
    write_track(tmp_path / "low" / "mono16k", mix, voc, 16000)
    results = evaluate(tmp_path / "low", [spec])
    assert all(np.isfinite(r["sdr"]) for r in results.rows)


def test_alpha_sweep_expands_engine_methods_only():
    from rtsep.evaluation.methods import alpha_sweep, resolve_methods

    specs = ["mixture", "oracle-irm", "pcl", "low:preset=low-latency"]
    swept = alpha_sweep(specs, [0.5, 0.9])
    assert swept == ["pcl-a0.5:base=pcl,alpha=0.5", "pcl-a0.9:base=pcl,alpha=0.9",
                     "low-a0.5:preset=low-latency,alpha=0.5",
                     "low-a0.9:preset=low-latency,alpha=0.9"]
    methods = resolve_methods(swept)
    assert [m.config.alpha for m in methods] == [0.5, 0.9, 0.5, 0.9]
    assert methods[2].config.preset == "low-latency"


def test_alpha_sweep_trades_artefacts_for_interference(tiny_dataset, tmp_path):
    """Paper 003: a higher threshold rejects more interference (SIR up) for more artefacts."""
    out = tmp_path / "r.json"
    proc = run_cli("eval", str(tiny_dataset), "-m", "pcl", "--alpha-sweep", "0.3,0.9", "--json",
                   str(out), "--tradeoff-plot", str(tmp_path / "t.png"))
    assert proc.returncode == 0, proc.stderr
    rows = {(r["method"], r["target"]): r for r in json.loads(out.read_text())["summary"]}
    low, high = rows[("pcl-a0.3", "vocals")], rows[("pcl-a0.9", "vocals")]
    assert high["sir"] > low["sir"] + 1.0
    assert (tmp_path / "t.png").stat().st_size > 5000
