#!/usr/bin/env bash
# Installs the Debian packages the toolchain needs, only when missing (idempotent).
# Cross compiler + newlib for the Cortex-M firmware, QEMU for the emulated boards; clang-22 (its
# Xtensa backend compiles the ESP32-S3 code) and the ESP8266 GCC (GCC's warnings on Xtensa) for
# the offline checks of the real boards (tests/test_crossbuild.py).
set -euo pipefail
need=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -e /usr/lib/arm-none-eabi/lib/libc.a ] \
  || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v clang-22 >/dev/null 2>&1 || need+=(clang-22)
# llvm-objdump reads the Xtensa objects for the ESP32-S3 estimate (embbert/perf/xtensa.py)
[ -x /usr/lib/llvm-22/bin/llvm-objdump ] || need+=(llvm-22)
command -v xtensa-lx106-elf-gcc >/dev/null 2>&1 || need+=(gcc-xtensa-lx106)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
