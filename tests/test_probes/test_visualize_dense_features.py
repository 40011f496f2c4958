# Copyright (c) densesiam_mm contributors. All rights reserved.
"""PCA -> RGB of dense features: regions with different features get
different colours, equal features the same colour."""
import numpy as np
import torch

from tests.conftest import load_script

TOOL = 'tools/analysis/visualize_dense_features.py'


def test_pca_rgb_colours_regions_by_their_features():
    tool = load_script(TOOL)
    torch.manual_seed(0)
    region_a, region_b = torch.randn(16), torch.randn(16)
    feats = torch.empty(16, 6, 8)
    feats[:, :, :4] = region_a[:, None, None]
    feats[:, :, 4:] = region_b[:, None, None]
    feats += 0.01 * torch.randn_like(feats)
    rgb = tool.pca_rgb(feats, (12, 16))
    assert rgb.shape == (12, 16, 3) and rgb.dtype == np.uint8
    # red = the first principal component: the region difference; green
    # and blue show what is left (here noise, stretched to the full range)
    red = rgb[..., 0].astype(int)
    left, right = red[:, :3], red[:, -3:]
    assert np.ptp(left) < 30 and np.ptp(right) < 30  # uniform regions
    assert abs(left.mean() - right.mean()) > 200  # distinct colours


def test_tool_draws_random_and_checkpoint_panels(tmp_path):
    tool = load_script(TOOL)
    image = np.random.RandomState(0).randint(0, 255, (48, 64, 3), np.uint8)
    import mmcv
    path = str(tmp_path / 'img.png')
    mmcv.imwrite(image, path)
    out = str(tmp_path / 'feats.png')
    tool.main(
        [path, '--checkpoints', 'random', '--scale', '64', '48', '--out', out])
    drawn = mmcv.imread(out)
    assert drawn.shape[1] == 2 * 64 + 8  # image | random, one gap
