# sgd_coslr_200i.py over 300 iterations.
_base_ = './sgd_coslr_200i.py'

max_iters = 300
param_scheduler = [dict(_base_.param_scheduler[0], T_max=300, end=300)]
train_cfg = dict(max_iters=max_iters)
