# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Frozen-backbone features, computed once per input image."""
import hashlib
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor


def tensor_digest(tensor: Tensor) -> str:
    """Content hash of a tensor (values, shape and dtype)."""
    data = tensor.detach().contiguous().cpu()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str((tuple(data.shape), data.dtype)).encode())
    digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def module_digest(module: torch.nn.Module) -> str:
    """Content hash of a module's parameters and buffers."""
    digest = hashlib.blake2b(digest_size=16)
    for name, value in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor_digest(value).encode())
    return digest.hexdigest()


class DenseFeatureCache:
    """Features of a frozen backbone, keyed by the content of each input.

    A frozen backbone in eval mode maps the same input image to the same
    features, so they are computed once and then looked up: the key of a
    sample is the hash of its ``(3, H, W)`` network input (after the data
    preprocessor), so a changed pipeline, resolution or augmentation can
    never return stale features - it only misses. One cache belongs to one
    set of backbone weights (:meth:`for_weights`).

    Entries are the probed stages of one sample, ``[(C_i, H_i, W_i)]``,
    stored on the CPU (in ``dtype``, float32 by default: exact). Memory is
    what the probed stages of every distinct image take (a ResNet-18 C5 of
    a 320x240 frame: 160 kB; ``max_items`` bounds the count, the oldest
    entries leave first).

    Args:
        max_items (int, optional): most entries kept. Defaults to None (all).
        dtype (torch.dtype, optional): storage dtype. Defaults to float32.
    """

    _by_weights: Dict[str, 'DenseFeatureCache'] = {}

    def __init__(self,
                 max_items: Optional[int] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        self.max_items = max_items
        self.dtype = dtype
        self.entries: Dict[str, List[Tensor]] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_weights(cls, fingerprint: str, **kwargs) -> 'DenseFeatureCache':
        """The process-wide cache of the backbone weights ``fingerprint``
        (so several probe runs on one checkpoint compute features once)."""
        if fingerprint not in cls._by_weights:
            cls._by_weights[fingerprint] = cls(**kwargs)
        return cls._by_weights[fingerprint]

    @classmethod
    def clear_all(cls) -> None:
        cls._by_weights.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size()
                   for entry in self.entries.values() for t in entry)

    def lookup(self, inputs: Tensor) -> Tuple[List[str], List[int]]:
        """Keys of a ``(B, 3, H, W)`` batch and the indices that miss."""
        keys = [tensor_digest(image) for image in inputs]
        missing = [i for i, key in enumerate(keys) if key not in self.entries]
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        return keys, missing

    def store(self, keys: Sequence[str], feats: Sequence[Tensor]) -> None:
        """Store a batch: ``feats[j]`` is ``(B, C_j, H_j, W_j)``."""
        for i, key in enumerate(keys):
            self.entries[key] = [
                f[i].detach().to('cpu', self.dtype or f.dtype).clone()
                for f in feats
            ]
            if self.max_items is not None:
                while len(self.entries) > self.max_items:
                    self.entries.pop(next(iter(self.entries)))

    def gather(self, keys: Sequence[str],
               device: torch.device) -> List[Tensor]:
        """The stored features of ``keys``, stacked: ``[(B, C_j, H_j,
        W_j)]``, float32 on ``device``."""
        entries = [self.entries[key] for key in keys]
        return [
            torch.stack([entry[j]
                         for entry in entries]).to(device, torch.float32)
            for j in range(len(entries[0]))
        ]
