# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Cost guard of the dense branches (counted, not timed).

Built from the project's ResNet-18 model config, as the benchmark harness
(benchmarks/speed) does: SimSiam = the same backbone, neck and head. The
models run on the ``meta`` device: shapes, dispatched ops and FLOPs are those
of a real step, without the arithmetic.
"""
import pytest
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.speed.models import build_variant, synthetic_batch

# Hand-computed from configs/_base_/models/densesiam_resnet50.py with the
# ResNet-18 overrides (C5 = 512 channels), weights + BN affine + biases:
PIX_SIM_NECK = 3 * 512 * 512 + 2 * 2 * 512  # 3 bias-free 1x1 convs, 2 BN
PIX_SIM_PREDICTOR = 512 * 128 + 2 * 128 + 128 * 512 + 512  # 512-128-512
REGION_PROJECTOR = 512 * 512 + 2 * 512 + 512 * 512 + 2 * 512  # g' 512-512
REGION_PREDICTOR = 512 * 128 + 2 * 128 + 128 * 512 + 512  # h' 512-128-512
DENSE_PARAMS = (PIX_SIM_NECK + PIX_SIM_PREDICTOR + REGION_PROJECTOR +
                REGION_PREDICTOR)  # 1,578,496

# FLOP budgets per image pair (both views), forward + backward, 224 px.
# PixSim: the projector/predictor MLPs on the 7x7 C5 map (~0.54 GFLOP).
# RegionSim: g' and h' on 512 regions and the 512x512 InfoNCE logits
# (~3.8 GFLOP); applying g''s first layer to the 512 region vectors instead
# of the 49 sampled points would add ~1.5 GFLOP and break the budget.
PIX_SIM_GFLOP_BUDGET = 0.6
REGION_SIM_GFLOP_BUDGET = 4.0


def _params(model):
    return sum(p.numel() for p in model.parameters())


def test_dense_branches_add_exactly_their_mlps_in_parameters():
    simsiam, _ = build_variant('simsiam')
    densesiam, _ = build_variant('densesiam_full')
    assert _params(densesiam) - _params(simsiam) == DENSE_PARAMS == 1578496
    # and nothing else: the shared part is SimSiam's, key for key
    shared = {
        k: v.shape
        for k, v in densesiam.state_dict().items()
        if not k.startswith(('pix_sim', 'region_sim'))
    }
    assert shared == {k: v.shape for k, v in simsiam.state_dict().items()}


def _flops_per_pair(variant, batch_size=2):
    model, _ = build_variant(variant, device='meta')
    inputs, samples = synthetic_batch(batch_size, 224, device='meta')
    counter = FlopCounterMode(display=False)
    with counter:
        sum(model.loss(inputs, samples).values()).backward()
    return counter.get_total_flops() / batch_size / 1e9


def test_dense_branches_stay_within_flop_budget():
    simsiam = _flops_per_pair('simsiam')
    pix_sim = _flops_per_pair('densesiam_pixsim')
    full = _flops_per_pair('densesiam_full')
    assert 20 < simsiam < 23  # ResNet-18 at 224, two views, fwd + bwd
    assert 0 < pix_sim - simsiam <= PIX_SIM_GFLOP_BUDGET
    assert (pix_sim - simsiam) / simsiam <= 0.03
    assert 0 < full - pix_sim <= REGION_SIM_GFLOP_BUDGET


class _OpTrace(TorchDispatchMode):
    """Names of the aten ops dispatched, in order."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('variant', ['densesiam_pixsim', 'densesiam_full'])
def test_loss_dispatches_the_same_ops_for_any_batch_size(variant):
    """A Python loop over the images would dispatch more ops for batch 16
    than for batch 2; the train step must dispatch exactly the same ones,
    and none that reads a value back to the host (``.item()``, ``if t:``)."""
    model, optimizer = build_variant(variant, device='meta')

    def trace(batch_size):
        inputs, samples = synthetic_batch(
            batch_size, 224, device='meta', seed=batch_size)
        with _OpTrace() as ops:
            optimizer.zero_grad()
            sum(model.loss(inputs, samples).values()).backward()
        return ops.ops

    trace(2)  # first call: lazy state (gradients) is created
    small, large = trace(2), trace(16)
    assert len(small) > 500
    assert small == large
    # and no tensor is read back to Python (a host-device sync on GPU)
    assert 'aten._local_scalar_dense.default' not in small
