"""Offline builds for the boards that cannot be flashed here, against the vendored CMSIS and
ESP-IDF files ($EMBBERT_VENDOR, else ../shared/vendor beside the repository):

- STM32 (nucleo-f446re, nucleo-h743zi): firmware, glue and runtime compiled with the flags
  PlatformIO's stm32cube framework uses (the boards' [build] tables) plus the env's own flags
  from platformio.ini, hard or soft float, by arm-none-eabi-gcc or clang; images linked by gcc
  with the repository's linker scripts and the CMSIS startup and system files. (qemu-stm32f4,
  the F446 firmware for QEMU, is an ordinary cbuild board.)
- ESP32-S3: sdkconfig.h from sdkconfig.defaults through IDF's kconfgen; the glue (gnu17, IDF
  headers), the firmware core and the runtime (C11) compiled by clang-22's Xtensa backend
  (ESP32-S3 objects) and by xtensa-lx106-elf-gcc (GCC's warnings on Xtensa; ESP8266 objects).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .boards import emulated_boards, known_boards, load_board
from .cbuild import NUMERICS, _compile_and_link, firmware_sources, runtime_sources, target
from .errors import EmbBertError
from .paths import FIRMWARE, GENERATED, REPO, RUNTIME, vendor_dir

ESP32S3_DIR = FIRMWARE / "platform" / "esp32s3"
NEWLIB_ARM = Path("/usr/lib/arm-none-eabi/include")
NEWLIB_XTENSA = Path("/usr/include/newlib")
CLANG = "clang-22"
# The runtime's own strict warnings (what it meets on the host), made errors for the checks.
RUNTIME_WARN = ["-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wconversion", "-Wshadow"]
FLOAT_ABIS = ("hard", "soft")


def require_vendor() -> Path:
    v = vendor_dir()
    if not (v / "cmsis").is_dir() or not (v / "esp-idf-5.5.3").is_dir():
        raise EmbBertError(f"vendored CMSIS/ESP-IDF files not found in {v} "
                           "(set EMBBERT_VENDOR to the folder holding cmsis/ and esp-idf-5.5.3/)")
    return v


# ---------------------------------------------------------------------------------- STM32

def stm32_boards() -> list[str]:
    """The real STM32 boards: a [build] table with the stm32 glue, no emulator."""
    return [n for n in known_boards() if (b := load_board(n)).build
            and b.build.platform == "stm32" and b.emulator is None]


def pio_env_flags(env: str, generated: Path) -> tuple[list[str], list[str]]:
    """(build_flags, build_src_flags) of `env` in platformio.ini, as words, with the project's
    relative paths made absolute and firmware/generated replaced by `generated`."""
    from platformio.project.config import ProjectConfig

    cfg = ProjectConfig(str(REPO / "platformio.ini"), parse_extra=False)
    words = [w for item in cfg.get(f"env:{env}", "build_flags") for w in item.split()]
    src = [w for item in cfg.get(f"env:{env}", "build_src_flags") for w in item.split()]

    def fix(w: str) -> str:
        if w == "-Ifirmware/generated":
            return f"-I{generated}"
        if w[:2] in ("-I", "-L") and not Path(w[2:]).is_absolute():
            return w[:2] + str(REPO / w[2:])
        return w

    return [fix(w) for w in words], src


def library_flags() -> list[str]:
    """The runtime library's flags from runtime_c/library.json (paths made absolute)."""
    flags = json.loads((RUNTIME / "library.json").read_text())["build"]["flags"]
    return [f"-I{RUNTIME / f[2:]}" if f.startswith("-I") else f for f in flags]


def soft_float(flags: Sequence[str]) -> list[str]:
    """What stm32cube compiles without the env's additions: no -mfloat-abi / -mfpu (soft)."""
    return [f for f in flags if not f.startswith(("-mfloat-abi=", "-mfpu="))]


@dataclass
class CrossBuild:
    """Compile jobs of one configuration: (sources, flags) groups, common flags, compiler."""
    groups: list[tuple[list[Path], list[str]]]
    common: list[str]
    cc: str


