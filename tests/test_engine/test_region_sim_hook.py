# Copyright (c) densesiam_mm contributors. All rights reserved.
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from torch import nn

from densesiam_mm.engine.hooks import RegionSimHook


class Toy(nn.Module):
    region_sim_enabled = False


def runner(iteration, max_iters=10):
    return SimpleNamespace(
        model=Toy(), iter=iteration, max_iters=max_iters, logger=MagicMock())


@pytest.mark.parametrize('iteration,expected', [(0, False), (4, False),
                                                (5, True), (9, True)])
def test_switch_at_half(iteration, expected):
    r = runner(iteration)
    RegionSimHook(start_ratio=0.5).before_train_iter(r, 0)
    assert r.model.region_sim_enabled is expected


def test_state_follows_iteration_after_resume():
    hook = RegionSimHook(start_ratio=0.5)
    r = runner(7)  # resumed past the switch: on at once, logged once
    hook.before_train_iter(r, 0)
    assert r.model.region_sim_enabled
    r.iter = 8
    hook.before_train_iter(r, 0)
    assert r.logger.info.call_count == 1


def test_bad_ratio():
    with pytest.raises(ValueError, match='start_ratio'):
        RegionSimHook(start_ratio=1.5)
