"""embbert-bench --report DIR: one self-contained HTML page with inline SVG plots (no plotting
library): device vs reference logits, instructions vs sequence length, flash/RAM memory map."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

from ..macs import runtime_macs

W, H = 560, 360
ML, MR, MT, MB = 72, 20, 24, 48          # plot margins
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]
RESERVED = "reserved (code, stack, buffers)"


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round-number ticks covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    return [start + i * step for i in range(int(math.ceil((hi - start) / step)) + 1)]


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:.3g}"


class _Plot:
    """Axes with round ticks mapping data to pixels."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], xlabel: str, ylabel: str,
                 square: bool = False):
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        if square:
            x0 = y0 = min(x0, y0)
            x1 = y1 = max(x1, y1)
        self.xt, self.yt = _ticks(x0, x1), _ticks(y0, y1)
        self.x0, self.x1, self.y0, self.y1 = self.xt[0], self.xt[-1], self.yt[0], self.yt[-1]
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                      f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">',
                      f'<rect x="{ML}" y="{MT}" width="{W - ML - MR}" height="{H - MT - MB}" '
                      'fill="#fafafa" stroke="#999"/>']
        for t in self.xt:
            x = self.px(t)
            self.parts.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{H - MB}" '
                              f'stroke="#e4e4e4"/><text x="{x:.1f}" y="{H - MB + 14}" '
                              f'text-anchor="middle">{_fmt(t)}</text>')
        for t in self.yt:
            y = self.py(t)
            self.parts.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{W - MR}" y2="{y:.1f}" '
                              f'stroke="#e4e4e4"/><text x="{ML - 6}" y="{y + 4:.1f}" '
                              f'text-anchor="end">{_fmt(t)}</text>')
        self.parts.append(f'<text x="{(ML + W - MR) / 2}" y="{H - 10}" text-anchor="middle">'
                          f'{_esc(xlabel)}</text><text x="14" y="{(MT + H - MB) / 2}" '
                          f'text-anchor="middle" transform="rotate(-90 14 {(MT + H - MB) / 2})">'
                          f'{_esc(ylabel)}</text>')

    def px(self, x: float) -> float:
        return ML + (x - self.x0) / ((self.x1 - self.x0) or 1) * (W - ML - MR)

    def py(self, y: float) -> float:
        return H - MB - (y - self.y0) / ((self.y1 - self.y0) or 1) * (H - MT - MB)

    def points(self, xs: Sequence[float], ys: Sequence[float], color: str, r: float = 2.5):
        self.parts += [f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="{r}" '
                       f'fill="{color}" fill-opacity="0.6"/>' for x, y in zip(xs, ys, strict=True)]

    def line(self, xs: Sequence[float], ys: Sequence[float], color: str, dash: str = ""):
        pts = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in zip(xs, ys, strict=True))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}"{extra}/>')

    def legend(self, items: Sequence[tuple[str, str]]):
        for i, (label, color) in enumerate(items):
            y = MT + 14 + 16 * i
            self.parts.append(f'<circle cx="{ML + 12}" cy="{y - 4}" r="4" fill="{color}"/>'
                              f'<text x="{ML + 22}" y="{y}">{_esc(label)}</text>')

    def svg(self) -> str:
        return "\n".join(self.parts + ["</svg>"])


def logit_scatter(summary: dict) -> str:
    rows = summary["per_sample"]
    dev = [v for r in rows for v in r["device"]]
    quant = [v for r in rows for v in r["quant"]]
    fp32 = [v for r in rows if r["fp32"] is not None for v in r["fp32"]]
    p = _Plot(quant + fp32, dev, "reference logit", "device logit", square=True)
    p.line([p.x0, p.x1], [p.x0, p.x1], "#555", "4 3")
    legend = [("vs quantized simulation", COLORS[0])]
    if fp32:                                   # no checkpoint at bench time: no fp32 points
        p.points(fp32, dev, COLORS[1])
        legend.append(("vs PyTorch fp32", COLORS[1]))
    p.points(quant, dev, COLORS[0], r=2.0)
    p.legend(legend)
    return p.svg()


def cost_vs_length(summary: dict, config: dict) -> str:
    rows = summary["per_sample"]
    unit = summary["counter"]
    Ts = [r["T"] for r in rows]
    counts = [r["count"] for r in rows]
    p = _Plot(Ts + [0], counts + [0], "sequence length T (tokens)", f"{unit} per inference")
    p.points(Ts, counts, COLORS[0], r=3)
    items = [(f"measured {unit}", COLORS[0])]
    per_mac = summary.get("count_per_mac")
    if per_mac:
        grid = list(range(1, max(Ts) + 1))
        p.line(grid, [runtime_macs(config, T) * per_mac for T in grid], COLORS[3], "5 3")
        items.append((f"executed MACs(T) x {per_mac:.2f} {unit}/MAC", COLORS[3]))
    p.legend(items)
    return p.svg()


