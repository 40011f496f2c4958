# Copyright (c) densesiam_mm contributors. All rights reserved.
"""mIoU of unsupervised segmentation after matching clusters to classes."""
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable
from scipy.optimize import linear_sum_assignment


def hungarian_match(confusion: np.ndarray) -> np.ndarray:
    """One-to-one matching of clusters to classes (Hungarian algorithm).

    Args:
        confusion (np.ndarray): ``(C, K)`` pixel counts, rows are ground-truth
            classes, columns predicted clusters.

    Returns:
        np.ndarray: ``(K,)`` int64, the class each cluster is assigned to, or
        ``-1`` for clusters left unmatched (when ``K > C``). The assignment
        maximises the number of correctly labelled pixels.
    """
    classes, clusters = linear_sum_assignment(confusion, maximize=True)
    cluster_to_class = np.full(confusion.shape[1], -1, dtype=np.int64)
    cluster_to_class[clusters] = classes
    return cluster_to_class


def majority_match(confusion: np.ndarray) -> np.ndarray:
    """Many-to-one matching: each cluster takes its most frequent class.

    Args:
        confusion (np.ndarray): ``(C, K)`` pixel counts (rows classes).

    Returns:
        np.ndarray: ``(K,)`` int64 class of each cluster; ``-1`` for clusters
        that predicted no labelled pixel.
    """
    cluster_to_class = confusion.argmax(axis=0).astype(np.int64)
    cluster_to_class[confusion.sum(axis=0) == 0] = -1
    return cluster_to_class


