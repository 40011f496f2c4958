# CamVid train frames (labels unused) for CPU-sized pre-training: two 128 px
# views with geometry (image-folder_bs8_densesiam.py), batch 16, loaded in
# the main process (0 workers: a whole run stays on one CPU thread). Data
# root: $DENSESIAM_SHARED_DATA (default ../shared/data).
_base_ = './image-folder_bs8_densesiam.py'

data_root = '{{$DENSESIAM_SHARED_DATA:../shared/data}}/camvid/'
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, data_prefix='images/train'))
