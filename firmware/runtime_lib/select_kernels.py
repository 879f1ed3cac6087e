"""PlatformIO library script: compile runtime_c/src/*.c plus the kernels of the board's ISA.

Same rule as runtime_c/Makefile: a file in src/arch/<kernels>/ replaces the src/ref/ file of the
same name; `kernels` comes from boards/<custom_ebq_board>.toml (default "ref").
"""

import os
import tomllib

Import("env")  # noqa: F821  (SCons builtin)

project = env.subst("$PROJECT_DIR")  # noqa: F821
board = env.GetProjectOption("custom_ebq_board", "")  # noqa: F821
kernels = "ref"
toml = os.path.join(project, "boards", board + ".toml")
if board and os.path.isfile(toml):
    with open(toml, "rb") as f:
        kernels = tomllib.load(f).get("kernels", "ref")

src = os.path.join(project, "runtime_c", "src")
arch_dir = os.path.join(src, "arch", kernels)
arch = sorted(f for f in os.listdir(arch_dir) if f.endswith(".c")) if kernels != "ref" and \
    os.path.isdir(arch_dir) else []

src_filter = ["-<*>", "+<*.c>", "+<ref/*.c>"]
src_filter += [f"-<ref/{f}>" for f in arch]
src_filter += [f"+<arch/{kernels}/{f}>" for f in arch]
env.Replace(SRC_FILTER=src_filter)  # noqa: F821
print(f"EmbBERT-Q runtime: kernels={kernels} ({len(arch)} ISA-specific files)")
