"""IFT Desktop: instruction fine-tuning of language models on one workstation."""

import os

__version__ = "0.1.0"

# oneDNN (torch's CPU kernels for bf16) keeps every primitive it builds, one per matrix shape, up to 1024:
# with every example a new length, a bf16 run's memory grew by ~0.3 GiB in 12 steps for them. 64 holds one
# pass's shapes (the layers reuse them), at the same speed (benchmarks/RESULTS.md). Read by oneDNN when it
# first builds one, so it is set here, before torch runs anything; a value the user set is kept.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
