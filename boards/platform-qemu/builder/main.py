"""SCons builder of the local QEMU platform: system arm-none-eabi-gcc, bare metal (the firmware
brings its own startup and linker script), `upload` = run QEMU serving the UART on a TCP port.

Everything about the board comes from the board TOML named by `custom_ebq_board`
(boards/<name>.toml), read by embbert.boards as every other consumer reads it: compiler, machine
flags, linker script and flags, vendor headers and sources ([build]), flash and RAM sizes, the
QEMU command ([emulator]). The board JSON in boards/ only names the board for PlatformIO. The
port is --upload-port / upload_port (N, 127.0.0.1:N or socket://127.0.0.1:N; a serial device is
refused), else $EBQ_QEMU_PORT, else 4444.
"""

import os
import shutil
import signal
import subprocess
import sys
from os.path import isfile, join
from pathlib import Path

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
PROJECT = env.subst("$PROJECT_DIR")

# the boards/ this platform lives in: a project outside the repository (examples/) has none
BESIDE = Path(env.PioPlatform().get_dir()).resolve().parent
sys.path.insert(0, join(PROJECT, "exporter"))  # this repository's package (if not installed)
sys.path.insert(1, str(BESIDE.parent / "exporter"))
from embbert.boards import load_board  # noqa: E402
from embbert.errors import EmbBertError  # noqa: E402
from embbert.paths import build_path  # noqa: E402

NAME = env.GetProjectOption("custom_ebq_board")
OWN = Path(PROJECT) / "boards"
try:
    EBQ = load_board(NAME, directory=OWN if (OWN / f"{NAME}.toml").is_file() else BESIDE)
except EmbBertError as e:
    sys.stderr.write(f"Error: {e}\n")
    env.Exit(1)
if EBQ.build is None or EBQ.emulator is None:
    sys.stderr.write(f"Error: board {NAME} has no [build] and [emulator] tables\n")
    env.Exit(1)
board.update("upload.maximum_size", EBQ.flash_bytes)
board.update("upload.maximum_ram_size", EBQ.sram_bytes)

CC = EBQ.build.cc
PREFIX = CC[:-len("gcc")]
if not shutil.which(CC):
    sys.stderr.write(f"Error: {CC} not found "
                     "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)\n")
    env.Exit(1)

env.Replace(
    AR=PREFIX + "gcc-ar",
    AS=PREFIX + "as",
    CC=PREFIX + "gcc",
    CXX=PREFIX + "g++",
    GDB="gdb-multiarch",
    OBJCOPY=PREFIX + "objcopy",
    RANLIB=PREFIX + "gcc-ranlib",
    SIZETOOL=PREFIX + "size",
    ARFLAGS=["rc"],
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.ARM\.exidx)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    PROGSUFFIX=".elf",
)
if env.get("PROGNAME", "program") == "program":
    env.Replace(PROGNAME="firmware")

machine = list(EBQ.build.machine)
env.Append(
    ASFLAGS=machine,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=machine + list(EBQ.build.cflags),
    CFLAGS=["-std=c11"],
    LINKFLAGS=machine + list(EBQ.build.ldflags),
    LIBS=list(EBQ.build.libs),
)
if EBQ.build.ldscript:   # repository-relative: the project's copy, else this repository's
    _root = PROJECT if isfile(join(PROJECT, EBQ.build.ldscript)) else str(BESIDE.parent)
    env.Replace(LDSCRIPT_PATH=join(_root, EBQ.build.ldscript))
    # the script's folder is searched for the files it INCLUDEs
    env.Append(LIBPATH=[os.path.dirname(join(_root, EBQ.build.ldscript))])
# Vendor files the glue needs (an STM32 board: CMSIS headers, startup and system file).
vendor = [build_path(p) for p in (*EBQ.build.includes, *EBQ.build.sources)]
if any(not p.exists() for p in vendor):
    sys.stderr.write(f"Error: board {NAME} needs {next(p for p in vendor if not p.exists())}: "
                     "vendored files not found (set EMBBERT_VENDOR to the folder holding "
                     "cmsis/)\n")
    env.Exit(1)
env.Append(CPPPATH=[str(build_path(p)) for p in EBQ.build.includes])
for i, src in enumerate(build_path(p) for p in EBQ.build.sources):
    env.BuildSources(f"$BUILD_DIR/vendor{i}", str(src.parent), src_filter=f"-<*> +<{src.name}>")

target_elf = env.BuildProgram()
AlwaysBuild(env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Size $SOURCE")))


def _qemu_command(elf, port):
    return NAME, list(EBQ.emulator.command) + [
        "-kernel", elf, "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on"]


def _die_with_parent():
    """Linux PR_SET_PDEATHSIG for QEMU: SIGTERM when this SCons process dies."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _tcp_port(value):
    """A local TCP port from --upload-port / upload_port: 4444, 127.0.0.1:4444 or
    socket://127.0.0.1:4444; None for anything else (a serial device means a real board)."""
    text = str(value).strip()
    for prefix in ("socket://", "tcp://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    host, _, port = text.rpartition(":")
    if host not in ("", "127.0.0.1", "localhost") or not port.isdigit():
        return None
    port = int(port)
    return port if 0 < port < 65536 else None


def run_qemu(target, source, env):
    requested = env.subst("$UPLOAD_PORT") or os.environ.get("EBQ_QEMU_PORT") or "4444"
    port = _tcp_port(requested)
    if port is None:
        sys.stderr.write(
            f"Error: --upload-port {requested}: this env runs an emulated board, which serves "
            "the protocol on a local TCP port; give a port number (e.g. --upload-port 4444), or "
            "flash a real board with its own env (pio run -e nucleo_f446re|nucleo_h743zi|"
            "esp32s3 -t upload)\n")
        return 1
    elf = str(source[0])
    name, cmd = _qemu_command(elf, port)
    pio_pid = os.getppid()
    print(f"Starting QEMU ({name}): {' '.join(cmd)}")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    print(f"EmbBERT-Q firmware serving on socket://127.0.0.1:{port} (the guest starts when the "
          "first client connects; Ctrl-C stops QEMU)")
    print(f"next: embbert-bench --port socket://127.0.0.1:{port}", flush=True)

    # Runs until QEMU exits, Ctrl-C (the process group), or `pio` is killed: pio does not forward
    # signals to SCons and SCons waits for running actions, so watch for the parent going away.
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if os.getppid() != pio_pid:
                    proc.terminate()
                    proc.wait()
                    return 0
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 0
    if code != 0:
        sys.stderr.write(f"QEMU exited with code {code}\n")
    return code


AlwaysBuild(env.Alias("upload", target_elf, env.VerboseAction(run_qemu, "Running $SOURCE in QEMU")))

Default([target_elf])
