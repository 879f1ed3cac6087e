"""EmbBERT-Q toolchain: train in PyTorch, export packed int8 C, verify on the device."""

__version__ = "0.1.0"
