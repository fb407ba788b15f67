"""Training with checkpoints: SGD with momentum, Adam, RMSProp, an optimiser switch, schedules, full batch.

[`train`][empirical.train.train] trains a model in place on tensors held in memory and returns a
[`TrainResult`][empirical.train.TrainResult]:

- optimisers ``sgd`` (momentum, default 0.9), ``adam`` (betas (0.9, 0.999)), ``adamw`` and ``rmsprop``,
  with weight decay; an optional switch to another optimiser (fresh state) at a chosen (fractional) epoch;
- learning-rate schedules ``constant``, ``multistep`` (×γ at each milestone epoch), ``cosine`` and ``linear``
  decay to 0, each with an optional linear warm-up;
- mini-batches reshuffled every epoch from a seeded generator, or full batch (``batch_size=None``);
- checkpoints ``init.pt``, ``epoch_0003.pt``, ``step_0000120.pt`` (numbers zero-padded to 4 and 7 digits) and
  ``final.pt`` (``torch.save`` of the state dict, written atomically; read back with
  [`load_checkpoint`][empirical.train.load_checkpoint], which uses
  ``weights_only=True``);
- a per-epoch log: mean training loss and accuracy over the epoch's batches, the learning rate, the weight
  distance from initialisation $\\|\\theta_t-\\theta_0\\|_2$ and its normalised form
  $\\|\\theta_t-\\theta_0\\|_2/\\|\\theta_0\\|_2$, optional held-out loss and accuracy;
- a non-finite training loss stops training at once with status ``"diverged"``; ``stop_if=(E, L)`` stops with
  status ``"stopped"`` when the mean loss is still above ``L`` after epoch ``E`` (the 2021 authors' early abort).

Runs are device-agnostic (``device="cuda"`` trains on the GPU); mixed precision is off unless ``amp=True``.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from mlitheory import weight_distance
from mlitheory.results import Result, atomic_write_bytes

__all__ = [
    "AUGMENTATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainResult",
    "crop_flip",
    "load_checkpoint",
    "loss_function",
    "lr_multiplier",
    "make_optimizer",
    "save_checkpoint",
    "train",
]

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "rmsprop")
AUGMENTATIONS: tuple[str, ...] = ("none", "crop-flip")
SCHEDULES: tuple[str, ...] = ("constant", "multistep", "cosine", "linear")
LOSSES: tuple[str, ...] = ("cross_entropy", "sse")


def _sse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each example's outputs, averaged over the batch (autoencoders)."""
    return (outputs - targets).pow(2).flatten(1).sum(1).mean()


def loss_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss called ``name``: ``"cross_entropy"`` (mean) or ``"sse"`` (per-example summed squared error, mean)."""
    table = {"cross_entropy": F.cross_entropy, "sse": _sse}
    if name not in table:
        raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")
    return table[name]


def make_optimizer(
    name: str,
    params,
    *,
    lr: float,
    momentum: float = 0.9,
    betas: Sequence[float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    rms_alpha: float = 0.99,
) -> torch.optim.Optimizer:
    """Build optimiser ``name`` (one of [`OPTIMIZERS`][empirical.train.OPTIMIZERS]) over ``params``."""
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr={lr!r}; use a positive finite learning rate")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=rms_alpha, eps=eps, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")


def lr_multiplier(
    schedule: str,
    epoch: float,
    total_epochs: float,
    *,
    milestones: Sequence[float] = (),
    gamma: float = 0.1,
    warmup_epochs: float = 0.0,
) -> float:
    """Learning-rate multiplier at (fractional) ``epoch`` of ``total_epochs``.

    ``constant``: 1; ``multistep``: $\\gamma^{\\#\\{m \\le \\text{epoch}\\}}$; ``cosine``:
    $\\tfrac12(1+\\cos(\\pi t/T))$; ``linear``: $1-t/T$. A warm-up multiplies by
    $\\min(1, \\text{epoch}/\\text{warmup})$.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(SCHEDULES)}")
    t = min(max(epoch / total_epochs, 0.0), 1.0) if total_epochs > 0 else 0.0
    mult = {
        "constant": 1.0,
        "multistep": gamma ** sum(1 for m in milestones if epoch >= m),
        "cosine": 0.5 * (1.0 + math.cos(math.pi * t)),
        "linear": 1.0 - t,
    }[schedule]
    if warmup_epochs > 0:
        mult *= min(1.0, epoch / warmup_epochs)
    return mult


