# Copyright (c) densesiam_mm contributors. All rights reserved.
"""RegionProjector is mmpretrain's NonLinearNeck (no pooling) with its
first linear layer exposed."""
import pytest
import torch
from mmpretrain.registry import MODELS

import densesiam_mm  # noqa: F401
from densesiam_mm.models.heads import RegionSimHead
from densesiam_mm.models.necks import RegionProjector

ARGS = [
    dict(
        in_channels=24,
        hid_channels=16,
        out_channels=12,
        num_layers=3,
        with_last_bn_affine=False),
    dict(
        in_channels=12,
        hid_channels=6,
        out_channels=12,
        with_bias=True,
        with_last_bn=False,
        with_last_bias=True),
    dict(in_channels=8, hid_channels=8, out_channels=4, num_layers=1),
]


@pytest.mark.parametrize('args', ARGS)
def test_same_parameters_keys_and_outputs_as_non_linear_neck(args):
    args = dict(args, norm_cfg=dict(type='BN1d'))
    torch.manual_seed(0)
    neck = MODELS.build(
        dict(type='NonLinearNeck', with_avg_pool=False, **args))
    neck.init_weights()
    torch.manual_seed(0)
    projector = MODELS.build(dict(type='RegionProjector', **args))
    projector.init_weights()
    assert list(projector.state_dict()) == list(neck.state_dict())
    for key, value in neck.state_dict().items():
        assert torch.equal(projector.state_dict()[key], value), key
    rows = torch.randn(10, args['in_channels'])
    assert torch.equal(projector([rows])[0], neck([rows])[0])
    assert torch.equal(
        projector.forward_hidden(projector.fc0(rows)),
        neck([rows])[0])


def test_region_sim_head_builds_non_linear_neck_configs_as_projector():
    head = RegionSimHead(
        projector=dict(
            type='NonLinearNeck',
            in_channels=8,
            hid_channels=8,
            out_channels=4,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=4,
            hid_channels=2,
            out_channels=4,
            with_avg_pool=False,
            norm_cfg=dict(type='BN1d')),
        loss=dict(type='RegionInfoNCELoss'))
    assert isinstance(head.projector, RegionProjector)
    assert type(head.predictor).__name__ == 'NonLinearNeck'
    with pytest.raises(ValueError, match='num_layers'):
        RegionProjector(4, 4, 4, num_layers=0)
