"""Seed PlatformIO's core dir so `pio run -e qemu_m4` works offline (idempotent).

PlatformIO runs every build with its own SCons package, `tool-scons`, which it would download
from its registry. This installs the PyPI `scons` (a dev dependency of this project) as that
package: a copy of the SCons module, a `scons.py` launcher, package.json and the `.piopm`
metadata PlatformIO uses to recognise installed packages. The core dir is $PLATFORMIO_CORE_DIR,
else <repo>/.pio-core (the `core_dir` of platformio.ini).

    python tools/seed_platformio.py [--force]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LAUNCHER = '''"""tool-scons seeded from PyPI scons by tools/seed_platformio.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import SCons.Script  # noqa: E402

SCons.Script.main()
'''


def main(argv: list[str]) -> int:
    try:
        import SCons
        from platformio.dependencies import get_core_dependencies
    except ImportError as e:
        print(f"error: {e.name} is not installed in {sys.executable} "
              "(pip install platformio scons)", file=sys.stderr)
        return 1

    core = Path(os.environ.get("PLATFORMIO_CORE_DIR") or REPO / ".pio-core").resolve()
    requirement = get_core_dependencies()["tool-scons"]  # e.g. "~4.41101.0"
    version = requirement.lstrip("~^=<>! ")
    dest = core / "packages" / "tool-scons"
    meta_path = dest / ".piopm"

    if "--force" not in argv and meta_path.is_file() and (dest / "scons.py").is_file():
        if json.loads(meta_path.read_text()).get("version") == version:
            print(f"tool-scons {version} already seeded in {dest}")
            return 0

    tmp = dest.with_name("tool-scons.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copytree(Path(SCons.__file__).parent, tmp / "SCons",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (tmp / "scons.py").write_text(LAUNCHER)
    (tmp / "package.json").write_text(json.dumps({
        "name": "tool-scons", "version": version,
        "description": f"SCons {SCons.__version__} from PyPI (seeded offline)",
    }, indent=2) + "\n")
    (tmp / ".piopm").write_text(json.dumps({
        "type": "tool", "name": "tool-scons", "version": version,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                 "requirements": None, "uri": None},
    }))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    print(f"seeded tool-scons {version} (SCons {SCons.__version__}) into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
