# Copyright (c) densesiam_mm contributors. All rights reserved.
"""Prepare curated COCO-Stuff-27 from a COCO-Stuff download.

Input (a user's download; only the curated images are read)::

    COCO_ROOT/
      train2017/<id>.jpg
      val2017/<id>.jpg
      stuffthingmaps_trainval2017/{train2017,val2017}/<id>.png
          uint8 COCO-Stuff fine ids 0..181, 255 = unlabelled

Output (``--out``, default ``data/cocostuff27``), read by
``COCOStuff27Dataset``::

    OUT/
      images/{train2017,val2017}/<id>.jpg       symlinks (or copies) of COCO
      annotations/{train2017,val2017}/<id>.png  uint8 coarse ids 0..26,
                                                255 = ignore
      curated_train2017.txt                     49,629 ids
      curated_val2017.txt                       2,175 ids

The curated lists (PiCIE's, md5-checked) are read from ``--lists``
(default ``$DENSESIAM_SHARED_DATA/cocostuff27``). Fine ids are mapped to the
27 coarse classes with a 256-entry lookup table (``FINE_TO_COARSE`` of
``densesiam_mm.datasets.cocostuff27``); a map with ids 182..254 is refused,
naming the file.

Re-runs are idempotent: outputs that already exist and are valid (label map
of the right size, image link/copy of the right file) are skipped; every
file is written under a temporary name and renamed, so an interrupted run
never leaves a half-written output. Missing inputs are all listed in one
error before anything is written; so is an ``--out`` whose output folders
are the input folders (the fine maps would be overwritten).

Example::

    python tools/dataset_converters/cocostuff27.py data/coco \\
        -o data/cocostuff27 --nproc 8
"""
import argparse
import hashlib
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from densesiam_mm.checkpoint import refuse_to_overwrite_inputs
from densesiam_mm.datasets.cocostuff27 import CURATED_LIST_MD5, FINE_TO_COARSE

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train2017', 'val2017')
STUFFTHING_DIR = 'stuffthingmaps_trainval2017'
NUM_FINE = len(FINE_TO_COARSE)  # 182
IGNORE_INDEX = 255

#: fine id (0..255) -> coarse id; 255 stays 255 (ignore)
FINE_TO_COARSE_LUT = np.full(256, IGNORE_INDEX, dtype=np.uint8)
FINE_TO_COARSE_LUT[:NUM_FINE] = FINE_TO_COARSE


def default_lists_dir() -> str:
    shared = os.environ.get('DENSESIAM_SHARED_DATA',
                            osp.join(REPO_ROOT, '..', 'shared', 'data'))
    return osp.join(shared, 'cocostuff27')


def md5sum(path: str) -> str:
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fine_to_coarse(fine: np.ndarray, name: str = '<array>') -> np.ndarray:
    """Map a ``(H, W)`` uint8 fine-id map to coarse ids (vectorised).

    Raises:
        ValueError: naming ``name`` when ids 182..254 occur.
    """
    counts = np.bincount(fine.ravel(), minlength=256)
    bad = np.flatnonzero(counts[NUM_FINE:IGNORE_INDEX]) + NUM_FINE
    if bad.size:
        raise ValueError(f'{name}: fine ids {bad.tolist()} are not COCO-Stuff '
                         f'ids (0..{NUM_FINE - 1}, {IGNORE_INDEX} unlabelled)')
    return FINE_TO_COARSE_LUT[fine]


