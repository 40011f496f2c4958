# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Loss values against hand-computed ones."""
import math

import pytest
import torch

import densesiam_mm  # noqa: F401
from densesiam_mm.models.losses import DenseSimilarityLoss, RegionInfoNCELoss


def test_cosine_matches_hand_computed():
    # one image, C=2, two points: cos = 1 at the first, 0 at the second
    pred = torch.tensor([[[1., 0.], [0., 1.]]])  # (B=1, C=2, P=2)
    target = torch.tensor([[[2., 1.], [0., 0.]]])
    loss = DenseSimilarityLoss(mode='cosine')(pred, target)
    assert loss.item() == pytest.approx((-1.0 + 0.0) / 2)


def test_cross_entropy_matches_hand_computed():
    pred = torch.tensor([[[0.], [math.log(3.)]]])  # softmax -> (1/4, 3/4)
    target = torch.tensor([[[math.log(2.)], [0.]]])  # softmax -> (2/3, 1/3)
    loss = DenseSimilarityLoss(mode='cross_entropy')(pred, target)
    expected = -(2 / 3 * math.log(1 / 4) + 1 / 3 * math.log(3 / 4))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_invalid_pairs_are_ignored():
    pred = torch.randn(3, 4, 5, requires_grad=True)
    target = torch.randn(3, 4, 5)
    loss_fn = DenseSimilarityLoss(mode='cosine')
    valid = torch.tensor([True, False, True])
    full = loss_fn(pred, target, valid)
    subset = loss_fn(pred[[0, 2]], target[[0, 2]])
    assert full.item() == pytest.approx(subset.item(), rel=1e-6)
    full.backward()
    assert pred.grad[1].abs().sum() == 0


def test_no_valid_pair_gives_zero_loss_and_zero_grad():
    pred = torch.randn(2, 4, 5, requires_grad=True)
    loss = DenseSimilarityLoss(mode='cross_entropy')(pred, torch.randn(
        2, 4, 5), torch.tensor([False, False]))
    assert loss.item() == 0 and torch.isfinite(loss)
    loss.backward()
    assert pred.grad.abs().sum() == 0


def test_info_nce_matches_hand_computed():
    # two regions, orthogonal unit embeddings, T = 0.5
    pred = torch.tensor([[[1., 0.], [0., 1.]]])
    target = torch.tensor([[[1., 0.], [1., 0.]]])
    loss = RegionInfoNCELoss(temperature=0.5)(pred, target)
    # region 0: logits (2, 2) -> -log(1/2); region 1: logits (0, 0) -> log 2
    assert loss.item() == pytest.approx(math.log(2.), rel=1e-6)
    pred = torch.tensor([[[1., 0.], [0., 1.]]])
    target = torch.tensor([[[1., 0.], [0., 1.]]])
    loss = RegionInfoNCELoss(temperature=1.0)(pred, target)
    assert loss.item() == pytest.approx(
        -math.log(math.e / (math.e + 1)), rel=1e-6)


def test_bad_config_values_name_the_field():
    with pytest.raises(ValueError, match='mode'):
        DenseSimilarityLoss(mode='l2')
    with pytest.raises(ValueError, match='temperature'):
        DenseSimilarityLoss(mode='cross_entropy', temperature=0)
    with pytest.raises(ValueError, match='temperature'):
        RegionInfoNCELoss(temperature=-1)
