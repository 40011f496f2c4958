# A folder of unlabelled images for CPU-sized pre-training (a config sets
# `train_dataloader.dataset.data_root`): the two views with geometry of
# imagenet_bs32_densesiam.py (SimSiam's augmentations, crop box and flip
# recorded) at `crop_size`, batch 8, two loader workers, an infinite sampler
# for iteration-based loops.
#
# Other view sizes: a config inheriting this file sets `crop_size` and the
# views' crop through the base variables, as below.
_base_ = './imagenet_bs32_densesiam.py'

crop_size = 128
train_pipeline = _base_.train_pipeline
view_pipeline = train_pipeline[1].transforms[0]  # each view's transforms
view_pipeline[0].scale = crop_size  # RandomResizedCropWithBox

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        with_label=False,
        pipeline=train_pipeline))
