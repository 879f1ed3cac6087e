"""Offline builds for the boards that cannot be flashed here, against the vendored CMSIS and
ESP-IDF files ($EMBBERT_VENDOR, else ../shared/vendor beside the repository):

- STM32 (nucleo-f446re, nucleo-h743zi): firmware, glue and runtime compiled with the flags
  PlatformIO's stm32cube framework uses plus the env's own flags from platformio.ini, hard or
  soft float, by arm-none-eabi-gcc or clang; images linked by gcc with the repository's linker
  scripts and the CMSIS startup and system files.
- qemu-stm32f4: the nucleo-f446re image with the QEMU instruction counter (embbert-bench runs it).
- ESP32-S3: sdkconfig.h from sdkconfig.defaults through IDF's kconfgen; the glue (gnu17, IDF
  headers), the firmware core and the runtime (C11) compiled by clang-22's Xtensa backend
  (ESP32-S3 objects) and by xtensa-lx106-elf-gcc (GCC's warnings on Xtensa; ESP8266 objects).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .cbuild import NUMERICS, _compile_and_link, firmware_sources, runtime_sources
from .errors import EmbBertError
from .paths import FIRMWARE, GENERATED, REPO, RUNTIME

STM32_DIR = FIRMWARE / "platform" / "stm32"
ESP32S3_DIR = FIRMWARE / "platform" / "esp32s3"
NEWLIB_ARM = Path("/usr/lib/arm-none-eabi/include")
NEWLIB_XTENSA = Path("/usr/include/newlib")
CLANG = "clang-22"

# platform-ststm32's builder/frameworks/stm32cube.py (platformio.ini pins the platform): CCFLAGS
# and LINKFLAGS besides -mcpu. USE_HAL_DRIVER is left out: the HAL is not vendored and the
# firmware calls none of it. Debian has no libstdc++ for arm-none-eabi, and this C firmware
# needs none, so -lstdc++ is left out of the libraries.
STM32CUBE_CCFLAGS = ["-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-mthumb",
                     "-nostdlib"]
STM32CUBE_LINKFLAGS = ["-Os", "-Wl,--gc-sections,--relax", "-mthumb", "--specs=nano.specs",
                       "--specs=nosys.specs"]
STM32CUBE_LIBS = ["-Wl,--start-group", "-lc", "-lgcc", "-lm", "-lnosys", "-Wl,--end-group"]
# The runtime's own strict warnings (what it meets on the host), made errors for the checks.
RUNTIME_WARN = ["-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wconversion", "-Wshadow"]
FLOAT_ABIS = ("hard", "soft")


@dataclass(frozen=True)
class Stm32Chip:
    board: str           # the Nucleo board whose firmware this is
    pio_env: str
    cpu: str
    family: str          # cmsis_device_<family>
    device: str          # CMSIS device define
    series: str          # PlatformIO board extra_flags define
    f_cpu: int           # PlatformIO board f_cpu
    startup: str
    ldscript: str
    ram_bytes: int       # the RAM region .data and .bss go to (see the linker script)


STM32 = {
    "nucleo-f446re": Stm32Chip("nucleo-f446re", "nucleo_f446re", "cortex-m4", "f4",
                               "STM32F446xx", "STM32F4", 180_000_000, "startup_stm32f446xx.s",
                               "stm32f446.ld", 131_072),
    "nucleo-h743zi": Stm32Chip("nucleo-h743zi", "nucleo_h743zi", "cortex-m7", "h7",
                               "STM32H743xx", "STM32H7", 400_000_000, "startup_stm32h743xx.s",
                               "stm32h743.ld", 524_288),
}
# Boards that run another board's STM32 firmware (boards/<name>.toml `firmware`), with defines.
STM32_EMULATED = {"qemu-stm32f4": ("nucleo-f446re", ("EBQ_STM32_COUNTER_QEMU_TIM2",))}


def vendor_dir() -> Path:
    env = os.environ.get("EMBBERT_VENDOR")
    return Path(env) if env else REPO.parent / "shared" / "vendor"


def require_vendor() -> Path:
    v = vendor_dir()
    if not (v / "cmsis").is_dir() or not (v / "esp-idf-5.5.3").is_dir():
        raise EmbBertError(f"vendored CMSIS/ESP-IDF files not found in {v} "
                           "(set EMBBERT_VENDOR to the folder holding cmsis/ and esp-idf-5.5.3/)")
    return v


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise EmbBertError(f"{', '.join(missing)} not found (bash tools/install_system_deps.sh)")


# ---------------------------------------------------------------------------------- STM32

def pio_env_flags(env: str, generated: Path) -> tuple[list[str], list[str]]:
    """(build_flags, build_src_flags) of `env` in platformio.ini, as words, with the project's
    relative paths made absolute and firmware/generated replaced by `generated`."""
    from platformio.project.config import ProjectConfig

    cfg = ProjectConfig(str(REPO / "platformio.ini"), parse_extra=False)
    words = [w for item in cfg.get(f"env:{env}", "build_flags") for w in item.split()]
    src = [w for item in cfg.get(f"env:{env}", "build_src_flags") for w in item.split()]

    def fix(w: str) -> str:
        if w in ("-Ifirmware/generated", "-I firmware/generated"):
            return f"-I{generated}"
        if w[:2] in ("-I", "-L") and not Path(w[2:]).is_absolute():
            return w[:2] + str(REPO / w[2:])
        return w

    return [fix(w) for w in words], src


def library_flags() -> list[str]:
    """The runtime library's flags from firmware/runtime_lib/library.json (paths made absolute)."""
    lib = FIRMWARE / "runtime_lib"
    flags = json.loads((lib / "library.json").read_text())["build"]["flags"]
    return [f"-I{(lib / f[2:]).resolve()}" if f.startswith("-I") else f for f in flags]


