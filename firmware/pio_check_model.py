"""PlatformIO pre-script: stop early, with the fix, when no model has been exported yet."""

import os
import sys

Import("env")  # noqa: F821  (SCons builtin)

generated = os.path.join(env.subst("$PROJECT_SRC_DIR"), "generated")  # noqa: F821
header = os.path.join(generated, "model_data.h")
if os.path.exists(os.path.join(generated, ".embbert-export.journal")):
    sys.stderr.write(
        f"Error: the last export into {generated} was interrupted before it finished\n"
        "run embbert-export again (or any embbert-bench on it) to complete it\n"
    )
    env.Exit(1)  # noqa: F821
if not os.path.isfile(header):
    board = env.GetProjectOption("custom_ebq_board", "qemu-m4")  # noqa: F821
    sys.stderr.write(
        f"Error: no exported model in {generated}\n"
        f"run first: embbert-export model.pt --board {board}\n"
    )
    env.Exit(1)  # noqa: F821