def crop_flip(x: torch.Tensor, g: torch.Generator, *, pad: int = 4) -> torch.Tensor:
    """CIFAR augmentation on a batch ``(B, C, H, W)``: a random ``H × W`` crop of the image zero-padded by ``pad``,
    then a horizontal flip with probability 1/2; offsets and flips drawn from ``g`` (on the CPU)."""
    b, _, h, w = x.shape
    i = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(x.device)
    j = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(x.device)
    flip = (torch.rand(b, generator=g) < 0.5).to(x.device)
    xp = F.pad(x, (pad, pad, pad, pad))
    rows = (i[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (j[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    cols = torch.where(flip[:, None, None, None], cols.flip(-1), cols)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return xp[batch, chan, rows, cols]


# ---------------------------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, torch.Tensor]) -> Path:
    """Save a state dict with ``torch.save`` atomically (temporary file + rename); tensors go to the CPU."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in state.items()}, buf)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load a state dict saved by [`save_checkpoint`][empirical.train.save_checkpoint] (``torch.load(...,
    weights_only=True)``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is corrupt or does not hold a state dict (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise ValueError(
            f"checkpoint {path} is corrupt or not a torch state dict ({type(e).__name__}: {e}); "
            "delete the run folder's unfinished files and rerun"
        ) from e
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ValueError(f"checkpoint {path} does not hold a state dict of tensors (found {type(state).__name__})")
    return state


# ---------------------------------------------------------------------------------------------- training


@dataclasses.dataclass(frozen=True)
class TrainResult(Result):
    """What [`train`][empirical.train.train] did.

    Attributes:
        status: ``"finished"``, ``"diverged"`` (non-finite loss) or ``"stopped"`` (``stop_if`` triggered).
        epochs: epochs completed.
        steps: optimiser steps taken.
        log: one dict per epoch (``epoch``, ``step``, ``lr``, ``optimizer``, ``train_loss``, ``train_accuracy``,
            ``distance``, ``norm_distance``, ``seconds``, and ``test_loss``/``test_accuracy`` with eval data).
        final_loss: mean training loss of the last completed epoch (``inf`` if it diverged in the first).
        diverged_at_step: the step whose loss was not finite, or -1.
        checkpoints: checkpoint name (``"init"``, ``"epoch_0002"``, ``"step_0000100"``, ``"final"``) → file name.
        seconds: wall-clock time of training.
    """

    status: str
    epochs: int
    steps: int
    log: list
    final_loss: float
    diverged_at_step: int
    checkpoints: dict
    seconds: float

    def summary(self) -> str:
        last = self.log[-1] if self.log else {}
        return (
            f"TrainResult: {self.status} after {self.epochs} epochs / {self.steps} steps in {self.seconds:.1f} s; "
            f"final loss {self.final_loss:.4g}, accuracy {last.get('train_accuracy', float('nan')):.4f}, "
            f"distance from init {last.get('distance', float('nan')):.4g}; checkpoints {', '.join(self.checkpoints)}"
        )


def _save_resume(path: Path, state: dict) -> None:
    """The training state after an epoch, written atomically (``torch.save``)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_resume(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a torn or foreign file: say which and how to recover
        first = (str(e).strip().splitlines() or [""])[0]
        raise ValueError(
            f"training state {path} is corrupt or not ours ({type(e).__name__}: {first}); delete it to restart the run"
        ) from e
    missing = {"epoch", "step", "model", "init", "optimizer", "opt", "gen", "log"} - set(state)
    if missing:
        raise ValueError(f"training state {path} lacks {sorted(missing)}; delete it to restart the run")
    return state


def _params_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _evaluate(model, x, y, loss_fn, batch_size, classify) -> tuple[float, float]:
    was = model.training
    model.eval()
    tot = acc = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            out = model(xb)
            tot += float(loss_fn(out, yb)) * len(xb)
            if classify:
                acc += float((out.argmax(-1) == yb).sum())
    model.train(was)
    return tot / len(x), (acc / len(x) if classify else math.nan)


def train(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    *,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.9,
    betas: Sequence[float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    epochs: int = 1,
    batch_size: int | None = 128,
    schedule: str = "constant",
    milestones: Sequence[float] = (),
    gamma: float = 0.1,
    warmup_epochs: float = 0.0,
    switch_epoch: float | None = None,
    switch_optimizer: str | None = None,
    switch_lr: float | None = None,
    loss: str | Callable = "cross_entropy",
    seed: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_epochs: Sequence[int] = (),
    checkpoint_steps: Sequence[int] = (),
    eval_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    stop_if: tuple[int, float] | None = None,
    augment: str = "none",
    device: str | torch.device | None = None,
    amp: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    resume_path: str | os.PathLike | None = None,
    deadline: float | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``train_data``; checkpoints and a per-epoch log.

    Args:
        model: the network (its parameters are updated; it is moved to ``device``).
        train_data: ``(inputs, targets)`` tensors; integer targets are class labels (accuracy is logged).
        optimizer: one of [`OPTIMIZERS`][empirical.train.OPTIMIZERS].
        lr: base learning rate.
        momentum: SGD momentum.
        betas, eps: Adam(W) parameters (``eps`` also for RMSProp).
        weight_decay: L2 penalty coefficient passed to the optimiser.
        epochs: number of passes over the data.
        batch_size: mini-batch size; ``None`` or 0 for full-batch gradient descent (one step per epoch).
        schedule, milestones, gamma, warmup_epochs: learning-rate schedule (see
            [`lr_multiplier`][empirical.train.lr_multiplier]).
        switch_epoch: at this (fractional) epoch, continue with ``switch_optimizer`` (fresh state) at
            ``switch_lr`` (default: ``lr``).
        loss: a name in [`LOSSES`][empirical.train.LOSSES] or a callable ``loss(outputs, targets)`` returning a batch
            mean.
        seed: seed of the batch order.
        checkpoint_dir: where checkpoints go (none are written when ``None``).
        checkpoint_epochs: save after these epochs (``epoch_0003.pt`` after epoch 3).
        checkpoint_steps: save after these optimiser steps (``step_0000120.pt`` after step 120); step 0 is ``init.pt``.
        eval_data: held-out ``(inputs, targets)``: loss and accuracy logged each epoch.
        stop_if: ``(E, L)``: stop with status ``"stopped"`` if after an epoch ``> E`` the mean loss is ``> L``.
        augment: ``"none"`` or ``"crop-flip"`` ([`crop_flip`][empirical.train.crop_flip] on every training batch of
            images).
        device: training device (default: the model's).
        amp: automatic mixed precision (float16 with a gradient scaler on CUDA, bfloat16 on CPU).
        progress: show a tqdm bar.
        on_epoch: called with each log entry as it is made.
        resume_path: a file for the training state at the end of every epoch (model, optimiser, scaler, the
            batch-order generator, the log, the step): when it exists at the start, training continues from it, and
            the result is the same, bit for bit, as one uninterrupted call (deterministic kernels assumed).
        deadline: a ``time.time()`` value: after an epoch that ends past it, training stops with status
            ``"paused"`` (its state in ``resume_path``, which is then required); a later call resumes.

    Returns:
        A [`TrainResult`][empirical.train.TrainResult].
    """
    x, y = train_data
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"train_data: {len(x)} inputs and {len(y)} targets; need the same positive number")
    if epochs < 0:
        raise ValueError(f"epochs={epochs}; use a non-negative number")
    if switch_epoch is not None and switch_optimizer is None:
        raise ValueError("switch_epoch is set but switch_optimizer is not; name the optimiser to switch to")
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}; valid: {', '.join(AUGMENTATIONS)}")
    if augment != "none" and (x.dim() != 4 or y.is_floating_point()):
        raise ValueError(
            f"augment={augment!r} needs image inputs (N, C, H, W) with class labels; got inputs {tuple(x.shape)} "
            f"and {y.dtype} targets"
        )
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = torch.device(device)
    model.to(device)
    x, y = x.to(device), y.to(device)
    if eval_data is not None:
        eval_data = tuple(t.to(device) for t in eval_data)
    loss_fn = loss_function(loss) if isinstance(loss, str) else loss
    classify = not y.is_floating_point()
    n = len(x)
    bs = n if not batch_size else min(int(batch_size), n)
    n_batches = -(-n // bs)
    if n % bs == 1 and n_batches > 1:
        n_batches -= 1  # a last batch of one example breaks batch norm; drop it
    total_steps = epochs * n_batches
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    checkpoints: dict[str, str] = {}
    ckpt_steps = {int(s) for s in checkpoint_steps}
    ckpt_epochs = {int(e) for e in checkpoint_epochs}

    def checkpoint(name: str) -> None:
        if ckpt_dir is not None:
            save_checkpoint(ckpt_dir / f"{name}.pt", model.state_dict())
            checkpoints[name] = f"{name}.pt"

    if deadline is not None and resume_path is None:
        raise ValueError("deadline needs resume_path: a paused training keeps its state there")
    resume_path = Path(resume_path) if resume_path is not None else None
    state = _load_resume(resume_path) if resume_path is not None and resume_path.is_file() else None
    if state is not None:
        model.load_state_dict(state["model"])
        init_state = {k: v.to(device) for k, v in state["init"].items()}
        checkpoints.update(state["checkpoints"])
    else:
        init_state = _params_state(model)
        checkpoint("init")
    opt_kw = dict(momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay)
    current, base_lr = optimizer, lr
    if state is not None:
        current, base_lr = state["optimizer"], float(state["base_lr"])
    opt = make_optimizer(current, model.parameters(), lr=base_lr, **opt_kw)
    switch_step = None if switch_epoch is None else round(float(switch_epoch) * n_batches)
    lr_multiplier(schedule, 0.0, epochs, milestones=milestones, gamma=gamma)  # validates the schedule name
    use_amp = bool(amp)
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp and device.type == "cuda")
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    gen = torch.Generator().manual_seed(int(seed))

    log: list[dict] = []
    status, step, diverged_at, final_loss = "finished", 0, -1, math.inf
    first_epoch, seconds_before = 1, 0.0
    if state is not None:
        opt.load_state_dict(state["opt"])
        scaler.load_state_dict(state["scaler"])
        gen.set_state(state["gen"])
        log, step, final_loss = list(state["log"]), int(state["step"]), float(state["final_loss"])
        first_epoch, seconds_before = int(state["epoch"]) + 1, float(state["seconds"])
    t0 = time.perf_counter() - seconds_before
    bar = tqdm(total=total_steps, disable=not progress, desc="train", leave=False, dynamic_ncols=True)
    bar.update(step)
    model.train()
    epoch = first_epoch - 1
    for epoch in range(first_epoch, epochs + 1):
        perm = torch.randperm(n, generator=gen).to(device)
        tot_loss = tot_acc = 0.0
        seen = 0
        for b in range(n_batches):
            if switch_step is not None and step == switch_step:
                current, base_lr = switch_optimizer, (switch_lr if switch_lr is not None else lr)
                opt = make_optimizer(current, model.parameters(), lr=base_lr, **opt_kw)
            frac = (epoch - 1) + b / n_batches
            for group in opt.param_groups:
                group["lr"] = base_lr * lr_multiplier(
                    schedule, frac, epochs, milestones=milestones, gamma=gamma, warmup_epochs=warmup_epochs
                )
            idx = perm[b * bs : (b + 1) * bs]
            xb, yb = x[idx], y[idx]
            if augment == "crop-flip":
                xb = crop_flip(xb, gen)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                out = model(xb)
                batch_loss = loss_fn(out, yb)
            value = float(batch_loss.detach())
            if not math.isfinite(value):
                status, diverged_at = "diverged", step + 1
                break
            opt.zero_grad(set_to_none=True)
            scaler.scale(batch_loss).backward()
            scaler.step(opt)
            scaler.update()
            step += 1
            tot_loss += value * len(idx)
            if classify:
                tot_acc += float((out.detach().argmax(-1) == yb).sum())
            seen += len(idx)
            if step in ckpt_steps:
                checkpoint(f"step_{step:07d}")
            bar.update(1)
        if status == "diverged":
            epoch -= 1
            break
        final_loss = tot_loss / seen
        moved = weight_distance(init_state, model.state_dict())
        entry = {
            "epoch": epoch,
            "step": step,
            "lr": opt.param_groups[0]["lr"],
            "optimizer": current,
            "train_loss": final_loss,
            "train_accuracy": tot_acc / seen if classify else math.nan,
            "distance": moved.distance,
            "norm_distance": moved.relative_to_start,
            "seconds": time.perf_counter() - t0,
        }
        if eval_data is not None:
            ex, ey = eval_data
            entry["test_loss"], entry["test_accuracy"] = _evaluate(model, ex, ey, loss_fn, max(bs, 1024), classify)
        log.append(entry)
        bar.set_postfix(epoch=epoch, loss=f"{final_loss:.4g}")
        if on_epoch is not None:
            on_epoch(entry)
        if epoch in ckpt_epochs:
            checkpoint(f"epoch_{epoch:04d}")
        if stop_if is not None and epoch > stop_if[0] and final_loss > stop_if[1]:
            status = "stopped"
            break
        if resume_path is not None and epoch < epochs:
            _save_resume(
                resume_path,
                {
                    "epoch": epoch,
                    "step": step,
                    "model": model.state_dict(),
                    "init": init_state,
                    "optimizer": current,
                    "base_lr": base_lr,
                    "opt": opt.state_dict(),
                    "scaler": scaler.state_dict(),
                    "gen": gen.get_state(),
                    "log": log,
                    "checkpoints": checkpoints,
                    "final_loss": final_loss,
                    "seconds": time.perf_counter() - t0,
                },
            )
            if deadline is not None and time.time() > deadline:
                bar.close()
                return TrainResult(
                    status="paused",
                    epochs=epoch,
                    steps=step,
                    log=log,
                    final_loss=final_loss,
                    diverged_at_step=diverged_at,
                    checkpoints=checkpoints,
                    seconds=time.perf_counter() - t0,
                )
    bar.close()
    if epochs == 0:
        final_loss = _evaluate(model, x, y, loss_fn, max(bs, 1024), classify)[0]
    checkpoint("final")
    return TrainResult(
        status=status,
        epochs=epoch if epochs > 0 else 0,
        steps=step,
        log=log,
        final_loss=final_loss,
        diverged_at_step=diverged_at,
        checkpoints=checkpoints,
        seconds=time.perf_counter() - t0,
    )
