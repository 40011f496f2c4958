# Copyright (c) densesiam_mm contributors. All rights reserved.
"""One training step of every algorithm on fake CUDA (no GPU needed).

Model and inputs are fake ``cuda:0`` tensors (:mod:`.fake_cuda`); the data
samples' geometry stays host data, as the data loader gives it. A tensor
the step creates on the CPU and mixes into the CUDA computation raises, as
on a GPU; so does a host-device sync (``.item()``, ``bool(tensor)``,
``nonzero``, boolean-mask indexing): each step below is also sync-free.
"""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch._subclasses.fake_tensor import (DataDependentOutputException,
                                           DynamicOutputShapeException,
                                           FakeTensorDeviceMismatchError)

import densesiam_mm  # noqa: F401
from densesiam_mm.models.losses import (DenseSimilarityLoss,
                                        RebalancedPseudoLabelLoss,
                                        RegionInfoNCELoss, UniGradLoss)
from ..test_models import test_densesiam, test_siameseim, test_unsup_seg
from .fake_cuda import (DEVICE, assert_step_on_cuda, fake_backward,
                        fake_cuda_like, fake_cuda_mode, model_to_fake_cuda)


def host_fields_as_numpy(samples):
    """The samples' geometry and masks as numpy arrays (host data).

    ``PackMultiViewSegInputs`` packs ``view_boxes``/``view_flips`` as CPU
    tensors; the models read them on the host (numpy) for their checks.
    Under the fake mode a real CPU tensor cannot be read (torch turns it
    into a fake one first, and ``.numpy()`` returns garbage), so the fake
    steps get the same values as numpy arrays, as ``PackInputs`` gives them.
    """
    for sample in samples:
        for key in ('view_boxes', 'view_flips', 'mask'):
            value = getattr(sample, key, None)
            if isinstance(value, torch.Tensor):
                setattr(sample, key, value.numpy())
    return samples


def _step(model, inputs, samples):
    """Forward + backward of ``model.loss`` on fake CUDA; returns losses."""
    samples = host_fields_as_numpy(samples)
    mode = fake_cuda_mode()
    model_to_fake_cuda(model, mode)
    model.train()
    with mode:
        inputs = [fake_cuda_like(x, mode) for x in inputs]
        losses = model.loss(inputs, samples)
        fake_backward(
            sum(value for value in losses.values() if value.requires_grad))
    assert_step_on_cuda(model, losses)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trainable)
    return losses


def test_densesiam_with_region_sim():
    torch.manual_seed(0)
    model = test_densesiam.MODELS.build(
        test_densesiam.small_model_cfg(region_sim_enabled=True))
    losses = _step(model, *test_densesiam.batch(batch_size=4, size=64))
    assert set(losses) == {'loss_global', 'loss_dense', 'loss_region'}


@pytest.mark.parametrize(
    'config',
    [test_unsup_seg.DENSESIAM_CAMVID, test_unsup_seg.DENSESIAM_GRID_CAMVID],
    ids=['dense', 'grid'])
def test_densesiam_seg(config):
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = test_unsup_seg.build(config, region_sim_enabled=True)
        inputs, samples = test_unsup_seg.two_view_batch()
        if 'grid' not in config:  # view 1 nested in view 2
            boxes = torch.tensor([[8., 8., 40., 40.], [0., 0., 64., 64.]])
            for sample in samples:
                sample.view_boxes = boxes
        losses = _step(model, inputs, samples)
    assert {'loss_dense', 'loss_region'} <= set(losses)


