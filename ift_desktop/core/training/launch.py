"""Launching one run on several processes with an existing engine (accelerate / torchrun), and the
texts that start the same run by hand or on a cluster.

Nothing here schedules or communicates: ``accelerate launch`` (which runs ``torch.distributed.run``)
starts ``python -m ift_desktop train --config RUN_FILE --out RUN`` once per process, and the Hugging
Face Trainer speaks DDP, FSDP and DeepSpeed through accelerate.

Why the accelerate config says ``MULTI_GPU`` even on a CPU: ``accelerate launch --cpu`` (or a config
with ``distributed_type: MULTI_CPU``) goes through accelerate's "simple launcher", which starts
exactly ONE process unless MPI (``--mpirun_hostfile``) is set up — what DESIGN.md saw. ``MULTI_GPU``
makes accelerate start the ranks through ``torch.distributed.run``; on a machine without GPUs each
rank then picks the CPU and gloo by itself (measured here: two ranks, ``MULTI_CPU``, backend gloo).

The user's batch is the global batch: with N processes each one takes a share
(:func:`split_global_batch`), so the optimizer sees the same examples per step and the learning-rate
schedule (counted in optimizer steps) is the same as on one process.
"""

from __future__ import annotations

import importlib.util
import shlex
import socket
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import TrainingError
from .config import TrainConfig
from .run_file import RUN_FILE_NAME

ACCELERATE_CONFIG_NAME = "accelerate.yaml"
LAUNCH_SCRIPT_NAME = "launch.sh"
SLURM_SCRIPT_NAME = "slurm.sbatch"
DEFAULT_PORT = 29500


# ---------------------------------------------------------------------------- the global batch
def split_global_batch(batch_size: int, grad_accum: int, processes: int) -> tuple[int, int]:
    """Each process's ``(batch, accumulation)`` so that ``batch × accumulation × processes`` equals
    the user's ``batch_size × grad_accum``; each process's batch is as large as allowed, never
    larger than the user's batch (so no more memory per step than on one process).

    Raises :class:`TrainingError` when the global batch cannot be shared evenly."""
    total = batch_size * grad_accum
    if processes < 1:
        raise TrainingError(f"Processes is {processes}; it must be at least 1.")
    if total % processes:
        raise TrainingError(
            f"A global batch of {total} (batch {batch_size} × accumulation {grad_accum}) cannot be shared evenly by "
            f"{processes} processes; choose a batch × accumulation that {processes} divides (e.g. {_next_multiple(total, processes)})."
        )
    share = total // processes
    per_batch = max(d for d in range(1, min(batch_size, share) + 1) if share % d == 0)
    return per_batch, share // per_batch


