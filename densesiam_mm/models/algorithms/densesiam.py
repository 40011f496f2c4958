# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils import (autocast_off, check_grid_size, check_loss_weight,
                     correspondence_from_samples,
                     revert_sync_bn_if_not_distributed)


@MODELS.register_module()
class DenseSiam(BaseSelfSupervisor):
    """DenseSiam: Dense Siamese Network (ECCV 2022).

    ``L = L_sim + lambda_1 L_dense + lambda_2 L_region``:

    - ``L_sim`` (``loss_global``): SimSiam on pooled features of the whole
      views (``neck`` + ``head`` exactly as mmpretrain's ``SimSiam``);
    - ``L_dense`` (``loss_dense``): PixSim between the dense projector maps
      (``pix_sim_neck``, predictor in ``pix_sim_head``) at the same ``K x K``
      original-image points of both views;
    - ``L_region`` (``loss_region``): RegionSim on region embeddings, with the
      PixSim projector channels as soft region masks; switched on by
      ``RegionSimHook`` (at half of training by default).

    Pairs of views without overlap are masked out of the dense terms.

    Args:
        backbone (dict): encoder without global pooling (mmpretrain ResNet).
        neck (dict): global projector (``NonLinearNeck``).
        head (dict): global predictor and loss (``LatentPredictHead``).
        pix_sim_neck (dict): dense projector g (``DenseNonLinearNeck``).
        pix_sim_head (dict): ``PixSimHead`` (predictor h and D).
        region_sim_head (dict, optional): ``RegionSimHead``.
        grid_size (int): K, points per side of the sampled grid. Default 7.
        dense_loss_weight (float): lambda_1. Defaults to 1.
        region_loss_weight (float): lambda_2. Defaults to 0.1.
        region_sim_enabled (bool): initial RegionSim state (the hook sets it
            during training). Defaults to False.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 pix_sim_neck: dict,
                 pix_sim_head: dict,
                 region_sim_head: Optional[dict] = None,
                 grid_size: int = 7,
                 dense_loss_weight: float = 1.0,
                 region_loss_weight: float = 0.1,
                 region_sim_enabled: bool = False,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict,
                                                   torch.nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.grid_size = check_grid_size(grid_size)
        self.pix_sim_neck = MODELS.build(pix_sim_neck)
        self.pix_sim_head = MODELS.build(pix_sim_head)
        self.region_sim_head = MODELS.build(region_sim_head) \
            if region_sim_head is not None else None
        self.dense_loss_weight = check_loss_weight('DenseSiam',
                                                   'dense_loss_weight',
                                                   dense_loss_weight)
        self.region_loss_weight = check_loss_weight('DenseSiam',
                                                    'region_loss_weight',
                                                    region_loss_weight)
        self.region_sim_enabled = region_sim_enabled
        revert_sync_bn_if_not_distributed(self)

    def global_loss(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """SimSiam's symmetric loss on the ``(B, D)`` projections of the
        two views, ``1/2 [D(h(z1), sg(z2)) + D(h(z2), sg(z1))]``.

        The head (predictor on B pooled vectors: a negligible cost) runs in
        float32 even under autocast, so the cosine is never taken in half
        precision; without autocast this is exactly mmpretrain's SimSiam.
        """
        with autocast_off(z1.device.type):
            z1, z2 = z1.float(), z2.float()
            return 0.5 * (self.head.loss(z1, z2) + self.head.loss(z2, z1))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of a batch of view pairs.

        Args:
            inputs (list[Tensor]): two ``(B, 3, H, W)`` batches of views.
            data_samples (list[DataSample]): per image, ``view_boxes`` and
                ``view_flips`` of both views.

        Returns:
            dict[str, Tensor]: ``loss_global``, ``loss_dense`` and
            ``loss_region`` (weighted; mmengine logs their sum as ``loss``).
        """
        assert isinstance(inputs, list) and len(inputs) >= 2
        feats1 = self.backbone(inputs[0])
        feats2 = self.backbone(inputs[1])

        # Global branch: SimSiam on pooled features.
        z1 = self.neck(feats1)[0]
        z2 = self.neck(feats2)[0]
        loss_global = self.global_loss(z1, z2)

        # PixSim on the dense projector maps at shared points.
        corr = correspondence_from_samples(data_samples, self.grid_size,
                                           inputs[0].device)
        proj1 = self.pix_sim_neck(feats1)[0]
        proj2 = self.pix_sim_neck(feats2)[0]
        loss_dense = self.pix_sim_head.loss(proj1, proj2, corr)

        losses = dict(
            loss_global=loss_global,
            loss_dense=self.dense_loss_weight * loss_dense)
        if self.region_sim_head is not None:
            if self.region_sim_enabled:
                loss_region = self.region_sim_head.loss(
                    proj1, feats1[-1], proj2, feats2[-1], corr)
            else:
                loss_region = self.region_sim_head.inactive_loss()
            losses['loss_region'] = self.region_loss_weight * loss_region
        return losses
