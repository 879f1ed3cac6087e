"""Assemble the runtime (and optionally a generated model) as an Arduino library.

Arduino compiles every .c under a library's src/ and puts only src/ on the include path, so the
public headers go to src/embbert/ and only one kernel set is copied (ref, or an ISA directory of
src/arch/ with the ref files it replaces left out):

    python tools/package_arduino.py --out build/arduino/EmbBERT_Q --kernels cortexm \
        --generated firmware/generated

Then copy the folder into your sketchbook's libraries/ and `#include "model_data.h"`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[1] / "runtime_c"


def package(out: Path, kernels: str = "ref", generated: Path | None = None) -> Path:
    src = RUNTIME / "src"
    arch = sorted((src / "arch" / kernels).glob("*")) if kernels != "ref" else []
    if kernels != "ref" and not arch:
        raise SystemExit(f"error: no kernels in {src / 'arch' / kernels}")
    if out.exists():
        shutil.rmtree(out)
    dst = out / "src"
    (dst / "embbert").mkdir(parents=True)
    shutil.copy(RUNTIME / "library.properties", out / "library.properties")
    for h in sorted((RUNTIME / "include" / "embbert").glob("*.h")):
        shutil.copy(h, dst / "embbert" / h.name)
    for f in sorted(src.glob("*.[ch]")):
        shutil.copy(f, dst / f.name)
    replaced = {p.name for p in arch}
    (dst / "ref").mkdir()
    for f in sorted((src / "ref").glob("*.[ch]")):
        if f.name not in replaced:
            shutil.copy(f, dst / "ref" / f.name)
    if arch:
        (dst / "arch" / kernels).mkdir(parents=True)
        for f in arch:
            shutil.copy(f, dst / "arch" / kernels / f.name)
    if generated is not None:
        for name in ("model_data.c", "model_data.h"):
            if not (generated / name).is_file():
                raise SystemExit(f"error: {generated / name} missing (run embbert-export)")
            shutil.copy(generated / name, dst / name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--kernels", default="ref", help="ref or a directory of runtime_c/src/arch")
    ap.add_argument("--generated", type=Path, default=None,
                    help="embbert-export output to include (model_data.c/.h)")
    a = ap.parse_args(argv)
    print(f"wrote {package(a.out, a.kernels, a.generated)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
