"""The boards that cannot be flashed here, compiled and linked offline against the vendored
CMSIS / ESP-IDF files (../shared/vendor): the STM32 Nucleo firmware with PlatformIO's flags,
hard and soft float, by gcc and clang; the Nucleo images linked and measured against the
boards' memories; the ESP32-S3 glue, firmware and runtime by clang-22's Xtensa backend and
xtensa-lx106-elf-gcc; sdkconfig.defaults through IDF's kconfgen."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest
from embbert import crossbuild as X
from embbert.boards import load_board
from embbert.paths import vendor_dir

from .conftest import REPO, run_cli
from .fake_firmware import missing_tools

MODEL = REPO / "models" / "sst2.pt"
MISSING = missing_tools("arm-none-eabi-gcc", X.CLANG, "xtensa-lx106-elf-gcc")
pytestmark = [
    pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} "
                       "(tools/install_system_deps.sh)"),
    pytest.mark.skipif(not (vendor_dir() / "cmsis").is_dir(),
                       reason=f"no vendored CMSIS/ESP-IDF in {vendor_dir()}"),
]
NUCLEOS = X.stm32_boards()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """The bundled SST-2 model exported for each Nucleo board and for esp32s3."""
    root = tmp_path_factory.mktemp("xexport")
    out = {}
    for board in [*NUCLEOS, "esp32s3"]:
        out[board] = root / board
        run_cli("embbert-export", MODEL, "--board", board, "--out", out[board], "--no-check",
                env={"OMP_NUM_THREADS": "1"})
    return out


def _arm_attributes(obj: Path) -> str:
    return subprocess.run(["arm-none-eabi-readelf", "-A", str(obj)], capture_output=True,
                          text=True, check=True).stdout


def _elf_machine(obj: Path) -> int:
    head = obj.read_bytes()[:20]
    assert head[:4] == b"\x7fELF"
    return struct.unpack_from("<H", head, 18)[0]


def test_platformio_nucleo_envs_are_hard_float_in_compile_and_link():
    assert NUCLEOS == ["nucleo-f446re", "nucleo-h743zi"]
    for board in NUCLEOS:
        b = load_board(board)
        flags, _ = X.pio_env_flags(b.pio_env, REPO / "firmware" / "generated")
        float_flags = [f for f in flags if f.startswith(("-mfloat-abi=", "-mfpu="))]
        assert float_flags == ["-mfloat-abi=hard", f"-mfpu={b.fpu}"]
        # the offline builds use the board file's machine flags: the same float ABI
        assert [f for f in b.build.machine if f in float_flags] == float_flags
    from platformio.project.config import ProjectConfig

    cfg = ProjectConfig(str(REPO / "platformio.ini"), parse_extra=False)
    for board in NUCLEOS:
        env = f"env:{load_board(board).pio_env}"
        assert "post:firmware/platform/stm32/pio_link_float_abi.py" in cfg.get(env,
                                                                                "extra_scripts")
        assert "@" in cfg.get(env, "platform")  # pinned version
    assert "@" in cfg.get("env:esp32s3", "platform")


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize("float_abi", X.FLOAT_ABIS)
@pytest.mark.parametrize("board", NUCLEOS)
def test_stm32_firmware_and_runtime_compile_with_werror(board, float_abi, compiler, exported,
                                                        tmp_path):
    build = X.stm32_build(board, generated=exported[board], float_abi=float_abi,
                          compiler=compiler)
    objs = X.compile_objects(build, tmp_path)
    names = {o.stem for o in objs}
    # the board's optimized kernels replaced the portable ones; the glue and CMSIS are there
    assert {"cortexm-ebq_silu", "stm32-clock_stm32", "stm32-uart_stm32"} <= names
    assert "ref-ebq_silu" not in names and any(n.startswith("Templates-system_stm32")
                                                 for n in names)
    attrs = _arm_attributes(tmp_path / "cortexm-ebq_silu.o")
    assert "Tag_CPU_arch: v7E-M" in attrs
    assert ("Tag_ABI_VFP_args: VFP registers" in attrs) == (float_abi == "hard"), attrs


@pytest.mark.parametrize("float_abi", X.FLOAT_ABIS)
@pytest.mark.parametrize("board", NUCLEOS)
def test_nucleo_images_link_and_fit_the_board(board, float_abi, exported, tmp_path):
    b = load_board(board)
    elf = X.build_stm32(board, tmp_path / "fw.elf", generated=exported[board],
                        float_abi=float_abi)
    size = X.image_size(elf)
    report = json.loads((exported[board] / "export_report.json").read_text())
    weights = report["flash_bytes"]
    ram = b.extra["data_ram_bytes"]
    print(f"{board} {float_abi}: text {size.text} data {size.data} bss {size.bss}; flash "
          f"{size.flash}/{b.flash_bytes}, RAM {size.ram}/{ram}")
    assert weights < size.text  # the model is in the image
    assert size.flash <= b.flash_bytes
    assert size.ram <= ram
    assert size.bss >= report["arena_bytes"]
    # the board file's code reserve covers what the firmware and runtime really take
    assert size.flash - weights <= b.reserved_flash_bytes


def test_nucleo_image_without_the_model_is_refused(tmp_path):
    from embbert.errors import EmbBertError

    with pytest.raises(EmbBertError, match="no exported model"):
        X.build_stm32("nucleo-f446re", tmp_path / "fw.elf", generated=tmp_path)


@pytest.fixture(scope="module")
def sdkconfig(tmp_path_factory) -> tuple[Path, str]:
    return X.esp32s3_sdkconfig(tmp_path_factory.mktemp("sdkconfig"))


def test_sdkconfig_defaults_give_what_the_firmware_relies_on(sdkconfig):
    out, log = sdkconfig
    assert "unknown kconfig symbol" not in log and "was replaced with" not in log, log
    v = X.sdkconfig_values(out / "sdkconfig")
    assert v["CONFIG_IDF_TARGET"] == "esp32s3"
    assert v["CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ"] == "240"
    assert v["CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG"] == "y"  # UART0 carries only the protocol
    assert v.get("CONFIG_ESP_CONSOLE_UART_DEFAULT", "n") == "n"
    assert v["CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0"] == "n"
    assert v["CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU1"] == "n"
    assert v["CONFIG_ESPTOOLPY_FLASHSIZE"] == "8MB"
    assert v["CONFIG_PARTITION_TABLE_CUSTOM"] == "y"
    table = REPO / v["CONFIG_PARTITION_TABLE_CUSTOM_FILENAME"]
    assert table == X.ESP32S3_DIR / "partitions.csv" and table.is_file()
    header = (out / "sdkconfig.h").read_text()
    assert "#define CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ 240" in header


def test_esp32s3_app_partition_holds_the_largest_accepted_model():
    b = load_board("esp32s3")
    app = X.app_partition_bytes()
    firmware = b.extra["firmware_flash_bytes"]
    assert b.flash_capacity() == app - firmware  # what the exporter accepts, exactly
    assert 0x10000 + app <= b.flash_bytes  # the partition ends within the 8 MB flash


def test_exporter_refuses_a_model_over_the_partition(exported):
    """The export of the bundled model records its flash bytes; the board's capacity is the
    partition minus the firmware, so the exporter's fit check is the partition's."""
    rep = json.loads((exported["esp32s3"] / "export_report.json").read_text())
    assert rep["fits"] and rep["flash_bytes"] <= load_board("esp32s3").flash_capacity()


@pytest.mark.parametrize("compiler", X.XTENSA_COMPILERS)
def test_esp32s3_glue_firmware_and_runtime_compile(compiler, sdkconfig, exported, tmp_path):
    build = X.xtensa_build(compiler, sdkconfig[0], tmp_path, generated=exported["esp32s3"])
    # the IDF component (glue, firmware core) in gnu17, the runtime and the model in C11
    assert all("-std=gnu17" in f for _, f in build.groups[:2])
    assert all("-std=c11" in f for _, f in build.groups[2:])
    objs = X.compile_objects(build, tmp_path / "obj")
    stems = {o.stem for o in objs}
    assert {"esp32s3-uart_esp32s3", "esp32s3-platform_esp32s3", "ref-ebq_exp"} <= stems
    assert any(s.endswith("-model_data") for s in stems)
    assert {_elf_machine(o) for o in objs} == {94}  # EM_XTENSA
