"""Board facts live in boards/*.toml only: every consumer reads them through embbert.boards and
sees the same values (the PlatformIO side is checked on a real build in test_firmware_pio.py)."""

from __future__ import annotations

import configparser
import json
import subprocess

import pytest
from embbert import cbuild
from embbert.bench.target import BOARDS as BENCH_BOARDS
from embbert.boards import emulated_boards, known_boards, load_board, runnable_boards
from embbert.device.qemu import emulator_command, qemu_command
from embbert.errors import EmbBertError
from embbert.paths import FIRMWARE, REPO

ALL = known_boards()


def test_every_board_loads():
    assert {"host", "qemu-m4", "qemu-m7", "esp32s3", "nucleo-f446re", "nucleo-h743zi"} <= set(ALL)
    for name in ALL:
        b = load_board(name)
        assert b.name == name and b.flash_capacity() > 0 and b.arena_capacity() > 0


@pytest.mark.parametrize("name", [n for n in ALL if load_board(n).build])
def test_cbuild_compiles_with_the_boards_flags(name):
    b, t = load_board(name), cbuild.target(name)
    assert t.machine == list(b.build.machine) and t.cflags == list(b.build.cflags)
    assert t.platform == FIRMWARE / "platform" / b.build.platform and t.platform.is_dir()
    assert t.ldscript is None if not b.build.ldscript else t.ldscript.is_file()
    if b.cpu.startswith("cortex-m"):
        assert f"-mcpu={b.cpu}" in t.machine and f"-mfpu={b.fpu}" in t.machine


@pytest.mark.parametrize("name", emulated_boards())
def test_qemu_and_perf_see_the_same_emulator_and_clock(name):
    b = load_board(name)
    assert emulator_command(name) == list(b.emulator.command)
    assert qemu_command(name, "fw.elf", 4444)[:len(b.emulator.command)] == list(
        b.emulator.command)
    real = load_board(b.estimate_board)          # perf quotes latency at this board's clock
    assert real.emulator is None and real.clock_hz > 0 and real.cpu == b.cpu


def test_bench_runs_the_boards_that_build_here():
    assert list(BENCH_BOARDS) == runnable_boards() and "host" in BENCH_BOARDS
    assert set(emulated_boards()) <= set(BENCH_BOARDS)


def test_platformio_envs_name_the_boards_both_ways():
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO / "platformio.ini")
    envs = {s[4:]: ini[s].get("custom_ebq_board") for s in ini.sections()
            if s.startswith("env:")}
    assert all(envs.values()), envs
    for env, board in envs.items():
        assert load_board(board).pio_env == env
    assert {b.pio_env for b in map(load_board, ALL) if b.pio_env} == set(envs)


def test_platformio_board_files_hold_no_board_facts():
    """The local platform takes flags, sizes and the QEMU command from the TOML."""
    for path in (REPO / "boards" / "platform-qemu" / "boards").glob("*.json"):
        d = json.loads(path.read_text())
        assert "build" not in d and not any(k.startswith("maximum") for k in d["upload"])


def test_no_other_board_table_in_the_code():
    """git grep: no QEMU machine, FPU or CPU name outside the board files (tests may assert
    what a TOML says, as test_export's board test does)."""
    r = subprocess.run(["git", "grep", "-n", "-E", r"mps2-an[0-9]|fpv[0-9]-|-mcpu=|cortex-m[0-9]\"",
                        "--", "exporter", "tests", "tools", "boards/platform-qemu",
                        "runtime_c/*.py", "firmware/*.py", ":!tests/test_boards.py",
                        ":!tests/test_export.py", ":!exporter/embbert/boards.py"],
                       cwd=REPO, capture_output=True, text=True)
    assert r.stdout == ""


def test_bad_board_files_are_one_clear_error(tmp_path):
    good = (REPO / "boards" / "qemu-m4.toml").read_text()
    (tmp_path / "x.toml").write_text(good.replace('"-mcpu=cortex-m4"', '"-mcpu=cortex-m7"'))
    with pytest.raises(EmbBertError, match="-mcpu=cortex-m7, but cpu = 'cortex-m4'"):
        load_board("x", tmp_path)
    (tmp_path / "y.toml").write_text(good.replace('cc = "arm-none-eabi-gcc"\n', ""))
    with pytest.raises(EmbBertError, match=r"\[build\] misses cc"):
        load_board("y", tmp_path)
    with pytest.raises(EmbBertError, match="no \\[build\\] table"):
        cbuild.target("esp32s3")
