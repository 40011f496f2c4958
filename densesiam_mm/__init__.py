# Copyright (c) densesiam_mm contributors. All rights reserved.
"""densesiam_mm: Dense Siamese Network (ECCV 2022) for OpenMMLab.

Importing the package only adds: it registers its transforms, models, hooks,
metrics and the ``CheckedPretrained`` initializer under new names in
mmpretrain's, mmseg's and mmengine's registries, and adds the types of
mmengine's own checkpoints (``HistoryBuffer``, numpy arrays and scalars) to
torch's ``weights_only`` allow-list
(:mod:`densesiam_mm.checkpoint.safe_globals`), so that ``--resume`` of an
mmengine checkpoint works under torch >= 2.6. Nothing another package
registered or defined is replaced.
"""
from . import checkpoint, datasets, engine, evaluation, models  # noqa: F401
from .checkpoint.safe_globals import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['__version__']
