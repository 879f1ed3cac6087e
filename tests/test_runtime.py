"""The C runtime built on the host (system cc, strict warnings, ASan/UBSan) running generated
models: bit-exact with the Python simulation, close to fp32, clear errors on bad input."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch
from embbert.boards import load_board
from embbert.cbuild import RUNTIME, build_run, format_inputs, parse_outputs, run_model
from embbert.export.arena import ROWS, plan_arena, plan_for
from embbert.export.exporter import export_quantized
from embbert.model import EmbBertConfig
from embbert.quant import quantize, random_calibration
from embbert.quant.numerics import TOLERANCES
from embbert.quant.testing import limit_threads, random_checkpoint

limit_threads()

# (config, outlier channels): different d, rd, k, layers, labels, expansion, lengths
CONFIGS = [
    (dict(vocab_size=50, max_len=8, d_model=8, reduced_dim=2, n_layers=1, conv_kernel=1,
          expansion=1, num_labels=1), ()),
    (dict(vocab_size=300, max_len=40, d_model=48, reduced_dim=8, n_layers=3, conv_kernel=5,
          expansion=2, num_labels=3), (7,)),
    (dict(vocab_size=1000, max_len=70, d_model=96, reduced_dim=40, n_layers=2, conv_kernel=33,
          expansion=1, num_labels=5), (1, 50, 90)),
    (dict(vocab_size=257, max_len=90, d_model=20, reduced_dim=5, n_layers=4, conv_kernel=7,
          expansion=3, num_labels=2), (0,)),
]


def build_model(tmp, cfg_kw, outliers, seed=0, sanitize=False, max_outliers=None):
    cfg = EmbBertConfig(**cfg_kw)
    ck = random_checkpoint(cfg, seed=seed, outlier_channels=outliers)
    mq = quantize(ck, random_calibration(cfg, 24, seed=seed), max_outliers=max_outliers,
                  sha256="5a" * 32)
    export_quantized(mq, load_board("host"), tmp / "gen", sha256="5a" * 32)
    return ck, mq, build_run(tmp / "gen", tmp / "build", sanitize=sanitize)


def test_sequences(cfg: EmbBertConfig, n: int, seed: int):
    seqs = random_calibration(cfg, n, seed=seed, min_len=1)
    seqs.append((np.full(1, 2), np.ones(1, int)))                         # T = 1
    T = cfg.max_len
    seqs.append(((np.arange(T) % (cfg.vocab_size - 5)) + 5, np.ones(T, int)))  # T = max_len
    return seqs


test_sequences.__test__ = False


def compare(ck, mq, exe, seqs, label=""):
    rc, outs, err = run_model(exe, seqs)
    assert rc == 0 and err == "", err
    c = np.array(outs, np.float32)
    q = mq.logits_batch(seqs)
    assert TOLERANCES["model_logit_ulp"] == 0
    assert np.array_equal(c.view(np.uint32), q.view(np.uint32)), np.abs(c - q).max()
    assert (c.argmax(1) == q.argmax(1)).all()
    m = ck.model()
    with torch.no_grad():
        ref = np.array([m(torch.as_tensor(i)[None], torch.as_tensor(s)[None])[0].numpy()
                        for i, s in seqs])
    err = np.abs(c - ref).max()
    cos = ((c * ref).sum(1) / (np.linalg.norm(c, axis=1) * np.linalg.norm(ref, axis=1)
                               + 1e-30)).min()
    print(f"\n{label}: C == simulation on {len(seqs)} sequences (bit-exact); vs fp32: max abs "
          f"logit error {err:.4g} (logits up to {np.abs(ref).max():.3g}), min cosine {cos:.5f}, "
          f"argmax agreement {(c.argmax(1) == ref.argmax(1)).mean():.3f}")


@pytest.mark.parametrize("cfg_kw,outliers", CONFIGS)
def test_c_matches_simulation_bit_exact(tmp_path, cfg_kw, outliers):
    ck, mq, exe = build_model(tmp_path, cfg_kw, outliers, max_outliers=3)
    label = ", ".join(f"{k}={v}" for k, v in cfg_kw.items() if k != "vocab_size")
    compare(ck, mq, exe, test_sequences(mq.config, 25, seed=11), label)


def test_sanitizers(tmp_path):
    cfg_kw, outliers = CONFIGS[1]
    ck, mq, exe = build_model(tmp_path, cfg_kw, outliers, seed=2, sanitize=True)
    compare(ck, mq, exe, test_sequences(mq.config, 12, seed=3), "ASan+UBSan")


@pytest.fixture(scope="module")
def default_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("default")
    return build_model(tmp, {}, (3, 77), seed=1)


def test_default_config_memory_and_exactness(default_model):
    ck, mq, exe = default_model
    plan = subprocess.run([str(exe), "--plan"], capture_output=True, text=True, check=True)
    c_plan = {int(a): int(b) for a, b in (ln.split() for ln in plan.stdout.splitlines())}
    assert c_plan == {T: plan_for(mq, T).total for T in range(1, 257)}
    arena = {T: c_plan[T] for T in (64, 128, 256)}
    print(f"\ndefault config: weights {mq.weights_bytes():,} B; arena by T {arena} "
          f"(max {arena[256] / 1024:.1f} KiB); hn outliers per layer "
          f"{[len(L.h_outliers) for L in mq.layers]}")
    assert arena[256] <= 72 * 1024
    assert mq.weights_bytes() <= 420_000
    seqs = random_calibration(mq.config, 6, seed=8, min_len=1, max_len=64)
    seqs.append((np.full(256, 9), np.ones(256, int)))
    compare(ck, mq, exe, seqs, "default config")


def apart(u: tuple[int, int], v: tuple[int, int]) -> bool:
    return u[1] <= v[0] or v[1] <= u[0]


@pytest.mark.parametrize("d,a,layers,nh,no", [(128, 1, 4, 0, 4), (128, 1, 4, 2, 4), (8, 1, 1, 0, 0),
                                              (20, 3, 4, 1, 3), (96, 1, 2, 3, 3)])
def test_arena_aliases_keep_live_buffers_apart(d, a, layers, nh, no):
    """The two aliases of the plan (s, e) against the lifetimes in forward.c, for every T."""
    for T in range(1, 300):
        plan = plan_arena(d, a, layers, nh, no, T)
        b = {name: (off, off + n) for name, off, n in plan.buffers}
        own = [k for k in ("h0", "h1", "ho0", "ho1", "qb", "qo", "r", "x") if k in b]
        assert all(apart(b[u], b[v]) for i, u in enumerate(own) for v in own[i + 1:])
        assert b["r"][1] - b["r"][0] >= ROWS * 4 * max(d, a * d) and b["x"][1] <= plan.total
        s, e = b["s"], b["e"]
        assert s[0] == b["r"][0] and s[1] <= b["x"][1]        # scores: r, then the dead x
        assert e[0] >= b["qb"][0] and e[1] <= b["x"][0]        # e clear of h, ho and x
        assert e[0] % 16 == 0 and plan.total % 16 == 0
        for i in range(ROWS):                                  # e row i over read score rows
            assert e[0] + 2 * T * (i + 1) <= s[0] + 4 * T * i


def run_lines(exe, text, *args):
    r = subprocess.run([str(exe), *args], input=text, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip().splitlines()


def test_bad_inputs_are_named_errors(default_model):
    _, mq, exe = default_model
    ok = format_inputs([(np.array([2, 7, 4]), np.array([1, 1, 1]))])
    cases = {
        "0\n": "EMPTY_INPUT",
        format_inputs([(np.full(257, 5), np.ones(257, int))]): "TOO_LONG",
        format_inputs([(np.array([2, 8192, 4]), np.array([1, 1, 1]))]): "TOKEN_OUT_OF_RANGE",
        format_inputs([(np.array([2, 9, 4]), np.array([1, 3, 1]))]): "SEGMENT_OUT_OF_RANGE",
    }
    for text, name in cases.items():
        rc, lines = run_lines(exe, text + ok)
        assert rc == 2 and lines[0].split()[2] == f"{name}:", lines
        assert lines[1].startswith("OK")                       # keeps serving afterwards
    rc, lines = run_lines(exe, ok, "--arena", "64")
    assert rc == 2 and "ARENA_TOO_SMALL" in lines[0]
    small = plan_for(mq, 16).total
    rc, lines = run_lines(exe, format_inputs([(np.full(17, 5), np.ones(17, int)),
                                              (np.full(16, 5), np.ones(16, int))]),
                          "--arena", str(small))
    assert "ARENA_TOO_SMALL" in lines[0] and lines[1].startswith("OK")
    out = parse_outputs("\n".join(lines))
    assert out[0][0] == "ERR"


VERSION_CHECK = r"""
#include <stdio.h>
#include <string.h>
#include "embbert/embbert.h"
#include "model_data.h"
static unsigned char arena[EBQ_ARENA_BYTES] EBQ_ARENA_ATTR;
int main(void) {
    ebq_model m;
    ebq_ctx ctx;
    memcpy(&m, &ebq_model_data, sizeof m);
    printf("%s ", ebq_status_name(ebq_init(&ctx, &m, arena, sizeof arena)));
    m.magic ^= 1u;
    printf("%s ", ebq_status_name(ebq_init(&ctx, &m, arena, sizeof arena)));
    m.magic ^= 1u; m.format_version += 1u;
    printf("%s ", ebq_status_name(ebq_init(&ctx, &m, arena, sizeof arena)));
    m.format_version -= 1u; m.quant_version += 1u;
    printf("%s ", ebq_status_name(ebq_init(&ctx, &m, arena, sizeof arena)));
    m.quant_version -= 1u; m.config.d_model = 0u;
    printf("%s ", ebq_status_name(ebq_init(&ctx, &m, arena, sizeof arena)));
    printf("%s\n", ebq_status_name(ebq_infer(&ctx, 0, 0, 1u, 0)));
    return 0;
}
"""


def test_version_checks_at_init_and_compile_time(tmp_path):
    cfg_kw, outliers = CONFIGS[0]
    build_model(tmp_path, cfg_kw, outliers)
    gen = tmp_path / "gen"
    (tmp_path / "check.c").write_text(VERSION_CHECK)
    srcs = sorted(str(p) for p in (RUNTIME / "src").rglob("*.c") if "arch" not in p.parts)
    cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
          f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", f"-I{gen}"]
    exe = tmp_path / "check"
    subprocess.run(cc + ["-o", str(exe), str(tmp_path / "check.c"), str(gen / "model_data.c"),
                         *srcs, "-lm"], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["OK", "BAD_MAGIC", "BAD_FORMAT_VERSION", "BAD_QUANT_VERSION", "BAD_CONFIG",
                   "NOT_INITIALIZED"]
    h = (gen / "model_data.h").read_text()
    (gen / "model_data.h").write_text(h.replace("#define EBQ_MODEL_FORMAT_VERSION 1u",
                                                "#define EBQ_MODEL_FORMAT_VERSION 2u"))
    r = subprocess.run(cc + ["-c", "-o", str(tmp_path / "m.o"), str(gen / "model_data.c")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "another model format version" in r.stderr


def test_cross_compiles_for_cortex_m4_with_strict_warnings(default_model, tmp_path):
    """Portability: runtime + generated default model with arm-none-eabi-gcc, -Werror."""
    import shutil
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    gen = next(p for p in (tmp_path.parent).rglob("model_data.c") if "default" in str(p)).parent
    srcs = sorted(str(p) for p in (RUNTIME / "src").rglob("*.c") if "arch" not in p.parts)
    from embbert.cbuild import target
    flags = ["-std=c11", "-Os", *target("qemu-m4").machine, "-ffp-contract=off", "-Wall",
             "-Wextra", "-Werror",
             "-Wdouble-promotion", "-Wconversion", "-Wsign-conversion", "-Wshadow",
             "-Wcast-align", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}", f"-I{gen}"]
    objs = []
    for s in srcs + [str(gen / "model_data.c")]:
        o = tmp_path / (s.rsplit("/", 1)[1] + ".o")
        subprocess.run(["arm-none-eabi-gcc", *flags, "-c", s, "-o", str(o)], check=True)
        objs.append(str(o))
    size = subprocess.run(["arm-none-eabi-size", "-t", *objs], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    code = sum(int(ln.split()[0]) for ln in size[1:-1] if "model_data" not in ln)
    model = next(int(ln.split()[0]) for ln in size if "model_data" in ln)
    print(f"\nCortex-M4 -Os: runtime code {code:,} B, model data {model:,} B (flash)")
    rep = json.loads((gen / "export_report.json").read_text())
    assert model <= rep["flash_bytes"] <= model + 16


def test_profile_hooks_mark_every_stage(tmp_path):
    cfg_kw, outliers = CONFIGS[3]                                  # 4 layers
    ck, mq, _ = build_model(tmp_path, cfg_kw, outliers)
    exe = build_run(tmp_path / "gen", tmp_path / "prof", profile=True)
    T = 6
    r = subprocess.run([str(exe)], input=format_inputs([(np.full(T, 7), np.ones(T, int))]),
                       capture_output=True, text=True, check=True)
    marks = [int(v) for v in r.stderr.split()[1:]]
    steps = 3 * -(-T // ROWS) + 1      # three full layers in groups of ROWS rows, [CLS] last
    # embed, norm, q, attn, out, conv, pw, classifier, done
    assert marks == [1, 3 * -(-T // ROWS), steps, steps, steps, steps, steps, 1, 1]
    assert parse_outputs(r.stdout)[0].tolist() == mq.logits(np.full(T, 7), np.ones(T, int)).tolist()


def test_a_failing_compile_names_its_file_and_builds_nothing(tmp_path):
    """Sources compile side by side; the first failure (in source order) is the error."""
    from embbert.cbuild import build_host_tool
    from embbert.errors import EmbBertError
    bad = tmp_path / "broken_main.c"
    bad.write_text("int main(void) { return undeclared; }\n")
    out = tmp_path / "b" / "tool"
    with pytest.raises(EmbBertError, match=r"(?s)compiling .*broken_main\.c failed:\n.*undeclared"):
        build_host_tool(out, [bad])
    assert not out.exists()