def stm32_build(board: str, *, generated: Path = GENERATED, float_abi: str = "hard",
                compiler: str = "gcc") -> CrossBuild:
    """A Nucleo board's firmware as PlatformIO compiles it: the board's [build] flags (stm32cube's
    and the env's machine flags), the env's other build_flags from platformio.ini, the firmware's
    build_src_flags, the runtime library's flags (+ the runtime's strict warnings), the CMSIS
    headers and system file; hard float as the env says, or soft (stm32cube alone)."""
    if float_abi not in FLOAT_ABIS:
        raise EmbBertError(f"float ABI {float_abi!r}: use one of {', '.join(FLOAT_ABIS)}")
    b, t = load_board(board), target(board)
    build_flags, src_flags = pio_env_flags(b.pio_env, generated)
    machine = t.machine if float_abi == "hard" else soft_float(t.machine)
    base = t.cflags + [f for f in build_flags if not f.startswith(("-m", "-L"))]
    vendor_inc = [f"-I{d}" for d in t.includes]
    if compiler == "gcc":
        cc, common = t.cc, list(machine)
    elif compiler == "clang":
        # clang's driver for bare-metal Arm, with Debian's newlib headers
        cc = CLANG
        common = ["--target=arm-none-eabi", "-nostdlibinc", "-isystem", str(NEWLIB_ARM),
                  *machine]
    else:
        raise EmbBertError(f"compiler {compiler!r}: use gcc or clang")
    rt = runtime_sources(RUNTIME, b.kernels)
    groups = [
        (firmware_sources(t.platform), base + src_flags + vendor_inc),
        (rt, base + library_flags() + RUNTIME_WARN),
        (sorted(generated.glob("*.c")), base + library_flags() + ["-Wall", "-Wextra", "-Werror"]),
        ([s for s in t.sources if s.suffix == ".c"], base + vendor_inc),
    ]
    return CrossBuild(groups, common, cc)


