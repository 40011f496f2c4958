# Copyright (c) densesiam_mm contributors. All rights reserved.
"""HungarianIoUMetric against hand-computed confusion matrices."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import densesiam_mm  # noqa: F401
from densesiam_mm.evaluation import HungarianIoUMetric

CLASSES = ('a', 'b', 'c')

# rows: ground-truth class, columns: predicted cluster
#        k0 k1 k2
KNOWN = [
    [2, 8, 0],  # a -> k1
    [6, 1, 1],  # b -> k0
    [0, 2, 4]
]  # c -> k2


def pixels_from_confusion(confusion, extra_ignored=0):
    """(gt, pred) ``(1, 1, N)`` maps with exactly ``confusion`` counts, plus
    ``extra_ignored`` pixels of label 255 predicted as cluster 0."""
    gt, pred = [], []
    for c, row in enumerate(confusion):
        for k, n in enumerate(row):
            gt += [c] * n
            pred += [k] * n
    gt += [255] * extra_ignored
    pred += [0] * extra_ignored
    return (torch.tensor(gt).view(1, 1, -1), torch.tensor(pred).view(1, 1, -1))


def sample(gt, pred, name='img.jpg'):
    return dict(
        img_path=name, gt_sem_seg=dict(data=gt), pred_sem_seg=dict(data=pred))


def evaluate(samples, classes=CLASSES, size=None, **kwargs):
    metric = HungarianIoUMetric(**kwargs)
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(size or len(samples))


def test_permuted_perfect_prediction_scores_100():
    gen = torch.Generator().manual_seed(0)
    perm = torch.tensor([2, 0, 3, 1])
    samples = []
    for h, w in [(7, 5), (4, 9)]:  # different sizes in one batch
        gt = torch.randint(0, 4, (1, h, w), generator=gen)
        pred = perm[gt]
        gt[0, 0, :2] = 255  # ignored pixels, predicted whatever
        samples.append(sample(gt, pred))
    res = evaluate(samples, classes=('w', 'x', 'y', 'z'), thing_classes=[0])
    for key in ('aAcc', 'mIoU', 'mAcc', 'mIoU_thing', 'mIoU_stuff', 'IoU.w',
                'IoU.z'):
        assert res[key] == 100.0, key


def test_known_confusion_matrix():
    gt, pred = pixels_from_confusion(KNOWN)
    res = evaluate([sample(gt, pred)])
    # a: tp 8, gt 10, predicted (k1) 8+1+2=11 -> 8/13
    # b: tp 6, gt 8, predicted (k0) 2+6=8   -> 6/10
    # c: tp 4, gt 6, predicted (k2) 1+4=5   -> 4/7
    assert res['IoU.a'] == pytest.approx(61.54)
    assert res['IoU.b'] == pytest.approx(60.00)
    assert res['IoU.c'] == pytest.approx(57.14)
    assert res['mIoU'] == pytest.approx(59.56)  # (8/13 + 6/10 + 4/7) / 3
    assert res['aAcc'] == pytest.approx(75.00)  # 18 / 24
    assert res['mAcc'] == pytest.approx(73.89)  # (8/10 + 6/8 + 4/6) / 3
    assert 'mIoU_thing' not in res  # no thing classes known


def test_per_class_split_differs_from_legacy_split():
    gt, pred = pixels_from_confusion(KNOWN)
    # thing = class a (index 0), matched to cluster 1
    per_class = evaluate([sample(gt, pred)], thing_classes=['a'])
    # per class: thing = IoU(a) = 8/13, stuff = (6/10 + 4/7) / 2
    assert per_class['mIoU_thing'] == pytest.approx(61.54)
    assert per_class['mIoU_stuff'] == pytest.approx(58.57)

    legacy = evaluate([sample(gt, pred)], thing_classes=[0], legacy_split=True)
    # official evaluators: new_hist[cluster of c] = hist[c]
    #   new_hist = [[6, 1, 1],   (class b, cluster 0)
    #               [2, 8, 0],   (class a, cluster 1)
    #               [0, 2, 4]]   (class c, cluster 2)
    # "thing" block new_hist[:1, :1] = [[6]]            -> IoU 6/6
    # "stuff" block new_hist[1:, 1:] = [[8, 0], [2, 4]] -> 8/10, 4/6
    assert legacy['mIoU_thing'] == pytest.approx(100.0)
    assert legacy['mIoU_stuff'] == pytest.approx(73.33)
    # the overall numbers do not depend on the split
    for key in ('aAcc', 'mIoU', 'IoU.a', 'IoU.b', 'IoU.c'):
        assert legacy[key] == per_class[key]


def test_ignore_pixels_are_ignored():
    gt, pred = pixels_from_confusion(KNOWN)
    gt_ign, pred_ign = pixels_from_confusion(KNOWN, extra_ignored=50)
    assert evaluate([sample(gt_ign, pred_ign)]) == evaluate([sample(gt, pred)])
    # a custom ignore index: the pixels of class c are now ignored
    res = evaluate([sample(gt, pred)], ignore_index=2)
    # still a -> k1, b -> k0, c -> k2 (c's row is empty now)
    # a: 8 / (10 + 9 - 8); b: 6 / (8 + 8 - 6); c: 0 / (0 + 1 - 0)
    assert res['IoU.a'] == pytest.approx(72.73)
    assert res['IoU.b'] == pytest.approx(60.00)
    assert res['IoU.c'] == 0.0
    assert res['aAcc'] == pytest.approx(77.78)  # 14 / 18


def test_undefined_iou_is_nan_and_left_out_of_means():
    #        k0 k1 k2: class c has no pixel, cluster k2 predicts none
    gt, pred = pixels_from_confusion([[5, 1, 0], [2, 6, 0], [0, 0, 0]])
    res = evaluate([sample(gt, pred)], thing_classes=['c'])
    assert np.isnan(res['IoU.c']) and np.isnan(res['mIoU_thing'])
    # a: 5 / (6 + 7 - 5); b: 6 / (8 + 7 - 6)
    assert res['IoU.a'] == pytest.approx(62.5)
    assert res['IoU.b'] == pytest.approx(66.67)
    assert res['mIoU'] == pytest.approx(64.58)
    assert res['mIoU_stuff'] == pytest.approx(64.58)


#        k0 k1 k2 k3
OVER = [
    [5, 3, 0, 1],  # a
    [1, 0, 4, 2]
]  # b


def test_many_to_one_majority_matching():
    gt, pred = pixels_from_confusion(OVER)
    res = evaluate([sample(gt, pred)],
                   classes=('a', 'b'),
                   num_clusters=4,
                   matching='majority')
    # k0, k1 -> a; k2, k3 -> b
    # a: tp 8, gt 9, predicted 6+3=9 -> 8/10; b: tp 6, gt 7, pred 7 -> 6/8
    assert res['IoU.a'] == pytest.approx(80.0)
    assert res['IoU.b'] == pytest.approx(75.0)
    assert res['aAcc'] == pytest.approx(87.5)  # 14 / 16


def test_more_clusters_than_classes_hungarian():
    gt, pred = pixels_from_confusion(OVER)
    res = evaluate([sample(gt, pred)], classes=('a', 'b'), num_clusters=4)
    # one-to-one: a -> k0 (5), b -> k2 (4); k1, k3 unmatched (wrong)
    # a: 5 / (9 + 6 - 5); b: 4 / (7 + 4 - 4)
    assert res['IoU.a'] == pytest.approx(50.0)
    assert res['IoU.b'] == pytest.approx(57.14)
    assert res['aAcc'] == pytest.approx(56.25)  # 9 / 16


def test_through_mmengine_evaluator_with_seg_data_samples():
    """The dicts mmseg's test loop hands over, and padding dropped."""
    gt, pred = pixels_from_confusion(KNOWN)
    evaluator = Evaluator(
        dict(type='HungarianIoUMetric', _scope_='mmseg', thing_classes=['a']))
    evaluator.dataset_meta = dict(classes=CLASSES, thing_classes=['a'])
    data_samples = []
    for _ in range(2):  # the second one is a padded duplicate ...
        ds = SegDataSample()
        ds.gt_sem_seg = PixelData(data=gt[0].clone().view(1, 1, -1))
        ds.pred_sem_seg = PixelData(data=pred[0].clone().view(1, 1, -1))
        data_samples.append(ds)
    evaluator.process(data_samples)
    res = evaluator.evaluate(1)  # ... which size=1 drops
    assert res['aAcc'] == pytest.approx(75.0)
    assert res['mIoU_thing'] == pytest.approx(61.54)


