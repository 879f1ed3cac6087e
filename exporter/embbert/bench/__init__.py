"""embbert-bench: a device against its export, PyTorch and the quantized simulation."""
