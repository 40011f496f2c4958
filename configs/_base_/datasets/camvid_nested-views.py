# CamVid for unsupervised segmentation on a CPU, with the nested views of
# cocostuff27_nested-views.py (the authors' recipe): trains on the 367 train
# frames without their labels, evaluates on the 101 val frames with the 11
# classes (Hungarian matching, label 11 ignored). Data root:
# $DENSESIAM_SHARED_DATA (default ../shared/data).
#
# | setting    | value (COCO-Stuff-27 in brackets)                          |
# | ---------- | ---------------------------------------------------------- |
# | views      | short side 192, centre crop 192 (640); view 2 = the square |
# |            | at 96 px (320), view 1 = square crop of s x 192,           |
# |            | s ~ U(0.5, 1), at 96 px, flip; photometric as COCO         |
# | loader     | batch 8, one process                                       |
# | evaluation | whole val frames at short side 96 (view 2's scale)         |
_base_ = './cocostuff27_nested-views.py'

view_size = 96
image_size = 2 * view_size
dataset_type = 'CamVidDataset'
data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
train_pipeline = _base_.train_pipeline
train_pipeline[1].size = image_size  # ResizeCenterCrop
train_pipeline[2].view_size = view_size  # NestedCropViews
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=view_size, max_size=1000),
    dict(type='LoadCheckedSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    dataset=dict(
        train_dataloader['dataset'],
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(num_classes=11)
test_evaluator = val_evaluator
