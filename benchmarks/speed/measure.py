# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Interleaved timing, peak memory and FLOP counting of train steps.

Peak memory on CPU: there is no ``max_memory_allocated`` for the CPU
allocator, so the step runs once under ``torch.profiler`` with
``profile_memory=True`` and the allocation events (sizes, in time order) give
the running total of live tensor bytes; its maximum is the rise during the
step. RSS deltas are not used: glibc keeps freed pages and the process also
holds the other models, so RSS measures the allocator, not the model.
tracemalloc does not see torch's allocations at all. On both devices the
reported peak is ``persistent + rise`` where ``persistent`` is what the
variant keeps from one step to the next (parameters, buffers, optimizer
state; the gradients are freed by ``zero_grad`` and re-allocated by the
backward, inside the rise) plus the two input views - the CPU analogue of
CUDA's ``max_memory_allocated`` for one model alone.
"""
import statistics
import time
from typing import Callable, Dict, List

import torch
from torch.utils.flop_counter import FlopCounterMode


def synchronize(device: str) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def interleaved_timings(steps: Dict[str, Callable[[], object]],
                        warmup: int,
                        repeats: int,
                        device: str = 'cpu') -> Dict[str, Dict[str, List]]:
    """Time ``steps`` round-robin (A B C, B C A, ...) after a warm-up.

    Rotating the order each round spreads slow phases of a shared machine
    over all variants. Returns, per name, ``wall`` and ``cpu`` (process CPU
    time) seconds of every timed run.
    """
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    synchronize(device)
    times = {name: dict(wall=[], cpu=[]) for name in names}
    for round_idx in range(repeats):
        shift = round_idx % len(names)
        for name in names[shift:] + names[:shift]:
            synchronize(device)
            wall, cpu = time.perf_counter(), time.process_time()
            steps[name]()
            synchronize(device)
            times[name]['wall'].append(time.perf_counter() - wall)
            times[name]['cpu'].append(time.process_time() - cpu)
    return times


def median(values: List[float]) -> float:
    return statistics.median(values)


def persistent_bytes(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     inputs: List[torch.Tensor]) -> int:
    """Bytes a variant keeps between steps, plus its input views."""
    tensors = {}
    for tensor in list(model.parameters()) + list(model.buffers()):
        tensors[id(tensor)] = tensor
        if getattr(tensor, 'grad', None) is not None:
            tensors[id(tensor.grad)] = tensor.grad
    for state in optimizer.state.values():
        for value in state.values():
            if torch.is_tensor(value):
                tensors[id(value)] = value
    for view in inputs:
        tensors[id(view)] = view
    return sum(t.numel() * t.element_size() for t in tensors.values())


def _cpu_peak_rise(step: Callable[[], object]) -> int:
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with profile(
            activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    allocations = []

    def walk(nodes):
        for node in nodes:
            if node.tag == _EventType.Allocation:
                allocations.append(node)
            walk(node.children)

    walk(prof.profiler.kineto_results.experimental_event_tree())
    allocations.sort(key=lambda node: node.start_time_ns)
    live = peak = 0
    for node in allocations:
        if node.extra_fields.device.type == 'cpu':
            live += node.extra_fields.alloc_size
            peak = max(peak, live)
    return peak


def peak_memory_bytes(step: Callable[[], object], model: torch.nn.Module,
                      optimizer: torch.optim.Optimizer,
                      inputs: List[torch.Tensor], device: str) -> int:
    """Peak live tensor bytes of one train step of one variant.

    Call after a warm-up (optimizer state exists). See the module docstring.
    """
    # Free the gradients first: the CPU profiler does not see blocks freed
    # that were allocated before it started, so the step's own zero_grad
    # would hide them; the backward then allocates them inside the window.
    optimizer.zero_grad()
    base = persistent_bytes(model, optimizer, inputs)
    if torch.device(device).type == 'cuda':
        synchronize(device)
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        synchronize(device)
        return base + torch.cuda.max_memory_allocated() - before
    return base + _cpu_peak_rise(step)


def count_flops(step: Callable[[], object]) -> int:
    """FLOPs of one call of ``step`` (forward and backward), counted by
    ``torch.utils.flop_counter`` (matmuls and convolutions)."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