def test_sums_over_batches():
    gt, pred = pixels_from_confusion(KNOWN)
    half = gt.shape[-1] // 2
    metric = HungarianIoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [sample(gt[..., :half], pred[..., :half])])
    metric.process({}, [sample(gt[..., half:], pred[..., half:])])
    assert metric.evaluate(2)['mIoU'] == pytest.approx(59.56)


def test_bad_inputs_raise_clear_errors():
    gt, pred = pixels_from_confusion(KNOWN)
    with pytest.raises(ValueError, match='frame_7.png.*cluster ids \\[5\\]'):
        evaluate([sample(gt, torch.full_like(pred, 5), 'frame_7.png')])
    with pytest.raises(ValueError, match='frame_8.png.*class ids \\[3\\]'):
        evaluate([sample(torch.full_like(gt, 3), pred, 'frame_8.png')])
    with pytest.raises(ValueError, match='differ in size'):
        evaluate([sample(gt, pred[..., :-1])])
    with pytest.raises(ValueError, match='num_clusters == num_classes'):
        evaluate([sample(gt, pred)], num_clusters=4, legacy_split=True)
    with pytest.raises(ValueError, match="matching='hungarian'"):
        HungarianIoUMetric(matching='majority', legacy_split=True)
    with pytest.raises(ValueError, match="thing class 'z'"):
        evaluate([sample(gt, pred)], thing_classes=['z'])
    with pytest.raises(RuntimeError, match='ignore_index'):
        evaluate([sample(torch.full_like(gt, 255), pred)])
