# CamVid train frames (labels unused) for CPU-sized pre-training: two 160 px
# views with geometry (image-folder_bs8_densesiam.py), batch 16. Data root:
# $DENSESIAM_SHARED_DATA (default ../shared/data), see
# ../shared/data/README.md.
_base_ = './image-folder_bs8_densesiam.py'

crop_size = 160
data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
train_pipeline = _base_.train_pipeline
view_pipeline = train_pipeline[1].transforms[0]  # each view's transforms
view_pipeline[0].scale = crop_size  # RandomResizedCropWithBox

train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        data_root=data_root,
        data_prefix='images/train',
        pipeline=train_pipeline))