def _next_multiple(value: int, factor: int) -> int:
    return ((value + factor - 1) // factor) * factor


def per_process_config(config: TrainConfig, processes: int) -> TrainConfig:
    """``config`` with each process's share of the global batch (the same config for 1 process)."""
    if processes <= 1:
        return config
    batch, accum = split_global_batch(config.batch_size, config.grad_accum, processes)
    return replace(config, batch_size=batch, grad_accum=accum)


def describe_split(config: TrainConfig, processes: int) -> str:
    """One sentence for the UI: how the global batch is shared."""
    total = config.batch_size * config.grad_accum
    if processes <= 1:
        return f"Global batch {total} (batch {config.batch_size} × accumulation {config.grad_accum})."
    batch, accum = split_global_batch(config.batch_size, config.grad_accum, processes)
    return (
        f"Global batch {total} stays as you set it: each of {processes} processes takes batch {batch} × "
        f"accumulation {accum}; same steps and learning-rate schedule."
    )


# ------------------------------------------------------------------------------ where to run
@dataclass(frozen=True)
class Strategy:
    key: str  # "ddp" | "fsdp" | "deepspeed"
    label: str
    available: bool
    why_not: str = ""


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup counts as no GPU
        return 0


def available_strategies(gpus: int | None = None) -> list[Strategy]:
    """DDP always (GPUs or CPU/gloo); FSDP and DeepSpeed ZeRO only with CUDA GPUs (and DeepSpeed installed)."""
    gpus = gpu_count() if gpus is None else gpus
    has_deepspeed = importlib.util.find_spec("deepspeed") is not None
    return [
        Strategy("ddp", "DDP (a full copy of the model per process)", True),
        Strategy("fsdp", "FSDP (model sharded across GPUs)", gpus > 0, "" if gpus else "needs CUDA GPUs"),
        Strategy(
            "deepspeed",
            "DeepSpeed ZeRO-2 (optimizer state sharded)",
            gpus > 0 and has_deepspeed,
            "needs CUDA GPUs" if not gpus else ("" if has_deepspeed else "DeepSpeed is not installed"),
        ),
    ]


# ---------------------------------------------------------------------------- accelerate config
def accelerate_config_text(*, processes: int, strategy: str = "ddp", grad_accum: int = 1, machines: int = 1) -> str:
    """The accelerate config YAML for ``processes`` ranks on ``machines`` machines."""
    distributed = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed": "DEEPSPEED"}.get(strategy)
    if distributed is None:
        raise TrainingError(f"Unknown way to share the model '{strategy}'; use ddp, fsdp or deepspeed.")
    lines = [
        "# Written by IFT Desktop. Start the run with:",
        f"#   accelerate launch --config_file {ACCELERATE_CONFIG_NAME} -m ift_desktop train --config {RUN_FILE_NAME} --out RUN",
        "# MULTI_GPU starts the ranks through torch.distributed.run; without GPUs they train on the CPU over gloo",
        "# (accelerate's --cpu / MULTI_CPU launcher would start only one process unless MPI is set up).",
        "compute_environment: LOCAL_MACHINE",
        f"distributed_type: {distributed}",
        f"num_machines: {machines}",
        "machine_rank: 0",
        f"num_processes: {processes}",
        "gpu_ids: all",
        "mixed_precision: 'no'  # the run's own precision setting applies (bf16 where supported)",
        "use_cpu: false",
        "rdzv_backend: static",
        "same_network: true",
        "main_training_function: main",
        "downcast_bf16: 'no'",
    ]
    if strategy == "fsdp":
        lines += [
            "fsdp_config:",
            "  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP",
            "  fsdp_sharding_strategy: FULL_SHARD",
            "  fsdp_state_dict_type: FULL_STATE_DICT",
            "  fsdp_use_orig_params: true",
            "  fsdp_offload_params: false",
            "  fsdp_sync_module_states: true",
            "  fsdp_cpu_ram_efficient_loading: true",
        ]
    elif strategy == "deepspeed":
        lines += [
            "deepspeed_config:",
            "  zero_stage: 2",
            f"  gradient_accumulation_steps: {grad_accum}",
            "  gradient_clipping: 1.0",
            "  offload_optimizer_device: none",
            "  offload_param_device: none",
            "  zero3_init_flag: false",
        ]
    return "\n".join(lines) + "\n"


def write_accelerate_config(run_dir: str | Path, *, processes: int, strategy: str, config: TrainConfig) -> Path:
    accum = per_process_config(config, processes).grad_accum
    text = accelerate_config_text(processes=processes, strategy=strategy, grad_accum=accum)
    return atomic_write_text(Path(run_dir) / ACCELERATE_CONFIG_NAME, text)


# ------------------------------------------------------------------------------------ commands
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def entry_arguments(run_file: str | Path, out_dir: str | Path) -> list[str]:
    """What each process runs after the launcher: the same entry point as a one-process run."""
    return ["-m", "ift_desktop", "train", "--config", str(run_file), "--out", str(out_dir)]


def accelerate_argv(
    *,
    accelerate_config: str | Path,
    run_file: str | Path,
    out_dir: str | Path,
    processes: int,
    port: int | None = None,
    python: str | None = None,
) -> list[str]:
    """``python -m accelerate.commands.launch ...`` for this machine (the app's own launcher)."""
    argv = [python or sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config),
            "--num_processes", str(processes), "--num_machines", "1"]  # fmt: skip
    if port:
        argv += ["--main_process_port", str(port)]
    return argv + entry_arguments(run_file, out_dir)


def launch_command(run_dir: str | Path, *, processes: int, out_dir: str | Path | None = None) -> str:
    """The one line the Runs page copies: start this run's file on ``processes`` local processes."""
    run_dir = Path(run_dir).resolve()
    out = Path(out_dir) if out_dir else _cluster_out(run_dir)
    argv = ["accelerate", "launch", "--config_file", str(run_dir / ACCELERATE_CONFIG_NAME),
            "--num_processes", str(processes)] + entry_arguments(run_dir / RUN_FILE_NAME, out)  # fmt: skip
    return shlex.join(argv)


def torchrun_command(run_dir: str | Path, *, nodes: int, gpus_per_node: int, out_dir: str | Path | None = None) -> str:
    run_dir = Path(run_dir).resolve()
    out = Path(out_dir) if out_dir else _cluster_out(run_dir)
    head = ["torchrun", "--nnodes", str(nodes), "--nproc_per_node", str(gpus_per_node)]
    if nodes > 1:
        head += ["--rdzv_backend", "c10d", "--rdzv_endpoint", "$MASTER_ADDR:$MASTER_PORT"]
    text = shlex.join(head + entry_arguments(run_dir / RUN_FILE_NAME, out))
    return text.replace("'$MASTER_ADDR:$MASTER_PORT'", '"$MASTER_ADDR:$MASTER_PORT"')