def soft_float(flags: Sequence[str]) -> list[str]:
    """What stm32cube compiles without the env's additions: no -mfloat-abi / -mfpu (soft)."""
    return [f for f in flags if not f.startswith(("-mfloat-abi=", "-mfpu="))]


def stm32_chip(board: str) -> tuple[Stm32Chip, tuple[str, ...]]:
    if board in STM32:
        return STM32[board], ()
    if board in STM32_EMULATED:
        base, defines = STM32_EMULATED[board]
        return STM32[base], defines
    raise EmbBertError(f"no STM32 build for board {board} "
                       f"(known: {', '.join([*STM32, *STM32_EMULATED])})")


@dataclass
class Stm32Build:
    """Compile jobs of one STM32 configuration: (sources, flags) groups and common flags."""
    chip: Stm32Chip
    float_abi: str
    compiler: str
    groups: list[tuple[list[Path], list[str]]]
    common: list[str]
    cc: str


def stm32_build(board: str, *, generated: Path = GENERATED, float_abi: str = "hard",
                compiler: str = "gcc", defines: Sequence[str] = (),
                runtime_dir: Path = RUNTIME, runtime_srcs: Sequence[Path] | None = None
                ) -> Stm32Build:
    chip, board_defines = stm32_chip(board)
    if float_abi not in FLOAT_ABIS:
        raise EmbBertError(f"float ABI {float_abi!r}: use one of {', '.join(FLOAT_ABIS)}")
    cmsis = require_vendor() / "cmsis"
    build_flags, src_flags = pio_env_flags(chip.pio_env, generated)
    if float_abi == "soft":
        build_flags = soft_float(build_flags)
    machine = [f"-mcpu={chip.cpu}"] + [f for f in build_flags if f.startswith("-m")]
    defs = [f"-D{chip.series}", f"-D{chip.device}", f"-DF_CPU={chip.f_cpu}L",
            *(f"-D{d}" for d in (*board_defines, *defines))]
    vendor_inc = [f"-I{cmsis / f'cmsis_device_{chip.family}' / 'Include'}",
                  f"-I{cmsis / 'cmsis_core' / 'Include'}"]
    base = STM32CUBE_CCFLAGS + [f for f in build_flags if not f.startswith(("-m", "-L"))]
    common = [*machine, *defs]
    if compiler == "gcc":
        cc = "arm-none-eabi-gcc"
    elif compiler == "clang":
        # clang's driver for bare-metal Arm, with Debian's newlib headers; it warns about
        # -nostdlib at compile time, which is what PlatformIO passes
        cc = CLANG
        common = ["--target=arm-none-eabi", "-nostdlibinc", "-isystem", str(NEWLIB_ARM),
                  "-Wno-unused-command-line-argument", *common]
    else:
        raise EmbBertError(f"compiler {compiler!r}: use gcc or clang")
    device_src = cmsis / f"cmsis_device_{chip.family}" / "Source" / "Templates"
    rt = (list(runtime_srcs) if runtime_srcs is not None
          else runtime_sources(runtime_dir, _board_kernels(chip.board)))
    groups = [
        (firmware_sources("stm32"), base + src_flags + vendor_inc),
        (rt, base + library_flags() + RUNTIME_WARN),
        (sorted(generated.glob("*.c")), base + library_flags() + ["-Wall", "-Wextra", "-Werror"]),
        ([device_src / f"system_stm32{chip.family}xx.c"], base + vendor_inc),
    ]
    return Stm32Build(chip, float_abi, compiler, groups, common, cc)


def _board_kernels(board: str) -> str:
    from .boards import load_board
    return load_board(board).kernels


