# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Reading the views' geometry from packed data samples."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from densesiam_mm.models.utils import (stack_sample_field,
                                       view_geometry_from_samples)


def test_stack_sample_field_numpy_and_tensors():
    arrays = [
        np.arange(4, dtype=np.float32).reshape(2, 2) + i for i in range(3)
    ]
    from_numpy = []
    from_torch = []
    for array in arrays:
        sample = DataSample()
        sample.set_field(array, 'mask')
        from_numpy.append(sample)
        sample = DataSample()
        sample.set_field(torch.from_numpy(array), 'mask')
        from_torch.append(sample)
    expected = torch.from_numpy(np.stack(arrays)).to(torch.bool)
    for batch in (from_numpy, from_torch):
        stacked = stack_sample_field(batch, 'mask', torch.bool)
        assert stacked.dtype == torch.bool and stacked.shape == (3, 2, 2)
        assert torch.equal(stacked, expected)
    with pytest.raises(AttributeError):
        stack_sample_field(from_numpy, 'view_boxes', torch.float32)


def test_missing_view_geometry_names_the_pipeline():
    with pytest.raises(KeyError, match='MultiViewWithGeometry'):
        view_geometry_from_samples([DataSample()], 'cpu')
