# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Run a training step on fake CUDA tensors, without a GPU.

``torch._subclasses.fake_tensor.FakeTensorMode`` gives tensors a device
(``cuda:0`` here) and shapes but no data. Every operation checks its inputs'
devices as CUDA would: a CPU tensor created inside the step (``torch.zeros``
without ``device=``, a constant kept on the module, a mask built on the host)
that meets a CUDA tensor raises ``FakeTensorDeviceMismatchError``, as the
first GPU run would. Reading a value on the host (``.item()``, ``bool()``,
``.tolist()``) raises ``DataDependentOutputException`` and a data-dependent
shape (``nonzero``, boolean-mask indexing, ``torch.unique``)
``DynamicOutputShapeException``: these are the host-device syncs of a step.

Host data (boxes, flips, masks of the data samples) enter as real CPU
tensors or numpy arrays and are treated as CPU tensors
(``allow_non_fake_inputs=True``): they may be combined with each other on
the host, never with the CUDA tensors. Only 0-dim CPU tensors mix with CUDA
ones, as in real CUDA.

Backward: torch 2.14's autograd engine asks the CUDA driver for a primary
context of the gradients' device, which fails without a GPU
(``hasPrimaryContext expects a valid device index``). :func:`fake_backward`
runs the same graph itself: it calls every node of ``loss.grad_fn``'s graph
in topological order
(the same derivative formulas the engine calls), checks every gradient's
device against the node's recorded input (the engine's check) and
accumulates the leaves' ``.grad``.
"""
from collections import defaultdict

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

DEVICE = torch.device('cuda', 0)


def fake_cuda_mode() -> FakeTensorMode:
    """A fake mode whose CPU inputs are host data (see module doc)."""
    return FakeTensorMode(allow_non_fake_inputs=True)


def model_to_fake_cuda(model: nn.Module, mode: FakeTensorMode) -> nn.Module:
    """Every parameter and buffer of ``model`` to a fake ``cuda:0`` tensor
    (same shape, dtype and ``requires_grad``; values undefined)."""
    with mode:
        model.to_empty(device=DEVICE)
    return model


def fake_cuda_like(tensor: torch.Tensor, mode: FakeTensorMode):
    """A fake ``cuda:0`` tensor of ``tensor``'s shape and dtype."""
    with mode:
        return torch.empty(tensor.shape, dtype=tensor.dtype, device=DEVICE)


def fake_backward(loss: torch.Tensor) -> None:
    """``loss.backward()`` on fake tensors (call inside the fake mode).

    Raises:
        AssertionError: a gradient is on another device than the tensor it
            belongs to (what the autograd engine refuses on CUDA).
    """
    root = loss.grad_fn
    assert root is not None, 'the loss has no graph'
    pending = defaultdict(int)
    seen, stack = {root}, [root]
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            pending[child] += 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    grads = {root: [torch.ones_like(loss)]}
    ready = [root]
    while ready:
        node = ready.pop()
        inputs = grads.pop(node)
        if hasattr(node, 'variable'):  # AccumulateGrad of a leaf
            leaf, grad = node.variable, inputs[0]
            if grad is not None:
                leaf.grad = grad if leaf.grad is None else leaf.grad + grad
            continue
        if all(grad is None for grad in inputs):
            outputs = (None, ) * len(node.next_functions)
        else:
            # C++ nodes are called, Python Functions' nodes applied
            outputs = node(*inputs) if callable(node) \
                else node.apply(*inputs)
            if not isinstance(outputs, tuple):
                outputs = (outputs, )
        for (child, index), grad in zip(node.next_functions, outputs):
            if child is None:
                continue
            buffer = grads.setdefault(child,
                                      [None] * len(child._input_metadata))
            if grad is not None:
                grad = _validate(grad, child._input_metadata[index], node,
                                 child)
                buffer[index] = grad if buffer[index] is None \
                    else buffer[index] + grad
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)


def _validate(grad, metadata, node, child):
    """The engine's ``validate_outputs``: same device (else an error, as
    on CUDA), broadcast gradients summed to the input's shape, dtype cast.
    """
    assert grad.device == metadata.device, (
        f'{node.name()} gave a gradient on {grad.device} for '
        f'{child.name()}, whose input is on {metadata.device}')
    shape = torch.Size(metadata.shape)
    if grad.shape != shape:
        grad = grad.sum_to_size(shape)
    return grad.to(metadata.dtype)


def assert_step_on_cuda(model: nn.Module, losses: dict) -> None:
    """Losses and every trainable parameter's gradient on ``cuda:0``."""
    for name, value in losses.items():
        assert value.device == DEVICE, (name, value.device)
    for name, param in model.named_parameters():
        if param.requires_grad and param.grad is not None:
            assert param.grad.device == DEVICE, (name, param.grad.device)
            assert param.grad.shape == param.shape, name
