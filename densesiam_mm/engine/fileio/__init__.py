# Copyright (c) densesiam_mm contributors. All rights reserved.
from .atomic_local_backend import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend

__all__ = ['AtomicLocalBackend', 'ATOMIC_LOCAL_BACKEND']