def test_picie_stored_labels_and_frozen_classifiers():
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = test_unsup_seg.build(test_unsup_seg.PICIE_OFFICIAL_CAMVID)
        assert model.freeze_classifiers and model.label_source == 'stored'
        model.set_centroids(F.normalize(torch.randn(2, 11, 128), dim=-1))
        inputs, samples = test_unsup_seg.two_view_batch()
        boxes = torch.tensor([[8., 8., 40., 40.], [0., 0., 64., 64.]])
        for i, sample in enumerate(samples):
            sample.view_boxes = boxes
            sample.set_metainfo(dict(sample_idx=10 + i))
        # the hook's labels are host data (uint8, on the CPU)
        model.set_pseudo_labels({
            10 + i:
            torch.randint(11, (2, 16, 16), dtype=torch.uint8)
            for i in range(2)
        })
        losses = _step(model, inputs, samples)
    assert set(losses) == {'loss_within', 'loss_cross'}
    assert all(c.weight.grad is None for c in model.classifiers)


def test_picie_online_labels():
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = test_unsup_seg.build(test_unsup_seg.PICIE_CAMVID)
        model.set_centroids(F.normalize(torch.randn(2, 11, 128), dim=-1))
        _step(model, *test_unsup_seg.two_view_batch())


def test_siameseim_mask_relative_code_ema_and_unigrad():
    MessageHub.get_current_instance().update_info('max_iters', 100)
    model = test_siameseim.build()
    views, samples = test_siameseim.batch(num=4)
    # the first step copies the online weights into the EMA target, the
    # second averages them (the host step count: no read of `steps`)
    losses = _step(model, views, samples)
    model.zero_grad()
    mode = fake_cuda_mode()
    with mode:
        inputs = [fake_cuda_like(x, mode) for x in views]
        losses = model.loss(inputs, samples)
        fake_backward(losses['loss'])
    assert_step_on_cuda(model, losses)
    assert set(losses) == {'loss', 'target_std'}
    assert model.target_net.host_steps == 2
    target = dict(model.target_net.module.named_parameters())
    assert all(p.device == DEVICE for p in target.values())


def test_linear_probe_head():
    """Forward and the training loss (mmseg's ``CrossEntropyLoss`` at the
    strided labels) of the probe head. mmseg's ``loss_by_feat`` also logs
    ``acc_seg`` with mmseg's ``accuracy``, whose boolean-mask indexing
    (``correct[:, target != ignore_index]``) has a data-dependent size and
    cannot run on fake tensors (a host sync on a GPU, in mmseg's code; see
    docs/gpu.md); the rest of ``loss_by_feat`` is run here."""
    from densesiam_mm.models.probes import LinearProbeHead
    head = LinearProbeHead(
        in_channels=[64, 128],
        in_index=[0, 1],
        num_classes=5,
        loss_label_stride=2)
    mode = fake_cuda_mode()
    model_to_fake_cuda(head, mode)
    head.train()
    with mode:
        feats = [
            torch.empty(2, 64, 16, 16, device=DEVICE),
            torch.empty(2, 128, 8, 8, device=DEVICE)
        ]
        samples = []
        for _ in range(2):
            sample = SegDataSample()
            sample.gt_sem_seg = PixelData(
                data=torch.empty(1, 64, 64, dtype=torch.long, device=DEVICE))
            samples.append(sample)
        labels = head._stack_batch_gt(samples)
        assert labels.shape == (2, 1, 32, 32) and labels.device == DEVICE
        logits = F.interpolate(
            head(feats), size=labels.shape[2:], mode='bilinear')
        loss = head.loss_decode(
            logits, labels.squeeze(1), ignore_index=head.ignore_index)
        fake_backward(loss)
    assert_step_on_cuda(head, dict(loss_ce=loss))
    assert head.conv_seg.weight.grad is not None
    assert head.norm.weight.grad.device == DEVICE


# ------------------------------------------------- the check is real
def test_a_cpu_tensor_in_a_fake_cuda_loss_fails():
    """A loss that builds a tensor without ``device=`` (on the CPU) and
    mixes it into CUDA tensors fails, as it would on a GPU."""

    def bad_masked_mean(per_sample, valid):
        weight = torch.ones(per_sample.shape)  # on the CPU: the bug
        return (per_sample * weight * valid).sum() / valid.sum()

    mode = fake_cuda_mode()
    with mode:
        per_sample = torch.empty(4, device=DEVICE, requires_grad=True)
        valid = torch.empty(4, device=DEVICE)
        with pytest.raises(FakeTensorDeviceMismatchError, match='cpu'):
            bad_masked_mean(per_sample, valid)


