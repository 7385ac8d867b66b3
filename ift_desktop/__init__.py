"""IFT Desktop: instruction fine-tuning of language models on one workstation."""

__version__ = "0.1.0"
