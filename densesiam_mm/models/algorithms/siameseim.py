# Copyright (c) densesiam_mm contributors. All rights reserved.
import math
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import MessageHub
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.models.utils import CosineEMA
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..utils.relative_position import relative_position_code_from_samples
from ..utils.sync_bn import revert_sync_bn_if_not_distributed
from ..utils.view_samples import stack_sample_field


class HostStepCosineEMA(CosineEMA):
    """mmpretrain's ``CosineEMA`` with its step count mirrored on the host.

    ``CosineEMA`` keeps the count in the ``steps`` buffer, on the model's
    device, and reads it on the host at every update (``steps == 0``,
    ``steps % interval`` and ``cos(pi * steps / max_iters)`` once per
    parameter): a host-device sync per parameter and step on a GPU. This
    class keeps a Python copy of the count (read from the buffer once
    after a ``load_state_dict``, e.g. on resume) and passes it to the same
    ``avg_func``, so the averages, the buffer and the checkpoints are
    ``CosineEMA``'s, without a sync.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.host_steps = 0  # the buffer starts at 0
        self.register_load_state_dict_post_hook(self._forget_host_steps)

    @staticmethod
    def _forget_host_steps(module, incompatible_keys) -> None:
        module.host_steps = None  # read the loaded buffer at the next update

    def update_parameters(self, model: nn.Module) -> None:
        """``CosineEMA.update_parameters`` with the host step count."""
        if self.host_steps is None:
            self.host_steps = int(self.steps)  # once after loading
        steps = self.host_steps
        src_parameters = (
            model.state_dict()
            if self.update_buffers else dict(model.named_parameters()))
        if steps == 0:
            for key, p_avg in self.avg_parameters.items():
                p_avg.data.copy_(src_parameters[key].data)
        elif steps % self.interval == 0:
            for key, p_avg in self.avg_parameters.items():
                if p_avg.dtype.is_floating_point:
                    self.avg_func(p_avg.data,
                                  src_parameters[key].data.to(p_avg.device),
                                  steps)
        if not self.update_buffers:
            for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
                b_avg.data.copy_(b_src.data.to(b_avg.device))
        self.steps += 1
        self.host_steps = steps + 1


@MODELS.register_module()
class SiameseIM(BaseSelfSupervisor):
    """SiameseIM: Siamese Image Modeling (Tao et al., CVPR 2023).

    The online branch encodes the visible patches of masked view 1
    (``backbone``), projects them (``neck``) and predicts (``head``) the
    tokens of view 2 at all of view 2's patches, each query placed by its
    position and scale relative to view 1
    (:func:`~densesiam_mm.models.utils.relative_position_code`, from the
    views' boxes and flips). The target branch, an EMA of backbone + neck
    (mmpretrain's ``CosineEMA``, updated every iteration before its pass),
    encodes the whole view 2; its patch tokens, normalised, are the targets
    of the UniGrad loss::

        pred   = h(g(f(x1 ⊙ m)), code(view 2 | view 1))   (B, L, D)
        target = LN(g_ema(f_ema(x2)))[:, 1:]               (B, L, D)
        loss   = UniGrad(pred, sg(target))

    Args:
        backbone (dict): ``SiameseIMViT``.
        neck (dict): ``SiameseIMProjector``.
        head (dict): ``SiameseIMHead``.
        target_momentum (float): EMA weight of the online weights at the
            start (``1 - 0.995``). Defaults to 0.005.
        target_end_momentum (float): ... at the end (cosine schedule).
            Defaults to 0.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 target_momentum: float = 0.005,
                 target_end_momentum: float = 0.,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        for name, value in (('target_momentum', target_momentum),
                            ('target_end_momentum', target_end_momentum)):
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(
                    f'SiameseIM: `{name}` (EMA weight of the online '
                    f'weights) must be in [0, 1], got {value!r}.')
        revert_sync_bn_if_not_distributed(self)
        self.target_net = HostStepCosineEMA(
            nn.Sequential(self.backbone, self.neck),
            momentum=target_momentum,
            end_momentum=target_end_momentum)

    def view_mask(self, data_samples: List[DataSample],
                  device: torch.device) -> torch.Tensor:
        """``(B, L)`` bool mask of view 1 from the data samples' ``mask``
        (``(g, g)``, written by ``ExactCountBlockMask``)."""
        try:
            mask = stack_sample_field(data_samples, 'mask', torch.bool)
        except AttributeError as err:
            raise KeyError(
                'Data samples carry no `mask`: add ExactCountBlockMask to '
                'the pipeline (PackInputs packs its `mask`).') from err
        return mask.flatten(1).to(device, non_blocking=True)

    @staticmethod
    def visible_index(data_samples: List[DataSample],
                      device: torch.device) -> torch.Tensor:
        """``(B, V)`` visible patches of view 1 in raster order, computed
        and checked (the same ``V`` in every image) on the host copy of the
        masks, so the encoder reads no mask on the device (no sync)."""
        masks = []
        for sample in data_samples:
            mask = sample.mask
            if isinstance(mask, torch.Tensor) and mask.device.type != 'cpu':
                mask = mask.cpu()  # written on a device by hand: one copy
            masks.append(np.asarray(mask, dtype=bool).reshape(-1))
        masks = np.stack(masks)
        counts = (~masks).sum(1)
        if (counts != counts[0]).any():
            raise ValueError(
                'SiameseIMViT: every image must keep the same number of '
                f'visible patches, got {counts.tolist()}; use '
                'ExactCountBlockMask.')
        order = np.argsort(masks, axis=1, kind='stable')[:, :counts[0]]
        return torch.from_numpy(order).to(device, non_blocking=True)

    def check_views(self, view1: torch.Tensor, view2: torch.Tensor,
                    mask: torch.Tensor) -> None:
        """Refuse views the loss cannot compare patch by patch, naming the
        config fields to fix: views of different sizes, a size that is not
        a multiple of the patch size (the patch embedding would pad it
        silently), a non-square view, or a mask of another patch grid."""
        crop = ('the views\' crop size (`scale` of RandomResizedCropWithBox '
                'in both view pipelines of MultiViewWithGeometry, '
                'train_pipeline)')
        size1, size2 = tuple(view1.shape[-2:]), tuple(view2.shape[-2:])
        if size1 != size2:
            raise ValueError(
                f'SiameseIM: view 1 is {size1[0]}x{size1[1]} but view 2 is '
                f'{size2[0]}x{size2[1]}; the loss compares the predicted '
                'and the target tokens patch by patch, so both views need '
                f'the same size. Set {crop} to one value.')
        patch = getattr(self.backbone, 'patch_size', None)
        if patch is not None and (size1[0] % patch or size1[1] % patch):
            raise ValueError(
                f'SiameseIM: the views are {size1[0]}x{size1[1]}, not a '
                f'multiple of the patch size {patch} '
                '(model.backbone.patch_size): the patch embedding would pad '
                f'them silently. Set {crop} and model.backbone.img_size to a '
                f'multiple of {patch}.')
        if size1[0] != size1[1]:
            raise ValueError(
                f'SiameseIM: the views are {size1[0]}x{size1[1]}; the '
                'relative position code and the predictor need a square '
                f'patch grid. Set {crop} to a square size.')
        if patch is not None:
            grid = size1[0] // patch
            if mask.size(1) != grid * grid:
                raise ValueError(
                    f'SiameseIM: the mask of view 1 has {mask.size(1)} '
                    f'patches, but {size1[0]}x{size1[1]} views in '
                    f'{patch}-pixel patches make a {grid}x{grid} grid '
                    f'({grid * grid}). Set `input_size` of '
                    f'ExactCountBlockMask (train_pipeline) to {grid} '
                    '(crop size / model.backbone.patch_size).')

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Loss of a batch of view pairs.

        Args:
            inputs (list[Tensor]): two ``(B, 3, H, W)`` batches: view 1
                (masked, online) and view 2 (target).
            data_samples (list[DataSample]): per image ``mask`` (of view 1),
                ``view_boxes`` and ``view_flips``.

        Returns:
            dict[str, Tensor]: ``loss`` and ``target_std`` (logged only:
            the targets' std across the batch, see the code).
        """
        assert isinstance(inputs, list) and len(inputs) >= 2
        view1, view2 = inputs[0], inputs[1]
        mask = self.view_mask(data_samples, view1.device)
        self.check_views(view1, view2, mask)

        # Online branch: visible tokens of view 1 -> predicted view 2.
        visible = self.visible_index(data_samples, view1.device)
        online = self.neck(self.backbone(view1, mask, visible))[0]
        code = relative_position_code_from_samples(data_samples,
                                                   math.isqrt(mask.size(1)),
                                                   self.head.embed_dims,
                                                   view1.device)  # (B, L, 2D)
        pred = self.head(online, mask, code)  # (B, L, D)

        # Target branch: EMA update first, then the whole view 2.
        if MessageHub.get_current_instance().get_info('max_iters') is None:
            raise RuntimeError(
                'SiameseIM: the EMA momentum schedule needs the number of '
                "training iterations, the message hub's `max_iters` (the "
                'Runner sets it); outside a Runner call MessageHub.'
                "get_current_instance().update_info('max_iters', N).")
        with torch.no_grad():
            self.target_net.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            target = self.head.normalize_target(
                self.target_net(view2)[0][:, 1:])  # (B, L, D)
            # Collapse monitor: std across the images of the batch, per
            # patch position and channel, averaged (1 for i.i.d. targets,
            # 0 when every image gets the same target map).
            target_std = target.std(dim=0).mean()
        return dict(loss=self.head.loss(pred, target), target_std=target_std)
