# COCO train2017 images (no labels), two views with geometry.
_base_ = './imagenet_bs32_densesiam.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/coco/',
        data_prefix='train2017',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
