# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Option checks, seed statistics and picture writing shared by the tools
(tools never import each other)."""
import math
import os.path as osp

import cv2
import numpy as np

from ..checkpoint.atomic import (refuse_to_overwrite_inputs,
                                 save_bytes_atomically)


def check_distinct(parser, values, option: str) -> None:
    """``parser.error`` when ``values`` repeat an entry: a repeated seed
    would count one run twice (a std of 0.00 over "2 seeds").

    Args:
        parser (argparse.ArgumentParser): the tool's parser.
        values (list): the option's values.
        option (str): the option, e.g. ``'--seeds'``.
    """
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        parser.error(f'{option} {" ".join(map(str, values))}: '
                     f'{", ".join(map(str, repeated))} given more than '
                     f'once; give each {option.lstrip("-").rstrip("s")} '
                     'once')


def mean_std(values) -> tuple:
    """Mean and sample standard deviation (ddof 1) over seeds or trials.

    Args:
        values (list[float | None]): one value per seed; ``None`` (a seed
            without that result) is left out.

    Returns:
        tuple: ``(mean, std)``; ``std`` is ``None`` for a single value (one
        seed has no spread to show) and both are ``None`` for no value.
    """
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def format_mean_std(values, digits: int = 2) -> str:
    """``'mean ± std'`` for a table cell: the value alone for one seed (not a
    made-up ``± 0.00`` or ``± nan``), ``'-'`` for none.

    Args:
        values (list[float | None]): as :func:`mean_std`.
        digits (int): decimals of both numbers.
    """
    mean, std = mean_std(values)
    if mean is None:
        return '-'
    if std is None:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def check_image_out(out_file: str, inputs) -> None:
    """Refuse, before any work, an ``--out`` that is one of ``inputs``
    (same path, symlink, hard link) or has no image extension.

    Raises:
        ValueError: naming ``--out``.
    """
    refuse_to_overwrite_inputs(out_file, inputs, option='--out')
    if not cv2.haveImageWriter(out_file):
        raise ValueError(
            f'--out {out_file}: not an image file name; end it with .png '
            'or .jpg.')


def save_image_atomically(rgb: np.ndarray, out_file: str) -> None:
    """Encode ``rgb`` (``(H, W, 3)`` uint8, RGB) in the format of
    ``out_file``'s extension and write it atomically (a failed write leaves
    any previous file unchanged)."""
    ok, data = cv2.imencode(
        osp.splitext(out_file)[1], np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError(f'cannot encode the picture for {out_file}')
    save_bytes_atomically(out_file, data.tobytes())
