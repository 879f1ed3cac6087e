"""The package's import graph: no cycles (one documented lazy exception) and no arrow pointing
back up the stages (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import embbert

PKG = Path(embbert.__file__).resolve().parent
# Stage of each room; a module may import its own stage or an earlier one. Rooms not listed
# here (errors, paths, model, checkpoint, tokenizer, data, boards, macs) are the base, stage 0.
STAGES = {"train": 1, "quant": 2, "export": 3, "cbuild": 4, "crossbuild": 4, "device": 4,
          "bench": 5, "perf": 5, "cli": 6}
# QuantModel.logits_batch runs the simulation, which reads QuantModel's fields: a lazy import
# inside the method, so neither module needs the other to load.
ALLOWED_LAZY_CYCLES = [{"embbert.quant.quantize", "embbert.quant.simulate"}]
OPTIONAL = {"embbert.perf.peers_tf"}   # needs tensorflow (make bench-peers only)


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(("embbert", *parts))] = p
    return out


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run at import: the body and its if/try blocks, not function bodies."""
    out = []
    for n in body:
        out.append(n)
        if isinstance(n, ast.If | ast.Try):
            for block in (n.body, n.orelse, getattr(n, "finalbody", []),
                          *[h.body for h in getattr(n, "handlers", [])]):
                out += _module_level(block)
    return out


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(imported embbert module, at module level?) for every import statement in the file."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(n) for n in _module_level(tree.body)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(p for p in (*parts, base) if p)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t != "embbert":
                out.append((t, id(node) in top))
    return out


def _graph(lazy: bool) -> dict[str, set[str]]:
    mods = _modules()
    return {m: {t for t, at_top in _imports(m, p, set(mods)) if lazy or at_top}
            for m, p in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.get(parts[1], 0) if len(parts) > 1 else 0


def test_no_import_cycles_at_module_level() -> None:
    assert _cycles(_graph(lazy=False)) == []


def test_only_the_documented_lazy_cycle() -> None:
    assert _cycles(_graph(lazy=True)) == ALLOWED_LAZY_CYCLES


def test_no_arrow_points_back_up_the_stages() -> None:
    back = sorted(f"{m} -> {t}" for m, ts in _graph(lazy=True).items() for t in ts
                  if _stage(t) > _stage(m))
    assert back == []


def test_the_checker_sees_a_cycle_and_a_back_arrow() -> None:
    g = {"embbert.a": {"embbert.train.b"}, "embbert.train.b": {"embbert.a", "embbert.cli.c"}}
    assert _cycles(g) == [{"embbert.a", "embbert.train.b"}]
    assert _stage("embbert.cli.c") > _stage("embbert.train.b")


def test_every_module_imports_on_its_own() -> None:
    """Each module in a fresh interpreter, in name order: a cycle that only bites in one import
    order, or an import of a moved module, fails here."""
    names = sorted(set(_modules()) - OPTIONAL)
    code = ("import importlib, sys\n"
            "for n in sys.argv[1:]:\n"
            "    importlib.import_module(n)\n")
    names = [n for n in names if not n.endswith("__main__")]
    r = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
