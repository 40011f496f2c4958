# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Dense linear probe: a frozen backbone and a trainable linear head."""
from typing import List, Optional, Tuple

import torch
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from .dense_feature_cache import DenseFeatureCache, module_digest


@MODELS.register_module()
class LinearProbe(EncoderDecoder):
    """Frozen-backbone dense linear probe, an mmseg segmentor.

    mmseg's ``EncoderDecoder`` with the backbone frozen: its parameters have
    ``requires_grad=False``, it stays in eval mode (BN uses and keeps its
    running statistics) and runs under ``torch.no_grad()``, so training
    changes only the head (:class:`LinearProbeHead`) and the backbone's
    weights stay bit-identical. Everything else - data, ``IoUMetric``,
    ``tools/train.py`` / ``mim train``, distributed training - is mmseg's.

    With ``cache_features=True`` the probed stages of every input image are
    computed once and then read from a :class:`DenseFeatureCache` keyed by
    the image's content (shared by every ``LinearProbe`` in the process
    whose backbone has the same weights), so a probe trains at the cost of
    its head. This pays off with a deterministic pipeline (fixed resize, no
    random augmentation), the usual linear-probe protocol; with random
    augmentation every input is new and the cache only costs memory
    (a warning says so).

    Args:
        backbone (dict): any mmseg/mmpretrain backbone config.
        decode_head (dict): :class:`LinearProbeHead`.
        cache_features (bool): cache the probed stages. Defaults to False.
        cache_cfg (dict, optional): ``DenseFeatureCache`` arguments.
        **kwargs: ``EncoderDecoder`` arguments (no neck, no auxiliary head:
            a probe has one linear layer).
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 cache_features: bool = False,
                 cache_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        for key in ('neck', 'auxiliary_head'):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f'LinearProbe: `{key}` is not part of a linear probe '
                    '(frozen backbone + one linear head).')
        init_cfg = backbone.get('init_cfg') or {}
        if init_cfg.get('type') in ('Pretrained', 'CheckedPretrained') \
                and not init_cfg.get('checkpoint'):
            raise ValueError(
                'LinearProbe: the backbone to probe has no weights: set '
                'model.backbone.init_cfg.checkpoint=CKPT (a backbone-only '
                'file, e.g. written by tools/analysis/dense_probe.py), or '
                'model.backbone.init_cfg=None to probe a random backbone.')
        # mmseg reads test_cfg by attribute; plain dicts (Python use) too
        kwargs['test_cfg'] = ConfigDict(
            kwargs.get('test_cfg') or dict(mode='whole'))
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        self.backbone.requires_grad_(False)
        self.backbone.eval()
        self.cache_features = cache_features
        self.cache_cfg = dict(cache_cfg or {})
        self._cache: Optional[DenseFeatureCache] = None
        # new weights (init_weights, load_state_dict) select a new cache
        self.register_load_state_dict_post_hook(
            lambda module, incompatible: module._forget_cache())

    def _forget_cache(self) -> None:
        self._cache = None

    def init_weights(self) -> None:
        super().init_weights()
        self.backbone.requires_grad_(False)
        self._forget_cache()

    def train(self, mode: bool = True) -> 'LinearProbe':
        """Train mode for the head only; the backbone stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    @property
    def feature_cache(self) -> Optional[DenseFeatureCache]:
        """The cache of the current backbone weights (None when off)."""
        if not self.cache_features:
            return None
        if self._cache is None:
            self._cache = DenseFeatureCache.for_weights(
                module_digest(self.backbone), **self.cache_cfg)
        return self._cache

    def _probed(self) -> Tuple[int, ...]:
        return getattr(self.decode_head, 'probed_indices', None) or tuple(
            range(len(self.backbone.out_indices)))

    @torch.no_grad()
    def backbone_features(self, inputs: Tensor) -> List[Tensor]:
        """Backbone outputs of a ``(B, 3, H, W)`` batch; stages that the
        head does not read are ``None`` when caching."""
        cache = self.feature_cache
        if cache is None:
            return list(self.backbone(inputs))
        probed = self._probed()
        keys, missing = cache.lookup(inputs)
        if missing:
            outs = self.backbone(inputs[missing])
            cache.store([keys[i] for i in missing], [outs[j] for j in probed])
            if cache.hits == 0 and cache.misses >= 5000 and \
                    not getattr(cache, 'warned', False):
                cache.warned = True
                print_log(
                    'LinearProbe: feature cache has had only misses so far; '
                    'with random augmentation in the pipeline it only costs '
                    'memory (set cache_features=False).',
                    'current',
                    level=30)
        stacked = cache.gather(keys, inputs.device)
        num_outs = max(probed) + 1
        feats: List[Optional[Tensor]] = [None] * num_outs
        for j, stage in enumerate(probed):
            feats[stage] = stacked[j]
        return feats

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.backbone_features(inputs)
