# Copyright (c) densesiam_mm contributors. All rights reserved.
"""SiameseIM weights -> a plain ViT backbone for fine-tuning and transfer.

Two sources, detected from the keys (or named with ``--source``):

- ``ours``: a densesiam_mm SiameseIM checkpoint. The online encoder
  ``backbone.*`` is kept (the EMA target ``target_net.*``, projector
  ``neck.*`` and predictor ``head.*`` are dropped); its layout is already
  that of mmpretrain's ``VisionTransformer``.
- ``official``: the authors' release (``sim_base_1600ep_pretrain.pth``,
  ``{'model': ...}``, timm layout): ``patch_embed.proj``, ``cls_token``,
  ``pos_embed``, ``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``
  are renamed to mmpretrain's names, keeping the checkpoint's own
  ``pos_embed``; the momentum branch (``mm_*``), decoder/projector/predictor
  (``decoder_*``, ``projector_decoder_blocks``, ``predictor_decoder_blocks``),
  ``mask_token`` and the norms of the loss are dropped.

Two target layouts (``--to``):

- ``mmpretrain`` (default): mmpretrain's ``VisionTransformer`` (and
  ``MAEViT``); mmseg's ``MAE`` backbone (the ADE20K UPerNet config) reads
  the same names;
- ``mmseg-vit``: mmseg's ``VisionTransformer`` (``attn.qkv`` becomes
  ``attn.attn.in_proj_*``, ``attn.proj`` ``attn.attn.out_proj``).

::

    python tools/model_converters/siameseim_to_vit.py CKPT OUT [--to mmseg-vit]

The output is an mmengine checkpoint ``{'state_dict', 'meta'}`` (written
atomically, with a checksum in ``meta['sha256']``: a failed write, e.g. a
full disk, leaves no file and names it); load it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (no prefix). An
output that is the input checkpoint itself (also through a symlink or a
hard link) is refused before any work.
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict

from densesiam_mm.checkpoint import (CheckpointFileError, add_checksum,
                                     extract_prefix, read_model_weights,
                                     refuse_to_overwrite_inputs,
                                     torch_save_atomically)
from densesiam_mm.version import __version__

OFFICIAL_DROP = ('mm_', 'decoder_', 'projector_decoder_blocks.',
                 'predictor_decoder_blocks.', 'mask_token', 'teacher_norm.',
                 'student_norm.', 'norm.', 'fc_norm.', 'head.')
OFFICIAL_BLOCK = {
    'norm1': 'ln1',
    'attn.qkv': 'attn.qkv',
    'attn.proj': 'attn.proj',
    'norm2': 'ln2',
    'mlp.fc1': 'ffn.layers.0.0',
    'mlp.fc2': 'ffn.layers.1',
    'ls1.gamma': 'attn.gamma1.weight',
    'ls2.gamma': 'ffn.gamma2.weight',
}
MMSEG_VIT = {
    'attn.qkv.weight': 'attn.attn.in_proj_weight',
    'attn.qkv.bias': 'attn.attn.in_proj_bias',
    'attn.proj.weight': 'attn.attn.out_proj.weight',
    'attn.proj.bias': 'attn.attn.out_proj.bias',
}


def detect_source(state_dict: dict, filename: str = 'checkpoint') -> str:
    if any(k.startswith('backbone.layers.') for k in state_dict):
        return 'ours'
    if any(k.startswith('blocks.') for k in state_dict) and \
            'patch_embed.proj.weight' in state_dict:
        return 'official'
    raise CheckpointFileError(
        f'{filename}: neither a densesiam_mm SiameseIM checkpoint '
        '(backbone.layers.*) nor the authors\' layout (blocks.N.*, '
        f'patch_embed.proj.*); first keys {sorted(state_dict)[:5]}.')


def convert_official(state_dict: dict,
                     filename: str = 'checkpoint') -> OrderedDict:
    """The authors' encoder in mmpretrain ``VisionTransformer`` names."""
    out = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(OFFICIAL_DROP):
            continue
        if key in ('cls_token', 'pos_embed'):
            out[key] = value
        elif key.startswith('patch_embed.proj.'):
            out['patch_embed.projection.' + key.split('.')[-1]] = value
        else:
            match = re.match(r'blocks\.(\d+)\.(.+)\.(weight|bias|gamma)$', key)
            name = match and OFFICIAL_BLOCK.get(
                match.group(2) +
                ('.gamma' if match.group(3) == 'gamma' else ''))
            if not name:
                unknown.append(key)
                continue
            suffix = '' if match.group(3) == 'gamma' else '.' + match.group(3)
            out[f'layers.{match.group(1)}.{name}{suffix}'] = value
    if unknown:
        raise CheckpointFileError(
            f'{filename}: keys of the authors\' layout that have no ViT '
            f'counterpart: {unknown[:5]}.')
    if 'pos_embed' not in out or 'patch_embed.projection.weight' not in out:
        raise CheckpointFileError(f'{filename}: no pos_embed / patch_embed.')
    return out