def _cluster_out(run_dir: Path) -> Path:
    return run_dir.parent / f"{run_dir.name}-cluster"


def slurm_script(
    run_dir: str | Path, *, nodes: int, gpus_per_node: int, out_dir: str | Path | None = None, cpus_per_task: int = 8
) -> str:
    """A Slurm batch script: one task per node, each running ``accelerate launch`` for its GPUs."""
    if nodes < 1 or gpus_per_node < 1:
        raise TrainingError(f"A cluster run needs at least 1 node and 1 GPU per node (got {nodes} × {gpus_per_node}).")
    run_dir = Path(run_dir).resolve()
    out = Path(out_dir) if out_dir else _cluster_out(run_dir)
    processes = nodes * gpus_per_node
    name = "ift-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in run_dir.name)[:40]
    launch = (
        'python -m accelerate.commands.launch --config_file "$ACCELERATE_CONFIG" '
        f'--num_machines {nodes} --num_processes {processes} --machine_rank "$SLURM_NODEID" '
        '--main_process_ip "$MASTER_ADDR" --main_process_port "$MASTER_PORT" '
        '-m ift_desktop train --config "$RUN_FILE" --out "$OUT"'
    )
    return "\n".join(
        [
            "#!/bin/bash",
            f"# IFT Desktop run {run_dir.name}: {nodes} node(s) × {gpus_per_node} GPU(s) = {processes} processes.",
            "# The global batch of the run file is kept: each process takes its share.",
            "# The run file, the dataset folder and OUT must be on a file system every node sees at the same path.",
            f"#SBATCH --job-name={name}",
            f"#SBATCH --nodes={nodes}",
            "#SBATCH --ntasks-per-node=1",
            f"#SBATCH --gpus-per-node={gpus_per_node}",
            f"#SBATCH --cpus-per-task={cpus_per_task}",
            f"#SBATCH --output={name}-%j.log",
            "set -euo pipefail",
            f"export RUN_FILE={shlex.quote(str(run_dir / RUN_FILE_NAME))}",
            f"export ACCELERATE_CONFIG={shlex.quote(str(run_dir / ACCELERATE_CONFIG_NAME))}",
            f"export OUT=${{OUT:-{shlex.quote(str(out))}}}",
            'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
            f"export MASTER_PORT=${{MASTER_PORT:-{DEFAULT_PORT}}}",
            f"srun --kill-on-bad-exit=1 bash -c {shlex.quote(launch)}",
            "",
        ]
    )


def launch_script(run_dir: str | Path, *, processes: int, nodes: int = 1, gpus_per_node: int = 1) -> str:
    """A shell script with both ways to start the run by hand: accelerate on this machine, torchrun on nodes."""
    return "\n".join(
        [
            "#!/bin/sh",
            "# Start this IFT Desktop run again by hand (a new run folder; the original is left as it is).",
            "# On this machine, with accelerate:",
            launch_command(run_dir, processes=processes),
            f"# Or with torchrun on {nodes} node(s) × {gpus_per_node} GPU(s) (set MASTER_ADDR / MASTER_PORT on every node):",
            "# " + torchrun_command(run_dir, nodes=nodes, gpus_per_node=gpus_per_node),
            "",
        ]
    )


def write_cluster_files(run_dir: str | Path, *, nodes: int, gpus_per_node: int) -> dict[str, Path]:
    """Write ``launch.sh`` and ``slurm.sbatch`` (and the run file and accelerate config when missing)."""
    from .run_file import RunFile, write_run_file

    run_dir = Path(run_dir)
    run_file = RunFile.read(run_dir)
    if not (run_dir / RUN_FILE_NAME).is_file():
        write_run_file(run_dir, run_file)
    processes = nodes * gpus_per_node
    split_global_batch(run_file.config.batch_size, run_file.config.grad_accum, processes)  # the run must fit
    if not (run_dir / ACCELERATE_CONFIG_NAME).is_file():
        write_accelerate_config(run_dir, processes=processes, strategy=run_file.strategy, config=run_file.config)
    written = {
        "launch": atomic_write_text(
            run_dir / LAUNCH_SCRIPT_NAME,
            launch_script(run_dir, processes=max(run_file.processes, 1), nodes=nodes, gpus_per_node=gpus_per_node),
        ),
        "slurm": atomic_write_text(
            run_dir / SLURM_SCRIPT_NAME, slurm_script(run_dir, nodes=nodes, gpus_per_node=gpus_per_node)
        ),
    }
    for path in written.values():
        path.chmod(0o755)
    return written
