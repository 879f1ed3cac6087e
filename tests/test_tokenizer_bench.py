"""embbert-bench --on-device-tokenizer / --text and embbert-predict --port over the host
firmware (the same server code as the boards, with the tokenizer tables of a trained model)."""

from __future__ import annotations

import json

from embbert.checkpoint import load
from embbert.tokenizer import from_json

from .conftest import run_cli
from .test_bench import _host_binary, bench, bench_dirs, host_run, sst2_model  # noqa: F401


def test_bench_on_device_tokenizer(sst2_model, bench_dirs, host_run, tmp_path):  # noqa: F811
    port = f"pipe:{_host_binary(bench_dirs)}"
    proc = bench(bench_dirs, "--port", port, "--model", sst2_model, "--task", "sst2",
                 "--limit", "40", "--on-device-tokenizer", "--json", tmp_path / "b.json")
    s = json.loads((tmp_path / "b.json").read_text())
    assert s["ids_agreement"] == 1.0 and s["bit_exact_quant"] == 1.0 and s["samples"] == 40
    assert s["tokenize_nanoseconds_median"] > 0 and s["tokenize_share_of_total"] < 0.5
    assert s["tokenize_nanoseconds_per_byte_median"] > 0
    assert "ids agreement (device tokenizer)  100.0%" in proc.stdout

    proc = bench(bench_dirs, "--port", port, "--model", sst2_model, "--text",
                 "a gorgeous, witty, seductive movie", "--json", tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())["ids_agreement"] == 1.0
    assert "seductive movie" in proc.stdout


def test_predict_on_the_device(sst2_model, bench_dirs, host_run):  # noqa: F811
    port = f"pipe:{_host_binary(bench_dirs)}"
    text = "Un film d'une beauté rare — a gorgeous, witty movie!"
    p = run_cli("embbert-predict", "--port", port, sst2_model, text, "--json")
    got = json.loads(p.stdout)
    ck = load(sst2_model)
    ids, segs = from_json(ck.tokenizer).encode(text, max_len=ck.config.max_len)
    assert (got["ids"], got["segs"]) == (ids, segs)
    assert got["label"] in ck.labels and 0.5 <= got["confidence"] <= 1.0
    # without MODEL the device's label index is all there is to print
    line = run_cli("embbert-predict", "--port", port, text).stdout.strip().splitlines()
    k = ck.labels.index(got["label"])
    assert len(line) == 1 and line[0].startswith(f"label {k} (") and "tokenize" in line[0]
    bad = run_cli("embbert-predict", text, check=False)
    assert bad.returncode != 0 and "MODEL and TEXT" in bad.stderr
