"""PlatformIO pre-script: stop early, with the fix, when no model has been exported yet."""

import os
import sys

Import("env")  # noqa: F821  (SCons builtin)

generated = os.path.join(env.subst("$PROJECT_SRC_DIR"), "generated")  # noqa: F821
header = os.path.join(generated, "model_data.h")
if not os.path.isfile(header):
    board = env.GetProjectOption("custom_ebq_board", "qemu-m4")  # noqa: F821
    sys.stderr.write(
        f"Error: no exported model in {generated}\n"
        f"run first: embbert-export model.pt --board {board}\n"
    )
    env.Exit(1)  # noqa: F821
