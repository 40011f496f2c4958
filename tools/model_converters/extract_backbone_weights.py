# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Extract the backbone of a pre-training checkpoint for fine-tuning.

A DenseSiam (or mmpretrain SimSiam) checkpoint holds the whole pre-training
model: ``backbone.*`` (the ResNet that transfers), ``neck.*``, ``head.*``,
``pix_sim_neck.*``, ``pix_sim_head.*``, ``region_sim_head.*`` and, in a
training checkpoint, optimizer and message-hub state. This tool keeps only
``backbone.*`` with the prefix removed::

    python tools/model_converters/extract_backbone_weights.py \\
        work_dirs/densesiam/epoch_200.pth densesiam_r50_backbone.pth

- default output: an mmengine checkpoint ``{'state_dict': ..., 'meta': ...}``
  whose keys (``conv1.weight``, ``layer1.0.bn1.weight``, ...) are those of
  mmdet's ``ResNet``, mmseg's ``ResNet`` (V1b stem) and mmpretrain's
  ``ResNet``; load it with
  ``init_cfg=dict(type='Pretrained', checkpoint=OUT)``.
- ``--torchvision``: a plain state dict for ``torchvision.models.resnetXX``
  (``model.load_state_dict(sd, strict=False)`` leaves only ``fc.*``, the new
  task head, missing).

The input is refused, with a message naming it, when it is not a torch
checkpoint, is corrupted (checksum) or holds no ``backbone.*`` weights; the
output when it is the input itself (also through a symlink or a hard link:
the training checkpoint would be replaced), a directory, or not writable.
The output is written atomically (a failed write leaves no file) and, in
the mmengine format, carries a checksum in ``meta['sha256']``.
"""
import argparse
import os
import os.path as osp
import sys

from densesiam_mm.checkpoint import (CheckpointFileError, add_checksum,
                                     extract_prefix, read_model_weights,
                                     refuse_to_overwrite_inputs,
                                     torch_save_atomically)
from densesiam_mm.models.probes.backbone_weights import \
    resnet_depth as backbone_resnet_depth
from densesiam_mm.version import __version__


def resnet_depth(backbone: dict):
    """Depth of a torchvision-layout ResNet state dict (with its stem
    ``conv1``), or None."""
    if 'conv1.weight' not in backbone:
        return None
    return backbone_resnet_depth(backbone)


def torchvision_keys(depth: int) -> set:
    """State-dict keys of ``torchvision.models.resnet{depth}`` minus fc."""
    import torchvision
    model = getattr(torchvision.models, f'resnet{depth}')()
    return {k for k in model.state_dict() if not k.startswith('fc.')}


def check_resnet_keys(backbone: dict, filename: str = 'checkpoint') -> int:
    """Check ``backbone`` is exactly a standard (torchvision-layout) ResNet.

    Returns the depth. Raises :class:`CheckpointFileError` listing missing and
    unexpected keys otherwise (e.g. a deep-stem ResNetV1c backbone).
    """
    depth = resnet_depth(backbone)
    if depth is None:
        raise CheckpointFileError(
            f'{filename}: the backbone is not a standard ResNet (no '
            f'conv1/layer1..layer4 of a known depth; first keys '
            f'{list(backbone)[:4]}).')
    expected = torchvision_keys(depth)
    missing = sorted(expected - set(backbone))
    unexpected = sorted(set(backbone) - expected)
    if missing or unexpected:
        raise CheckpointFileError(
            f'{filename}: ResNet-{depth} backbone with non-standard keys: '
            f'missing {missing[:5]}, unexpected {unexpected[:5]}.')
    return depth


def check_output_path(in_file: str, out_file: str) -> None:
    """Refuse an output that is the input, a directory, or not writable.

    Raises:
        CheckpointFileError: naming the path.
    """
    try:
        refuse_to_overwrite_inputs(out_file, [in_file], option='the output')
    except ValueError:
        raise CheckpointFileError(
            f'the output {out_file} is the input checkpoint '
            f'{osp.realpath(in_file)}: writing it would replace the '
            'training checkpoint with its backbone. Choose another output '
            'file.') from None
    if osp.isdir(out_file):
        raise CheckpointFileError(
            f'the output {out_file} is a directory; give a file name, e.g. '
            f'{osp.join(out_file, "backbone.pth")}.')
    folder = osp.dirname(osp.abspath(out_file))
    parent = folder
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        raise CheckpointFileError(
            f'cannot write {out_file}: {parent} is not a directory.')
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CheckpointFileError(
            f'cannot write {out_file}: {parent} is not writable.')


def convert(in_file: str,
            out_file: str,
            torchvision: bool = False,
            prefix: str = 'backbone.') -> dict:
    """Extract the backbone of ``in_file`` into ``out_file``.

    Returns a summary dict (``num_tensors``, ``depth`` or None).
    """
    check_output_path(in_file, out_file)
    backbone = extract_prefix(read_model_weights(in_file), prefix, in_file)
    if torchvision:
        depth = check_resnet_keys(backbone, in_file)
        output = backbone
    else:
        depth = resnet_depth(backbone)
        output = add_checksum(
            dict(
                state_dict=backbone,
                meta=dict(
                    source=osp.abspath(in_file),
                    prefix=prefix,
                    densesiam_mm_version=__version__)))
    try:
        torch_save_atomically(output, out_file)
    except OSError as err:
        raise CheckpointFileError(str(err)) from err
    return dict(num_tensors=len(backbone), depth=depth)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the backbone of a DenseSiam/SimSiam '
        'pre-training checkpoint for mmdet/mmseg (or torchvision).')
    parser.add_argument('checkpoint', help='pre-training checkpoint (.pth)')
    parser.add_argument('output', help='backbone-only checkpoint to write')
    parser.add_argument(
        '--torchvision',
        action='store_true',
        help='write a plain state dict for torchvision.models.resnetXX '
        '(load with strict=False; only fc.* stays missing)')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='key prefix of the backbone in the checkpoint '
        '(default: backbone.)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = convert(args.checkpoint, args.output, args.torchvision,
                          args.prefix)
    except CheckpointFileError as err:
        sys.exit(f'error: {err}')
    arch = (f'ResNet-{summary["depth"]}'
            if summary['depth'] else 'non-standard backbone (not a '
            'torchvision-layout ResNet; check the target model\'s keys)')
    style = 'torchvision' if args.torchvision else 'mmengine'
    print(f'{args.output}: {summary["num_tensors"]} backbone tensors, '
          f'{arch}, {style} format')


if __name__ == '__main__':
    main()
