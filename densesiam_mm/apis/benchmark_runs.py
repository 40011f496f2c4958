# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Training runs started by the benchmark tools as child processes: run a
command with its wall and CPU time, read a finished run's last validation,
and fine-tune a config from a backbone checkpoint. Shared here because the
tools never import each other."""
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time

#: the CamVid FCN fine-tune protocol (budget, crop, schedule are the
#: config's) of ``transfer_camvid.py`` and ``pretrain_probe_camvid.py``
CAMVID_FCN_CONFIG = ('configs/benchmarks/mmsegmentation/camvid/'
                     'fcn_resnet18-d16_1xb4-40i_camvid-128x128.py')


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(cmd: list,
                log_file: str,
                cwd: str,
                append: bool = False) -> tuple:
    """Run ``cmd`` in ``cwd`` with its output in ``log_file``; fail loudly.

    Args:
        cmd (list[str]): the command, e.g. ``[sys.executable, TRAIN, cfg]``.
        log_file (str): where stdout and stderr go (folders are created).
        cwd (str): the folder to run in (the repository root).
        append (bool): add to ``log_file`` instead of starting it again
            (a resumed run keeps the log of its first part).

    Returns:
        tuple: wall and CPU seconds (user + system of the child); on a shared
        machine the CPU time is the comparable cost.

    Raises:
        SystemExit: when the command fails, with the command and the tail
            of ``log_file``.
    """
    start = time.time()
    cpu_start = _children_cpu()
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'a' if append else 'w') as f:
        proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_file) as f:
            tail = f.read()[-3000:]
        sys.exit(f'failed ({proc.returncode}): {" ".join(cmd)}\n'
                 f'see {log_file}:\n{tail}')
    return time.time() - start, _children_cpu() - cpu_start


def last_val_metrics(run_dir: str, keys=('mIoU', 'aAcc')) -> dict:
    """``{key: value}`` of the last validation of an mmengine run.

    Args:
        run_dir (str): the run's work dir, holding ``<timestamp>/vis_data/
            scalars.json``; the newest timestamp is read.
        keys (tuple[str]): the metrics to return.

    Raises:
        SystemExit: naming ``run_dir`` when it has no logged validation.
    """
    stamps = sorted(
        d for d in os.listdir(run_dir)
        if osp.isdir(osp.join(run_dir, d, 'vis_data')))
    if not stamps:
        sys.exit(f'no finished run in {run_dir}')
    with open(osp.join(run_dir, stamps[-1], 'vis_data', 'scalars.json')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    val = [r for r in records if keys[0] in r]
    if not val:
        sys.exit(f'no {keys[0]} logged in {run_dir}')
    return {k: val[-1][k] for k in keys}


def finetune_from(config: str, checkpoint, seed: int, run_dir: str,
                  repo_root: str) -> tuple:
    """Fine-tune ``config`` with ``tools/train.py`` from a backbone
    checkpoint; a run that already finished is read, not trained again.

    Args:
        config (str): the fine-tuning config, relative to ``repo_root``.
        checkpoint (str | None): the backbone weights
            (``model.backbone.init_cfg.checkpoint``); None trains from a
            random initialisation.
        seed (int): ``randomness.seed``.
        run_dir (str): the run's work dir (its log is ``run_dir + '.log'``).
        repo_root (str): the repository root.

    Returns:
        tuple: the last validation's ``{'mIoU', 'aAcc'}`` and the wall
        seconds of the training (0 when the run had finished before).
    """
    if osp.isdir(run_dir) and any(
            osp.isdir(osp.join(run_dir, d, 'vis_data'))
            for d in os.listdir(run_dir)):
        try:
            return last_val_metrics(run_dir), 0.
        except SystemExit:
            pass  # an unfinished run: train again
    init_opt = (f'model.backbone.init_cfg.checkpoint={checkpoint}'
                if checkpoint else 'model.backbone.init_cfg=None')
    cmd = [
        sys.executable,
        osp.join(repo_root, 'tools', 'train.py'), config, '--work-dir',
        run_dir, '--cfg-options', f'randomness.seed={seed}', init_opt
    ]
    os.makedirs(run_dir, exist_ok=True)
    seconds, _ = run_command(cmd, run_dir + '.log', cwd=repo_root)
    return last_val_metrics(run_dir), seconds
