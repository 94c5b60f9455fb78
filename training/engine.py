"""The training loop and evaluation of DLP-CNN (torchvision-reference style).

Data live on the training device as one ``uint8`` tensor ``(N, 100, 100)``; a batch is a single
gather that crops and flips every sample at once, so no data loader is needed. Which samples
form iteration ``t``'s batch, and how they are cropped and flipped, depend only on the seed and
``t``; with the model, optimizer, loss buffers (feature bank, centres) and RNG states saved in
a checkpoint, a resumed run continues exactly as the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.losses import DLPCriterion
from training.targets import sample_labels

ALIGNED = 100


@dataclass
class DeviceData:
    """One split on the device: ``images`` (N, 100, 100) uint8, ``labels`` (N,) int64 and,
    when the data carry them, the crowd's ``distributions`` (N, C) float32."""

    images: torch.Tensor
    labels: torch.Tensor
    distributions: torch.Tensor | None = None

    @classmethod
    def from_arrays(
        cls, images: np.ndarray, labels: np.ndarray, device: torch.device, distributions: np.ndarray | None = None
    ) -> DeviceData:
        if images.ndim != 3 or images.shape[1:] != (ALIGNED, ALIGNED):
            raise ValueError(f"expected aligned faces of shape (N, {ALIGNED}, {ALIGNED}), got {images.shape}")
        return cls(
            torch.as_tensor(np.ascontiguousarray(images), dtype=torch.uint8).to(device),
            torch.as_tensor(np.asarray(labels), dtype=torch.long).to(device),
            None if distributions is None else torch.as_tensor(distributions, dtype=torch.float32).to(device),
        )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def crop_batch(
    images: torch.Tensor, index: torch.Tensor, top: torch.Tensor, left: torch.Tensor, flip: torch.Tensor, crop: int
) -> torch.Tensor:
    """Gather ``crop x crop`` windows of ``images[index]`` at (``top``, ``left``), mirrored where
    ``flip``, as float ``(B, 1, crop, crop)`` in [0, 1]. All arguments (B,) on the images' device."""
    steps = torch.arange(crop, device=images.device)
    rows = top.unsqueeze(1) + steps  # (B, crop)
    cols = torch.where(flip.unsqueeze(1), left.unsqueeze(1) + crop - 1 - steps, left.unsqueeze(1) + steps)
    patches = images[index[:, None, None], rows[:, :, None], cols[:, None, :]]  # (B, crop, crop)
    return patches.unsqueeze(1).float().div_(255.0)


def centre_crop(images: torch.Tensor, crop: int) -> torch.Tensor:
    """``(B, 100, 100)`` uint8 -> ``(B, 1, crop, crop)`` float centre crops in [0, 1]."""
    offset = (images.shape[-1] - crop) // 2
    return images[:, None, offset : offset + crop, offset : offset + crop].float().div_(255.0)


class BatchSampler:
    """Iteration ``t`` -> dataset indices of its batch (epoch-wise permutations without replacement)
    and its augmentation, as a pure function of ``(seed, t)``."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n = n
        self.batch_size = min(batch_size, n)
        self.per_epoch = max(1, n // self.batch_size)  # the ragged tail of an epoch is dropped
        self.seed = seed
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def indices(self, iteration: int) -> torch.Tensor:
        epoch, position = divmod(iteration, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=generator)
            self._epoch = epoch
        return self._perm[position * self.batch_size : (position + 1) * self.batch_size]

    def augmentation(self, iteration: int, crop: int, flip: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Crop offsets (top, left) in ``0..100-crop`` and flip flags, each (B,)."""
        generator = torch.Generator().manual_seed((self.seed + 1) * 2_000_003 + iteration)
        b = self.batch_size
        top = torch.randint(0, ALIGNED - crop + 1, (b,), generator=generator)
        left = torch.randint(0, ALIGNED - crop + 1, (b,), generator=generator)
        flips = torch.rand(b, generator=generator) < 0.5 if flip else torch.zeros(b, dtype=torch.bool)
        return top, left, flips

    def sampled_labels(self, iteration: int, distributions: torch.Tensor) -> torch.Tensor:
        """One label per sample of iteration ``iteration``'s batch, drawn from its ``distributions``
        ``(B, C)``: the "probability" target. An image is in one batch per epoch, so it gets a
        fresh draw each epoch; a pure function of ``(seed, iteration)``, so resumes repeat it."""
        generator = torch.Generator().manual_seed((self.seed + 2) * 3_000_017 + iteration)
        return sample_labels(distributions, generator)


