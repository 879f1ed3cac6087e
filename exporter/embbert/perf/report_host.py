"""The host section of docs/BENCHMARKS.md (perf.host's interleaved comparison): the one
generated set of host ratios, for both C builds."""

from __future__ import annotations

from .counts import HOST_ANCHOR_MS

OTHERS = [("pytorch", "PyTorch eager fp32"), ("ort_fp32", "ORT fp32"),
          ("ort_int8", "ORT dynamic int8")]


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f} ms"


def _ratio(r: dict) -> str:
    return (f"**{r['median']:.2f}x** ({r['p10']:.2f}-{r['p90']:.2f}; "
            f"{r['min']:.2f}-{r['max']:.2f})")


def host_section(res: dict, table) -> list[str]:
    """Markdown lines; `table(head, rows)` renders a table."""
    h = res.get("host")
    if not h or "ratios" not in h:
        return []
    L, ns, builds = res["lengths"], h["ns"], h["builds"]
    cs = [k for k in builds if k in ns]
    others = [(k, n) for k, n in OTHERS if k in ns]
    runs = h["runs"]
    n_runs = min(min(v.values()) for v in runs.values())
    ref = {int(k): v for k, v in h.get("c_runtime_ref_ns", {}).items()}
    md = ["## Host, one thread", "",
          f"{h['cpu']}. The C runtime with the host board's kernels (`{h['kernels']}`: "
          "`runtime_c/src/arch/vec`, same bits as ref: every batch's logits are checked "
          "against the simulation) in two builds: " + "; ".join(
              f"*{builds[k]['label']}* (`{builds[k]['cflags']}`)" for k in cs) +
          ". The AVX2-only build is checked to contain no AVX-512 instruction (no zmm "
          "register in its disassembly); it runs the AVX2 tiles (`ebq_*_avx2.c`), the other "
          "the AVX-512 VNNI tiles (`ebq_*_avx512.c`)" +
          (f"; the portable ref kernels take {_ms(ref[max(ref)])} at T = {max(ref)}"
           if ref else "") + ".", "",
          f"**Method.** One run of `make bench`, same model and tokens, one thread each; "
          f"{h['rounds']} rounds in which every engine runs a ~20 ms batch at every T in turn "
          f"(>= {n_runs} runs per engine and T in all). Times are CPU time of the calling "
          "thread, where every engine computes with one thread (wall time on a shared core "
          "adds the 4 ms scheduler slices given to other processes); wall-clock medians are in "
          "benchmarks.json. ORT: the PyTorch model exported to ONNX at each T (fixed shapes), "
          "`ORT_ENABLE_ALL`, sequential, 1 intra- and 1 inter-op thread, one warm-up run per "
          f"batch; {h['note']}. Load average during the run (2 cores): "
          f"{h['load'][0]:.2f}-{h['load'][1]:.2f}.", "",
          "Ratio = median over the rounds of (the other engine's median in the round / C's "
          "median in the same round), then in brackets p10-p90 and min-max over the rounds.",
          ""]
    ort = "ort_fp32" in ns
    head = ["T"] + [f"C {builds[k]['label']}" for k in cs]
    head += ["ORT fp32"] + [f"ORT fp32 / C {builds[k]['label']}" for k in cs] if ort else []
    rows = []
    for T in L:
        r = [str(T)] + [_ms(ns[k][T]) for k in cs]
        if ort:
            r += [_ms(ns["ort_fp32"][T])] + [_ratio(h["ratios"][f"ort_fp32/{k}"][T]) for k in cs]
        rows.append(r)
    md += table(head, rows)
    if others:
        rows = [[str(T)] + [_ms(ns[k][T]) for k, _ in others] +
                [f"{h['ratios'][f'{k}/{c}'][T]['median']:.2f}x" for c in cs for k, _ in others]
                for T in L]
        md += ["", "Every engine (medians; ratios as above, brackets omitted):", ""]
        md += table(["T"] + [n for _, n in others] +
                    [f"{n} / C {builds[c]['label']}" for c in cs for _, n in others], rows)
    md += ["", "docs/MODEL.md reference numbers at T = 128 (another machine): " + ", ".join(
        f"{k} {v} ms" for k, v in HOST_ANCHOR_MS.items()) + ".", ""]
    return md
