"""PlatformIO pre-script for the qemu_stm32f4 env: the F446's CMSIS startup file and SystemInit
from the vendored CMSIS files ($EMBBERT_VENDOR, else ../shared/vendor beside the project), and
their include folders. On the Nucleo envs the stm32cube framework supplies the same files."""

import os
import sys

Import("env")  # noqa: F821  (SCons builtin)

project = env.subst("$PROJECT_DIR")  # noqa: F821
vendor = os.environ.get("EMBBERT_VENDOR") or os.path.join(project, "..", "shared", "vendor")
cmsis = os.path.abspath(os.path.join(vendor, "cmsis"))
if not os.path.isdir(cmsis):
    sys.stderr.write(f"Error: vendored CMSIS files not found in {cmsis} "
                     "(set EMBBERT_VENDOR to the folder that holds cmsis/)\n")
    env.Exit(1)  # noqa: F821
device = os.path.join(cmsis, "cmsis_device_f4")
env.Append(CPPPATH=[os.path.join(device, "Include"),  # noqa: F821
                    os.path.join(cmsis, "cmsis_core", "Include")])
env.BuildSources("$BUILD_DIR/cmsis", os.path.join(device, "Source", "Templates"),  # noqa: F821
                 src_filter=["-<*>", "+<system_stm32f4xx.c>", "+<gcc/startup_stm32f446xx.s>"])
