"""Console scripts. Each one catches EmbBertError and prints it as one line (exit 1)."""
