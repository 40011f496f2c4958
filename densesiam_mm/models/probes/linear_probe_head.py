# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The classifier of a dense linear probe."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class LinearProbeHead(BaseDecodeHead):
    """A 1x1 classifier on frozen dense features (dense linear probe).

    The features of one backbone stage (``in_index=3``: C5), or of several
    stages (``in_index=(1, 2, 3)``) bilinearly resized to the size of the
    first one given and concatenated, optionally pass a BatchNorm (no
    activation, so the probe stays linear: at test time BN is a per-channel
    affine map folded into the classifier) and a ``1 x 1`` convolution
    gives the class logits. Training and inference are mmseg's
    (``loss_by_feat``: logits bilinearly upsampled to the label size, cross
    entropy with ``ignore_index``).

    Args:
        in_channels (int | Sequence[int]): channels of the selected stage(s).
        in_index (int | Sequence[int]): backbone output(s) probed.
        norm_cfg (dict, optional): normalisation in front of the classifier;
            ``None`` for none. Defaults to ``dict(type='BN')``.
        dropout_ratio (float): dropout before the classifier. Defaults to 0.
        loss_label_stride (int): train on every ``s``-th label pixel in each
            direction (the pixel nearest each cell centre), ``s**2`` times
            cheaper than mmseg's full-resolution loss; the logits are
            upsampled to that grid. Prediction and evaluation are unchanged
            (full resolution). Defaults to 1 (mmseg's loss exactly).
        **kwargs: ``num_classes``, ``loss_decode``, ``ignore_index``, ...
            of ``BaseDecodeHead``; ``channels`` is the concatenated width.

    Shapes:
        inputs: backbone outputs, stage ``i`` ``(B, C_i, H_i, W_i)``.
        output: ``(B, num_classes, H_0, W_0)`` logits at the resolution of
        the first selected stage.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 in_index: Union[int, Sequence[int]] = -1,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 dropout_ratio: float = 0.,
                 loss_label_stride: int = 1,
                 **kwargs) -> None:
        if isinstance(loss_label_stride, bool) or not isinstance(
                loss_label_stride, int) or loss_label_stride < 1:
            raise ValueError('LinearProbeHead: `loss_label_stride` must be '
                             f'an int >= 1, got {loss_label_stride!r}.')
        multi = not isinstance(in_index, int)
        if multi != (not isinstance(in_channels, int)) or (
                multi and len(in_channels) != len(in_index)):
            raise ValueError(
                'LinearProbeHead: give one `in_channels` per `in_index` '
                f'(got in_channels={in_channels}, in_index={in_index}).')
        channels = sum(in_channels) if multi else in_channels
        super().__init__(
            in_channels=list(in_channels) if multi else in_channels,
            channels=channels,
            in_index=list(in_index) if multi else in_index,
            input_transform='resize_concat' if multi else None,
            norm_cfg=norm_cfg,
            dropout_ratio=dropout_ratio,
            **kwargs)
        self.norm = build_norm_layer(norm_cfg, channels)[1] \
            if norm_cfg is not None else None
        self.loss_label_stride = loss_label_stride

    def _stack_batch_gt(self, batch_data_samples) -> Tensor:
        """``(B, 1, H / s, W / s)`` training labels: every ``s``-th pixel
        (``s = loss_label_stride``), starting at ``s // 2``."""
        labels = super()._stack_batch_gt(batch_data_samples)
        stride = self.loss_label_stride
        if stride == 1:
            return labels
        return labels[..., stride // 2::stride, stride // 2::stride]

    @property
    def probed_indices(self) -> Tuple[int, ...]:
        """Backbone outputs the probe reads (the others need no caching)."""
        return tuple(self.in_index) if isinstance(self.in_index, list) \
            else (self.in_index, )

    def dense_features(self, inputs: List[Tensor]) -> Tensor:
        """``(B, C, H_0, W_0)`` probed features (selected, resized and
        concatenated) before the normalisation."""
        return self._transform_inputs(inputs)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        feats = self.dense_features(inputs)
        if self.norm is not None:
            feats = self.norm(feats)
        return self.cls_seg(feats)

    def linear_map(self) -> Tuple[Tensor, Tensor]:
        """``(K, C)`` weight and ``(K,)`` bias of the probe in eval mode,
        BN folded in: ``logits = W x + b`` for a feature vector ``x``."""
        weight = self.conv_seg.weight.flatten(1)
        bias = self.conv_seg.bias
        if self.norm is not None:
            norm = self.norm
            scale = torch.rsqrt(norm.running_var + norm.eps)
            if norm.affine:
                scale = scale * norm.weight
                shift = norm.bias - norm.running_mean * scale
            else:
                shift = -norm.running_mean * scale
            bias = bias + weight @ shift
            weight = weight * scale[None]
        return weight, bias
