"""Export a run for other programs: GGUF for llama.cpp / LM Studio with an Ollama Modelfile, checked
by reading the written file back (``gguf_export.export_gguf``). The adapter and merged-model exports
live in ``core/workspace/runs.py``. Nothing heavy is imported here; import the submodules."""
