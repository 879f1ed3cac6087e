"""PlatformIO pre-script: stop early, with the command that fixes it, when no model has been
exported yet or when the model was exported for another board than the env being built."""

import json
import os
import sys
import tomllib

Import("env")  # noqa: F821  (SCons builtin)

project = env.subst("$PROJECT_DIR")  # noqa: F821
generated = os.path.join(env.subst("$PROJECT_SRC_DIR"), "generated")  # noqa: F821
board = env.GetProjectOption("custom_ebq_board", "qemu-m4")  # noqa: F821
pio_env = env.subst("$PIOENV")  # noqa: F821


def fail(message: str) -> None:
    sys.stderr.write(f"Error: {message}\n")
    env.Exit(1)  # noqa: F821


if os.path.exists(os.path.join(generated, ".embbert-export.journal")):
    fail(f"the last export into {generated} was interrupted before it finished\n"
         "run embbert-export again (or any embbert-bench on it) to complete it")
if not os.path.isfile(os.path.join(generated, "model_data.h")):
    fail(f"no exported model in {generated}\nrun first: embbert-export model.pt --board {board}")

try:  # a hand-made model without embbert-export's record is taken as it is
    with open(os.path.join(generated, "export_report.json")) as f:
        report = json.load(f)
except (OSError, ValueError):
    report = {}
exported = report.get("board", board)
if exported != board:
    checkpoint = report.get("checkpoint") or "model.pt"
    fixes = f"  embbert-export {checkpoint} --board {board}    (then build env {pio_env} again)"
    toml = os.path.join(project, "boards", f"{exported}.toml")
    if os.path.isfile(toml):
        with open(toml, "rb") as f:
            other_env = tomllib.load(f).get("pio_env", "")
        if other_env:
            fixes = f"  pio run -e {other_env}    (build for the exported board), or\n" + fixes
    fail(f"env {pio_env} builds board {board}, but {generated} holds a model exported for "
         f"board {exported}. Run one of:\n{fixes}")
