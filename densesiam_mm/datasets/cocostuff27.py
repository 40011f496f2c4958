# Copyright (c) densesiam_mm contributors. All rights reserved.
"""COCO-Stuff-27: the curated 27-class COCO-Stuff benchmark of PiCIE."""
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .transforms.loading_seg import (check_seg_data_list,
                                     check_seg_dataset_paths)

#: The 27 coarse classes: 0..11 things, 12..26 stuff (PiCIE / STEGO order).
COCOSTUFF27_CLASSES = ('electronic-things', 'appliance-things', 'food-things',
                       'furniture-things', 'indoor-things', 'kitchen-things',
                       'accessory-things', 'animal-things', 'outdoor-things',
                       'person-things', 'sports-things', 'vehicle-things',
                       'ceiling-stuff', 'floor-stuff', 'food-stuff',
                       'furniture-stuff', 'rawmaterial-stuff', 'textile-stuff',
                       'wall-stuff', 'window-stuff', 'building-stuff',
                       'ground-stuff', 'plant-stuff', 'sky-stuff',
                       'solid-stuff', 'structural-stuff', 'water-stuff')
COCOSTUFF27_NUM_THINGS = 12

#: COCO-Stuff fine index (0..181, the values of the ``stuffthingmaps`` PNGs)
#: to the coarse index above. Fact taken from PiCIE's
#: ``fine_to_coarse_dict.pickle`` (identical to STEGO's table).
FINE_TO_COARSE = (
    9,
    11,
    11,
    11,
    11,
    11,
    11,
    11,
    11,
    8,
    8,
    8,
    8,  # fine 0..12
    8,
    8,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    7,
    6,  # fine 13..25
    6,
    6,
    6,
    6,
    6,
    6,
    6,
    10,
    10,
    10,
    10,
    10,
    10,  # fine 26..38
    10,
    10,
    10,
    10,
    5,
    5,
    5,
    5,
    5,
    5,
    5,
    5,
    2,  # fine 39..51
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,  # fine 52..64
    3,
    3,
    3,
    3,
    3,
    3,
    0,
    0,
    0,
    0,
    0,
    0,
    1,  # fine 65..77
    1,
    1,
    1,
    1,
    1,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    4,  # fine 78..90
    17,
    17,
    22,
    20,
    20,
    22,
    15,
    25,
    16,
    13,
    12,
    12,
    17,  # fine 91..103
    17,
    23,
    15,
    15,
    17,
    15,
    21,
    15,
    25,
    13,
    13,
    13,
    13,  # fine 104..116
    13,
    22,
    26,
    14,
    14,
    15,
    22,
    21,
    21,
    24,
    20,
    22,
    15,  # fine 117..129
    17,
    16,
    15,
    22,
    24,
    21,
    17,
    25,
    16,
    21,
    17,
    22,
    16,  # fine 130..142
    21,
    21,
    25,
    21,
    26,
    21,
    24,
    20,
    17,
    14,
    21,
    26,
    15,  # fine 143..155
    23,
    20,
    21,
    24,
    15,
    24,
    22,
    25,
    15,
    20,
    17,
    17,
    22,  # fine 156..168
    14,
    18,
    18,
    18,
    18,
    18,
    18,
    18,
    26,
    26,
    19,
    19,
    24,  # fine 169..181
)
assert len(FINE_TO_COARSE) == 182

#: md5 of the curated image lists (PiCIE's ``Coco164kFull_Stuff_Coarse.txt``)
CURATED_LIST_MD5 = {
    'curated_train2017.txt': 'bf3d54a2d1d4f2b5f9ff6bb7de1eaa18',
    'curated_val2017.txt': 'de66cfb97c6ea796c3ba8e001edda199',
}


@DATASETS.register_module()
class COCOStuff27Dataset(BaseSegDataset):
    """Curated COCO-Stuff with 27 coarse classes (PiCIE, DenseSiam).

    Written by ``tools/dataset_converters/cocostuff27.py``::

        data/cocostuff27/
          images/{train2017,val2017}/<id>.jpg       COCO images
          annotations/{train2017,val2017}/<id>.png  uint8, 0..26, 255 ignore
          curated_train2017.txt                     49,629 ids
          curated_val2017.txt                       2,175 ids

    Classes 0..11 are things and 12..26 stuff
    (``metainfo['thing_classes']``). Labels are already coarse; 255 (COCO
    "unlabelled") is ignored. Evaluation protocol of the paper: resize the
    short side to 320, center-crop 320.

    ``ann_file`` (optional, e.g. ``'curated_val2017.txt'``) lists image
    ids, one a line; missing files or folders raise ``FileNotFoundError``
    naming them. Images are decoded by ``LoadImageFromFile`` (3-channel
    ``color`` by default, so COCO's few grayscale images become 3-channel).

    Args: see ``mmseg.datasets.BaseSegDataset``.
    """

    METAINFO = dict(
        classes=COCOSTUFF27_CLASSES,
        palette=[[220, 20, 60], [119, 11, 32], [255, 127, 14], [0, 0, 142],
                 [106, 0, 228], [0, 60, 100], [250, 170, 30], [165, 42, 42],
                 [255, 77, 255], [0, 226, 252], [182, 182, 255], [0, 80, 100],
                 [230, 230, 230], [128, 64, 128], [188, 189, 34],
                 [150, 100, 100], [120, 120, 70], [199, 100, 0], [70, 70, 70],
                 [0, 165, 120], [102, 102, 156], [152, 251, 152],
                 [107, 142, 35], [70, 130, 180], [110, 76, 0], [190, 153, 153],
                 [0, 114, 143]],
        thing_classes=COCOSTUFF27_CLASSES[:COCOSTUFF27_NUM_THINGS])

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Image/label pairs with ``num_classes`` added to every sample."""
        check_seg_dataset_paths(
            type(self).__name__, self.ann_file, self.data_prefix)
        num_classes = len(self.metainfo['classes'])
        data_list = check_seg_data_list(
            type(self).__name__,
            super().load_data_list(), self.ann_file, self.data_prefix,
            self.img_suffix)
        for info in data_list:
            info['num_classes'] = num_classes
        return data_list
