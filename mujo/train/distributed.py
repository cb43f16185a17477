"""torch.distributed helpers: the process group from torchrun's environment, reductions, DDP wrapping."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly single-process) job; the reductions are no-ops alone."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only rank that writes metrics and checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def all_sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sum of `values` over all ranks (float64, so counts stay exact)."""
        if not self.active:
            return [float(v) for v in values]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on any rank (e.g. a stop request seen by rank 0 only)."""
        return bool(self.all_sum([1.0 if flag else 0.0])[0] > 0)

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def params_in_sync(self, module: nn.Module) -> bool:
        """Whether every rank holds bit-identical parameters (rank 0's are broadcast and compared; once, at the
        end of a run)."""
        if not self.active:
            return True
        with torch.no_grad():
            mine = torch.cat([p.detach().flatten() for p in module.parameters()])
            theirs = mine.clone()
            dist.broadcast(theirs, src=0)
            return not self.any(not torch.equal(mine, theirs))


LOCAL = DistContext()


def launched_by_torchrun() -> bool:
    """True in a process started by torchrun (or torch.distributed.run) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_from_env(backend: str = "gloo") -> DistContext:
    """Join the process group torchrun describes in the environment (gloo: CPU); LOCAL when not under torchrun.

    Idempotent: a process whose group is already initialised gets its context back.
    """
    if not launched_by_torchrun():
        return LOCAL
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size())


def shutdown(ctx: DistContext) -> None:
    """Leave the process group (call once at the end of a torchrun job, after the DDP wrapper is dropped).

    A DDP reducer left for the interpreter's final clean-up can still hold gloo work whose destruction then needs
    the GIL of a dying interpreter (SIGABRT at exit): collect such cycles while everything is alive.
    """
    if ctx.active and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def wrap(module: nn.Module, ctx: DistContext) -> nn.Module:
    """DistributedDataParallel around `module` when several processes run, else the module itself.

    Parameters are broadcast from rank 0 by DDP's constructor, so all ranks start from the same weights.
    """
    if not ctx.active:
        return module
    return nn.parallel.DistributedDataParallel(module)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or the module itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module
