"""netcopilot: a networking copilot for chat, the terminal and HTTP."""

import os

# onnxruntime runs the sentence encoder on its own threads; OpenBLAS's worker threads (numpy's
# small matrix-vector products in ranking) then compete with them for the cores. Measured on
# 2 cores: 35 ms per answer with OpenBLAS's default threads, 19 ms with one. Set before numpy
# loads; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