def read_list(lists_dir: str, split: str, check_md5: bool) -> List[str]:
    path = osp.join(lists_dir, f'curated_{split}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'curated list {path} not found (set --lists '
                                'or $DENSESIAM_SHARED_DATA)')
    if check_md5:
        expected = CURATED_LIST_MD5[osp.basename(path)]
        actual = md5sum(path)
        if actual != expected:
            raise ValueError(
                f'{path}: md5 {actual} differs from the curated list\'s '
                f'{expected}; use --skip-md5 only for your own lists')
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise ValueError(f'curated list {path} is empty')
    return ids


def _atomic_write_png(array: np.ndarray, dst: str) -> None:
    tmp = f'{dst}.tmp{os.getpid()}.png'
    Image.fromarray(array).save(tmp)  # uint8 (H, W) -> mode 'L'
    os.replace(tmp, dst)


def _label_is_valid(dst: str, size) -> bool:
    try:
        with Image.open(dst) as img:
            return img.mode == 'L' and img.size == size
    except Exception:
        return False


def _image_is_valid(src: str, dst: str, mode: str) -> bool:
    if mode == 'symlink':
        return osp.islink(dst) and osp.realpath(dst) == osp.realpath(src)
    return (osp.isfile(dst) and not osp.islink(dst)
            and osp.getsize(dst) == osp.getsize(src))


def convert_one(task: tuple) -> str:
    """Write one label map and image link/copy.

    Args:
        task (tuple): ``(image_src, map_src, image_dst, label_dst, mode)``.

    Returns:
        str: ``'converted'`` or ``'skipped'`` (both outputs already valid).
    """
    img_src, map_src, img_dst, label_dst, mode = task
    done = []
    with Image.open(map_src) as fine_img:
        size = fine_img.size
        if _label_is_valid(label_dst, size):
            done.append(True)
        else:
            fine = np.asarray(fine_img)
            if fine.ndim != 2 or fine.dtype != np.uint8:
                raise ValueError(
                    f'{map_src}: expected a uint8 single-channel map, got '
                    f'{fine.dtype} {fine.shape}')
            _atomic_write_png(fine_to_coarse(fine, map_src), label_dst)
            done.append(False)
    if mode != 'none':
        if _image_is_valid(img_src, img_dst, mode):
            done.append(True)
        else:
            tmp = f'{img_dst}.tmp{os.getpid()}'
            if mode == 'symlink':
                os.symlink(osp.abspath(img_src), tmp)
            else:
                shutil.copyfile(img_src, tmp)
            os.replace(tmp, img_dst)
            done.append(False)
    return 'skipped' if all(done) else 'converted'


def find_missing(coco_root: str,
                 ids_per_split: Dict[str, List[str]],
                 max_listed: int = 5) -> List[str]:
    """Human-readable list of every missing input folder or file."""
    missing = []
    for split, ids in ids_per_split.items():
        img_dir = osp.join(coco_root, split)
        map_dir = osp.join(coco_root, STUFFTHING_DIR, split)
        for folder, what, suffix in ((img_dir, 'COCO images', '.jpg'),
                                     (map_dir, 'stuffthing maps', '.png')):
            if not osp.isdir(folder):
                missing.append(f'folder {folder} ({what} of {split})')
                continue
            absent = [
                osp.join(folder, i + suffix) for i in ids
                if not osp.isfile(osp.join(folder, i + suffix))
            ]
            if absent:
                shown = ', '.join(absent[:max_listed])
                more = (f' and {len(absent) - max_listed} more'
                        if len(absent) > max_listed else '')
                missing.append(f'{len(absent)} of {len(ids)} {what} of the '
                               f'curated {split} list: {shown}{more}')
    return missing


def check_outputs(coco_root: str, out_dir: str, lists_dir: str,
                  splits: Sequence[str]) -> None:
    """Refuse an ``--out`` whose output folders or list files are input
    folders or files (same path, symlink, hard link): the label maps would
    be written over the fine maps, the images replaced by links to
    themselves.

    Raises:
        ValueError: naming ``--out`` and the input, before any output.
    """
    for split in splits:
        inputs = [
            osp.join(coco_root, split),
            osp.join(coco_root, STUFFTHING_DIR, split)
        ]
        for folder in ('images', 'annotations'):
            refuse_to_overwrite_inputs(
                osp.join(out_dir, folder, split), inputs, option='--out')
        refuse_to_overwrite_inputs(
            osp.join(out_dir, f'curated_{split}.txt'),
            [osp.join(lists_dir, f'curated_{split}.txt')],
            option='--out')


def convert(coco_root: str,
            out_dir: str,
            lists_dir: Optional[str] = None,
            splits: Sequence[str] = SPLITS,
            image_mode: str = 'symlink',
            nproc: int = 1,
            check_md5: bool = True) -> Dict[str, Dict[str, int]]:
    """Convert the curated splits; see the module docstring.

    Returns:
        dict: ``{split: {'converted': n, 'skipped': m}}``.

    Raises:
        FileNotFoundError: listing every missing input, before any output
            is written.
    """
    if image_mode not in ('symlink', 'copy', 'none'):
        raise ValueError(f'image_mode must be symlink, copy or none, got '
                         f'{image_mode!r}')
    lists_dir = lists_dir or default_lists_dir()
    if not check_md5:
        print(f'warning: md5 of the lists in {lists_dir} not checked')
    ids_per_split = {s: read_list(lists_dir, s, check_md5) for s in splits}
    missing = find_missing(coco_root, ids_per_split)
    if missing:
        raise FileNotFoundError(
            f'COCO-Stuff-27 converter: missing inputs under {coco_root}:\n  - '
            + '\n  - '.join(missing) + '\nExpected train2017/, val2017/ and '
            f'{STUFFTHING_DIR}/{{train2017,val2017}}/ from the COCO and '
            'COCO-Stuff downloads (see docs/unsup_seg_data.md).')
    check_outputs(coco_root, out_dir, lists_dir, ids_per_split)

    stats = {}
    for split, ids in ids_per_split.items():
        img_out = osp.join(out_dir, 'images', split)
        ann_out = osp.join(out_dir, 'annotations', split)
        os.makedirs(ann_out, exist_ok=True)
        if image_mode != 'none':
            os.makedirs(img_out, exist_ok=True)
        shutil.copyfile(
            osp.join(lists_dir, f'curated_{split}.txt'),
            osp.join(out_dir, f'curated_{split}.txt'))
        tasks = [(osp.join(coco_root, split, f'{i}.jpg'),
                  osp.join(coco_root, STUFFTHING_DIR, split,
                           f'{i}.png'), osp.join(img_out, f'{i}.jpg'),
                  osp.join(ann_out, f'{i}.png'), image_mode) for i in ids]
        print(f'{split}: {len(tasks)} curated images -> {out_dir}')
        if nproc > 1:
            results = track_parallel_progress(convert_one, tasks, nproc)
        else:
            results = track_progress(convert_one, tasks)
        stats[split] = dict(
            converted=results.count('converted'),
            skipped=results.count('skipped'))
        print(f'\n{split}: {stats[split]["converted"]} written, '
              f'{stats[split]["skipped"]} already up to date')
    return stats


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Turn a COCO-Stuff download into curated COCO-Stuff-27 '
        '(27-class label maps, 255 = ignore).')
    parser.add_argument(
        'coco_root',
        help='folder with train2017/, val2017/ and '
        f'{STUFFTHING_DIR}/{{train2017,val2017}}/')
    parser.add_argument(
        '-o',
        '--out',
        default=osp.join('data', 'cocostuff27'),
        help='output folder (default: data/cocostuff27)')
    parser.add_argument(
        '--lists',
        default=None,
        help='folder with curated_{train,val}2017.txt (default: '
        '$DENSESIAM_SHARED_DATA/cocostuff27)')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=list(SPLITS),
        choices=SPLITS,
        help='splits to prepare (default: both)')
    parser.add_argument(
        '--image-mode',
        default='symlink',
        choices=('symlink', 'copy', 'none'),
        help='how images reach OUT/images (default: symlink)')
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes')
    parser.add_argument(
        '--skip-md5',
        action='store_true',
        help='do not check the md5 of the lists (only for your own lists)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        convert(
            args.coco_root,
            args.out,
            lists_dir=args.lists,
            splits=args.splits,
            image_mode=args.image_mode,
            nproc=args.nproc,
            check_md5=not args.skip_md5)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
