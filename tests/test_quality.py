"""Like-for-like evaluation: the NLU scenario task, the selection split, the reported metrics,
the bag-of-words baseline, distillation (finetune --teacher) and the seed-aware results table."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from embbert import checkpoint
from embbert.data import TASKS, load_labels, load_split, scenario_of, selection_split
from embbert.train import bow
from embbert.train.baselines import main as baselines_main
from embbert.train.metrics import task_metrics
from embbert.train.teacher import distill_loss

from .conftest import REPO, run_cli


def test_nlu_scenario_is_the_intent_prefix_of_the_same_rows():
    intents, scen = load_labels(TASKS["nlu"]), load_labels(TASKS["nlu_scenario"])
    assert len(intents) == 64 and len(scen) == 18
    assert scen[:3] == ["alarm", "audio", "calendar"] and "iot" in scen
    for split in ("train", "test"):
        a, b = load_split("nlu", split), load_split("nlu_scenario", split)
        assert [r.text_a for r in a] == [r.text_a for r in b]
        assert all(scen[y.label] == scenario_of(intents[x.label])
                   for x, y in zip(a, b, strict=True))
    assert scenario_of("iot_hue_lightoff") == "iot"


@pytest.mark.parametrize("task,split", [("sst2", "heldout"), ("cola", "heldout"),
                                        ("rte", "heldout"), ("wnli", "heldout"),
                                        ("imdb", "heldout"), ("nlu_scenario", "heldout"),
                                        ("mrpc", "dev"), ("stsb", "dev"), ("emotion", "dev")])
def test_selection_is_never_on_the_reported_split(task, split):
    t = TASKS[task]
    assert t.select_split == split and t.select_split != t.eval_split


def test_heldout_slice_is_fixed_and_disjoint_from_training_rows():
    full = load_split("wnli", "train")
    train, held = selection_split("wnli")
    assert len(held) == int(0.1 * len(full)) and len(train) + len(held) == len(full)
    key = lambda r: (r.text_a, r.text_b, r.label)  # noqa: E731
    assert sorted(map(key, train + held)) == sorted(map(key, full))
    again_train, again_held = selection_split("wnli")
    assert list(map(key, again_held)) == list(map(key, held))
    # the 64-intent and the scenario task hold out the same rows
    assert ([r.text_a for r in selection_split("nlu")[1]]
            == [r.text_a for r in selection_split("nlu_scenario")[1]])


def test_reported_metrics_per_task():
    gold = np.array([1, 1, 0, 0, 1, 0])
    logits = np.eye(2)[[1, 0, 0, 1, 1, 1]]
    m = task_metrics(TASKS["mrpc"].metrics, logits, gold)
    assert list(m) == ["accuracy", "f1"] and TASKS["mrpc"].metric == "accuracy"
    assert m["accuracy"] == pytest.approx(3 / 6) and m["f1"] == pytest.approx(4 / 7)
    s = task_metrics(TASKS["stsb"].metrics, np.array([[1.0], [2.0], [4.0]]), np.array([1, 2, 3]))
    assert list(s) == ["pearson", "spearman"] and s["spearman"] == pytest.approx(1.0)
    assert s["pearson"] < 1.0
    c = task_metrics(TASKS["cola"].metrics, logits, gold)
    assert list(c) == ["mcc", "accuracy"]


def test_bow_baseline_on_a_small_slice(tmp_path):
    out = tmp_path / "b.json"
    out.write_text(json.dumps({"kept": {"from": "an earlier run"}}))
    assert baselines_main(["--out", str(out), "--tasks", "nlu_scenario,mrpc,stsb",
                           "--limit", "600"]) == 0
    res = json.loads(out.read_text())
    assert res["kept"] == {"from": "an earlier run"}
    n = res["nlu_scenario"]
    assert n["select_split"] == "heldout" and n["eval_split"] == "test"
    assert n["rows"] == {"train": 600, "select": 150, "eval": 150}
    assert n["strength"] in bow.C_GRID and len(n["grid"]) == len(bow.C_GRID)
    # chosen on the selection split: the kept value is the grid's best there
    assert n["heldout_accuracy"] == max(g["accuracy"] for g in n["grid"])
    assert n["test_accuracy"] > 3 / 18   # well above chance on 18 classes, even from 600 rows
    assert {"test_accuracy", "test_f1"} <= set(res["mrpc"])
    assert {"test_pearson", "test_spearman"} <= set(res["stsb"])
    assert res["stsb"]["strength"] in bow.ALPHA_GRID
    d = n["device_bytes"]
    assert d["int8"] < d["fp32"] and d["weights"] % d["terms"] == 0


def test_bow_device_bytes_count_every_term_and_weight():
    rows = load_split("nlu_scenario", "train")
    model, _ = bow.fit_selected("nlu_scenario", rows[::20], rows[7::40])
    terms = model.vec.get_feature_names_out()
    strings = sum(len(t.encode()) + 1 for t in terms)
    d = model.device_bytes()
    assert model.clf.coef_.shape == (18, len(terms))
    assert d["fp32"] == strings + 8 * len(terms) + 4 * model.clf.coef_.size + 4 * 18
    assert d["int8"] == strings + 5 * len(terms) + 4 + model.clf.coef_.size + 8 * 18


def test_bow_logits_keep_the_task_classes_when_one_is_missing():
    rows = [r for r in load_split("nlu_scenario", "train")[::5] if r.label != 0][:400]
    model = bow._fit("nlu_scenario", rows, 8.0)
    logits = model.logits(rows[:10])
    assert logits.shape == (10, 18) and (logits[:, 0] == bow.MISSING_CLASS).all()
    assert (logits.argmax(1) == model.clf.predict(model.features(rows[:10]))).all()


def test_baselines_bad_task_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "embbert.train.baselines", "--out",
                           str(tmp_path / "b.json"), "--tasks", "squad"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "unknown task 'squad'" in proc.stderr


def test_out_of_fold_targets_are_not_the_memorized_labels():
    rows = load_split("nlu_scenario", "train")[::10]
    oof = bow.out_of_fold_logits("nlu_scenario", rows, strength=32.0)
    assert oof.shape == (len(rows), 18)
    np.testing.assert_allclose(np.exp(oof).sum(1), 1.0, atol=1e-4)
    gold = np.array([r.label for r in rows])
    fitted = bow._fit("nlu_scenario", rows, 32.0)
    in_sample = (fitted.logits(rows).argmax(1) == gold).mean()
    out_of_fold = (oof.argmax(1) == gold).mean()
    assert in_sample > 0.99 and 0.3 < out_of_fold < in_sample - 0.05


def test_distill_loss_limits():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
    ce = F.cross_entropy(logits, y)
    assert torch.allclose(distill_loss(logits, y, None, 0.5, 2.0, 0.0), ce)
    # one-hot teacher at T=1 with full weight is the cross-entropy again
    onehot = F.one_hot(y, 5).float()
    assert torch.allclose(distill_loss(logits, y, onehot, 1.0, 1.0, 0.0), ce, atol=1e-6)
    soft = torch.softmax(torch.randn(8, 5), -1)
    mixed = distill_loss(logits, y, soft, 0.3, 2.0, 0.1)
    kl = F.kl_div(F.log_softmax(logits / 2, -1), soft, reduction="batchmean")
    assert torch.allclose(mixed, 0.7 * F.cross_entropy(logits, y, label_smoothing=0.1)
                          + 0.3 * 4 * kl)


@pytest.fixture(scope="module")
def student(tiny_checkpoint, tmp_path_factory):
    """A tiny model finetuned on nlu_scenario with the bag-of-words teacher and the recipes."""
    out = tmp_path_factory.mktemp("distil") / "scen.pt"
    run_cli("embbert-train", "finetune", "--task", "nlu_scenario", "--init", tiny_checkpoint,
            "--out", out, "--epochs", "1", "--limit", "200", "--teacher", "bow",
            "--teacher-weight", "0.7", "--label-smoothing", "0.1", "--emb-dropout", "0.2")
    return out


def test_finetune_with_teacher_records_the_recipe(student):
    ck = checkpoint.load(student)
    r = ck.extra["recipe"]
    assert list(r["teacher"]) == ["bow"] and r["teacher_weight"] == 0.7
    assert r["label_smoothing"] == 0.1 and r["emb_dropout"] == 0.2
    assert ck.extra["selected_on"] == "heldout" and len(ck.labels) == 18
    assert {"heldout_accuracy", "test_accuracy"} <= set(ck.metrics)


def test_checkpoint_teacher_and_its_errors(student, tiny_checkpoint, tmp_path):
    out = tmp_path / "s2.pt"
    run_cli("embbert-train", "finetune", "--task", "nlu_scenario", "--init", tiny_checkpoint,
            "--out", out, "--epochs", "1", "--limit", "64", "--teacher", student,
            "--teacher", student)
    assert list(checkpoint.load(out).extra["recipe"]["teacher"]) == [str(student)] * 2
    wrong = run_cli("embbert-train", "finetune", "--task", "nlu", "--init", tiny_checkpoint,
                    "--out", tmp_path / "x.pt", "--epochs", "1", "--limit", "64",
                    "--teacher", student, check=False)
    assert wrong.returncode == 1 and "finetuned on 'nlu_scenario', not 'nlu'" in wrong.stderr
    reg = run_cli("embbert-train", "finetune", "--task", "stsb", "--init", tiny_checkpoint,
                  "--out", tmp_path / "y.pt", "--epochs", "1", "--limit", "32",
                  "--teacher", "bow", check=False)
    assert reg.returncode == 1 and "classification task" in reg.stderr
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()


def test_results_table_mean_sd_over_seeds_and_baseline_column(tiny_checkpoint, tmp_path):
    base = checkpoint.load(tiny_checkpoint)
    for seed, acc, f1 in ((0, 0.70, 0.80), (1, 0.72, 0.82), (2, 0.74, 0.78)):
        base.task, base.metrics = "mrpc", {"test_accuracy": acc, "test_f1": f1}
        base.extra["selected_on"] = "dev"
        checkpoint.save(base, tmp_path / f"mrpc.seed{seed}.pt")
    (tmp_path / "mrpc.seed1.int8.json").write_text("{}")  # not a run
    bj = tmp_path / "baselines.json"
    bj.write_text(json.dumps({"mrpc": {"test_accuracy": 0.711, "test_f1": 0.8,
                                       "device_bytes": {"int8": 204800}},
                              "wnli": {"dev_accuracy": 0.5, "device_bytes": {"int8": 1024}}}))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "results_table.py"),
                           str(tmp_path), "--baselines", str(bj)],
                          capture_output=True, text=True, cwd=REPO, check=True)
    rows = {ln.split(" | ")[0].strip("| "): ln for ln in proc.stdout.splitlines()}
    assert ("| mrpc | glue | test | dev | accuracy / f1 | 72.0 ± 2.0 / 80.0 ± 2.0 | 71.1 / 80.0 | "
            "200 KiB | 68.0 | 3 |") in rows["mrpc"]
    assert "| wnli | glue | dev | - | accuracy | - | 50.0 | 1 KiB | - | 0 | - |" in rows["wnli"]
    assert "sst2" not in rows


@pytest.mark.slow
def test_finetune_all_runs_seeds_int8_and_resumes(tiny_checkpoint, tmp_path):
    """The real script on a tiny model: 2 seeds of wnli, their int8 metrics, then the table."""
    env = {"OUT": str(tmp_path), "TASKS": "wnli", "SEEDS": "2", "INT8": "1", "THREADS": "1",
           "BIN": os.path.dirname(sys.executable), "EXTRA": "--epochs 1 --limit 32"}
    script = str(REPO / "tools" / "finetune_all.sh")
    proc = subprocess.run(["bash", script, str(tiny_checkpoint)], capture_output=True,
                          text=True, cwd=REPO, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    seeds = [checkpoint.load(tmp_path / f"wnli.seed{s}.pt") for s in (0, 1)]
    assert [ck.extra["recipe"]["seed"] for ck in seeds] == [0, 1]
    assert all(ck.extra["recipe"]["epochs"] == 1 and ck.extra["selected_on"] == "heldout"
               for ck in seeds)
    assert all(json.loads((tmp_path / f"wnli.seed{s}.int8.json").read_text())["kind"]
               == "quantized" for s in (0, 1))
    again = subprocess.run(["bash", script, str(tiny_checkpoint)], capture_output=True,
                           text=True, cwd=REPO, env={**os.environ, **env})
    assert again.stdout.count("skip") == 2
    table = subprocess.run([sys.executable, str(REPO / "tools" / "results_table.py"),
                            str(tmp_path), "--quantized", "--baselines", str(tmp_path / "none")],
                           capture_output=True, text=True, cwd=REPO, check=True).stdout
    wnli = next(ln for ln in table.splitlines() if ln.startswith("| wnli |"))
    accs = [100 * ck.metrics["dev_accuracy"] for ck in seeds]
    assert f"{np.mean(accs):.1f} ± {np.std(accs, ddof=1):.1f}" in wnli and "| 2 |" in wnli
