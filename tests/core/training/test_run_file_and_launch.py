"""The run file, the global batch shared by N processes, and the launch texts (accelerate config,
launch command, torchrun, Slurm) — checked for what they contain. No model is loaded."""

from __future__ import annotations

import json
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ift_desktop.core.errors import TrainingError
from ift_desktop.core.models.spec import ModelSpec
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.launch import (
    accelerate_config_text,
    available_strategies,
    describe_split,
    launch_command,
    per_process_config,
    slurm_script,
    split_global_batch,
    torchrun_command,
    write_cluster_files,
)
from ift_desktop.core.training.run_file import RunFile, write_run_file


@pytest.fixture
def run_file(tmp_path) -> RunFile:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("")
    model = ModelSpec("hub", "org/model", trust_remote_code=True)  # the user ticked it on this machine
    return RunFile(TrainConfig(batch_size=4, grad_accum=2, max_steps=10), model, data, processes=2)


def test_run_file_round_trips_and_never_carries_remote_code_consent(tmp_path, run_file):
    path = run_file.write(tmp_path / "launch.json")
    text = path.read_text()
    assert "trust_remote_code" not in text
    back = RunFile.read(path)
    assert back.config == run_file.config and back.model.name_or_path == "org/model"
    assert back.model.trust_remote_code is False and back.processes == 2 and back.strategy == "ddp"
    # a file that claims consent is not believed
    data = json.loads(text)
    data["model"]["trust_remote_code"] = True
    path.write_text(json.dumps(data))
    assert RunFile.read(path).model.trust_remote_code is False


def test_a_run_folder_is_a_run_file_too(tmp_path, run_file):
    run = tmp_path / "run"
    run.mkdir()
    record = {"config": per_process_config(run_file.config, 2).to_dict(), "model": run_file.model.to_dict(),
              "data": {"dir": str(run_file.data_dir)}, "launch": {"processes": 2, "global_batch": 8}}  # fmt: skip
    (run / "run.json").write_text(json.dumps(record))
    back = RunFile.read(run)  # no launch.json: run.json, with the user's global batch restored
    assert back.config.batch_size * back.config.grad_accum == 8 and back.model.trust_remote_code is False
    write_run_file(run, run_file)
    assert RunFile.read(run).config == run_file.config  # launch.json wins when present


@pytest.mark.parametrize(
    "content, fragment",
    [(None, "does not exist"), ("{not json", "not valid JSON"), ('{"config": {}}', "lacks model, data"),
     ('{"config": {"batch_size": 0}, "model": {"source": "builtin", "name_or_path": "builtin"}, "data": {"dir": "x"}}',
      "batch_size")],
)  # fmt: skip
def test_bad_run_files_say_what_and_where(tmp_path, content, fragment):
    path = tmp_path / "launch.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TrainingError, match=fragment) as info:
        RunFile.read(path)
    assert "launch.json" in str(info.value) and "\n" not in str(info.value)


@given(batch=st.integers(1, 16), accum=st.integers(1, 8), processes=st.integers(1, 8))
def test_the_global_batch_stays_the_users_choice(batch, accum, processes):
    total = batch * accum
    if total % processes:
        with pytest.raises(TrainingError, match="cannot be shared evenly"):
            split_global_batch(batch, accum, processes)
        return
    per_batch, per_accum = split_global_batch(batch, accum, processes)
    assert per_batch * per_accum * processes == total
    assert 1 <= per_batch <= batch  # never more memory per step than on one process


def test_split_examples_and_the_sentence_for_the_ui():
    assert split_global_batch(4, 1, 2) == (2, 1)
    assert split_global_batch(4, 4, 2) == (4, 2)
    assert split_global_batch(8, 1, 8) == (1, 1)
    config = TrainConfig(batch_size=4, grad_accum=2)
    assert "Global batch 8 stays as you set it: each of 2 processes takes batch 4 × accumulation 1" in describe_split(
        config, 2
    )
    assert per_process_config(config, 1) is config


def test_accelerate_config_for_each_strategy():
    ddp = accelerate_config_text(processes=2)
    assert "distributed_type: MULTI_GPU" in ddp and "num_processes: 2" in ddp and "use_cpu: false" in ddp
    assert "fsdp_config" not in ddp and "deepspeed_config" not in ddp
    fsdp = accelerate_config_text(processes=4, strategy="fsdp")
    assert "distributed_type: FSDP" in fsdp and "fsdp_use_orig_params: true" in fsdp
    deepspeed = accelerate_config_text(processes=4, strategy="deepspeed", grad_accum=3)
    assert "distributed_type: DEEPSPEED" in deepspeed and "zero_stage: 2" in deepspeed
    assert "gradient_accumulation_steps: 3" in deepspeed
    with pytest.raises(TrainingError):
        accelerate_config_text(processes=2, strategy="horovod")


def test_without_gpus_only_ddp_is_offered():
    offered = {s.key: s for s in available_strategies(gpus=0)}
    assert offered["ddp"].available and not offered["fsdp"].available and not offered["deepspeed"].available
    assert "GPU" in offered["fsdp"].why_not


def test_launch_command_torchrun_and_slurm_name_the_counts_and_files(tmp_path, run_file):
    run = tmp_path / "my run"
    write_run_file(run, run_file)
    with pytest.raises(TrainingError, match="global batch of 8 .* cannot be shared evenly by 12 processes"):
        write_cluster_files(run, nodes=3, gpus_per_node=4)
    written = write_cluster_files(run, nodes=2, gpus_per_node=4)
    assert (run / "accelerate.yaml").is_file() and written["slurm"].stat().st_mode & 0o100

    line = shlex.split(launch_command(run, processes=2))
    assert line[:2] == ["accelerate", "launch"]
    assert line[line.index("--config_file") + 1] == str((run / "accelerate.yaml").resolve())
    assert line[line.index("--num_processes") + 1] == "2"
    assert line[line.index("--config") + 1] == str((run / "launch.json").resolve())
    assert line[line.index("-m") + 1 : line.index("-m") + 3] == ["ift_desktop", "train"]

    torchrun = torchrun_command(run, nodes=2, gpus_per_node=4)
    assert "--nnodes 2" in torchrun and "--nproc_per_node 4" in torchrun and '"$MASTER_ADDR:$MASTER_PORT"' in torchrun

    script = written["slurm"].read_text()
    assert script == slurm_script(run, nodes=2, gpus_per_node=4)
    assert script.startswith("#!/bin/bash\n")
    for expected in ("#SBATCH --nodes=2", "#SBATCH --gpus-per-node=4", "#SBATCH --ntasks-per-node=1",
                     "--num_machines 2", "--num_processes 8", '--machine_rank "$SLURM_NODEID"',
                     f"export RUN_FILE={shlex.quote(str((run / 'launch.json').resolve()))}",
                     f"export ACCELERATE_CONFIG={shlex.quote(str((run / 'accelerate.yaml').resolve()))}",
                     "srun --kill-on-bad-exit=1"):  # fmt: skip
        assert expected in script, expected
    assert "launch.json" in written["launch"].read_text() and "torchrun" in written["launch"].read_text()
    with pytest.raises(TrainingError, match="at least 1 node"):
        slurm_script(run, nodes=0, gpus_per_node=4)


def test_the_slurm_script_is_valid_bash(tmp_path, run_file):
    import subprocess

    run = tmp_path / "run"
    write_run_file(run, run_file)
    script = write_cluster_files(run, nodes=2, gpus_per_node=2)["slurm"]
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
