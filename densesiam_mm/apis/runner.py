# Copyright (c) densesiam_mm contributors. All rights reserved.
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..utils import (check_checkpoint_matches, check_dataset_files,
                     revert_sync_bn_if_not_distributed, setup_cpu_distributed)


def build_runner(cfg: Config, dataloader: str = 'train_dataloader') -> Runner:
    """The Runner of ``cfg`` with this project's checks, for the tools.

    - CPU-only distributed launches get the gloo backend
      (:func:`setup_cpu_distributed`);
    - the files of ``cfg[dataloader]`` are checked before anything is built,
      so a wrong data root fails with the path;
    - SyncBN layers run as BN on one process (mmdet/mmseg models too);
    - ``cfg.load_from``, when set, must match the model: a checkpoint of
      another model fails here with its keys, not after training from
      random weights.

    Build and run it inside :func:`densesiam_mm.utils.registry_hints` so
    unknown ``type`` names list the closest registered ones.
    """
    cfg = setup_cpu_distributed(cfg)
    check_dataset_files(cfg.get(dataloader))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    runner.model = revert_sync_bn_if_not_distributed(runner.model)
    if cfg.get('load_from'):
        check_checkpoint_matches(runner.model, cfg.load_from)
    return runner
