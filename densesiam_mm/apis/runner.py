# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The Runner of ``tools/train.py`` and ``tools/test.py`` (and of
``mim train`` / ``mim test``, which run those scripts)."""
from typing import Optional

from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..checkpoint import (is_local_file, load_checkpoint_file,
                          mmengine_loading, resolve_resume)
from ..checkpoint.resume import report_resume_differences
from ..engine.distributed import setup_cpu_distributed
from ..engine.hooks import NaNGuardHook
from ..models.utils import revert_sync_bn_if_not_distributed
from .console_log import log_files, readable_console, silence_known_warnings
from .preflight import (check_checkpoint_matches, check_dataset_files,
                        check_train_batches, guard_batch_norm)


class ToolRunner(Runner):
    """mmengine's ``Runner`` with a console a newcomer can read: the
    environment, config, hook order and per-parameter optimizer options go
    to the log file only (:func:`~densesiam_mm.apis.console_log.
    readable_console`)."""

    def build_logger(self, *args, **kwargs):
        return readable_console(super().build_logger(*args, **kwargs))

    def load_checkpoint(self, filename: str, *args, **kwargs):
        """mmengine's ``load_checkpoint`` (which ``resume`` calls) inside
        :func:`~densesiam_mm.checkpoint.mmengine_loading`: a file that
        needs ``weights_only=False`` loads only when the user opted in."""
        with mmengine_loading(filename):
            return super().load_checkpoint(filename, *args, **kwargs)


def use_atomic_checkpoints(cfg: Config) -> Config:
    """Swap mmengine's ``CheckpointHook`` for ``AtomicCheckpointHook`` (same
    arguments) in ``cfg.default_hooks``; a config without a checkpoint
    hook gets mmengine's default one (``interval=1``) in its atomic form.
    ``checkpoint=None`` (no checkpoints) is left alone."""
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = dict()
    hooks = cfg.default_hooks
    if 'checkpoint' not in hooks:
        hooks['checkpoint'] = dict(type='AtomicCheckpointHook', interval=1)
        return cfg
    hook = hooks['checkpoint']
    if isinstance(hook, dict) and hook.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook', CheckpointHook):
        hook['type'] = 'AtomicCheckpointHook'
    return cfg


NAN_GUARDED_WRAPPERS = {
    'OptimWrapper': 'NaNGuardOptimWrapper',
    'AmpOptimWrapper': 'NaNGuardAmpOptimWrapper',
    'CPUAmpOptimWrapper': 'NaNGuardCPUAmpOptimWrapper',
}


def _is_nan_guard(hook) -> bool:
    if isinstance(hook, NaNGuardHook):
        return True
    kind = hook.get('type') if isinstance(hook, dict) else None
    if isinstance(kind, type):
        return issubclass(kind, NaNGuardHook)
    return isinstance(kind, str) and kind.split('.')[-1] == 'NaNGuardHook'


def use_nan_guard_optim_wrapper(cfg: Config) -> Optional[str]:
    """With ``NaNGuardHook`` in ``cfg.default_hooks`` or
    ``cfg.custom_hooks``, swap ``OptimWrapper`` (also when ``type`` is not
    given) or ``AmpOptimWrapper`` in ``cfg.optim_wrapper`` for
    ``NaNGuardOptimWrapper`` / ``NaNGuardAmpOptimWrapper`` (same arguments;
    they skip the update of a non-finite loss, which the hook reports).

    Returns:
        str or None: a line for the log saying what was swapped, or None
        when nothing was.
    """
    hooks = list((cfg.get('default_hooks') or {}).values())
    hooks += list(cfg.get('custom_hooks') or [])
    wrapper = cfg.get('optim_wrapper')
    if not (any(_is_nan_guard(h) for h in hooks if h is not None)
            and isinstance(wrapper, dict)):
        return None
    kind = wrapper.get('type', 'OptimWrapper')
    if isinstance(kind, type):
        name = kind.__name__ if kind.__module__.startswith('mmengine.') \
            else None
    else:
        name = str(kind).split('.')[-1]
    if name not in NAN_GUARDED_WRAPPERS:
        return None
    wrapper['type'] = NAN_GUARDED_WRAPPERS[name]
    return (f'NaNGuardHook: optim_wrapper type {name} -> {wrapper["type"]} '
            '(the same wrapper, which skips the update of a non-finite '
            'loss).')


def use_pretrained_check(cfg: Config) -> Config:
    """Add ``PretrainedCheckHook`` to ``cfg.custom_hooks`` unless it is
    there: every ``Pretrained`` ``init_cfg`` with a local file is checked
    before the weights are initialised."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(
            isinstance(hook, dict) and str(hook.get('type', '')).split('.')[-1]
            == 'PretrainedCheckHook' for hook in hooks):
        hooks.append(dict(type='PretrainedCheckHook'))
    cfg.custom_hooks = hooks
    return cfg


