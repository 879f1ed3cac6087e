"""SCons builder of the local QEMU platform: system arm-none-eabi-gcc, bare metal (the firmware
brings its own startup and linker script), `upload` = run QEMU serving the UART on a TCP port.

The QEMU command line comes from the board TOML named by `custom_ebq_board` (boards/<name>.toml,
[emulator] command), the same data embbert.device.qemu uses. The port is --upload-port /
upload_port (N, 127.0.0.1:N or socket://127.0.0.1:N; a serial device is refused), else
$EBQ_QEMU_PORT, else 4444.
"""

import os
import shutil
import signal
import subprocess
import sys
from os.path import isfile, join

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()

PREFIX = "arm-none-eabi-"
if not shutil.which(PREFIX + "gcc"):
    sys.stderr.write("Error: arm-none-eabi-gcc not found "
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

machine = [
    "-mthumb",
    "-mcpu=" + board.get("build.cpu"),
    "-mfloat-abi=hard",
    "-mfpu=" + board.get("build.fpu"),
]
env.Append(
    ASFLAGS=machine,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"],
    CFLAGS=["-std=c11"],
    LINKFLAGS=machine + ["-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs"],
    LIBS=["m"],
)

# The mps2 startup brings everything itself; a CMSIS startup file (qemu_stm32f4) calls
# __libc_init_array, which needs the C library's crti/crtn.
if board.get("build.libc_startfiles", "no") != "yes":
    env.Append(LINKFLAGS=["-nostartfiles"])

target_elf = env.BuildProgram()
AlwaysBuild(env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Size $SOURCE")))


def _qemu_command(elf, port):
    import tomllib  # Python >= 3.11, as PlatformIO's own interpreter here

    name = env.GetProjectOption("custom_ebq_board")
    toml = join(env.subst("$PROJECT_DIR"), "boards", name + ".toml")
    if not isfile(toml):
        sys.stderr.write(f"Error: board file {toml} not found\n")
        env.Exit(1)
    with open(toml, "rb") as f:
        emu = tomllib.load(f).get("emulator", {})
    return name, emu["command"] + ["-kernel", elf,
                                   "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on"]


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
