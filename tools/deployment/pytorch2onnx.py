# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Export an unsupervised segmentor (DenseSiam-Seg, PiCIE) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT \
        --output-file seg.onnx [--shape 240 320] [--opset 17] \
        [--verify IMAGE_OR_DIR ...] [--short-side N]

The graph is the model's inference: normalisation, encoder + FPN,
projector, bilinear resize of the cluster scores to the input size and the
arg-max cluster per pixel.

- input ``image``: ``(B, 3, H, W)`` float32, **RGB**, values 0-255 (the
  normalisation of the config's data preprocessor is in the graph);
- output ``labels``: ``(B, H, W)`` int64 cluster ids.

``B``, ``H`` and ``W`` are dynamic (``--shape`` is only the example input
traced). With ``--verify``, the exported file is run with onnxruntime on
real images (each resized to the short side of the config's test pipeline,
or ``--short-side``) and compared with the PyTorch model: the tool fails
unless the labels agree on at least ``--min-agreement`` (default 99.9 %)
of the pixels. The output never replaces the config or the checkpoint.
"""
import argparse
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch
from torch import nn

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')


class UnsupSegmenterONNX(nn.Module):
    """The inference of an unsupervised segmentor as one traceable module.

    Args:
        model (BaseUnsupSegmentor): the segmentor (eval mode).
        mean (Tensor): ``(3, )`` mean of the data preprocessor, in the
            model's channel order.
        std (Tensor): ``(3, )`` std, likewise.
        rgb_model (bool): the model takes RGB (the data preprocessor's
            ``bgr_to_rgb=True``); False: BGR, the input's channels are
            reversed in the graph.
    """

    def __init__(self,
                 model: nn.Module,
                 mean: torch.Tensor,
                 std: torch.Tensor,
                 rgb_model: bool = True) -> None:
        super().__init__()
        self.model = model
        self.rgb_model = rgb_model
        self.register_buffer('mean', mean.float().view(1, 3, 1, 1))
        self.register_buffer('std', std.float().view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` RGB 0-255 to ``(B, H, W)`` int64 cluster ids."""
        if not self.rgb_model:
            image = image.flip(1)
        logits = self.model.encode_decode((image - self.mean) / self.std)
        return logits.argmax(dim=1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config of the segmentor')
    parser.add_argument('checkpoint', help='checkpoint of the segmentor')
    parser.add_argument(
        '--output-file', required=True, help='the .onnx file written')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[240, 320],
        metavar=('H', 'W'),
        help='size of the example input traced (the file accepts any)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset')
    parser.add_argument(
        '--verify',
        nargs='+',
        metavar='IMAGE_OR_DIR',
        help='compare onnxruntime with PyTorch on these images')
    parser.add_argument(
        '--short-side',
        type=int,
        help='resize verified images to this short side (default: the '
        "config's test pipeline, else the image's own size)")
    parser.add_argument(
        '--min-agreement',
        type=float,
        default=0.999,
        help='fraction of pixels whose labels must agree (--verify)')
    args = parser.parse_args()
    if min(args.shape) < 32:
        parser.error(f'--shape {args.shape}: both sides must be >= 32 '
                     '(the output stride)')
    return args


def build_exportable(config: str, checkpoint: str) -> UnsupSegmenterONNX:
    """The segmentor of ``config`` with ``checkpoint`` (strictly loaded;
    None keeps the initial weights) wrapped for export, in eval mode."""
    from densesiam_mm.apis import init_unsup_segmentor
    model = init_unsup_segmentor(config, checkpoint, device='cpu')
    pre = model.data_preprocessor
    pre_cfg = model.cfg.model.get('data_preprocessor') or {}
    # images are read as BGR; bgr_to_rgb=True gives the model RGB
    rgb_model = bool(pre_cfg.get('bgr_to_rgb', False))
    return UnsupSegmenterONNX(model, pre.mean.flatten(), pre.std.flatten(),
                              rgb_model).eval()


def export(module: UnsupSegmenterONNX,
           output_file: str,
           shape=(240, 320),
           opset: int = 17) -> None:
    """Write ``module`` to ``output_file`` with dynamic batch and size."""
    from densesiam_mm.checkpoint import save_bytes_atomically
    example = torch.rand(1, 3, *shape) * 255
    tmp = output_file + '.export-tmp'
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter (dynamo=False: the torch.export one
            # needs onnxscript, not in the locked environment) warns that
            # it is the legacy one
            warnings.simplefilter('ignore', DeprecationWarning)
            torch.onnx.export(
                module, (example, ),
                tmp,
                input_names=['image'],
                output_names=['labels'],
                dynamic_axes=dict(
                    image={
                        0: 'batch',
                        2: 'height',
                        3: 'width'
                    },
                    labels={
                        0: 'batch',
                        1: 'height',
                        2: 'width'
                    }),
                opset_version=opset,
                dynamo=False)
        with open(tmp, 'rb') as f:
            data = f.read()
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    save_bytes_atomically(output_file, data)


def test_short_side(config: str):
    """The ``ResizeShortestEdge`` scale of the config's test pipeline."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    for transform in cfg.get('test_pipeline') or []:
        if str(transform.get('type', '')).endswith('ResizeShortestEdge'):
            return transform.get('scale')
    return None


def load_rgb(path: str, short_side=None) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB, resized to ``short_side`` when given."""
    import mmcv
    img = mmcv.imread(path, channel_order='rgb')
    if img is None:
        raise OSError(f'cannot read image {path}')
    if short_side:
        img = mmcv.imrescale(
            img, short_side / min(img.shape[:2]), backend='cv2')
    return img


def list_images(items) -> list:
    paths = []
    for item in items:
        if osp.isdir(item):
            paths += sorted(
                osp.join(item, n) for n in os.listdir(item)
                if n.lower().endswith(IMAGE_SUFFIXES))
        elif osp.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f'--verify: no image or folder {item}')
    if not paths:
        raise FileNotFoundError(f'--verify: no image in {items}')
    return paths


def compare(module: UnsupSegmenterONNX,
            onnx_file: str,
            images: list,
            short_side=None) -> list:
    """Per image: ``(path, (H, W), fraction of pixels whose onnxruntime
    labels equal PyTorch's)``."""
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    rows = []
    for path in images:
        rgb = load_rgb(path, short_side)
        batch = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            ref = module(batch).numpy()
        out = session.run(['labels'], {'image': batch.numpy()})[0]
        if out.shape != ref.shape:
            raise AssertionError(f'{path}: onnxruntime labels {out.shape}, '
                                 f'PyTorch {ref.shape}')
        rows.append((path, rgb.shape[:2], float((out == ref).mean())))
    return rows


def main():
    args = parse_args()
    from densesiam_mm.checkpoint import refuse_to_overwrite_inputs
    refuse_to_overwrite_inputs(args.output_file,
                               [args.config, args.checkpoint], '--output-file')
    module = build_exportable(args.config, args.checkpoint)
    export(module, args.output_file, tuple(args.shape), args.opset)
    print(f'wrote {args.output_file}: input image (B, 3, H, W) float32 RGB '
          '0-255, output labels (B, H, W) int64 cluster ids; B, H, W '
          'dynamic')
    if not args.verify:
        return
    short_side = args.short_side or test_short_side(args.config)
    rows = compare(module, args.output_file, list_images(args.verify),
                   short_side)
    pixels = sum(h * w for _, (h, w), _ in rows)
    agree = sum(h * w * f for _, (h, w), f in rows) / pixels
    for path, (height, width), frac in rows:
        print(f'{path} ({width}x{height}): {100 * frac:.3f} % of pixels '
              'with equal labels')
    print(f'onnxruntime vs PyTorch: {100 * agree:.3f} % of {pixels} pixels '
          f'in {len(rows)} images with equal labels')
    if agree < args.min_agreement:
        sys.exit(f'error: agreement {agree:.5f} < --min-agreement '
                 f'{args.min_agreement}')


if __name__ == '__main__':
    main()