def learning_rate(iteration: int, base: float, steps: tuple[int, ...], gamma: float) -> float:
    """Step schedule: ``base * gamma ** (number of steps <= iteration)``."""
    return base * gamma ** sum(iteration >= step for step in steps)


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA when enabled (fp16 where bf16 is unsupported); a no-op on CPU."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@dataclass
class StepRecord:
    iteration: int  # iterations completed
    loss: float
    softmax: float
    auxiliary: float
    accuracy: float  # on the training batch
    lr: float
    seconds: float  # wall time of the logged iterations


def train_iterations(
    model: nn.Module,
    criterion: DLPCriterion,
    optimizer: torch.optim.Optimizer,
    data: DeviceData,
    sampler: BatchSampler,
    *,
    start: int,
    stop: int,
    crop: int,
    flip: bool,
    lr: float,
    lr_steps: tuple[int, ...],
    lr_gamma: float,
    amp: bool,
    scaler: torch.amp.GradScaler | None,
    log_every: int,
) -> Iterator[StepRecord]:
    """Run iterations ``start .. stop - 1``; yield a :class:`StepRecord` every ``log_every``
    iterations and at ``stop`` (averages over the iterations since the previous record)."""
    device = data.images.device
    model.train()
    sums = torch.zeros(4, device=device)  # loss, softmax, auxiliary, correct: summed on device, no sync
    count, samples, tic = 0, 0, time.perf_counter()
    for iteration in range(start, stop):
        current_lr = learning_rate(iteration, lr, lr_steps, lr_gamma)
        for group in optimizer.param_groups:
            group["lr"] = current_lr
        index = sampler.indices(iteration).to(device)
        top, left, flips = (t.to(device) for t in sampler.augmentation(iteration, crop, flip))
        x = crop_batch(data.images, index, top, left, flips, crop)  # (B, 1, crop, crop)
        y = data.labels[index]  # (B,)
        p = data.distributions[index] if data.distributions is not None else None  # (B, C)
        sampled = None
        if criterion.classification.target == "probability":
            if p is None:
                raise ValueError("the probability target needs the crowd's distributions")
            sampled = sampler.sampled_labels(iteration, p).to(device)  # (B,)
        with autocast(device, amp):
            logits, features = model(x)  # (B, C), (B, D)
        loss, parts = criterion(logits, features, y, index, p, sampled)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        criterion.update(features, y, index)
        sums += torch.stack(
            [
                loss.detach(),
                parts["softmax"],
                parts.get("auxiliary", torch.zeros((), device=device)),
                (logits.argmax(1) == y).sum().float(),
            ]
        )
        count += 1
        samples += len(y)
        done = iteration + 1
        if done % log_every == 0 or done == stop:
            values = sums.tolist()
            if not math.isfinite(values[0]):
                raise FloatingPointError(f"training loss is {values[0]} at iteration {done}")
            yield StepRecord(
                iteration=done,
                loss=values[0] / count,
                softmax=values[1] / count,
                auxiliary=values[2] / count,
                accuracy=values[3] / samples,
                lr=current_lr,
                seconds=time.perf_counter() - tic,
            )
            sums.zero_()
            count, samples, tic = 0, 0, time.perf_counter()


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, *, crop: int, batch_size: int = 256, amp: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Centre-crop inference on aligned faces ``(N, 100, 100)`` uint8 ->
    probabilities ``(N, C)`` and deep features ``(N, D)`` as float32 numpy arrays."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probabilities, features = [], []
    for lo in range(0, images.shape[0], batch_size):
        x = centre_crop(images[lo : lo + batch_size].to(device), crop)
        with autocast(device, amp):
            logits, feats = model(x)
        probabilities.append(torch.softmax(logits.float(), 1).cpu())
        features.append(feats.float().cpu())
    model.train(was_training)
    if not probabilities:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return torch.cat(probabilities).numpy(), torch.cat(features).numpy()


def evaluate(
    model: nn.Module, data: DeviceData, *, crop: int, n_classes: int, batch_size: int = 256, amp: bool = False
) -> dict[str, float]:
    """Softmax-head accuracy, mean diagonal (mean per-class recall) and, when ``data`` carries the
    crowd's distributions, the mean KL from them to the prediction; centre crops."""
    from training.metrics import mean_diagonal, mean_kl

    probabilities, _ = predict(model, data.images, crop=crop, batch_size=batch_size, amp=amp)
    y_true = data.labels.cpu().numpy()
    y_pred = probabilities.argmax(1)
    result = {
        "accuracy": float((y_pred == y_true).mean()) if len(y_true) else float("nan"),
        "mean_diagonal": float(mean_diagonal(y_true, y_pred, n_classes)),
    }
    if data.distributions is not None:
        result["kl"] = mean_kl(data.distributions.cpu().numpy(), probabilities)
    return result


ProgressCallback = Callable[[StepRecord, int], None]
