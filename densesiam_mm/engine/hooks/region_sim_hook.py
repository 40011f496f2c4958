# Copyright (c) densesiam_mm contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class RegionSimHook(Hook):
    """Switch RegionSim on once a fraction of training has passed.

    The state is derived from the iteration counter before every training
    iteration (``enabled = iter >= round(start_ratio * max_iters)``), so a
    resumed run continues in exactly the state it was killed in: the switch
    is never re-triggered nor skipped. Works for epoch- and iteration-based
    loops (``runner.max_iters`` covers both).

    Args:
        start_ratio (float): fraction of training after which RegionSim is on.
            Defaults to 0.5 (the paper). 0 enables it from the start; 1 never.
        attr (str): the model attribute to set. Defaults to
            ``'region_sim_enabled'``.
    """
    priority = 'NORMAL'

    def __init__(self,
                 start_ratio: float = 0.5,
                 attr: str = 'region_sim_enabled') -> None:
        if not 0 <= start_ratio <= 1:
            raise ValueError('RegionSimHook: `start_ratio` must be in [0, 1], '
                             f'got {start_ratio!r}.')
        self.start_ratio = start_ratio
        self.attr = attr

    def start_iter(self, runner) -> int:
        """First iteration (0-based) that trains with RegionSim."""
        return int(round(self.start_ratio * runner.max_iters))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, self.attr):
            raise AttributeError(
                f'RegionSimHook: model {type(model).__name__} has no '
                f'attribute `{self.attr}`.')
        enabled = runner.iter >= self.start_iter(runner)
        if enabled != getattr(model, self.attr):
            runner.logger.info(
                f'RegionSimHook: RegionSim {"on" if enabled else "off"} from '
                f'iteration {runner.iter + 1} (start_ratio={self.start_ratio},'
                f' max_iters={runner.max_iters}).')
        setattr(model, self.attr, enabled)
