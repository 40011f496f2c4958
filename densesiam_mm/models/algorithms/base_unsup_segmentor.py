# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import List, Optional, Union

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


class BaseUnsupSegmentor(BaseSegmentor):
    """Encoder + simplified FPN with mmseg's test-time interface.

    Shared by :class:`DenseSiamSeg` and :class:`~.PiCIE`: subclasses give
    :meth:`cluster_logits` (per-pixel cluster scores on the stride-4 map);
    inference is the arg-max cluster per pixel, returned as mmseg
    ``SegDataSample`` s with ``pred_sem_seg`` (cluster ids) and
    ``seg_logits``, so mmseg's test loop, metrics, visualizer and
    ``mmseg.apis.init_model`` / ``inference_model`` work unchanged.

    Args:
        backbone (dict): encoder returning the four stages (mmseg ResNet with
            ``out_indices=(0, 1, 2, 3)``).
        neck (dict): :class:`SimplifiedFPN`.
        test_cfg (dict, optional): ``output_size`` - ``'ori_shape'``
            (default; mmseg's convention: logits are resized to the decoded
            image, so labels are compared at full resolution) or
            ``'img_shape'`` (the network input: use with a test pipeline that
            resizes and crops the label map too, e.g. COCO-Stuff's
            "short side 320, center crop 320" protocol).
        train_cfg (dict, optional): unused (mmseg's API sets it).
        pretrained (str, optional): backbone checkpoint, a shortcut for
            ``backbone.init_cfg=dict(type='Pretrained', checkpoint=...)``.
        data_preprocessor (dict, optional):
            :class:`MultiViewSegDataPreProcessor`.
        init_cfg (dict, optional): initialisation config.
    """
    output_sizes = ('ori_shape', 'img_shape')

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained is not None:
            backbone = dict(
                backbone,
                init_cfg=dict(type='Pretrained', checkpoint=pretrained))
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.train_cfg = train_cfg
        self.test_cfg = dict(test_cfg or {})
        output_size = self.test_cfg.setdefault('output_size', 'ori_shape')
        if output_size not in self.output_sizes:
            raise ValueError(
                f'{type(self).__name__}: unknown test_cfg.output_size '
                f'{output_size!r}; choose one of {self.output_sizes}.')
        self.align_corners = False

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` images to the ``(B, C, H/4, W/4)`` FPN map."""
        return self.neck(self.backbone(inputs))[0]

    def cluster_logits(self, feats: torch.Tensor) -> torch.Tensor:
        """``(B, C, h, w)`` features to ``(B, N, h, w)`` cluster scores."""
        raise NotImplementedError

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        """Cluster scores ``(B, N, H/4, W/4)`` (mode ``'tensor'``)."""
        return self.cluster_logits(self.extract_feat(inputs))

    def encode_decode(self,
                      inputs: torch.Tensor,
                      batch_img_metas: Optional[List[dict]] = None):
        """Cluster scores ``(B, N, H, W)`` at the input size."""
        return resize(
            self._forward(inputs),
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """Arg-max cluster per pixel.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` normalised images.
            data_samples (list[SegDataSample], optional): their metainfo.

        Returns:
            list[SegDataSample]: ``pred_sem_seg`` ``(1, h, w)`` cluster ids
            and ``seg_logits`` ``(N, h, w)``, where ``(h, w)`` is
            ``test_cfg.output_size`` (the original image by default; the
            input size without metainfo).
        """
        seg_logits = self.encode_decode(inputs)
        if data_samples is None or \
                self.test_cfg['output_size'] == 'ori_shape':
            return self.postprocess_result(seg_logits, data_samples)
        # 'img_shape': the network input itself (drop batch padding only).
        for logits, sample in zip(seg_logits, data_samples):
            height, width = sample.metainfo.get('img_shape',
                                                logits.shape[1:])[:2]
            logits = logits[:, :height, :width]
            sample.set_data(
                dict(
                    seg_logits=PixelData(data=logits),
                    pred_sem_seg=PixelData(
                        data=logits.argmax(dim=0, keepdim=True))))
        return data_samples
