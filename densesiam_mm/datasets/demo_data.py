# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Where the nine shipped demo photos are, wherever the run starts.

Config data roots are relative to the working directory in OpenMMLab, so a
demo config with ``data_root='data/demo/'`` only works from the repository
root; ``mim train densesiam_mm <demo config>`` from any other directory
failed. The demo config asks :func:`demo_data_root` instead, which finds the
photos next to the installed package.
"""
import os
import os.path as osp

_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: searched in this order: shipped inside the package (``.mim/data``, as
#: ``configs``/``tools`` for mim), then the source checkout of an editable
#: install (``<repo>/data/demo`` next to ``<repo>/densesiam_mm``)
DEMO_DATA_CANDIDATES = (
    osp.join(_PACKAGE_DIR, '.mim', 'data', 'demo'),
    osp.join(osp.dirname(_PACKAGE_DIR), 'data', 'demo'),
)


def demo_data_root() -> str:
    """Absolute path (ending in ``/``) of the demo images folder.

    Raises:
        FileNotFoundError: listing the places searched.
    """
    for folder in DEMO_DATA_CANDIDATES:
        if osp.isdir(folder) and any(name.lower().endswith('.jpg')
                                     for name in os.listdir(folder)):
            return osp.realpath(folder) + osp.sep
    raise FileNotFoundError(
        'densesiam_mm demo images not found; looked in ' +
        ', '.join(DEMO_DATA_CANDIDATES) +
        '. Install densesiam_mm from its repository (pip install -e .) or '
        'set train_dataloader.dataset.data_root to a folder of images.')
