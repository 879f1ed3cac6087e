"""Training in PyTorch: the pretraining corpus and loop, finetuning, fp32 evaluation."""
