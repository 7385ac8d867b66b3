"""Pause / stop agreed by every rank of a launched run.

In a run on several processes only rank 0 reads the user's requests (the control file, Ctrl-C).
If each rank decided alone, one would stop or pause at step k and another at k+1, and the second
would wait forever in the next gradient all-reduce. So rank 0's requests are broadcast to all ranks
once per optimizer step (:class:`RankSyncCallback`, one tiny collective), and every rank's
:class:`RankSyncedControl` answers with that agreed state. While paused the ranks keep exchanging
the state a few times a second, so a long pause never runs into the process-group timeout.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from ..atomic import atomic_directory
from .callbacks import TrainingControl
from .ranks import is_launched, is_main_process


def _distributed_ready() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def sum_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """``value`` added up over every rank (itself in a one-process run). A collective: the Trainer
    logs at the same steps on every rank, so it is called there together."""
    if not _distributed_ready():
        return value
    import torch.distributed as dist

    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


class RankSyncedControl(TrainingControl):
    """A ``TrainingControl`` whose answers are the state rank 0 broadcast at the last step end.

    Requests (``request_stop`` etc.) go to ``local`` — only rank 0's local requests count."""

    def __init__(self, local: TrainingControl | None = None):
        super().__init__()
        self.local = local or TrainingControl()
        self._agreed_stop = False
        self._agreed_pause = False

    def request_stop(self) -> None:
        self.local.request_stop()

    def request_pause(self) -> None:
        self.local.request_pause()

    def request_resume(self) -> None:
        self.local.request_resume()

    def stop_requested(self) -> bool:
        return self._agreed_stop

    def is_paused(self) -> bool:
        return self._agreed_pause and not self._agreed_stop

    def wait_while_paused(self, timeout: float = 0.1) -> bool:
        time.sleep(timeout)
        self.sync()
        return not self.is_paused()

    def sync(self) -> None:
        """Broadcast rank 0's requests to every rank (a collective: every rank calls it together)."""
        if not _distributed_ready():
            self._agreed_stop, self._agreed_pause = self.local.stop_requested(), self.local.is_paused()
            return
        import torch.distributed as dist

        device = (
            torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
        )
        flags = torch.tensor(
            [int(self.local.stop_requested()), int(self.local.is_paused())] if is_main_process() else [0, 0],
            dtype=torch.int32,
            device=device,
        )
        dist.broadcast(flags, src=0)
        self._agreed_stop, self._agreed_pause = bool(flags[0].item()), bool(flags[1].item())


class RankSyncCallback(TrainerCallback):
    """Runs after the event bridge at each step end: agree on rank 0's requests for the next one."""

    def __init__(self, control: RankSyncedControl):
        self.control = control

    def on_step_end(self, args, state, control, **kwargs):
        self.control.sync()
        return control


def save_sharded_artifact(trainer, tokenizer, target: Path) -> bool:
    """FSDP / DeepSpeed: every rank helps gather the full weights and rank 0 writes them (the
    Trainer's ``save_model`` does both), then rank 0 swaps them into ``target`` with the tokenizer.
    Returns False when the model is not sharded: then rank 0 saves its own complete copy."""
    if not (getattr(trainer, "is_fsdp_enabled", False) or getattr(trainer, "is_deepspeed_enabled", False)):
        return False
    staging = target.parent / f".{target.name}.gathered"
    trainer.save_model(str(staging))  # a collective; only rank 0 writes
    if is_main_process():
        with atomic_directory(target) as tmp:
            shutil.copytree(staging, tmp, dirs_exist_ok=True)
            tokenizer.save_pretrained(tmp)
        shutil.rmtree(staging, ignore_errors=True)
    return True


def control_for_this_process(local: TrainingControl) -> tuple[TrainingControl, list]:
    """The control and extra Trainer callbacks for this process: ``local`` itself in a one-process
    run; an agreed control and its sync callback in a launched run."""
    if not is_launched():
        return local, []
    synced = RankSyncedControl(local)
    return synced, [RankSyncCallback(synced)]
