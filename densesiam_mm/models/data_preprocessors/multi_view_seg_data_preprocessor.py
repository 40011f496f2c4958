# Copyright (c) densesiam_mm contributors. All rights reserved.
from typing import Any, Dict

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS


@MODELS.register_module()
class MultiViewSegDataPreProcessor(SegDataPreProcessor):
    """mmseg's ``SegDataPreProcessor`` that also takes batches of views.

    - Training batches from :class:`PackMultiViewSegInputs` (each sample's
      ``inputs`` is a list of V views; after mmengine's ``pseudo_collate``
      ``inputs[v][b]`` is view ``v`` of sample ``b``): every view is
      converted (BGR to RGB), normalised and stacked over the batch, giving
      ``inputs = [(B, 3, H, W)] * V``; data samples pass through unchanged.
    - Everything else (validation and test batches from ``PackSegInputs``,
      ``mmseg.apis.inference_model``) goes to ``SegDataPreProcessor``.

    Args: see ``mmseg.models.SegDataPreProcessor``.
    """

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        inputs = data['inputs']
        if not (len(inputs) and isinstance(inputs[0], (list, tuple))):
            return super().forward(data, training)
        # mmengine's pseudo_collate turns the per-sample lists of views into
        # one list per view: inputs[v][b] is view v of sample b.
        data = self.cast_data(data)
        batch_views = []
        for views in data['inputs']:
            if any(view.shape != views[0].shape for view in views):
                raise ValueError(
                    'MultiViewSegDataPreProcessor: views of one index must '
                    'have the same size across the batch; got '
                    f'{sorted({tuple(v.shape) for v in views})}.')
            batch = torch.stack(list(views)).float()
            if self.channel_conversion and batch.size(1) == 3:
                batch = batch[:, [2, 1, 0]]
            if self._enable_normalize:
                batch = (batch - self.mean) / self.std
            batch_views.append(batch)
        return dict(inputs=batch_views, data_samples=data.get('data_samples'))