def _iou_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """IoU of each diagonal entry of a square ``(N, N)`` confusion matrix.

    ``tp / (row sum + column sum - tp)``; NaN where the union is empty.
    """
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def _nanmean(values: np.ndarray) -> float:
    """Mean over defined values; NaN (never a warning storm) if none are."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


@METRICS.register_module()
class HungarianIoUMetric(BaseMetric):
    """Pixel accuracy and mIoU of cluster predictions, after matching
    clusters to ground-truth classes.

    Unsupervised segmentation predicts cluster ids, not class ids. The
    ``(C, K)`` confusion matrix of ground-truth classes (rows) against
    predicted clusters (columns) is accumulated over the whole data set;
    clusters are then matched to classes and the usual metrics are computed
    on the matched labels:

    - ``matching='hungarian'`` (paper protocol): one-to-one,
      ``scipy.optimize.linear_sum_assignment`` maximising the matched pixels.
      With ``K > C`` the unmatched clusters count as wrong predictions; with
      ``K < C`` the unmatched classes get IoU 0.
    - ``matching='majority'``: many-to-one, every cluster is labelled with
      its most frequent class (use with ``num_clusters > num_classes``,
      e.g. over-clustering).

    Outputs (percent, rounded to 2 decimals like mmseg's ``IoUMetric``):
    ``aAcc`` (matched pixels / labelled pixels), ``mIoU``, ``mAcc`` (mean
    class recall), ``mIoU_thing`` and ``mIoU_stuff`` (when thing classes are
    known) and ``IoU.<class name>`` for each class. A per-class table (class,
    thing/stuff, IoU, Acc, matched clusters) is logged.

    **Thing / stuff.** By default ``mIoU_thing`` is the mean IoU of the
    thing *classes* and ``mIoU_stuff`` that of all other classes, each IoU
    taken from the full matched confusion matrix (the same numbers as the
    per-class IoUs).

    ``legacy_split=True`` reproduces the official DenseSiam / PiCIE
    evaluators instead, for comparison with published numbers. They
    (1) reorder the rows of the square confusion matrix so that the row of
    class ``c`` moves to the index of the cluster matched to ``c``
    (``new_hist[match[c]] = hist[c]``), giving a matrix indexed by *cluster*
    id on both axes; (2) slice it by index, ``new_hist[:12, :12]`` for
    things and ``new_hist[12:, 12:]`` for stuff, i.e. the clusters numbered
    0..11 and the classes matched to them, whatever those classes are; and
    (3) compute IoU inside that block only, so pixels confused with a class
    of the other block count neither in the union nor as errors. Here the
    block is ``thing_classes`` used as cluster indices (for COCO-Stuff-27,
    classes 0..11, which gives exactly ``[:12, :12]``). The legacy numbers
    are therefore not per-class thing/stuff numbers; ``aAcc``, ``mIoU`` and
    the per-class IoUs are the same in both modes. Legacy mode requires
    ``matching='hungarian'`` and ``num_clusters == num_classes``, like the
    official code.

    **Undefined values.** A class with no ground-truth pixel and no matched
    prediction has an undefined IoU: it is reported as NaN and left out of
    the means (``np.nanmean``, as in mmseg); a warning lists such classes.

    **Device and distributed use.** For each batch the ``(B, C, K)`` counts
    of its ``B`` samples are computed by one ``torch.bincount`` on the
    device of the predictions and moved to the CPU once; one ``(C, K)``
    matrix per sample is kept, so that mmengine's result collection across
    ranks drops the samples padded by the distributed sampler. The gathered
    matrices are summed before matching.

    Args:
        num_classes (int, optional): Number of ground-truth classes ``C``.
            Defaults to ``len(dataset_meta['classes'])``.
        num_clusters (int, optional): Number of predicted clusters ``K``;
            predictions must lie in ``0..K-1``. Defaults to ``num_classes``.
        matching (str): ``'hungarian'`` (one-to-one) or ``'majority'``
            (many-to-one). Defaults to ``'hungarian'``.
        thing_classes (Sequence[str | int], optional): Thing classes, given
            as class names or as class indices. Defaults to
            ``dataset_meta['thing_classes']`` (names; those not among the
            dataset's classes are dropped) when the dataset provides it;
            without it no thing/stuff means are reported.
        legacy_split (bool): Compute ``mIoU_thing`` / ``mIoU_stuff`` the way
            the official DenseSiam/PiCIE evaluators do (see above).
            Defaults to False.
        ignore_index (int): Ground-truth label skipped. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results
            across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 num_classes: Optional[int] = None,
                 num_clusters: Optional[int] = None,
                 matching: str = 'hungarian',
                 thing_classes: Optional[Sequence[Union[str, int]]] = None,
                 legacy_split: bool = False,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if matching not in ('hungarian', 'majority'):
            raise ValueError(f"matching must be 'hungarian' or 'majority', "
                             f'got {matching!r}')
        if legacy_split and matching != 'hungarian':
            raise ValueError("legacy_split=True reproduces the official "
                             "one-to-one evaluators; it needs "
                             "matching='hungarian'")
        for name, value in (('num_classes', num_classes), ('num_clusters',
                                                           num_clusters)):
            if value is not None and value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        self.num_classes = num_classes
        self.num_clusters = num_clusters
        self.matching = matching
        self.thing_classes = thing_classes
        self.legacy_split = legacy_split
        self.ignore_index = ignore_index

    # ------------------------------------------------------------------
    # sizes and names, resolved once the evaluator has set dataset_meta
    # ------------------------------------------------------------------
    def _class_names(self) -> List[str]:
        meta = self.dataset_meta or {}
        names = meta.get('classes')
        if names is not None:
            if (self.num_classes is not None
                    and self.num_classes != len(names)):
                raise ValueError(
                    f'{type(self).__name__}: num_classes={self.num_classes} '
                    f'but the dataset has {len(names)} classes')
            return list(names)
        if self.num_classes is None:
            raise ValueError(
                f'{type(self).__name__}: set num_classes, or evaluate on a '
                "dataset whose metainfo has 'classes'")
        return [f'class_{i}' for i in range(self.num_classes)]

    def _sizes(self):
        num_classes = len(self._class_names())
        num_clusters = self.num_clusters or num_classes
        if self.legacy_split and num_clusters != num_classes:
            raise ValueError(
                'legacy_split=True needs num_clusters == num_classes '
                f'(got {num_clusters} and {num_classes}), as in the '
                'official evaluators')
        return num_classes, num_clusters

    def _thing_indices(self, class_names: List[str]) -> Optional[np.ndarray]:
        things = self.thing_classes
        if things is None:
            things = (self.dataset_meta or {}).get('thing_classes')
            if things is None:
                return None
            # a dataset with a custom subset of classes keeps its full list
            things = [t for t in things if t in class_names]
        indices = []
        for thing in things:
            if isinstance(thing, str):
                if thing not in class_names:
                    raise ValueError(
                        f'{type(self).__name__}: thing class {thing!r} is '
                        f'not one of the classes {class_names}')
                indices.append(class_names.index(thing))
            else:
                if not 0 <= int(thing) < len(class_names):
                    raise ValueError(
                        f'{type(self).__name__}: thing class index {thing} '
                        f'is outside 0..{len(class_names) - 1}')
                indices.append(int(thing))
        return np.array(sorted(set(indices)), dtype=np.int64)

    # ------------------------------------------------------------------
    # accumulation
    # ------------------------------------------------------------------
    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Count (class, cluster) pixel pairs of a batch.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): mmseg outputs as dicts, each with
                ``pred_sem_seg['data']`` ``(1, H, W)`` cluster ids and
                ``gt_sem_seg['data']`` ``(1, H, W)`` class ids.
        """
        if len(data_samples) == 0:
            return
        num_classes, num_clusters = self._sizes()
        # ignored pixels go to an extra "dump" row C, dropped after counting
        cells = (num_classes + 1) * num_clusters
        indices, ranges = [], []
        for i, sample in enumerate(data_samples):
            pred = sample['pred_sem_seg']['data']
            label = sample['gt_sem_seg']['data']
            if pred.shape[-2:] != label.shape[-2:]:
                raise ValueError(
                    f'{type(self).__name__}: prediction {tuple(pred.shape)} '
                    f'and ground truth {tuple(label.shape)} differ in size '
                    f'for {sample.get("img_path", f"sample {i}")}')
            pred = pred.reshape(-1).long()
            label = label.reshape(-1).to(pred.device).long()
            ignored = label == self.ignore_index
            checked = label.masked_fill(ignored, 0)
            ranges.append(
                torch.stack(
                    [pred.min(),
                     pred.max(),
                     checked.min(),
                     checked.max()]))
            label = label.masked_fill(ignored, num_classes)
            # sample i's counts occupy cells [i * (C+1) * K, (i+1) * ...)
            indices.append(i * cells + label * num_clusters + pred)
        ranges = torch.stack(ranges)  # (B, 4): pred min/max, label min/max
        bad = (ranges[:, 0] < 0) | (ranges[:, 1]
                                    >= num_clusters) | (ranges[:, 2] < 0) | (
                                        ranges[:, 3] >= num_classes)
        if bad.any().item():  # the only host sync of the batch
            self._raise_bad_values(data_samples, num_classes, num_clusters)
        counts = torch.bincount(
            torch.cat(indices), minlength=len(data_samples) * cells)
        counts = counts.view(len(data_samples), num_classes + 1,
                             num_clusters)[:, :num_classes].cpu()
        # one matrix per sample (cloned so each pickles only its own data)
        self.results.extend(c.clone() for c in counts.unbind(0))

    def _raise_bad_values(self, data_samples, num_classes, num_clusters):
        for i, sample in enumerate(data_samples):
            name = sample.get('img_path', f'sample {i}')
            pred = sample['pred_sem_seg']['data']
            label = sample['gt_sem_seg']['data']
            bad_pred = pred[(pred < 0) | (pred >= num_clusters)]
            if bad_pred.numel():
                raise ValueError(
                    f'{type(self).__name__}: prediction for {name} has '
                    f'cluster ids {bad_pred.unique().tolist()} outside '
                    f'0..{num_clusters - 1}; set num_clusters')
            bad_label = label[(label != self.ignore_index)
                              & ((label < 0) | (label >= num_classes))]
            if bad_label.numel():
                raise ValueError(
                    f'{type(self).__name__}: ground truth of {name} has '
                    f'class ids {bad_label.unique().tolist()} outside '
                    f'0..{num_classes - 1} (ignore_index '
                    f'{self.ignore_index})')

    # ------------------------------------------------------------------
    # metrics
    # ------------------------------------------------------------------
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Sum the gathered ``(C, K)`` matrices, match, and score.

        Args:
            results (list[Tensor]): ``(C, K)`` counts, one per sample.

        Returns:
            dict[str, float]: ``aAcc``, ``mIoU``, ``mAcc``, ``mIoU_thing``,
            ``mIoU_stuff`` and ``IoU.<name>``, in percent.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if len(results) == 0:
            raise RuntimeError(
                f'{type(self).__name__}: no sample was processed; the '
                'evaluation data set is empty')
        class_names = self._class_names()
        confusion = torch.stack(results).sum(0).numpy().astype(np.int64)
        if confusion.sum() == 0:
            raise RuntimeError(
                f'{type(self).__name__}: every ground-truth pixel is '
                f'ignore_index ({self.ignore_index}); nothing to evaluate')
        scores = self.scores_from_confusion(confusion)
        things = self._thing_indices(class_names)
        num_classes = len(class_names)

        metrics = OrderedDict(
            aAcc=scores['aAcc'],
            mIoU=_nanmean(scores['IoU']),
            mAcc=_nanmean(scores['Acc']))
        if things is not None:
            is_thing = np.zeros(num_classes, dtype=bool)
            is_thing[things] = True
            if self.legacy_split:
                hist = scores['cluster_ordered']
                stuff = np.flatnonzero(~is_thing)
                metrics['mIoU_thing'] = _nanmean(
                    _iou_from_confusion(hist[np.ix_(things, things)]))
                metrics['mIoU_stuff'] = _nanmean(
                    _iou_from_confusion(hist[np.ix_(stuff, stuff)]))
            else:
                metrics['mIoU_thing'] = _nanmean(scores['IoU'][is_thing])
                metrics['mIoU_stuff'] = _nanmean(scores['IoU'][~is_thing])
        for name, iou in zip(class_names, scores['IoU']):
            metrics[f'IoU.{name}'] = iou
        metrics = OrderedDict(
            (k, float(np.round(v * 100, 2))) for k, v in metrics.items())

        undefined = [
            n for n, v in zip(class_names, scores['IoU']) if np.isnan(v)
        ]
        if undefined:
            print_log(
                f'{type(self).__name__}: IoU undefined (no ground truth and '
                f'no prediction) for {undefined}; reported as NaN and left '
                'out of the means',
                logger,
                level=logging.WARNING)

        table = PrettyTable()
        table.add_column('Class', class_names)
        if things is not None:
            table.add_column('Type',
                             ['thing' if t else 'stuff' for t in is_thing])
        table.add_column('IoU', np.round(scores['IoU'] * 100, 2).tolist())
        table.add_column('Acc', np.round(scores['Acc'] * 100, 2).tolist())
        table.add_column('Clusters', [
            ','.join(
                map(str,
                    np.flatnonzero(scores['cluster_to_class'] == c).tolist()))
            or '-' for c in range(num_classes)
        ])
        split = 'legacy (cluster-index) split' if self.legacy_split \
            else 'per-class split'
        print_log(f'per class results ({self.matching} matching, {split}):',
                  logger)
        print_log('\n' + table.get_string(), logger=logger)
        return dict(metrics)

    def scores_from_confusion(self, confusion: np.ndarray) -> dict:
        """Match clusters to classes and compute per-class scores.

        Args:
            confusion (np.ndarray): ``(C, K)`` pixel counts, rows classes.

        Returns:
            dict: ``cluster_to_class`` ``(K,)`` (``-1`` = unmatched),
            ``IoU`` and ``Acc`` ``(C,)`` fractions (NaN where undefined),
            ``aAcc`` fraction, and for Hungarian matching with ``K == C``
            ``cluster_ordered``, the ``(C, C)`` matrix with the row of each
            class moved to the index of its matched cluster (the official
            evaluators' ``new_hist``).
        """
        num_classes, num_clusters = confusion.shape
        if self.matching == 'hungarian':
            cluster_to_class = hungarian_match(confusion)
        else:
            cluster_to_class = majority_match(confusion)
        # (K, C + 1) one-hot assignment; the last column collects the pixels
        # of unmatched clusters (wrong for every class)
        assign = np.zeros((num_clusters, num_classes + 1), dtype=np.int64)
        assign[np.arange(num_clusters),
               np.where(cluster_to_class >=
                        0, cluster_to_class, num_classes)] = 1
        matched = confusion @ assign  # (C, C + 1), rows gt, cols predicted
        tp = np.diag(matched[:, :num_classes]).astype(np.float64)
        gt_area = matched.sum(axis=1)
        pred_area = matched[:, :num_classes].sum(axis=0)
        union = gt_area + pred_area - tp
        with np.errstate(divide='ignore', invalid='ignore'):
            iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
            acc = np.where(gt_area > 0, tp / np.maximum(gt_area, 1), np.nan)
        scores = dict(
            cluster_to_class=cluster_to_class,
            IoU=iou,
            Acc=acc,
            aAcc=tp.sum() / confusion.sum())
        if self.matching == 'hungarian' and num_clusters == num_classes:
            ordered = np.zeros_like(confusion)
            class_to_cluster = np.argsort(cluster_to_class)
            ordered[class_to_cluster] = confusion
            scores['cluster_ordered'] = ordered
        return scores
