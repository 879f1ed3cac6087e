"""The runtime in other build systems: plain CMake (the non-IDF path of runtime_c/CMakeLists.txt)
and the Arduino layout from tools/package_arduino.py, each compiled and linked with the
header example and a generated model, then run. (ESP-IDF itself is not installed here.)"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from embbert.boards import load_board
from embbert.paths import REPO

from .test_classifier_api import header_example
from .test_tokenizer_c import BUNDLED

pytestmark = pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")
LINE = b"a gorgeous, witty, seductive movie\n"


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    from embbert.export.exporter import export

    d = tmp_path_factory.mktemp("pkg") / "gen"
    export(BUNDLED, load_board("host"), d)
    return d


def _expected(gen, tmp_path) -> bytes:
    exe = tmp_path / "direct"
    rt = sorted((REPO / "runtime_c" / "src").glob("*.c")) + \
        sorted((REPO / "runtime_c" / "src" / "ref").glob("*.c"))
    (tmp_path / "m.c").write_text(header_example())
    subprocess.run(["cc", "-std=c11", "-ffp-contract=off", f"-I{REPO / 'runtime_c/include'}",
                    f"-I{REPO / 'runtime_c/src'}", f"-I{gen}", "-o", str(exe),
                    str(tmp_path / "m.c"), str(gen / "model_data.c"), *map(str, rt), "-lm"],
                   check=True)
    return subprocess.run([str(exe)], input=LINE, capture_output=True, check=True).stdout


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_cmake_library(gen, tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text(header_example())
    shutil.copy(gen / "model_data.c", app)
    (app / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(app C)\n"
        f"add_subdirectory({REPO / 'runtime_c'} embbert)\n"
        "add_executable(app main.c model_data.c)\n"
        f"target_include_directories(app PRIVATE {gen})\n"
        "target_link_libraries(app PRIVATE embbert_runtime)\n")
    b = tmp_path / "b"
    subprocess.run(["cmake", "-S", str(app), "-B", str(b), "-DEBQ_KERNELS=vec"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(b)], check=True, capture_output=True)
    out = subprocess.run([str(b / "app")], input=LINE, capture_output=True, check=True).stdout
    assert out == _expected(gen, tmp_path) and out.strip()


def test_arduino_layout(gen, tmp_path):
    lib = tmp_path / "EmbBERT_Q"
    subprocess.run([sys.executable, str(REPO / "tools" / "package_arduino.py"), "--out",
                    str(lib), "--kernels", "cortexm", "--generated", str(gen)], check=True)
    assert (lib / "library.properties").is_file() and (lib / "src/embbert/embbert.h").is_file()
    srcs = sorted((lib / "src").rglob("*.c"))
    names = [p.name for p in srcs]
    assert len(names) == len(set(names))          # one file per kernel: no duplicate symbols
    (tmp_path / "sketch.c").write_text(header_example())
    exe = tmp_path / "sketch"
    # as the Arduino builder does: every .c under src/, only src/ on the include path
    subprocess.run(["cc", "-std=c11", "-ffp-contract=off", f"-I{lib / 'src'}", "-o", str(exe),
                    str(tmp_path / "sketch.c"), *map(str, srcs), "-lm"], check=True)
    out = subprocess.run([str(exe)], input=LINE, capture_output=True, check=True).stdout
    assert out == _expected(gen, tmp_path)
