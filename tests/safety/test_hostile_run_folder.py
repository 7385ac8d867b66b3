"""A run folder someone sends you never runs its own code: not through any entry point, whatever run.json says.

The hostile folder's ``run.json`` says ``"trust_remote_code": true`` and its model (and base model)
``config.json`` / ``tokenizer_config.json`` map to ``evil.py``, which creates a marker file when imported.
Consent comes only from the user (an option on this command, a box ticked now, or a choice remembered in
this user's settings folder); the refusal says how to allow it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import make_tiny_dataset, make_tiny_llama

REPO = Path(__file__).resolve().parents[2]
EVIL = (
    "from pathlib import Path\nPath({marker!r}).write_text('ran')\nfrom transformers import LlamaConfig as EvilConfig\n"
)


def _poison(folder: Path, marker: Path) -> None:
    """Make a model folder ask transformers to import its own evil.py."""
    (folder / "evil.py").write_text(EVIL.format(marker=str(marker)))
    for name in ("config.json", "tokenizer_config.json"):
        path = folder / name
        data = json.loads(path.read_text()) if path.exists() else {}
        data["auto_map"] = {
            "AutoConfig": "evil.EvilConfig",
            "AutoModelForCausalLM": "evil.EvilConfig",
            "AutoTokenizer": ["evil.EvilConfig", None],
        }
        path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("hostile")
    marker = root / "MARKER"
    base = make_tiny_llama(root / "base")
    _poison(base, marker)
    runs = {}
    for method in ("full", "lora"):
        run = root / f"run-{method}"
        run.mkdir()
        if method == "full":
            make_tiny_llama(run / "model")
            _poison(run / "model", marker)
        else:
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM

            clean = make_tiny_llama(root / "clean")
            lora = get_peft_model(
                AutoModelForCausalLM.from_pretrained(clean), LoraConfig(r=2, target_modules=["q_proj"])
            )
            lora.save_pretrained(run / "adapter")
        record = {
            "status": "finished",
            "config": {"method": method},
            "model": {"source": "local", "name_or_path": str(base), "trust_remote_code": True},
        }
        (run / "run.json").write_text(json.dumps(record))
        runs[method] = run
    data = make_tiny_dataset(root / "data", n=4, val=1, test=2)
    mmlu = root / "mmlu"
    mmlu.mkdir()
    for part in ("dev", "test"):
        source = shared_data / "mmlu" / f"global_facts_{part}.csv"
        rows = list(csv.reader(open(source, encoding="utf-8", newline="")))[:3]
        with open(mmlu / source.name, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    return {"root": root, "marker": marker, "runs": runs, "base": base, "data": data, "mmlu": mmlu}


def _refused(code: int, err: str, marker: Path) -> None:
    assert not marker.exists(), "the run folder's code ran"
    assert code == 2, err
    errors = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ships its own Python code" in errors[0], err
    assert "--trust-remote-code" in errors[0] and "Trust remote code for this model" in errors[0]


CLI_LOAD_PATHS = {  # each command that loads a run folder's model, with the hostile run as {run}
    "evaluate": ["evaluate", "--run", "{run}", "--data", "{data}", "--max-new-tokens", "2", "--out", "{out}/e.json"],
    "benchmark": ["benchmark", "mmlu", "--run", "{run}", "--data", "{mmlu}", "--shots", "0", "--out", "{out}/b.json"],
    "train": ["train", "--model", "{run}", "--data", "{data}", "--max-steps", "1", "--out", "{out}/new-run"],
}


@pytest.mark.parametrize("method", ["full", "lora"])
@pytest.mark.parametrize("command", list(CLI_LOAD_PATHS))
def test_cli_on_a_hostile_run_runs_no_code(hostile, command, method, tmp_path, ift_cli):
    places = {"run": hostile["runs"][method], "data": hostile["data"], "mmlu": hostile["mmlu"], "out": tmp_path}
    code, _, err = ift_cli(*(a.format(**places) for a in CLI_LOAD_PATHS[command]))
    _refused(code, err, hostile["marker"])


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gui_load_paths_of_a_hostile_run_run_no_code(hostile, method, tmp_path):
    """The core functions the Evaluate, Playground, Data and Train pages call with a run folder."""
    from ift_desktop.core.errors import UserError
    from ift_desktop.core.evaluation.pairing import run_evaluations
    from ift_desktop.core.models import ModelSpec, load_model
    from ift_desktop.core.training import run_training
    from ift_desktop.core.training.resumable import load_resumable
    from ift_desktop.ui.pages.data.jobs import load_tokenizer_for
    from ift_desktop.ui.pages.playground.jobs import load_tokenizer_info

    run = hostile["runs"][method]
    with pytest.raises(UserError, match="ships its own Python code"):
        run_evaluations(
            jobs=[("tuned", str(run))],
            data_dir=str(hostile["data"]),
            split="test",
            limit=1,
            max_new_tokens=2,
            paths={"tuned": tmp_path / "t.json"},
        )
    with pytest.raises(UserError, match="ships its own Python code"):
        load_model(ModelSpec.parse(str(run)))
    with pytest.raises(UserError, match="ships its own Python code"):
        load_tokenizer_for(str(run))
    with pytest.raises(UserError, match="ships its own Python code"):
        load_tokenizer_info(str(run))
    from ift_desktop.core.training import TrainConfig

    with pytest.raises(UserError, match="ships its own Python code"):
        run_training(
            TrainConfig(max_steps=1),
            data_dir=hostile["data"],
            model=ModelSpec.parse(str(run)),
            out_dir=tmp_path / "gui-run",
        )
    if method == "full":  # a resumable copy: the Train page's "Continue run" reads the model from run.json
        copy = tmp_path / "resumable"
        (copy / "checkpoints" / "checkpoint-1").mkdir(parents=True)
        (copy / "checkpoints" / "checkpoint-1" / "trainer_state.json").write_text("{}")
        record = json.loads((run / "run.json").read_text()) | {
            "status": "stopped",
            "data": {"dir": str(hostile["data"])},
        }
        (copy / "run.json").write_text(json.dumps(record))
        resumable = load_resumable(copy)
        assert resumable.model.trust_remote_code is False
        with pytest.raises(UserError, match="ships its own Python code"):
            run_training(
                resumable.config, data_dir=resumable.data_dir, model=resumable.model, out_dir=copy, resume=True
            )
    assert not hostile["marker"].exists()


def test_the_users_consent_on_the_command_line_does_run_it(hostile, tmp_path):
    """The control: the same folder with --trust-remote-code does import evil.py (so the checks above can fail)."""
    marker = hostile["marker"]
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_MODULES_CACHE=str(tmp_path / "modules"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ift_desktop",
            "evaluate",
            "--run",
            str(hostile["runs"]["full"]),
            "--trust-remote-code",
            "--data",
            str(hostile["data"]),
            "--max-new-tokens",
            "2",
            "--limit",
            "1",
            "--out",
            str(tmp_path / "e.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert marker.exists(), result.stderr
    marker.unlink()


def test_a_remembered_choice_lives_outside_the_run_folder(hostile, tmp_path, monkeypatch):
    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.models.consent import forget_trusted, remember_trusted, remote_code_allowed
    from ift_desktop.core.paths import config_dir

    run = ModelSpec.parse(str(hostile["runs"]["full"]))
    assert not remote_code_allowed(run)
    remember_trusted(run)
    assert remote_code_allowed(ModelSpec.parse(str(hostile["runs"]["full"])))
    store = config_dir() / "trusted-model-code.json"
    assert store.is_file() and hostile["root"] not in store.parents
    forget_trusted(run)
    assert not remote_code_allowed(run)


def test_the_train_page_box_is_the_remembered_choice(hostile, qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.models.consent import remote_code_allowed
    from ift_desktop.ui.pages.train.pickers import ModelPicker

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    run = str(hostile["base"])  # a model folder whose config.json maps to evil.py
    picker = ModelPicker(settings)
    qtbot.addWidget(picker)
    picker.select(run)
    assert not picker.trust_remote_code.isChecked()  # nothing in the folder ticks it
    picker.trust_remote_code.setChecked(True)
    assert remote_code_allowed(ModelSpec.parse(run))
    again = ModelPicker(settings)
    qtbot.addWidget(again)
    again.select(run)
    assert again.trust_remote_code.isChecked() and again.spec().trust_remote_code
    again.trust_remote_code.setChecked(False)
    assert not remote_code_allowed(ModelSpec.parse(run))
