"""ESP32-S3 estimate from the code, not a measurement (no Xtensa emulator or board here).

The ESP32-S3 runs the portable kernels (runtime_c/src/ref). We compile them with clang-22's
Xtensa backend (the S3's ISA as target features, as tests/test_crossbuild.py does) and with
arm-none-eabi-gcc for the Cortex-M4 ref build whose counts QEMU measures exactly. In each MAC
kernel we find the innermost loop of the dot product in both disassemblies (llvm-objdump /
arm-none-eabi-objdump) and read its instructions per MAC. The estimate per stage is the exact
M4 ref count with the inner loops' difference applied to that stage's executed MACs:

    ESP32-S3 stage ~= M4 ref stage + MACs(stage) x (Xtensa loop instr/MAC - M4 loop instr/MAC)

The rest of each stage (norms, softmax, SiLU, quantization: the same C) is taken as it is on
the M4. Cycles ~= instructions (LX7: single issue; loads and taken branches can stall).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import EmbBertError

# The MAC kernel behind each ebq_stage (counts.STAGES) and the share of its MACs.
STAGE_KERNELS = {"embedding": {"ebq_linear_q8": 1.0}, "q": {"ebq_linear_q8": 1.0},
                 "out": {"ebq_linear_q8": 1.0}, "pointwise": {"ebq_linear_q8": 1.0},
                 "scores+softmax+sum": {"ebq_attn_scores": 0.5, "ebq_attn_sum": 0.5},
                 "conv": {"ebq_dwconv_q8": 1.0}}
KERNELS = sorted({k for v in STAGE_KERNELS.values() for k in v})
# a MAC of the int8 dot loops: an integer multiply of two values loaded in the loop (through
# a sign extension); address arithmetic (i * stride) multiplies other registers
MUL = {"arm": ("mul", "mla", "smla", "smul"), "xtensa": ("mull", "mul16")}
LOAD = {"arm": ("ldr",), "xtensa": ("l8ui", "l16si", "l16ui", "l32i")}
SEXT = {"arm": ("sxtb", "sxth"), "xtensa": ("sext",)}
LINE = re.compile(r"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{4}(?: [0-9a-f]{4})?\s+)?([a-z][\w.]*)\s*(.*)$")
FUNC = re.compile(r"^[0-9a-f]+ <([\w.]+)>:$")


@dataclass(frozen=True)
class Loop:
    start: int
    end: int                  # address of the backward branch (inclusive)
    code: list[str]           # "mnemonic operands" per instruction
    macs: int                 # multiplies of two loaded values in the body

    @property
    def per_mac(self) -> float:
        return len(self.code) / self.macs


def objdump_tool(isa: str) -> str:
    tool = ("arm-none-eabi-objdump" if isa == "arm" else
            shutil.which("llvm-objdump-22") or "/usr/lib/llvm-22/bin/llvm-objdump")
    if not shutil.which(tool):
        raise EmbBertError(f"{tool} not found (Debian: apt-get install "
                           f"{'binutils-arm-none-eabi' if isa == 'arm' else 'llvm-22'})")
    return tool


def disassemble(obj: Path, isa: str) -> dict[str, list[tuple[int, str, str]]]:
    """{function: [(address, mnemonic, operands)]} of one object file."""
    cmd = [objdump_tool(isa), "-d", "--no-show-raw-insn", str(obj)]
    if isa == "xtensa":   # the S3's ISA, else the decoder misses density/FP/loop opcodes
        from ..crossbuild import S3_FEATURES
        cmd.insert(2, "--mattr=" + ",".join("+" + f for f in S3_FEATURES))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise EmbBertError(f"{cmd[0]} failed on {obj}: {out.stderr.strip()[:200]}")
    funcs: dict[str, list[tuple[int, str, str]]] = {}
    cur: list[tuple[int, str, str]] | None = None
    for ln in out.stdout.splitlines():
        if m := FUNC.match(ln.strip()):
            cur = funcs.setdefault(m[1], [])
        elif cur is not None and (m := LINE.match(ln)):
            cur.append((int(m[1], 16), m[2], m[3].split(";")[0].split("@")[0].strip()))
    return funcs


def _target(mnem: str, ops: str, isa: str) -> int | None:
    """Branch target of a branch instruction, else None."""
    is_branch = (mnem.startswith(("b", "cbz", "cbnz")) and not mnem.startswith(
        ("bic", "bfi", "bfc", "bkpt", "bl", "bx"))) if isa == "arm" else (
        mnem.startswith(("b", "j", "loop")) and mnem not in ("break",))
    if not is_branch:
        return None
    m = re.search(r"(?:0x)?([0-9a-f]+)(?:\s*<[^>]*>)?$", ops)
    return int(m[1], 16) if m else None


def inner_loops(code: list[tuple[int, str, str]], isa: str) -> list[Loop]:
    """Loops with no loop inside: backward branches (and Xtensa zero-overhead `loop` bodies)."""
    spans = []
    for i, (addr, mnem, ops) in enumerate(code):
        t = _target(mnem, ops, isa)
        if t is None:
            continue
        if mnem.startswith("loop") and i + 1 < len(code):   # body: next insn .. target
            spans.append((code[i + 1][0], t - 1))
        elif t <= addr:
            spans.append((t, addr))
    loops = []
    for s, e in spans:
        if any((s2, e2) != (s, e) and s <= s2 and e2 <= e for s2, e2 in spans):
            continue
        body = [(m, o) for a, m, o in code if s <= a <= e]
        loops.append(Loop(s, e, [f"{m} {o}".strip() for m, o in body], _macs(body, isa)))
    return loops


def _regs(ops: str) -> list[str]:
    return [r.strip(" []!{}") for r in ops.split(",")]


def _macs(body: list[tuple[str, str]], isa: str) -> int:
    """Integer multiplies whose two sources were loaded in the loop (twice round the body, as
    a load late in the body feeds the next iteration's multiply)."""
    loaded: set[str] = set()
    n = 0
    for rnd in range(2):
        for m, o in body:
            r = _regs(o)
            if not r or not r[0]:
                continue
            if m.startswith(MUL[isa]) and len(r) >= 3:
                n += rnd == 1 and r[1] in loaded and r[2] in loaded
            if m.startswith(LOAD[isa]):
                loaded.add(r[0])
            elif m.startswith(SEXT[isa]) and len(r) > 1 and r[1] in loaded:
                loaded.add(r[0])
            elif not m.startswith(("s32", "str", "b", "j", "cb", "loop")):
                loaded.discard(r[0])
    return n


def dot_loop(obj: Path, isa: str, func: str) -> Loop:
    """The dot-product loop of `func` in obj: the innermost loop with the fewest instructions
    per multiply (the int8 MAC loop; outlier and epilogue loops are longer per multiply)."""
    funcs = disassemble(obj, isa)
    code = [c for name, body in funcs.items() if name == func or name.startswith(func + ".")
            or not name.startswith(("ebq_", ".")) for c in body]   # static helpers beside it
    cands = [lp for lp in inner_loops(code, isa) if lp.macs]
    if not cands:
        raise EmbBertError(f"{obj.name}: no multiply loop found in {func} ({isa})")
    return min(cands, key=lambda lp: lp.per_mac)


def xtensa_objects(work: Path) -> dict[str, Path]:
    """The portable kernels compiled as the esp32s3 build compiles them (clang-22, Xtensa)."""
    from ..crossbuild import CrossBuild, compile_objects, esp32s3_sdkconfig, xtensa_build
    sdk, _ = esp32s3_sdkconfig(work / "sdkconfig")
    b = xtensa_build("clang", sdk, work)
    rt = [(s, f) for s, f in b.groups if any(p.parent.name == "ref" for p in s)]
    objs = compile_objects(CrossBuild(rt, b.common, b.cc), work / "obj")
    return {k: next(o for o in objs if o.name == f"ref-{k}.o") for k in KERNELS}


def arm_objects(obj_dir: Path) -> dict[str, Path]:
    """The same kernels in the Cortex-M4 ref bench build (cbuild names objects stem-hash.o)."""
    out = {}
    for k in KERNELS:
        hits = sorted(obj_dir.glob(f"{k}-*.o"))
        if not hits:
            raise EmbBertError(f"{obj_dir}: no {k} object (build qemu-m4/ref first)")
        out[k] = hits[0]
    return out


def estimate(res: dict, m4_ref_objs: Path, work: Path) -> dict:
    """Per T the ESP32-S3 estimate from res["qemu"]["qemu-m4/ref"] and both disassemblies."""
    from .counts import STAGES
    ref = res["qemu"].get("qemu-m4/ref")
    if not ref:
        raise EmbBertError("the ESP32-S3 estimate needs the qemu-m4/ref counts")
    xt, arm = xtensa_objects(work), arm_objects(m4_ref_objs)
    loops = {k: {"xtensa": dot_loop(xt[k], "xtensa", k), "arm": dot_loop(arm[k], "arm", k)}
             for k in KERNELS}
    per_t = {}
    for T in res["lengths"]:
        macs = dict(zip(STAGES, res["stage_macs"][T], strict=True))
        stages = dict(zip(STAGES, ref[T]["stages"], strict=True))
        est = {}
        for s, n in stages.items():
            delta = sum(share * macs[s] * (loops[k]["xtensa"].per_mac - loops[k]["arm"].per_mac)
                        for k, share in STAGE_KERNELS.get(s, {}).items())
            est[s] = n + delta
        total = ref[T]["instr"] + sum(est[s] - stages[s] for s in stages)
        per_t[T] = {"instr": round(total), "stages": {s: round(v) for s, v in est.items()}}
    from ..boards import load_board
    return {"clock_hz": load_board("esp32s3").clock_hz,
            "loops": {k: {isa: {"per_mac": lp.per_mac, "code": lp.code, "macs": lp.macs}
                          for isa, lp in v.items()} for k, v in loops.items()},
            "per_t": per_t}
