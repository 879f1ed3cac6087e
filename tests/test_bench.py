"""embbert-bench end to end: a tiny finetuned SST-2 model, exported and built for the host and
the QEMU boards, run through the real binary and protocol, compared with the simulation."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from embbert.boards import load_board
from embbert.macs import dense_macs, macs_breakdown, runtime_macs
from embbert.model import EmbBertConfig

from .conftest import REPO, run_cli
from .fake_firmware import missing_tools

JSON_KEYS = ("board", "samples", "argmax_agreement_fp32", "argmax_agreement_quant",
             "max_abs_err_quant", "accuracy_device", "accuracy_fp32", "instructions_median",
             "macs_median", "instructions_per_mac", "latency_ms_median")
QEMU_MISSING = missing_tools("qemu-system-arm", "arm-none-eabi-gcc")


# ------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def sst2_model(tmp_path_factory) -> Path:
    """A real (barely trained) SST-2 model: default widths, small vocab, a few seconds."""
    d = tmp_path_factory.mktemp("bench_model")
    threads = {"OMP_NUM_THREADS": "1"}
    run_cli("embbert-train", "pretrain", "--out", d / "pre", "--steps", "10", "--vocab-size",
            "1000", "--limit-lines", "1000", "--batch-size", "8", "--seq-len", "64",
            "--max-len", "128", env=threads)
    run_cli("embbert-train", "finetune", "--task", "sst2", "--init", d / "pre/pretrained.pt",
            "--out", d / "sst2.pt", "--epochs", "1", "--limit", "300", env=threads)
    return d / "sst2.pt"


@pytest.fixture(scope="session")
def bench_dirs(tmp_path_factory) -> dict[str, Path]:
    """Build cache shared by the tests, and an empty generated dir: never the repo's own."""
    root = tmp_path_factory.mktemp("bench")
    (root / "generated").mkdir()
    return {"build": root / "build", "generated": root / "generated", "root": root}