def _tell_dataset_size(dataset) -> None:
    """Give dataset-aware transforms (``set_num_files``) the data set size,
    e.g. so that ``CheckedLoadImageFromFile(on_unreadable='skip')`` can stop
    once every file proved unreadable."""
    for child in getattr(dataset, 'datasets', None) or []:
        _tell_dataset_size(child)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        _tell_dataset_size(inner)
    for transform in getattr(
            getattr(dataset, 'pipeline', None), 'transforms', []):
        if hasattr(transform, 'set_num_files'):
            transform.set_num_files(len(dataset))


def _scale_fixed_lr_hooks(runner: Runner) -> None:
    """Scale the fixed predictor lr of ``SimSiamHook`` with
    ``auto_scale_lr`` as ``Runner.scale_lr`` scales the optimizer's.

    SimSiam keeps the predictor at the initial (linearly scaled) lr; the
    hook's ``lr`` is the config's unscaled one, so without this
    ``--auto-scale-lr`` would scale every layer but the predictors.
    """
    scale = runner.auto_scale_lr or {}
    batch = runner.cfg.get('train_dataloader', {}).get('batch_size')
    if not (scale.get('enable') and scale.get('base_batch_size') and batch):
        return
    ratio = runner.world_size * batch / scale['base_batch_size']
    for hook in runner.hooks:
        if type(hook).__name__ == 'SimSiamHook' and hook.fix_pred_lr:
            runner.logger.info(
                f'SimSiamHook: the fixed predictor lr follows auto_scale_lr: '
                f'{hook.lr} -> {hook.lr * ratio}.')
            hook.lr = hook.lr * ratio


def build_runner(cfg: Config, dataloader: str = 'train_dataloader') -> Runner:
    """The Runner of ``cfg`` with this project's checks, for the tools.

    Before anything is built:

    - CPU-only distributed launches get the gloo backend
      (:func:`setup_cpu_distributed`);
    - checkpoints are written by ``AtomicCheckpointHook`` (atomic, with a
      checksum, rotation after the write) instead of ``CheckpointHook``;
    - for training with ``NaNGuardHook``, ``OptimWrapper`` /
      ``AmpOptimWrapper`` become ``NaNGuardOptimWrapper`` /
      ``NaNGuardAmpOptimWrapper`` (:func:`use_nan_guard_optim_wrapper`,
      logged);
    - ``--resume`` without a path resolves to an explicit checkpoint
      (:func:`~densesiam_mm.checkpoint.resolve_resume`): the newest valid
      one when ``last_checkpoint`` is missing, never a silent restart;
      a warning names each lr, batch size or schedule setting in
      which the config differs from the resumed checkpoint (``--resume``
      keeps the checkpoint's lr and schedule);
    - the files of ``cfg[dataloader]`` are checked, so a wrong data root
      fails with the path.

    Then:

    - SyncBN layers run as BN on one process (mmdet/mmseg models too);
    - ``cfg.load_from`` must fit the model: at least partly for
      ``load_from`` in training, every model tensor for testing
      (``dataloader != 'train_dataloader'``), exactly for ``--resume``;
    - for training, the data set must give each process at least one batch
      (the data loader is built here for that; ``Runner.train`` reuses it),
      and BN layers name ``train_dataloader.batch_size`` when they get a
      batch of 1 (:func:`~densesiam_mm.apis.preflight.guard_batch_norm`);
    - with ``auto_scale_lr`` enabled, ``SimSiamHook``'s fixed predictor lr
      is scaled like the optimizer's.

    Build and run it inside :func:`densesiam_mm.apis.registry_hints` so
    unknown ``type`` names list the closest registered ones.
    """
    training = dataloader == 'train_dataloader'
    silence_known_warnings()
    cfg = setup_cpu_distributed(cfg)
    cfg = use_atomic_checkpoints(cfg)
    guard_note = use_nan_guard_optim_wrapper(cfg) if training else None
    if training:
        cfg = use_pretrained_check(cfg)
    notes = []
    if training:
        cfg = resolve_resume(cfg, warn=notes.append)
    check_dataset_files(cfg.get(dataloader))
    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
        readable_console(runner.logger)
    else:
        runner = ToolRunner.from_cfg(cfg)
    for note in notes:
        runner.logger.warning(note)
    if guard_note:
        runner.logger.info(guard_note)
    runner.model = revert_sync_bn_if_not_distributed(runner.model)
    if cfg.get('load_from'):
        mode = 'resume' if training and cfg.get('resume') else \
            'partial' if training else 'model'
        # read once: the fit check and the resume report share it
        checkpoint = load_checkpoint_file(cfg.load_from, map_location='cpu') \
            if is_local_file(cfg.load_from) else None
        check_checkpoint_matches(runner.model, cfg.load_from, mode, checkpoint)
        if mode == 'resume':
            report_resume_differences(cfg, checkpoint, runner.logger.warning)
    if training and runner._train_loop is not None:
        guard_batch_norm(getattr(runner.model, 'module', runner.model))
        loader = runner.train_loop.dataloader  # builds the loop and loader
        check_train_batches(loader, runner.world_size)
        _tell_dataset_size(loader.dataset)
        _scale_fixed_lr_hooks(runner)
    runner.logger.info(
        'The environment, the config, the hook order and the per-parameter '
        'optimizer options are in the log file only: ' +
        ', '.join(log_files(runner.logger)))
    return runner
