# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The one error type of checkpoint reading."""


class CheckpointFileError(ValueError):
    """A file that cannot give a model its weights: missing tensors,
    another architecture, not a torch file, corrupted, or holding Python
    objects that are not loaded without an opt-in. The message names the
    file and what is wrong with it."""
