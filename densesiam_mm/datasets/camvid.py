# Copyright (c) densesiam_mm contributors. All rights reserved.
"""CamVid (SegNet split, 11 classes) for unsupervised segmentation."""
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .transforms.loading_seg import (check_seg_data_list,
                                     check_seg_dataset_paths)


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid street scenes, SegNet's 11-class version (367 train, 101 val).

    Layout (``../shared/data/camvid``)::

        camvid/
          images/{train,val}/*.jpg    480x360 RGB frames
          labels/{train,val}/*.png    8-bit class ids, same stem as the image

    Labels 0..10 are the classes below; **11 is "unlabelled"**. It is mapped
    to ``ignore_index`` (255) at load time through the dataset's
    ``label_map`` (``{11: 255}``, merged into mmseg's own label map), so
    every loader that honours ``label_map`` (mmseg's ``LoadAnnotations``,
    :class:`LoadCheckedSegAnnotations`) and the metrics see 255 and skip
    those pixels. Any other id above 10 is an error in
    :class:`LoadCheckedSegAnnotations`.

    **Things and stuff.** ``metainfo['thing_classes']`` follows the
    Cityscapes panoptic convention: the countable objects with instances,
    ``Car``, ``Pedestrian`` and ``Bicyclist``, are things; the rest (sky,
    building, pole, road, pavement, tree, sign/symbol, fence) are stuff, as
    their Cityscapes counterparts are.

    ``ann_file`` (optional) is a split list of image stems, one a line,
    relative to ``data_root``; without it all images under
    ``data_prefix['img_path']`` are used. Missing files or folders raise
    ``FileNotFoundError`` naming them. Images are decoded by the pipeline's
    ``LoadImageFromFile`` (3-channel ``color`` by default).

    Args: see ``mmseg.datasets.BaseSegDataset``; ``img_suffix='.jpg'`` and
    ``seg_map_suffix='.png'`` by default.
    """

    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        # SegNet's CamVid colours
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]],
        thing_classes=('Car', 'Pedestrian', 'Bicyclist'))

    #: label id of "unlabelled" pixels in the CamVid label maps
    UNLABELLED_ID = 11

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Image/label pairs, with ``{11: ignore_index}`` in ``label_map``
        and ``num_classes`` added to every sample."""
        check_seg_dataset_paths(
            type(self).__name__, self.ann_file, self.data_prefix)
        label_map = dict(self.label_map or {})
        label_map[self.UNLABELLED_ID] = self.ignore_index
        num_classes = len(self.metainfo['classes'])
        data_list = check_seg_data_list(
            type(self).__name__,
            super().load_data_list(), self.ann_file, self.data_prefix,
            self.img_suffix)
        for info in data_list:
            info['label_map'] = label_map
            info['num_classes'] = num_classes
        return data_list
