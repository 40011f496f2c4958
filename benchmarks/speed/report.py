# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Machine description and markdown tables of the cost benchmark."""
import datetime
import os
import platform
import subprocess
from typing import List, Sequence

import torch

from densesiam_mm.engine.optimizers import cpu_has_native_bf16


def _lscpu_field(name: str) -> str:
    try:
        out = subprocess.run(['lscpu'],
                             capture_output=True,
                             text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return '?'
    for line in out.splitlines():
        if line.split(':')[0].strip() == name:
            return line.split(':', 1)[1].strip()
    return '?'


def _git_commit(repo_root: str) -> str:
    try:
        out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                             cwd=repo_root,
                             capture_output=True,
                             text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain'],
                               cwd=repo_root,
                               capture_output=True,
                               text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return '?'
    return (out or '?') + (' + uncommitted changes' if dirty else '')


def machine_lines(device: str, repo_root: str) -> List[str]:
    """``- key: value`` lines naming the machine and the software."""
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        f'- date: {now:%Y-%m-%d %H:%M} UTC',
        f'- CPU: {_lscpu_field("Model name")}, {os.cpu_count()} logical '
        f'CPUs ({_lscpu_field("Thread(s) per core")} thread(s) per core), '
        f'{_lscpu_field("Hypervisor vendor")} hypervisor',
        f'- CPU capability (torch): '
        f'{torch.backends.cpu.get_cpu_capability()}; native bf16 '
        f'(avx512_bf16 / amx_bf16): {cpu_has_native_bf16()}',
        f'- torch {torch.__version__}, {torch.get_num_threads()} intra-op '
        f'threads, oneDNN {torch.backends.mkldnn.is_available()}; '
        f'Python {platform.python_version()}, {platform.system()} '
        f'{platform.release()}',
        f'- code: git {_git_commit(repo_root)}',
    ]
    if torch.device(device).type == 'cuda':
        props = torch.cuda.get_device_properties(torch.device(device))
        lines.append(f'- GPU: {props.name}, {props.total_memory / 2**30:.0f} '
                     f'GiB, CUDA {torch.version.cuda}')
    return lines


def load_average() -> str:
    try:
        return ' / '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return '?'


def table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A GitHub markdown table."""
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '| ' + ' | '.join('---' for _ in header) + ' |'
    ]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def ratio(value: float, reference: float) -> str:
    return f'{value / reference:.3f}' if reference else 'n/a'