def compile_objects(build: CrossBuild, out_dir: Path) -> list[Path]:
    """Compiles every group to objects in out_dir (two at a time); raises with the compiler
    output of every file that failed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [([build.cc, *build.common, *flags, "-c", str(src), "-o",
              str(out_dir / f"{src.parent.name}-{src.stem}.o")], src)
            for sources, flags in build.groups for src in sources]

    def run(job: tuple[list[str], Path]) -> str | None:
        cmd, src = job
        p = subprocess.run(cmd, capture_output=True, text=True)
        return None if p.returncode == 0 else f"{src}:\n{p.stdout}{p.stderr}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        errors = [e for e in pool.map(run, jobs) if e]
    if errors:
        raise EmbBertError(f"{build.cc} failed on {len(errors)} file(s):\n" + "\n".join(errors))
    return [Path(cmd[-1]) for cmd, _ in jobs]


def build_stm32(board: str, out: Path, *, generated: Path = GENERATED,
                float_abi: str = "hard") -> Path:
    """The Nucleo image of `board` linked by arm-none-eabi-gcc with the board's linker script,
    flags and libraries (skips the work when up to date)."""
    if not (generated / "model_data.h").is_file():
        raise EmbBertError(f"no exported model in {generated} "
                           "(run: embbert-export model.pt --board <board>)")
    b, t = stm32_build(board, generated=generated, float_abi=float_abi), target(board)
    startup = [s for s in t.sources if s.suffix != ".c"]
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, b.cc, [*b.groups, (startup, [])], b.common, t.link())


@dataclass
class ImageSize:
    text: int   # flash: vectors, code, constants (the weights)
    data: int   # initialized RAM (and init arrays), also stored in flash
    bss: int    # zeroed RAM (the arena is here)

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


def image_size(elf: Path) -> ImageSize:
    """text/data/bss as `arm-none-eabi-size -B` counts them (allocated sections by kind)."""
    p = subprocess.run(["arm-none-eabi-size", "-B", str(elf)], capture_output=True, text=True,
                       check=True)
    text, data, bss = (int(x) for x in p.stdout.splitlines()[1].split()[:3])
    return ImageSize(text, data, bss)


# ---------------------------------------------------------------------------------- ESP32-S3

IDF_VERSION = "5.5.3"
# Include folders an esp32s3 build of the glue puts in front of it (../shared/vendor/README.md)
IDF_INCLUDES = (
    "freertos/config/include", "freertos/config/include/freertos",
    "freertos/config/xtensa/include", "freertos/FreeRTOS-Kernel/include",
    "freertos/FreeRTOS-Kernel/portable/xtensa/include",
    "freertos/FreeRTOS-Kernel/portable/xtensa/include/freertos",
    "freertos/esp_additions/include", "esp_hw_support/include", "esp_hw_support/include/soc",
    "esp_hw_support/include/soc/esp32s3", "heap/include", "log/include", "soc/include",
    "soc/esp32s3/include", "soc/esp32s3/register", "hal/platform_port/include",
    "hal/esp32s3/include", "hal/include", "esp_rom/include", "esp_rom/esp32s3/include",
    "esp_rom/esp32s3/include/esp32s3", "esp_rom/esp32s3", "esp_common/include",
    "esp_system/include", "newlib/platform_include", "xtensa/esp32s3/include", "xtensa/include",
    "xtensa/deprecated_include", "esp_driver_uart/include")
# ESP32-S3 ISA as clang target features (xtensa/esp32s3/include/xtensa/config/core-isa.h)
S3_FEATURES = ("density", "fp", "loop", "mac16", "windowed", "bool", "sext", "nsa", "clamps",
               "minmax", "mul16", "mul32", "mul32high", "div32", "s32c1i", "threadptr", "debug",
               "exception", "highpriinterrupts", "highpriinterrupts-level7", "coprocessor",
               "interrupt", "rvector", "timers3", "prid", "regprotect", "miscsr")
# IDF's defines and the ESP toolchain's int32_t = long
IDF_DEFINES = ["-DESP_PLATFORM", "-D_GNU_SOURCE", "-DSOC_MMU_PAGE_SIZE=CONFIG_MMU_PAGE_SIZE",
               "-DSOC_XTAL_FREQ_MHZ=CONFIG_XTAL_FREQ", "-U__INT32_TYPE__",
               "-D__INT32_TYPE__=long int", "-U__UINT32_TYPE__",
               "-D__UINT32_TYPE__=long unsigned int", "-U__INT_LEAST32_TYPE__",
               "-D__INT_LEAST32_TYPE__=long int", "-U__UINT_LEAST32_TYPE__",
               "-D__UINT_LEAST32_TYPE__=long unsigned int"]
XTENSA_COMPILERS = ("clang", "gcc")


def esp32s3_sdkconfig(out_dir: Path, defaults: Path = ESP32S3_DIR / "sdkconfig.defaults"
                      ) -> tuple[Path, str]:
    """Runs IDF's kconfgen for esp32s3 on `defaults` as an IDF build does (every component's
    Kconfig sourced); returns (folder with sdkconfig.h and sdkconfig, kconfgen's output)."""
    idf = (require_vendor() / f"esp-idf-{IDF_VERSION}").resolve()
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    comps = idf / "components"
    (out_dir / "kconfigs.in").write_text(
        "".join(f'source "{p}"\n' for p in sorted(comps.glob("*/Kconfig"))))
    (out_dir / "kconfigs_projbuild.in").write_text(
        "".join(f'source "{p}"\n' for p in sorted(comps.glob("*/Kconfig.projbuild"))))
    renames = sorted([*comps.glob("*/sdkconfig.rename"), *comps.glob("*/sdkconfig.rename.esp32s3")])
    config = out_dir / "sdkconfig"
    config.unlink(missing_ok=True)  # from the defaults alone, never from an earlier run
    env = {"IDF_PATH": str(idf), "IDF_TARGET": "esp32s3", "IDF_TOOLCHAIN": "gcc",
           "IDF_ENV_FPGA": "", "IDF_VERSION": IDF_VERSION, "IDF_INIT_VERSION": IDF_VERSION,
           "IDF_MINIMAL_BUILD": "n",
           "COMPONENT_KCONFIGS_SOURCE_FILE": str(out_dir / "kconfigs.in"),
           "COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE": str(out_dir / "kconfigs_projbuild.in"),
           "COMPONENT_SDKCONFIG_RENAMES": ";".join(map(str, renames))}
    cmd = [sys.executable, "-m", "kconfgen", "--list-separator=semicolon",
           "--kconfig", str(idf / "Kconfig"), "--sdkconfig-rename", str(idf / "sdkconfig.rename"),
           "--config", str(config), "--defaults", str(defaults.resolve()),
           *(a for k, v in env.items() for a in ("--env", f"{k}={v}")),
           "--output", "header", str(out_dir / "sdkconfig.h"), "--output", "config", str(config)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise EmbBertError(f"kconfgen failed (pip install 'esp-idf-kconfig<3'):\n"
                           f"{p.stdout}{p.stderr}")
    return out_dir, p.stdout + p.stderr


def sdkconfig_values(config: Path) -> dict[str, str]:
    """CONFIG_X=value lines of an sdkconfig; `# CONFIG_X is not set` gives 'n'."""
    out = {}
    for line in config.read_text().splitlines():
        if m := re.match(r"^(CONFIG_\w+)=(.*)$", line):
            out[m.group(1)] = m.group(2).strip('"')
        elif m := re.match(r"^# (CONFIG_\w+) is not set$", line):
            out[m.group(1)] = "n"
    return out


def app_partition_bytes(table: Path = ESP32S3_DIR / "partitions.csv") -> int:
    """Size of the (first) app partition of an ESP-IDF partition table CSV."""
    rows = [r for r in csv.reader(table.read_text().splitlines())
            if r and not r[0].lstrip().startswith("#")]
    for row in rows:
        cells = [c.strip() for c in row]
        if len(cells) >= 5 and cells[1] == "app":
            return int(cells[4], 0)
    raise EmbBertError(f"{table}: no app partition")


def xtensa_build(compiler: str, sdkconfig_dir: Path, work: Path, *,
                 generated: Path = GENERATED, runtime_dir: Path = RUNTIME) -> CrossBuild:
    """The sources of the esp32s3 firmware for one Xtensa compiler: the IDF component (glue and
    firmware core) with the env's build_src_flags (gnu17, IDF's language), the runtime and the
    model with the runtime library's C11."""
    comps = require_vendor() / f"esp-idf-{IDF_VERSION}" / "components"
    # Debian's newlib 3.3 declares `struct _reent *const _global_impure_ptr`; IDF's sys/reent.h
    # (written for newlib 4) declares it without const: a copy without it goes first.
    compat = work / "newlib-compat"
    (compat / "sys").mkdir(parents=True, exist_ok=True)
    (compat / "sys" / "reent.h").write_text(
        (NEWLIB_XTENSA / "sys" / "reent.h").read_text()
        .replace("*const _global_impure_ptr", "* _global_impure_ptr"))
    libc = ["-isystem", str(compat), "-isystem", str(NEWLIB_XTENSA)]
    opt = ["-O2", "-ffunction-sections", "-fdata-sections"]  # clang needs function sections
    if compiler == "clang":
        cc = CLANG
        common = ["--target=xtensa", "-nostdlibinc", "-D__XTENSA_WINDOWED_ABI__=1"]
        common += [a for f in S3_FEATURES for a in ("-Xclang", "-target-feature", "-Xclang",
                                                      f"+{f}")]
    elif compiler == "gcc":
        cc = "xtensa-lx106-elf-gcc"
        common = ["-mlongcalls", "-U__XTENSA_CALL0_ABI__", "-D__XTENSA_WINDOWED_ABI__=1"]
    else:
        raise EmbBertError(f"compiler {compiler!r}: use one of {', '.join(XTENSA_COMPILERS)}")
    common += opt + IDF_DEFINES + libc
    warn = ["-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wshadow"]
    _, glue_flags = pio_env_flags("esp32s3", generated)  # gnu17 and the project's warnings
    idf_inc = [f"-I{sdkconfig_dir}"] + [f"-I{comps / d}" for d in IDF_INCLUDES]
    ours = [f"-I{FIRMWARE / 'src'}", f"-I{generated}", f"-I{runtime_dir / 'include'}",
            f"-I{runtime_dir / 'src'}"]
    groups = [
        (sorted(ESP32S3_DIR.glob("*.c")), [*glue_flags, *idf_inc, *ours]),
        (sorted((FIRMWARE / "src").glob("*.c")), [*glue_flags, "-Wconversion", *ours]),
        (runtime_sources(runtime_dir, load_board("esp32s3").kernels),
         ["-std=c11", *NUMERICS, *warn, "-Wconversion", *ours]),
        (sorted(generated.glob("*.c")), ["-std=c11", *NUMERICS, *warn, *ours]),
    ]
    return CrossBuild(groups, common, cc)


# ---------------------------------------------------------------------------------- report

def _size_row(board: str, float_abi: str, s: ImageSize, flash: int, ram: int,
              weights: int) -> None:
    print(f"  {board:14} {float_abi:4} float {s.text:9,} {s.data:8,} {s.bss:8,}  "
          f"{s.flash:,}/{flash:,}  {s.ram:,}/{ram:,}  (weights {weights:,}, "
          f"code {s.flash - weights:,})")


def main(argv: list[str] | None = None) -> int:
    """python -m embbert.crossbuild [--model M] [--out DIR]: exports M for every STM32 board,
    prints the compile matrix (target x float ABI x compiler) and the linked image sizes."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m embbert.crossbuild", description=main.__doc__)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "sst2.pt")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "crossbuild")
    args = ap.parse_args(argv)
    from .cbuild import build_firmware
    from .export.exporter import export

    try:
        gens = {}
        for board in [*stm32_boards(), "esp32s3"]:
            gens[board] = args.out / board / "generated"
            res, _ = export(args.model, load_board(board), gens[board])
            if not res.report["fits"]:
                raise EmbBertError(f"{args.model} does not fit {board}:\n{res.table}")
        print("compile matrix (firmware + glue + runtime + model, -Werror)")
        for board in stm32_boards():
            for fa in FLOAT_ABIS:
                for comp in ("gcc", "clang"):
                    b = stm32_build(board, generated=gens[board], float_abi=fa, compiler=comp)
                    n = len(compile_objects(b, args.out / board / f"obj-{fa}-{comp}"))
                    print(f"  {load_board(board).cpu:10} {board:14} {fa:4} float  {b.cc:18} "
                          f"{n} files OK")
        sdk, _ = esp32s3_sdkconfig(args.out / "esp32s3" / "sdkconfig")
        for comp in XTENSA_COMPILERS:
            b = xtensa_build(comp, sdk, args.out / "esp32s3", generated=gens["esp32s3"])
            n = len(compile_objects(b, args.out / "esp32s3" / f"obj-{comp}"))
            abi = "hard" if comp == "clang" else "soft"
            print(f"  {'xtensa':10} {'esp32s3':14} {abi:4} float  {b.cc:18} {n} files OK")
        print("\nlinked images (bytes)           text     data      bss    flash use     RAM use")
        for board in stm32_boards():
            weights = json.loads((gens[board] / "export_report.json").read_text())["flash_bytes"]
            b = load_board(board)
            for fa in FLOAT_ABIS:
                s = image_size(build_stm32(board, args.out / board / f"fw-{fa}.elf",
                                           generated=gens[board], float_abi=fa))
                _size_row(board, fa, s, b.flash_bytes, b.extra["data_ram_bytes"], weights)
        # the emulated boards' images, from the F446's export (same model bytes)
        gen = gens["nucleo-f446re"]
        weights = json.loads((gen / "export_report.json").read_text())["flash_bytes"]
        for board in emulated_boards():
            elf = build_firmware(board, args.out / board / "fw.elf", generated_dir=gen)
            b = load_board(board)
            _size_row(board, "hard", image_size(elf), b.flash_bytes, b.sram_bytes, weights)
    except EmbBertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
