"""A tokenizer handed back after counting is what the next load of the same files takes, once, and never a
tokenizer of files that changed since (the window freezes while one is built: spare_tokenizers.py)."""

from __future__ import annotations

import os
import shutil

from ift_desktop.core.models import ModelSpec, load_model, load_tokenizer, spare_tokenizers


def test_a_handed_back_tokenizer_is_taken_once_by_the_next_load_of_its_files(llama):
    spec = ModelSpec.parse(str(llama))
    counted = load_tokenizer(spec)
    assert load_tokenizer(spec) is not counted  # nothing handed back: every load builds its own
    spare_tokenizers.give_back(counted)
    loaded = load_model(spec)  # a run's load takes the spare instead of building one
    assert loaded.tokenizer is counted
    assert load_tokenizer(spec) is not counted  # taken: with one user at a time, never shared


def test_a_changed_tokenizer_file_is_never_served_from_the_spares(llama, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(llama, folder)
    spec = ModelSpec.parse(str(folder))
    counted = load_tokenizer(spec)
    spare_tokenizers.give_back(counted)
    config = folder / "tokenizer_config.json"
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the user edited it
    assert load_tokenizer(spec) is not counted


def test_the_spares_keep_the_latest_few(llama, tmp_path):
    specs = []
    for index in range(spare_tokenizers.MAX_SPARES + 1):
        shutil.copytree(llama, tmp_path / f"m{index}")
        specs.append(ModelSpec.parse(str(tmp_path / f"m{index}")))
    counted = [load_tokenizer(spec) for spec in specs]
    for tokenizer in counted:
        spare_tokenizers.give_back(tokenizer)
    assert load_tokenizer(specs[0]) is not counted[0]  # the oldest was dropped
    assert load_tokenizer(specs[-1]) is counted[-1]
