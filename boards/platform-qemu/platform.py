"""PlatformIO platform class for the local QEMU mps2 platform (no packages to install)."""

from platformio.public import PlatformBase


class EmbbertqemuPlatform(PlatformBase):
    def is_embedded(self):
        return True
