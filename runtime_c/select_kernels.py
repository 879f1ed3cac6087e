"""PlatformIO library script (named by runtime_c/library.json): compile src/*.c plus one kernel
set, in which a file of src/arch/<kernels>/ replaces the src/ref/ file of the same name (the rule
of embbert.cbuild.runtime_sources).

The kernel set, first match: the project option `custom_ebq_kernels` (e.g. cortexm for a
Cortex-M4/M7 in an outside project); the `kernels` key of the EmbBERT-Q board named by
`custom_ebq_board` (read by embbert.boards, from the project's boards/ or the one beside this
library); else "ref", the portable kernels.
"""

import inspect
import os
import sys
from pathlib import Path

Import("env")  # noqa: F821  (SCons builtin)

HERE = os.path.dirname(os.path.abspath(inspect.getframeinfo(inspect.currentframe()).filename))


def _board_kernels(name):
    sys.path.insert(0, os.path.join(HERE, "..", "exporter"))   # this repository's package
    from embbert.boards import load_board

    project_boards = os.path.join(env.subst("$PROJECT_DIR"), "boards")  # noqa: F821
    beside = os.path.join(HERE, "..", "boards")
    d = project_boards if os.path.isfile(os.path.join(project_boards, name + ".toml")) else beside
    return load_board(name, directory=Path(d)).kernels


kernels = env.GetProjectOption("custom_ebq_kernels", "")  # noqa: F821
if not kernels:
    board = env.GetProjectOption("custom_ebq_board", "")  # noqa: F821
    try:
        kernels = _board_kernels(board) if board else ""
    except ImportError:   # an outside project without this repository: set custom_ebq_kernels
        print(f"EmbBERT-Q runtime: board {board} unknown here (no embbert package)")
    kernels = kernels or "ref"

arch_dir = os.path.join(HERE, "src", "arch", kernels)
arch = sorted(f for f in os.listdir(arch_dir) if f.endswith(".c")) if kernels != "ref" and \
    os.path.isdir(arch_dir) else []

src_filter = ["-<*>", "+<*.c>", "+<ref/*.c>"]
src_filter += [f"-<ref/{f}>" for f in arch]
src_filter += [f"+<arch/{kernels}/{f}>" for f in arch]
env.Replace(SRC_FILTER=src_filter)  # noqa: F821
print(f"EmbBERT-Q runtime: kernels={kernels} ({len(arch)} ISA-specific files)")
