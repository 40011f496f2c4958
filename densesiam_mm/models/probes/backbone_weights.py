# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Backbone weights from any checkpoint a user may hold."""
from collections import OrderedDict
from typing import Dict

import torch

from ...checkpoint import (CheckpointFileError, match_state_dict,
                           read_model_weights, select_prefix)

#: classifier keys of plain (torchvision-style) state dicts, not backbone
_HEAD_PREFIXES = ('fc.', 'head.', 'classifier.')


def backbone_state_dict(
        state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Backbone entries of a whole-model or backbone-only state dict.

    ``backbone.*`` keys (this project's DenseSiam/SimSiam checkpoints,
    mmpretrain / mmseg model-zoo files) are taken with the prefix removed;
    a file without them is taken as backbone-only (an extracted backbone, a
    torchvision ResNet) minus its classifier (``fc.*``).
    """
    backbone = select_prefix(state_dict, 'backbone.')
    if backbone:
        return backbone
    return OrderedDict((k, v) for k, v in state_dict.items()
                       if not k.startswith(_HEAD_PREFIXES))


def load_backbone_weights(backbone: torch.nn.Module,
                          filename: str) -> Dict[str, torch.Tensor]:
    """Load ``filename``'s backbone weights into ``backbone``, strictly.

    Every parameter and buffer of ``backbone`` must come from the file with
    its shape (BN's ``num_batches_tracked`` may be absent, as in old
    torchvision files). Returns the loaded state dict.

    Raises:
        CheckpointFileError: naming the file, when it is not a torch file,
            has no backbone weights (none of the model's keys), or holds
            another architecture (missing keys, or shapes that differ).
    """
    weights = backbone_state_dict(read_model_weights(filename))
    expected = backbone.state_dict()
    match = match_state_dict({
        k: v.shape
        for k, v in expected.items()
    }, weights)
    if not match.matched and not match.wrong_shape:
        groups = sorted({k.split('.')[0] for k in weights})
        raise CheckpointFileError(
            f'{filename} has no backbone weights for '
            f'{type(backbone).__name__}: none of its keys (groups '
            f'{groups[:8]}) is a key of the backbone (e.g. '
            f'{list(expected)[:2]}).')
    if match.missing or match.wrong_shape:
        details = []
        if match.missing:
            details.append(f'{len(match.missing)} backbone keys missing '
                           f'(e.g. {match.missing[:3]})')
        if match.wrong_shape:
            key = match.wrong_shape[0]
            details.append(
                f'{len(match.wrong_shape)} shapes differ (e.g. {key}: file '
                f'{tuple(weights[key].shape)}, model '
                f'{tuple(expected[key].shape)})')
        raise CheckpointFileError(
            f'{filename} holds another architecture than the probed '
            f'{type(backbone).__name__}: ' + '; '.join(details) + '.')
    loadable = OrderedDict((k, weights[k]) for k in expected if k in weights)
    backbone.load_state_dict(loadable, strict=False)
    return loadable


#: (blocks per stage, bottleneck) -> ResNet depth (torchvision's table)
_RESNET_DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}


def resnet_depth(weights: Dict[str, torch.Tensor]):
    """Depth of a (torchvision / mmpretrain / mmseg layout) ResNet state
    dict, or None when it is not one of the standard ResNets."""
    blocks = []
    for stage in range(1, 5):
        ids = {
            int(key.split('.')[1])
            for key in weights if key.startswith(f'layer{stage}.')
            and key.split('.')[1].isdigit()
        }
        if not ids or ids != set(range(len(ids))):
            return None
        blocks.append(len(ids))
    bottleneck = 'layer1.0.conv3.weight' in weights
    return _RESNET_DEPTHS.get((tuple(blocks), bottleneck))


def resnet_stage_channels(depth: int):
    """Output channels of the four stages of a ResNet of ``depth``."""
    expansion = 4 if depth >= 50 else 1
    return tuple(64 * 2**i * expansion for i in range(4))
