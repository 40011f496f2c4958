# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Frozen dense probes of an in-memory backbone, in one call.

:class:`DenseProbe` scores the dense features of a backbone *module* (the
one a model is training, or one loaded from a checkpoint) with the
project's two probes, without a Runner, a work dir or a checkpoint file:

- **k-means** (the clustering probe's protocol): spherical k-means
  (:func:`spherical_kmeans`) of the eval split's L2-normalised features,
  scored by :class:`HungarianIoUMetric`'s matching (one-to-one Hungarian for
  ``k <= classes``, many-to-one majority above);
- **linear** (the linear probe's head): a :class:`LinearProbeHead` (stage
  selection and concatenation, BN, 1x1 conv, mmseg's loss with
  ``loss_label_stride``) trained by SGD on the fit split's cached features,
  scored with mmseg's IoU (``IoUMetric.intersect_and_union``).

Frames are loaded once (on the first call) and kept; every call computes
the features of both splits once under ``torch.no_grad()`` with the
backbone in eval mode, keeps them in a :class:`DenseFeatureCache` of its
own, runs both probes on them and restores the train/eval flag of every
submodule. The global RNGs are left as they were (a forked torch RNG).
"""
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmseg.evaluation import IoUMetric
from torch import Tensor, nn

from ..models.probes import DenseFeatureCache, LinearProbeHead
from ..models.utils.kmeans import spherical_kmeans
from .metrics import HungarianIoUMetric

#: ImageNet statistics (RGB), as in every probe config of the project
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

DatasetSpec = Union[dict, Sequence[dict], object]
Selection = Union[None, int, Sequence[int], Sequence[str]]


def shared_data_root() -> str:
    """``$DENSESIAM_SHARED_DATA``, or ``../shared/data`` (as the configs)."""
    return os.environ.get('DENSESIAM_SHARED_DATA', '../shared/data')


def camvid_dataset(split: str, data_root: Optional[str] = None) -> dict:
    """Config of a CamVid split (``'train'``: 367 frames, ``'val'``: 101)
    of the shared data, for :class:`DenseProbe`."""
    root = data_root or osp.join(shared_data_root(), 'camvid')
    return dict(
        type='CamVidDataset',
        data_root=root,
        data_prefix=dict(
            img_path=f'images/{split}', seg_map_path=f'labels/{split}'))


def tokens_to_map(tokens: Tensor, input_hw: Tuple[int, int],
                  patch_size: int) -> Tensor:
    """``(B, C, H/p, W/p)`` map of a ViT's ``(B, N, C)`` token sequence.

    The last ``(H/p) * (W/p)`` tokens are the patches in raster order;
    leading extra tokens (class / register tokens) are dropped.
    """
    h, w = input_hw[0] // patch_size, input_hw[1] // patch_size
    extra = tokens.size(1) - h * w
    if extra < 0:
        raise ValueError(
            f'DenseProbe: {tokens.size(1)} tokens for a {input_hw} input '
            f'with patch size {patch_size} ({h}x{w} patches expected); '
            'is the input size a multiple of the patch size?')
    return tokens[:, extra:].transpose(1, 2).reshape(
        tokens.size(0), tokens.size(2), h, w)


def _patch_size(backbone: nn.Module) -> int:
    size = getattr(backbone, 'patch_size', None)
    if size is None:
        proj = getattr(
            getattr(backbone, 'patch_embed', None), 'projection', None)
        size = getattr(proj, 'stride', None)
    if isinstance(size, (tuple, list)):
        size = size[0]
    if not isinstance(size, int):
        raise ValueError(
            f'DenseProbe: {type(backbone).__name__} returns token sequences '
            '(B, N, C) but has no `patch_size` (nor patch_embed.projection) '
            'to lay them out as a map.')
    return size


def backbone_maps(backbone: nn.Module, inputs: Tensor) -> List[Tensor]:
    """Every output of ``backbone(inputs)`` as a ``(B, C, h, w)`` map.

    ResNet-style outputs (one map per ``out_indices`` entry) are taken as
    they are; ``(B, N, C)`` token sequences (a ViT with
    ``out_type='raw'``, e.g. SiameseIM's encoder) are laid out on the patch
    grid (:func:`tokens_to_map`).
    """
    outs = backbone(inputs)
    if isinstance(outs, Tensor):
        outs = (outs, )
    maps = []
    for out in outs:
        if isinstance(out, (tuple, list)):  # e.g. (patch map, cls token)
            out = out[0]
        if out.dim() == 3:
            out = tokens_to_map(out, inputs.shape[-2:], _patch_size(backbone))
        if out.dim() != 4:
            raise ValueError(
                f'DenseProbe: {type(backbone).__name__} output of shape '
                f'{tuple(out.shape)} is neither a (B, C, h, w) map nor '
                '(B, N, C) tokens.')
        maps.append(out)
    return maps


def _label_size_scores(scores: Tensor, sample, input_hw) -> Tensor:
    """``(K, H, W)`` scores at the label size of ``sample``.

    ``scores`` ``(K, h, w)`` are upsampled bilinearly to the network input
    ``input_hw`` (padded batch), cropped to the resized image and resized to
    the label's shape (mmseg's ``postprocess_result`` path).
    """
    img_h, img_w = sample.img_shape[:2]
    scores = F.interpolate(
        scores[None], input_hw, mode='bilinear',
        align_corners=False)[..., :img_h, :img_w]
    label_hw = sample.gt_sem_seg.data.shape[-2:]
    if tuple(label_hw) != (img_h, img_w):
        scores = F.interpolate(
            scores, label_hw, mode='bilinear', align_corners=False)
    return scores[0]


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


class _Split:
    """One split held in memory: the packed samples of its frames."""

    def __init__(self, name, samples, metainfo):
        self.name = name
        self.samples = samples
        self.metainfo = metainfo

    def __len__(self):
        return len(self.samples)


class DenseProbe:
    """k-means and linear probes of a backbone's frozen dense features.

    Args:
        fit_dataset (dict | list[dict] | Dataset, optional): the labelled
            split the linear probe is fit on: an mmseg dataset config, a list
            of them (concatenated), or a built dataset (its own pipeline is
            then used). Defaults to CamVid train of the shared data
            (``$DENSESIAM_SHARED_DATA``, default ``../shared/data``).
        eval_dataset (same types, optional): the split both probes are scored
            on (and k-means is fit on, without labels). Defaults to CamVid
            val.
        fit_select, eval_select (int | list[int] | list[str], optional):
            which frames to use, after concatenation: ``None`` all, an int
            ``n`` that many evenly spaced frames, a list of ints those
            indices, a list of strings the frames whose file stem starts
            with one of them (a stem, or a drive such as ``'0006R0'``).
        input_size (tuple[int, int]): ``(W, H)`` the frames are resized to
            (``keep_ratio``; the batch is padded to it). Defaults to
            ``(320, 240)``.
        stages (Sequence[int], optional): what is probed. For a backbone
            with ``out_indices`` (mmpretrain / mmseg ResNet, ViT), indices in
            that numbering: ``(3, )`` C5 of a ResNet, ``(1, 2, 3)`` C3-C5
            (resized to C3's size and concatenated), ``(-1, )`` the last
            layer of a ViT; stages the backbone does not output are
            obtained by setting its ``out_indices`` for the probe and
            restoring them after. For any other backbone, indices into its
            output tuple. Defaults to None: the backbone's last output
            (C5 of a ResNet with ``out_indices=(3, )`` or ``(0, 1, 2, 3)``).
        num_clusters (Sequence[int], optional): k values of the k-means
            probe. Defaults to ``(number of classes, )``.
        kmeans_iters (int): Lloyd iterations. Defaults to 30.
        points_per_image (int, optional): pixels of each eval frame in the
            k-means fit (all when None). Defaults to None.
        linear_iters (int): SGD steps of the linear probe. Defaults to 200.
        linear_batch_size (int): frames per step. Defaults to 16.
        linear_lr (float): SGD lr (momentum 0.9, poly decay to 1e-4).
            Defaults to 0.1.
        loss_label_stride (int): the head's ``loss_label_stride``.
            Defaults to 4.
        probes (Sequence[str]): ``'kmeans'`` and/or ``'linear'``.
        seed (int): probe seed (k-means seeding, head init, batch order).
            Defaults to 0.
        batch_size (int): frames per backbone forward. Defaults to 16.
        mean, std (Sequence[float]): input normalisation (RGB).
        bgr_to_rgb (bool): convert the loaded BGR frames. Defaults to True.
        feature_dtype (torch.dtype, optional): storage dtype of the cached
            features (e.g. ``torch.float16`` to halve memory).
        label_size (str): where the eval split is scored: ``'original'``
            (the label files' size, mmseg's test protocol, as
            ``tools/analysis/dense_probe.py``) or ``'input'`` (labels
            resized with the frame, nearest; 9x fewer pixels for CamVid at
            160x120, for the training-time probe). Defaults to
            ``'original'``.

    Shapes:
        backbone input ``(B, 3, H, W)`` normalised frames; each probed
        output ``(B, C_i, h_i, w_i)`` (or ``(B, N, C)`` tokens).
    """

    def __init__(self,
                 fit_dataset: Optional[DatasetSpec] = None,
                 eval_dataset: Optional[DatasetSpec] = None,
                 fit_select: Selection = None,
                 eval_select: Selection = None,
                 input_size: Tuple[int, int] = (320, 240),
                 stages: Optional[Sequence[int]] = None,
                 num_clusters: Optional[Sequence[int]] = None,
                 kmeans_iters: int = 30,
                 points_per_image: Optional[int] = None,
                 linear_iters: int = 200,
                 linear_batch_size: int = 16,
                 linear_lr: float = 0.1,
                 loss_label_stride: int = 4,
                 probes: Sequence[str] = ('kmeans', 'linear'),
                 seed: int = 0,
                 batch_size: int = 16,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 bgr_to_rgb: bool = True,
                 feature_dtype: Optional[torch.dtype] = None,
                 label_size: str = 'original') -> None:
        if label_size not in ('original', 'input'):
            raise ValueError("DenseProbe: `label_size` must be 'original' or "
                             f"'input', got {label_size!r}.")
        unknown = set(probes) - {'kmeans', 'linear'}
        if unknown or not probes:
            raise ValueError("DenseProbe: `probes` must be 'kmeans' and/or "
                             f"'linear', got {list(probes)}.")
        if len(input_size) != 2 or min(input_size) < 1:
            raise ValueError('DenseProbe: `input_size` is (W, H), got '
                             f'{input_size!r}.')
        if stages is not None and (not stages
                                   or len(set(stages)) != len(stages)):
            raise ValueError('DenseProbe: `stages` must be distinct backbone '
                             f'output indices, got {stages!r}.')
        for name, value in (('kmeans_iters', kmeans_iters), ('linear_iters',
                                                             linear_iters),
                            ('linear_batch_size',
                             linear_batch_size), ('batch_size', batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ValueError(f'DenseProbe: `{name}` must be an int >= 1,'
                                 f' got {value!r}.')
        if num_clusters is not None and (not num_clusters
                                         or min(num_clusters) < 2):
            raise ValueError('DenseProbe: `num_clusters` must list k >= 2, '
                             f'got {num_clusters!r}.')
        self.fit_dataset = fit_dataset if fit_dataset is not None \
            else camvid_dataset('train')
        self.eval_dataset = eval_dataset if eval_dataset is not None \
            else camvid_dataset('val')
        self.fit_select = fit_select
        self.eval_select = eval_select
        self.input_size = tuple(input_size)
        self.stages = tuple(stages) if stages is not None else None
        self.num_clusters = list(num_clusters) if num_clusters else None
        self.kmeans_iters = kmeans_iters
        self.points_per_image = points_per_image
        self.linear_iters = linear_iters
        self.linear_batch_size = linear_batch_size
        self.linear_lr = linear_lr
        self.loss_label_stride = loss_label_stride
        self.probes = tuple(probes)
        self.seed = seed
        self.batch_size = batch_size
        self.mean, self.std = mean, std
        self.bgr_to_rgb = bgr_to_rgb
        self.feature_dtype = feature_dtype
        self.label_size = label_size
        self._splits: Optional[Dict[str, _Split]] = None
        self._preprocessor = None

    # ------------------------------------------------------------------
    # data: loaded once
    # ------------------------------------------------------------------
    def _pipeline(self, fit: bool, num_classes: int) -> List[dict]:
        load_ann = dict(
            type='LoadCheckedSegAnnotations', num_classes=num_classes)
        resize = dict(type='Resize', scale=self.input_size, keep_ratio=True)
        # fit: labels resized with the frame (the loss needs one size);
        # eval: labels at their own size (mmseg's test protocol) unless
        # label_size='input'
        at_input = fit or self.label_size == 'input'
        middle = [load_ann, resize] if at_input else [resize, load_ann]
        return [
            dict(type='LoadImageFromFile'), *middle,
            dict(type='PackSegInputs')
        ]

    def _build(self, spec, fit: bool) -> list:
        from mmseg.registry import DATASETS
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        datasets = []
        for one in specs:
            if isinstance(one, dict):
                cfg = dict(one)
                cfg.setdefault('test_mode', False)
                # frames are kept as loaded samples: no need for mmengine's
                # serialised data list (whose gc.collect() takes seconds in
                # a large process)
                cfg.setdefault('serialize_data', False)
                with DefaultScope.overwrite_default_scope('mmseg'):
                    # the classes first (lazy: no file listed), then the
                    # data set whose label loader checks ids against them
                    meta = DATASETS.build(
                        dict(cfg, pipeline=[], lazy_init=True)).metainfo
                    cfg['pipeline'] = self._pipeline(
                        fit,
                        len(meta.get('classes') or ()) or None)
                    one = DATASETS.build(cfg)
            datasets.append(one)
        return datasets

    def frames(self, split: str) -> List[Tuple[object, int]]:
        """``(dataset, index)`` of every frame of the ``'fit'`` or
        ``'eval'`` split, after selection (builds the data sets, loads no
        frame)."""
        if split not in ('fit', 'eval'):
            raise ValueError(f"DenseProbe: split 'fit' or 'eval', got "
                             f'{split!r}.')
        fit = split == 'fit'
        datasets = self._build(self.fit_dataset if fit else self.eval_dataset,
                               fit)
        return self._select(datasets,
                            self.fit_select if fit else self.eval_select,
                            f'{split}_select')

    @staticmethod
    def _select(datasets, selection, name) -> List[Tuple[object, int]]:
        items = [(d, i) for d in datasets for i in range(len(d))]
        if selection is None:
            return items
        if isinstance(selection, int) and not isinstance(selection, bool):
            if selection < 1:
                raise ValueError(f'DenseProbe: `{name}` must be >= 1 frames,'
                                 f' got {selection}.')
            count = min(selection, len(items))
            picks = np.linspace(0, len(items) - 1, count).round()
            return [items[int(i)] for i in picks]
        selection = list(selection)
        if all(isinstance(s, str) for s in selection):
            picked = []
            for dataset, i in items:
                path = dataset.get_data_info(i)['img_path']
                stem = osp.splitext(osp.basename(path))[0]
                if stem.startswith(tuple(selection)):
                    picked.append((dataset, i))
            if not picked:
                raise ValueError(
                    f'DenseProbe: no frame of `{name}` has a file stem '
                    f'starting with {selection[:5]}.')
            return picked
        bad = [i for i in selection if not 0 <= int(i) < len(items)]
        if bad:
            raise ValueError(f'DenseProbe: `{name}` indices {bad[:5]} are '
                             f'outside 0..{len(items) - 1}.')
        return [items[int(i)] for i in selection]

    def prepare(self) -> Dict[str, _Split]:
        """Build the two splits and load their frames (once)."""
        if self._splits is not None:
            return self._splits
        from mmseg.registry import MODELS
        splits = {}
        for name in ('fit', 'eval'):
            if name == 'fit' and 'linear' not in self.probes:
                continue
            picks = self.frames(name)
            if not picks:
                raise ValueError(f'DenseProbe: the {name} split is empty.')
            samples = [dataset[i] for dataset, i in picks]
            splits[name] = _Split(name, samples, picks[0][0].metainfo)
        classes = splits['eval'].metainfo.get('classes')
        if not classes:
            raise ValueError("DenseProbe: the eval dataset's metainfo has no "
                             "'classes'.")
        if 'fit' in splits and len(splits['fit'].metainfo.get(
                'classes', ())) != len(classes):
            raise ValueError(
                'DenseProbe: the fit and eval datasets have different '
                f'classes ({splits["fit"].metainfo.get("classes")} vs '
                f'{classes}).')
        w, h = self.input_size
        with DefaultScope.overwrite_default_scope('mmseg'):
            self._preprocessor = MODELS.build(
                dict(
                    type='SegDataPreProcessor',
                    mean=list(self.mean),
                    std=list(self.std),
                    bgr_to_rgb=self.bgr_to_rgb,
                    pad_val=0,
                    seg_pad_val=255,
                    size=(h, w)))
        self._splits = splits
        return splits

    @property
    def classes(self) -> Tuple[str, ...]:
        return tuple(self.prepare()['eval'].metainfo['classes'])

    @property
    def ignore_index(self) -> int:
        return 255

    def cluster_counts(self) -> List[int]:
        return self.num_clusters or [len(self.classes)]

    def result_keys(self) -> List[str]:
        """The keys :meth:`evaluate` returns (one seed), in CSV order."""
        keys = []
        if 'kmeans' in self.probes:
            keys.append('kmeans_miou')
            for k in self.cluster_counts():
                keys += [f'kmeans_k{k}_miou', f'kmeans_k{k}_aacc']
        if 'linear' in self.probes:
            keys += ['linear_miou', 'linear_aacc', 'linear_macc']
        return keys + ['feature_seconds', 'seconds']

    # ------------------------------------------------------------------
    # features
    # ------------------------------------------------------------------
    def _batches(self, split: _Split, training: bool, device):
        for start in range(0, len(split), self.batch_size):
            batch = pseudo_collate(split.samples[start:start +
                                                 self.batch_size])
            data = self._preprocessor(batch, training)
            yield data['inputs'].to(device), data['data_samples']

    def _outputs(self, backbone) -> Tuple[Optional[Sequence[int]], list]:
        """``(out_indices to set for the probe or None, position of each
        probed stage in the outputs)``."""
        current = getattr(backbone, 'out_indices', None)
        if current is None:  # any module: index its outputs
            return None, list(self.stages or (-1, ))
        indices = [int(current)] if isinstance(
            current, int) else [int(i) for i in current]
        count = getattr(backbone, 'num_layers', None) or getattr(
            backbone, 'num_stages', None)
        stages = [max(indices)] if self.stages is None else [
            s + count if s < 0 and count else s for s in self.stages
        ]
        if min(stages) < 0 or len(set(stages)) != len(stages):
            raise ValueError(
                f'DenseProbe: stages {self.stages} do not name distinct '
                f'stages of {type(backbone).__name__} (out_indices '
                f'{indices}).')
        if set(stages) <= set(indices):
            return None, [indices.index(s) for s in stages]
        wanted = sorted(stages)
        if isinstance(current, tuple):
            wanted = tuple(wanted)
        return wanted, [wanted.index(s) for s in stages]

    @torch.no_grad()
    def _extract(self, backbone, split, training, cache, device, dtype,
                 positions):
        """Cache the probed stages of every frame; ``(keys, samples)``."""
        keys, samples = [], []
        for inputs, data_samples in self._batches(split, training, device):
            batch_keys, missing = cache.lookup(inputs)
            if missing:
                maps = backbone_maps(backbone, inputs[missing].to(dtype))
                picks = [p % len(maps) for p in positions]
                if len(set(picks)) != len(picks) or any(
                        not -len(maps) <= p < len(maps) for p in positions):
                    raise ValueError(
                        f'DenseProbe: stages {self.stages} do not name '
                        f'distinct outputs of the {len(maps)} of '
                        f'{type(backbone).__name__}.')
                cache.store([batch_keys[i] for i in missing],
                            [maps[p].float() for p in picks])
            keys += batch_keys
            samples += [s.to(device) for s in data_samples]
        return keys, samples

    def _head(self, channels: List[int], device) -> LinearProbeHead:
        multi = len(channels) > 1
        index = list(range(len(channels)))
        with DefaultScope.overwrite_default_scope('mmseg'):
            head = LinearProbeHead(
                in_channels=channels if multi else channels[0],
                in_index=index if multi else 0,
                num_classes=len(self.classes),
                norm_cfg=dict(type='BN'),
                loss_label_stride=self.loss_label_stride,
                ignore_index=self.ignore_index,
                loss_decode=dict(
                    type='CrossEntropyLoss',
                    use_sigmoid=False,
                    loss_weight=1.0))
        nn.init.normal_(head.conv_seg.weight, 0, 0.01)  # mmseg's init
        nn.init.zeros_(head.conv_seg.bias)
        return head.to(device)

    # ------------------------------------------------------------------
    # probes
    # ------------------------------------------------------------------
    def _gather(self, cache, keys, device) -> List[Tensor]:
        return cache.gather(keys, device)

    def _kmeans(self, head, cache, keys, samples, device, seed) -> dict:
        input_hw = self.input_size[::-1]
        feats = []
        generator = torch.Generator().manual_seed(seed)
        points = []
        for start in range(0, len(keys), self.batch_size):
            batch = head.dense_features(
                self._gather(cache, keys[start:start + self.batch_size],
                             device))
            batch = F.normalize(batch, dim=1)
            feats.append(batch)
            for image in batch.flatten(2):  # (C, h * w)
                keep = image.T
                if self.points_per_image is not None and \
                        keep.size(0) > self.points_per_image:
                    order = torch.randperm(keep.size(0), generator=generator)
                    keep = keep[order[:self.points_per_image].to(device)]
                points.append(keep)
        points = torch.cat(points)
        feats = torch.cat(feats)
        meta = dict(self._splits['eval'].metainfo)
        num_classes = len(self.classes)
        result = {}
        for k in self.cluster_counts():
            centroids = spherical_kmeans(points, k, self.kmeans_iters,
                                         torch.Generator().manual_seed(seed))
            metric = HungarianIoUMetric(
                num_clusters=k,
                matching='hungarian' if k <= num_classes else 'majority',
                ignore_index=self.ignore_index,
                prefix='dense_probe')
            metric.dataset_meta = meta
            for image, sample in zip(feats, samples):
                scores = torch.einsum('chw,kc->khw', image, centroids)
                pred = _label_size_scores(scores, sample,
                                          input_hw).max(0).indices
                metric.process({}, [
                    dict(
                        pred_sem_seg=dict(data=pred[None]),
                        gt_sem_seg=dict(data=sample.gt_sem_seg.data),
                        img_path=sample.get('img_path'))
                ])
            confusion = torch.stack(metric.results).sum(0).numpy()
            scores = metric.scores_from_confusion(confusion.astype(np.int64))
            result[f'kmeans_k{k}_miou'] = round(
                _nanmean(scores['IoU']) * 100, 2)
            result[f'kmeans_k{k}_aacc'] = round(float(scores['aAcc']) * 100, 2)
        result['kmeans_miou'] = result[
            f'kmeans_k{self.cluster_counts()[0]}_miou']
        return result

    def _linear(self, head, cache, fit, evals, device, seed) -> dict:
        fit_keys, fit_samples = fit
        params = [p for p in head.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(
            params, lr=self.linear_lr, momentum=0.9, weight_decay=0.)
        generator = torch.Generator().manual_seed(seed)
        order = torch.empty(0, dtype=torch.long)
        # (N, h / s, w / s) training labels: every s-th pixel from s // 2,
        # as LinearProbeHead(loss_label_stride=s) trains
        stride = head.loss_label_stride
        labels = torch.stack([s.gt_sem_seg.data[0]
                              for s in fit_samples])[:, stride // 2::stride,
                                                     stride // 2::stride]
        head.train()
        batch_size = min(self.linear_batch_size, len(fit_keys))
        for step in range(self.linear_iters):
            if order.numel() < batch_size:  # epochs of shuffled frames
                order = torch.cat([
                    order,
                    torch.randperm(len(fit_keys), generator=generator)
                ])
            pick, order = order[:batch_size].tolist(), order[batch_size:]
            factor = (1 - step / self.linear_iters)**0.9
            for group in optimizer.param_groups:
                group['lr'] = (self.linear_lr - 1e-4) * factor + 1e-4
            with torch.enable_grad():
                feats = self._gather(cache, [fit_keys[i] for i in pick],
                                     device)
                label = labels[pick]  # (B, h_s, w_s)
                # the head's loss (mmseg's loss_by_feat without its
                # accuracy): logits bilinearly resized to the label grid
                logits = F.interpolate(
                    head(feats),
                    label.shape[-2:],
                    mode='bilinear',
                    align_corners=head.align_corners)
                loss = head.loss_decode(
                    logits, label, ignore_index=head.ignore_index)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        head.eval()
        eval_keys, eval_samples = evals
        num_classes = len(self.classes)
        areas = torch.zeros(4, num_classes, dtype=torch.float64)
        input_hw = self.input_size[::-1]
        for start in range(0, len(eval_keys), self.batch_size):
            logits = head(
                self._gather(cache, eval_keys[start:start + self.batch_size],
                             device))
            for image, sample in zip(
                    logits, eval_samples[start:start + self.batch_size]):
                pred = _label_size_scores(image, sample,
                                          input_hw).max(0).indices
                label = sample.gt_sem_seg.data.squeeze(0).to(pred)
                areas += torch.stack([
                    a.double().cpu() for a in IoUMetric.intersect_and_union(
                        pred, label, num_classes, self.ignore_index)
                ])
        metrics = IoUMetric.total_area_to_metrics(
            *areas.unbind(0), metrics=['mIoU'])
        return dict(
            linear_miou=round(_nanmean(metrics['IoU']) * 100, 2),
            linear_aacc=round(float(metrics['aAcc']) * 100, 2),
            linear_macc=round(_nanmean(metrics['Acc']) * 100, 2))

    def evaluate(self,
                 backbone: nn.Module,
                 seeds: Optional[Sequence[int]] = None) -> Dict[str, float]:
        """Probe ``backbone``'s frozen features.

        The backbone runs in eval mode under ``torch.no_grad()``; afterwards
        every submodule has its previous ``training`` flag again, and no
        parameter, buffer, gradient or ``requires_grad`` flag has changed.

        Args:
            backbone (nn.Module): maps ``(B, 3, H, W)`` to a tuple of maps or
                token sequences (:func:`backbone_maps`).
            seeds (Sequence[int], optional): probe seeds; defaults to
                ``(seed, )``. Features are computed once for all seeds.

        Returns:
            dict: :meth:`result_keys` (mIoU, aAcc, mAcc in percent; with
            several seeds, their mean, with ``<key>_std`` the sample std of
            the mIoU keys and ``per_seed`` the single-seed dicts), plus
            ``num_fit`` / ``num_eval`` frames and ``seeds``.
        """
        seeds = list(seeds) if seeds is not None else [self.seed]
        start = time.perf_counter()
        splits = self.prepare()
        param = next(iter(backbone.parameters()), None)
        device = param.device if param is not None else torch.device('cpu')
        dtype = param.dtype if param is not None and \
            param.is_floating_point() else torch.float32
        modes = [(m, m.training) for m in backbone.modules()]
        out_indices = getattr(backbone, 'out_indices', None)
        probe_indices, positions = self._outputs(backbone)
        cache = DenseFeatureCache(dtype=self.feature_dtype)
        try:
            backbone.eval()
            if probe_indices is not None:
                backbone.out_indices = probe_indices
            evals = self._extract(backbone, splits['eval'], False, cache,
                                  device, dtype, positions)
            fit = self._extract(backbone, splits['fit'], True, cache, device,
                                dtype, positions) \
                if 'linear' in self.probes else None
        finally:
            if probe_indices is not None:
                backbone.out_indices = out_indices
            for module, mode in modes:
                module.training = mode
        feature_seconds = time.perf_counter() - start
        channels = [f.size(0) for f in cache.entries[evals[0][0]]]
        per_seed = {}
        cuda = [device.index or 0] if device.type == 'cuda' else []
        for seed in seeds:
            with torch.random.fork_rng(devices=cuda):
                torch.manual_seed(seed)
                head = self._head(channels, device)
                one = {}
                if 'kmeans' in self.probes:
                    with torch.no_grad():
                        one.update(
                            self._kmeans(head, cache, *evals, device, seed))
                if 'linear' in self.probes:
                    one.update(
                        self._linear(head, cache, fit, evals, device, seed))
            per_seed[seed] = one
        result = {}
        for key in per_seed[seeds[0]]:
            values = [per_seed[s][key] for s in seeds]
            result[key] = round(sum(values) / len(values), 2)
            if len(seeds) > 1 and key.endswith('miou'):
                mean = sum(values) / len(values)
                result[f'{key}_std'] = round(
                    math.sqrt(
                        sum((v - mean)**2
                            for v in values) / (len(values) - 1)), 2)
        result['feature_seconds'] = round(feature_seconds, 2)
        result['seconds'] = round(time.perf_counter() - start, 2)
        result['num_fit'] = len(splits['fit']) if 'fit' in splits else 0
        result['num_eval'] = len(splits['eval'])
        result['seeds'] = seeds
        if len(seeds) > 1:
            result['per_seed'] = per_seed
        return result

    __call__ = evaluate
