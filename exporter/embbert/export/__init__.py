"""Export: the quantized model -> C sources, the arena plan and the format constants."""
