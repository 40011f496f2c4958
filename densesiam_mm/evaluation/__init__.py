# Copyright (c) densesiam_mm contributors. All rights reserved.
from .clustering_probe import ClusteringProbe
from .metrics import *  # noqa: F401,F403