def _group(name: str) -> str:
    if name.startswith("layers."):
        return "layer " + name.split(".")[1]
    if name.startswith("embed."):
        return "embeddings"
    if name.startswith("arena"):
        return "arena"
    return name.split(" (")[0]


def memory_map(export_report: dict) -> str:
    """Per memory (flash, SRAM, PSRAM): a thin bar at the board's full size, then the used part
    at full width with model data by group and the board's reserved share (code / stack)."""
    from ..boards import load_board
    from ..errors import EmbBertError

    try:
        board = load_board(export_report["board"])
        size = {"flash": board.flash_bytes, "sram": board.sram_bytes, "psram": board.psram_bytes}
        reserved = {"flash": board.reserved_flash_bytes, "sram": board.reserved_sram_bytes}
    except (EmbBertError, KeyError):
        size, reserved = {}, {}
    sections: dict[str, dict[str, int]] = {}
    for row in export_report.get("tensors", []):
        groups = sections.setdefault(row["section"], {})
        g = _group(row["name"])
        groups[g] = groups.get(g, 0) + int(row["bytes"])
    names = list(dict.fromkeys(g for s in sections.values() for g in s))  # report order
    color = {g: COLORS[i % len(COLORS)] for i, g in enumerate(names)}
    color[RESERVED] = "#bbbbbb"
    x0, bar_w = 70, W - 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" '
             f'height="{30 + 96 * len(sections) + 16 * (len(names) + 1)}" '
             'font-family="sans-serif" font-size="11">']
    y = 16
    for sec, groups in sections.items():
        segs = list(groups.items())
        if reserved.get(sec):
            segs.append((RESERVED, reserved[sec]))
        used = sum(b for _, b in segs)
        total = max(size.get(sec, 0), used) or 1
        parts.append(f'<text x="{x0 - 8}" y="{y + 9}" text-anchor="end" font-weight="bold">'
                     f'{_esc(sec)}</text><rect x="{x0}" y="{y}" width="{bar_w}" height="10" '
                     f'fill="#f2f2f2" stroke="#999"/><rect x="{x0}" y="{y}" '
                     f'width="{max(bar_w * used / total, 0.5):.2f}" height="10" fill="#555"/>'
                     f'<text x="{x0}" y="{y + 24}">{used:,} B used of {total:,} B '
                     f'({100 * used / total:.1f}%); below, the used part:</text>')
        y += 32
        x = float(x0)
        for g, b in segs:
            w = bar_w * b / used
            parts.append(f'<rect x="{x:.2f}" y="{y}" width="{max(w, 0.5):.2f}" height="28" '
                         f'fill="{color[g]}" stroke="#fff" stroke-width="0.5">'
                         f'<title>{_esc(g)}: {b:,} bytes</title></rect>')
            if w > 7 * len(g):
                parts.append(f'<text x="{x + w / 2:.2f}" y="{y + 18}" text-anchor="middle" '
                             f'fill="#fff">{_esc(g)}</text>')
            x += w
        y += 64
    for g in [*names, RESERVED]:
        parts.append(f'<rect x="{x0}" y="{y}" width="10" height="10" fill="{color[g]}"/>'
                     f'<text x="{x0 + 16}" y="{y + 9}">{_esc(g)}</text>')
        y += 16
    return "\n".join(parts + ["</svg>"])


CSS = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 10px;
text-align:left;font-size:13px}figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figcaption{font-size:13px;color:#555;max-width:560px}pre{background:#f6f6f6;padding:1em}"""


def render_html(summary: dict, table: str, config: dict, export_report: dict | None) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>"
                   for k, v in summary.items() if k != "per_sample")
    figs = [("logits", logit_scatter(summary),
             "Device logits against the quantized simulation (should lie on the diagonal, "
             "bit-exact) and against PyTorch fp32 (quantization error)."),
            ("cost", cost_vs_length(summary, config),
             f"{summary['counter']} per inference against sequence length; the dashed line is "
             "the analytic MAC count times the measured cost per MAC.")]
    if export_report:
        figs.append(("memory", memory_map(export_report),
                     f"Memory map of {export_report.get('board', '?')} from export_report.json "
                     "(hover for bytes)."))
    body = "".join(f'<figure id="{k}">{svg}<figcaption>{_esc(cap)}</figcaption></figure>'
                   for k, svg, cap in figs)
    title = f"embbert-bench: {summary['board']}, {summary['source']}"
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{_esc(title)}</h1><pre>{_esc(table)}</pre>"
            f"{body}<h2>All numbers</h2><table>{rows}</table></body></html>\n")


def write_report(out_dir: Path, summary: dict, table: str, config: dict,
                 export_report: dict | None) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render_html(summary, table, config, export_report))
    return path