def test_a_host_sync_in_a_fake_cuda_loss_fails():
    """``.item()``/``bool()`` and boolean-mask indexing of a device tensor
    (host-device syncs) fail under the fake mode."""
    mode = fake_cuda_mode()
    with mode:
        x = torch.empty(4, device=DEVICE)
        with pytest.raises(DataDependentOutputException):
            x.sum().item()
        with pytest.raises(DataDependentOutputException):
            bool((x > 0).any())
        with pytest.raises(DynamicOutputShapeException):
            x[x > 0]


def test_a_cpu_gradient_fails_in_fake_backward():
    """A gradient that comes back on the wrong device is refused."""

    class ToHost(torch.autograd.Function):

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return torch.ones(grad.shape)  # on the CPU: the bug

    mode = fake_cuda_mode()
    with mode:
        x = torch.empty(3, device=DEVICE, requires_grad=True)
        with pytest.raises(AssertionError, match='cpu'):
            fake_backward(ToHost.apply(x).sum())


# --------------------------------------------------- the losses alone
@pytest.mark.parametrize('loss,shapes', [
    (DenseSimilarityLoss('cosine'), [(2, 8, 7, 7)] * 2),
    (DenseSimilarityLoss('cross_entropy'), [(2, 8, 7, 7)] * 2),
    (RegionInfoNCELoss(), [(2, 6, 16)] * 2),
    (UniGradLoss(), [(2, 10, 16)] * 2),
])
def test_each_loss_on_fake_cuda(loss, shapes):
    mode = fake_cuda_mode()
    with mode:
        pred = torch.empty(shapes[0], device=DEVICE, requires_grad=True)
        target = torch.empty(shapes[1], device=DEVICE)
        value = loss(pred, target)
        fake_backward(value)
    assert value.device == DEVICE and pred.grad.device == DEVICE


@pytest.mark.parametrize('rebalance', ['proportional', 'inverse', 'none'])
def test_rebalanced_pseudo_label_loss_on_fake_cuda(rebalance):
    loss = RebalancedPseudoLabelLoss(rebalance=rebalance)
    mode = fake_cuda_mode()
    with mode:
        logits = torch.empty(2, 5, 8, 8, device=DEVICE, requires_grad=True)
        labels = torch.empty(2, 8, 8, dtype=torch.long, device=DEVICE)
        valid = torch.empty(2, 8, 8, dtype=torch.bool, device=DEVICE)
        value = loss(logits, labels, valid)
        fake_backward(value)
    assert value.device == DEVICE and logits.grad.device == DEVICE


def test_host_geometry_stays_host_data():
    """The views' boxes may be numpy arrays (PackInputs) or CPU tensors;
    both are stacked on the host and copied once."""
    inputs, samples = test_densesiam.batch(batch_size=2, size=64)
    for sample in samples:
        sample.view_boxes = np.asarray(sample.view_boxes)
    torch.manual_seed(0)
    model = test_densesiam.MODELS.build(test_densesiam.small_model_cfg())
    _step(model, inputs, samples)


def test_fake_step_matches_copy():
    """The conversion keeps the model's structure (a sanity check of the
    helper): same parameter names, shapes and ``requires_grad``."""
    torch.manual_seed(0)
    model = test_densesiam.MODELS.build(test_densesiam.small_model_cfg())
    ref = copy.deepcopy(model)
    model_to_fake_cuda(model, fake_cuda_mode())
    for (name, p), (ref_name, q) in zip(model.named_parameters(),
                                        ref.named_parameters()):
        assert name == ref_name and p.shape == q.shape
        assert p.requires_grad == q.requires_grad and p.device == DEVICE
