# Your own folder of images for unsupervised segmentation, without labels:
# the nested views of camvid_nested-views.py (the authors' recipe at CPU
# size) cut from every image under `data_root`, sub-folders included, with
# a common image suffix (any letter case); unreadable files are skipped
# with a counted warning. No validation (there are no labels): a config
# that has a labelled split adds val_dataloader / val_evaluator / val_cfg
# (docs/own_data.md).
#
# | setting    | value                                                      |
# | ---------- | ---------------------------------------------------------- |
# | views      | short side 192, centre crop 192; view 2 = the square at 96 |
# |            | px, view 1 = square crop of s x 192, s ~ U(0.5, 1), at 96  |
# |            | px, flip; photometric as COCO-Stuff-27                     |
# | loader     | batch 8, one process, infinite sampler (iteration loops)   |
# | inference  | short side 96 (view 2's scale), clusters at image size     |
_base_ = './camvid_nested-views.py'

data_root = 'data/images/'
image_suffixes = tuple(
    case(suffix) for suffix in ('.jpg', '.jpeg', '.png', '.ppm', '.bmp',
                                '.pgm', '.tif', '.tiff', '.webp')
    for case in (str.lower, str.upper))
train_pipeline = _base_.train_pipeline
train_pipeline[0] = dict(
    type='CheckedLoadImageFromFile', color_type='color', on_unreadable='skip')
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=_base_.view_size, max_size=1000),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='BaseSegDataset',
        data_root=data_root,
        data_prefix=dict(img_path=''),
        img_suffix=image_suffixes,
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None