def bench(dirs: dict[str, Path], *args, check: bool = True, timeout: float = 300):
    return run_cli("embbert-bench", "--build-dir", dirs["build"], "--generated",
                   dirs["generated"], *args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def host_run(sst2_model, bench_dirs):
    out = bench_dirs["root"] / "host"
    proc = bench(bench_dirs, "--board", "host", "--model", sst2_model, "--limit", "30",
                 "--json", out / "bench.json", "--report", out / "report")
    return proc, json.loads((out / "bench.json").read_text()), out / "report"


def _host_binary(dirs: dict[str, Path]) -> Path:
    (binary,) = dirs["build"].glob("host-*/fw_host")
    return binary


# ------------------------------------------------------------------------------- MACs

def _macs_by_loop(c: EmbBertConfig, T: int) -> int:
    """The loops of runtime_c/src/forward.c, counted one row at a time."""
    d, rd, a, k, N = c.d_model, c.reduced_dim, c.expansion, c.conv_kernel, c.n_layers
    n = T * (2 * d * rd + d)                               # embed rows + first RMSNorm
    for layer in range(N):
        last = layer == N - 1
        for t in range(1 if last else T):
            n += d * d + T * d + T * d + d * d             # q, scores, softmax @ h, out
            n += a * d * min(k, t + 1) + d * a * d         # causal dw taps, pw
            n += 0 if last else d                          # next layer's RMSNorm
    return n + c.num_labels * d


@pytest.mark.parametrize("T", [1, 5, 31, 32, 33, 100])
def test_runtime_macs_match_the_forward_loops(T):
    c = EmbBertConfig(vocab_size=1000, max_len=128, d_model=64, reduced_dim=8, n_layers=3,
                      conv_kernel=32, expansion=2, num_labels=3)
    assert runtime_macs(c, T) == _macs_by_loop(c, T)
    assert sum(macs_breakdown(c.to_dict(), T).values()) == runtime_macs(c, T)


def test_dense_macs_reproduce_the_design_anchors():
    c = EmbBertConfig(num_labels=2)  # the paper's default widths
    for T, millions in ((64, 18.1), (128, 44.6), (256, 122.7)):
        assert dense_macs(c, T) / 1e6 == pytest.approx(millions, abs=0.05)
    assert runtime_macs(c, 128) < dense_macs(c, 128)  # [CLS]-only last layer, causal taps


# ------------------------------------------------------------------------- host, end to end

def test_host_agrees_bit_exactly_with_the_simulation(host_run):
    proc, s, _ = host_run
    assert s["board"] == "host" and s["samples"] == 30 and s["source"] == "sst2/dev"
    assert s["argmax_agreement_quant"] == 1.0 and s["bit_exact_quant"] == 1.0
    assert s["max_abs_err_quant"] == 0.0
    assert "argmax agreement" in proc.stdout and "100.0%" in proc.stdout


def test_json_has_the_documented_keys_with_sane_values(host_run, sst2_model):
    import numpy as np
    from embbert.checkpoint import load

    _, s, _ = host_run
    assert all(k in s for k in JSON_KEYS)
    assert 0.0 <= s["accuracy_device"] <= 1.0 and 0.0 <= s["accuracy_fp32"] <= 1.0
    assert s["argmax_agreement_fp32"] >= 0.9           # int8 vs fp32 on a near-neutral model
    assert s["max_abs_err_fp32"] < 0.1 and s["cosine_min_fp32"] > 0.99
    assert s["counter"] == "nanoseconds" and s["instructions_median"] is None
    assert s["latency_ms_median"] > 0 and s["count_per_mac"] > 0
    macs = [runtime_macs(load(sst2_model).config, r["T"]) for r in s["per_sample"]]
    assert s["macs_median"] == float(np.median(macs))
    assert len(s["per_sample"]) == 30 and s["per_sample"][0]["T"] >= 3


def test_report_is_one_html_page_with_inline_svgs(host_run):
    _, _, report = host_run
    page = (report / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 3
    for fig in ('id="logits"', 'id="cost"', 'id="memory"'):
        assert fig in page
    assert "<script" not in page and "http" not in page.replace(
        "http://www.w3.org/2000/svg", "")                 # self-contained


def test_text_mode_prints_the_device_prediction(sst2_model, bench_dirs, host_run):
    proc = bench(bench_dirs, "--port", f"pipe:{_host_binary(bench_dirs)}", "--model",
                 sst2_model, "--text", "a gorgeous, witty, seductive movie")
    assert "seductive movie" in proc.stdout and "of --text" in proc.stdout


def test_board_uses_a_matching_export_and_leaves_others_alone(sst2_model, bench_dirs,
                                                             host_run, tmp_path):
    from embbert.bench.target import prepare
    from embbert.checkpoint import file_sha256

    sha = file_sha256(sst2_model)
    (cached,) = bench_dirs["build"].glob("host-*/generated")
    said: list[str] = []
    fw = prepare("host", sst2_model, sha, generated=cached, build_root=bench_dirs["build"],
                 echo=said.append)
    assert fw.generated_dir == cached and said[0].startswith(f"using {cached}")
    other = tmp_path / "generated"  # another model's export: must not be touched
    other.mkdir()
    (other / "export_report.json").write_text(json.dumps({"board": "host",
                                                          "model_sha256": "0" * 64}))
    fw = prepare("host", sst2_model, sha, generated=other, build_root=bench_dirs["build"],
                 echo=said.append)
    assert fw.generated_dir == cached and sorted(p.name for p in other.iterdir()) == [
        "export_report.json"]


def test_the_export_directory_is_enough_to_check_a_device(bench_dirs, host_run, tmp_path):
    """No model.pt and no recalibration: the export's quantized_model.npz is the simulation;
    the fp32 columns are empty and the bench says why."""
    import shutil

    (cached,) = bench_dirs["build"].glob("host-*/generated")
    gen = tmp_path / "generated"
    shutil.copytree(cached, gen)
    report = json.loads((gen / "export_report.json").read_text())
    report["checkpoint"] = str(tmp_path / "moved-away.pt")
    (gen / "export_report.json").write_text(json.dumps(report))
    out = tmp_path / "bench.json"
    proc = run_cli("embbert-bench", "--port", f"pipe:{_host_binary(bench_dirs)}",
                   "--generated", gen, "--limit", "10", "--json", out)
    s = json.loads(out.read_text())
    assert s["bit_exact_quant"] == 1.0 and s["samples"] == 10
    assert s["quant_reference"].startswith("quantized_model.npz of the export")
    assert s["argmax_agreement_fp32"] is None and s["accuracy_fp32"] is None
    assert "moved-away.pt" in proc.stdout and "pass --model" in proc.stdout
    (gen / "quantized_model.npz").unlink()
    gone = run_cli("embbert-bench", "--port", f"pipe:{_host_binary(bench_dirs)}",
                   "--generated", gen, check=False)
    assert gone.returncode == 1 and "no longer exists" in gone.stderr


# ------------------------------------------------------------------------ clear errors

def test_model_mismatch_names_both_hashes(sst2_model, bench_dirs, host_run, tmp_path):
    from embbert.checkpoint import file_sha256, load, save

    other = tmp_path / "other.pt"
    ck = load(sst2_model)
    ck.metrics["touched"] = 1.0                            # same weights, different file
    save(ck, other)
    proc = bench(bench_dirs, "--port", f"pipe:{_host_binary(bench_dirs)}", "--model", other,
                 check=False)
    assert proc.returncode == 1
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: model mismatch")
    assert file_sha256(sst2_model) in err and file_sha256(other) in err


def test_device_that_stops_answering_fails_within_seconds(sst2_model, bench_dirs):
    from embbert.checkpoint import file_sha256, load

    cfg = json.dumps(load(sst2_model).config.to_dict())
    from embbert.export.format import FORMAT_VERSION, QUANT_VERSION

    fake = f"{sys.executable} {REPO / 'tests' / 'silent_device.py'} " \
           f"{file_sha256(sst2_model)} '{cfg}' 2 {FORMAT_VERSION} {QUANT_VERSION}"
    t0 = time.monotonic()
    proc = bench(bench_dirs, "--port", f"pipe:{fake}", "--model", sst2_model, "--limit", "5",
                 "--timeout", "1", check=False, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()[-1]
    assert "sample 3/5" in err and "stopped answering" in err and "within 1 s" in err
    assert time.monotonic() - t0 < 45                       # torch start-up + references + 1 s


def test_nothing_answering_is_a_clear_error(sst2_model, bench_dirs):
    t0 = time.monotonic()
    proc = bench(bench_dirs, "--port", "pipe:sleep 30", "--model", sst2_model, "--timeout", "1",
                 check=False, timeout=60)
    assert proc.returncode == 1
    assert "no EmbBERT-Q device answers" in proc.stderr
    assert time.monotonic() - t0 < 30


def test_bench_cli_against_a_flood_is_one_line_and_quick(sst2_model, tmp_path):
    """The reported hang: embbert-bench --timeout 2 against a flooding socket."""
    from .test_bench_peers import Peer, flood

    peer = Peer(flood)
    t0 = time.monotonic()
    proc = run_cli("embbert-bench", "--port", f"socket://127.0.0.1:{peer.port}", "--model",
                   sst2_model, "--generated", tmp_path, "--timeout", "2", check=False,
                   timeout=120)
    took = time.monotonic() - t0
    peer.close()
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(err) == 1, proc.stderr
    assert err[0].startswith("error:") and "floods" in err[0]
    assert took < 30  # python and torch start-up + 2 s (before: > 100 s)


def test_usage_errors_are_one_line(bench_dirs):
    both = bench(bench_dirs, "--port", "socket://127.0.0.1:1", "--board", "host", check=False)
    assert both.returncode == 1 and "exactly one of --port" in both.stderr
    none = bench(bench_dirs, "--board", "host", check=False)
    assert none.returncode == 1 and "no --model given" in none.stderr
    assert "Traceback" not in both.stderr + none.stderr


def test_device_errors_are_reported_by_name():
    from embbert.bench.run import BenchError, run_device
    from embbert.device import protocol as P

    class Rejecting:
        def infer(self, ids, segs):
            raise P.DeviceError(8, P.INFER)

    with pytest.raises(BenchError, match=r"sample 1/1 \(T=2\).*TOKEN_OUT_OF_RANGE"):
        run_device(Rejecting(), [([2, 4], [1, 1])])


# ------------------------------------------------------------------------------ QEMU

@pytest.mark.qemu
@pytest.mark.skipif(bool(QEMU_MISSING), reason=f"needs {' and '.join(QEMU_MISSING)}")
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7", "qemu-stm32f4"])
def test_qemu_board_agrees_with_the_simulation(board, sst2_model, bench_dirs):
    out = bench_dirs["root"] / board / "bench.json"
    t0 = time.monotonic()
    proc = bench(bench_dirs, "--board", board, "--model", sst2_model, "--limit", "50",
                 "--json", out)
    s = json.loads(out.read_text())
    assert s["board"] == board and s["samples"] == 50
    assert s["argmax_agreement_quant"] == 1.0 and s["bit_exact_quant"] == 1.0, proc.stdout
    assert s["counter"] == "instructions" and s["instructions_median"] > 0
    assert 0.3 < s["instructions_per_mac"] < 50
    clock_khz = load_board(board).clock_hz / 1e3
    assert s["latency_ms_median"] == pytest.approx(s["instructions_median"] / clock_khz)
    assert time.monotonic() - t0 < 120


def test_two_host_benches_at_once_share_nothing_they_could_break(sst2_model, tmp_path):
    """Both export and build into the same fresh build dir and run at the same time: they take
    turns on the build (a lock) and each runs its own copy of the binary."""
    import subprocess

    (tmp_path / "generated").mkdir()
    args = [str(Path(sys.executable).parent / "embbert-bench"), "--board", "host", "--model",
            str(sst2_model), "--build-dir", str(tmp_path / "build"), "--generated",
            str(tmp_path / "generated"), "--text", "a gorgeous , witty movie"]
    procs = [subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "bit-exact" in out or "positive" in out or "negative" in out, out
    assert sum("exporting" in out for out, _ in outs) == 1  # the second reused the first's