def compile_objects(build: Stm32Build | XtensaBuild, out_dir: Path) -> list[Path]:
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


def build_stm32(board: str, out: Path, *, generated: Path = GENERATED, float_abi: str = "hard",
                defines: Sequence[str] = (), runtime_dir: Path = RUNTIME,
                runtime_srcs: Sequence[Path] | None = None) -> Path:
    """The STM32 image of `board` linked by arm-none-eabi-gcc (skips work when up to date)."""
    require_tools("arm-none-eabi-gcc")
    _require_model(generated)
    b = stm32_build(board, generated=generated, float_abi=float_abi, defines=defines,
                    runtime_dir=runtime_dir, runtime_srcs=runtime_srcs)
    startup = (vendor_dir() / "cmsis" / f"cmsis_device_{b.chip.family}" / "Source" /
               "Templates" / "gcc" / b.chip.startup)
    groups = [*b.groups, ([startup], [])]
    link = [*STM32CUBE_LINKFLAGS, f"-L{STM32_DIR}", f"-T{b.chip.ldscript}", *STM32CUBE_LIBS]
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, b.cc, groups, b.common, link)


def _require_model(generated: Path) -> None:
    if not (generated / "model_data.h").is_file():
        raise EmbBertError(f"no exported model in {generated} "
                           "(run: embbert-export model.pt --board <board>)")


@dataclass
class ImageSize:
    text: int   # flash: vectors, code, constants (the weights), init arrays
    data: int   # initialized RAM, also stored in flash
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


@dataclass
class XtensaBuild:
    compiler: str
    groups: list[tuple[list[Path], list[str]]]
    common: list[str]
    cc: str


def xtensa_build(compiler: str, sdkconfig_dir: Path, work: Path, *,
                 generated: Path = GENERATED, runtime_dir: Path = RUNTIME) -> XtensaBuild:
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
        (runtime_sources(runtime_dir, _board_kernels("esp32s3")),
         ["-std=c11", *NUMERICS, *warn, "-Wconversion", *ours]),
        (sorted(generated.glob("*.c")), ["-std=c11", *NUMERICS, *warn, *ours]),
    ]
    return XtensaBuild(compiler, groups, common, cc)


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
    from .boards import load_board
    from .export.exporter import export

    try:
        gens = {}
        for board in [*STM32, "esp32s3"]:
            gens[board] = args.out / board / "generated"
            res, _ = export(args.model, load_board(board), gens[board])
            if not res.report["fits"]:
                raise EmbBertError(f"{args.model} does not fit {board}:\n{res.table}")
        print("compile matrix (firmware + glue + runtime + model, -Werror)")
        for board in STM32:
            for fa in FLOAT_ABIS:
                for comp in ("gcc", "clang"):
                    b = stm32_build(board, generated=gens[board], float_abi=fa, compiler=comp)
                    n = len(compile_objects(b, args.out / board / f"obj-{fa}-{comp}"))
                    print(f"  {STM32[board].cpu:10} {board:14} {fa:4} float  {b.cc:18} "
                          f"{n} files OK")
        sdk, _ = esp32s3_sdkconfig(args.out / "esp32s3" / "sdkconfig")
        for comp in XTENSA_COMPILERS:
            b = xtensa_build(comp, sdk, args.out / "esp32s3", generated=gens["esp32s3"])
            n = len(compile_objects(b, args.out / "esp32s3" / f"obj-{comp}"))
            abi = "hard" if comp == "clang" else "soft"
            print(f"  {'xtensa':10} {'esp32s3':14} {abi:4} float  {b.cc:18} {n} files OK")
        print("\nlinked images (bytes)           text     data      bss    flash use     RAM use")
        for board in STM32:
            weights = json.loads((gens[board] / "export_report.json").read_text())["flash_bytes"]
            for fa in FLOAT_ABIS:
                s = image_size(build_stm32(board, args.out / board / f"fw-{fa}.elf",
                                           generated=gens[board], float_abi=fa))
                b = load_board(board)
                _size_row(board, fa, s, b.flash_bytes, STM32[board].ram_bytes, weights)
        # the emulated boards' images, from the F446's export (same model bytes)
        from .cbuild import build_mps2
        gen = gens["nucleo-f446re"]
        weights = json.loads((gen / "export_report.json").read_text())["flash_bytes"]
        for board in ("qemu-stm32f4", "qemu-m4", "qemu-m7"):
            elf = args.out / board / "fw.elf"
            if board in STM32_EMULATED:
                build_stm32(board, elf, generated=gen)
            else:
                build_mps2(board, elf, generated_dir=gen)
            b = load_board(board)
            _size_row(board, "hard", image_size(elf), b.flash_bytes, b.sram_bytes, weights)
    except EmbBertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