def to_mmseg_vit(state_dict: dict) -> OrderedDict:
    """mmpretrain ViT names -> mmseg ``VisionTransformer`` names."""
    out = OrderedDict()
    for key, value in state_dict.items():
        match = re.match(r'(layers\.\d+\.)(.+)$', key)
        if match and match.group(2) in MMSEG_VIT:
            key = match.group(1) + MMSEG_VIT[match.group(2)]
        out[key] = value
    return out


def check_output_path(in_file: str, out_file: str) -> None:
    """Refuse an output that is the input (same path, symlink, hard link:
    the training checkpoint would be replaced) or a directory.

    Raises:
        CheckpointFileError: naming the path.
    """
    try:
        refuse_to_overwrite_inputs(out_file, [in_file], option='the output')
    except ValueError as err:
        raise CheckpointFileError(str(err)) from None
    if osp.isdir(out_file):
        raise CheckpointFileError(
            f'the output {out_file} is a directory; give a file name, e.g. '
            f'{osp.join(out_file, "vit.pth")}.')


def convert(in_file: str,
            out_file: str,
            to: str = 'mmpretrain',
            source: str = None) -> dict:
    """Convert ``in_file`` into ``out_file``; returns a summary dict.

    Raises:
        CheckpointFileError: before any work when ``out_file`` is
            ``in_file`` (also through a symlink or a hard link) or a
            directory; or when the input cannot be converted, or the output
            cannot be written (the message names the file; no partial
            output is left).
    """
    check_output_path(in_file, out_file)
    state_dict = read_model_weights(in_file)
    source = source or detect_source(state_dict, in_file)
    if source == 'ours':
        vit = extract_prefix(state_dict, 'backbone.', in_file)
    elif source == 'official':
        vit = convert_official(state_dict, in_file)
    else:
        raise CheckpointFileError(f'unknown source {source!r}')
    if to == 'mmseg-vit':
        vit = to_mmseg_vit(vit)
    elif to != 'mmpretrain':
        raise CheckpointFileError(f'unknown target layout {to!r}')
    output = add_checksum(
        dict(
            state_dict=vit,
            meta=dict(
                source=osp.abspath(in_file),
                source_layout=source,
                layout=to,
                densesiam_mm_version=__version__)))
    try:
        torch_save_atomically(output, out_file)
    except OSError as err:  # names out_file: full disk, permission
        raise CheckpointFileError(str(err)) from err
    num_layers = len({k.split('.')[1] for k in vit if k.startswith('layers.')})
    return dict(
        num_tensors=len(vit),
        num_layers=num_layers,
        source=source,
        pos_embed=tuple(vit['pos_embed'].shape))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='SiameseIM checkpoint (ours or the authors\') -> ViT '
        'backbone weights for mmpretrain / mmseg.')
    parser.add_argument('checkpoint')
    parser.add_argument('output')
    parser.add_argument(
        '--to', choices=['mmpretrain', 'mmseg-vit'], default='mmpretrain')
    parser.add_argument(
        '--source',
        choices=['ours', 'official'],
        help='default: detected from the keys')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        summary = convert(args.checkpoint, args.output, args.to, args.source)
    except (CheckpointFileError, OSError) as err:
        sys.exit(f'error: {err}')
    print(f'{args.output}: {summary["num_tensors"]} tensors, '
          f'{summary["num_layers"]} blocks, pos_embed '
          f'{summary["pos_embed"]}, from the {summary["source"]} layout, '
          f'{args.to} names')


if __name__ == '__main__':
    main()
