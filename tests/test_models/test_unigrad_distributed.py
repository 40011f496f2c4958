# Copyright (c) densesiam_mm contributors. All rights reserved.
"""UniGrad's target correlation is averaged over processes (2 CPU ranks,
gloo, ``mmengine.dist``): each rank's loss uses the correlation of the
whole batch."""
import os

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from densesiam_mm.models.losses import UniGradLoss, target_correlation


def _data():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 6, 8, generator=gen, dtype=torch.float64)
    target = torch.randn(2, 6, 8, generator=gen, dtype=torch.float64)
    return pred.float(), target.float()


def _worker(rank, port, folder):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch_dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        pred, target = _data()
        corr = target_correlation(target[rank].reshape(-1, 8).clone())
        loss = UniGradLoss(neg_weight=0.02)(pred[rank], target[rank])
        torch.save(
            torch.cat([corr.flatten(), loss.reshape(1)]),
            os.path.join(folder, f'rank{rank}.pth'))
    finally:
        torch_dist.destroy_process_group()


def test_correlation_is_averaged_over_ranks(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    out = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    pred, target = _data()
    flat = target.reshape(-1, 8)
    full_corr = flat.T @ flat / flat.shape[0]
    for rank in range(2):
        corr, loss = out[rank][:-1].reshape(8, 8), out[rank][-1]
        torch.testing.assert_close(corr, full_corr, atol=1e-6, rtol=1e-5)
        p, t = pred[rank].reshape(-1, 8), target[rank].reshape(-1, 8)
        expected = (((p - t)**2).sum(-1).mean() +
                    0.02 * torch.diagonal(p @ full_corr @ p.T).mean()) / 8
        torch.testing.assert_close(loss, expected, atol=1e-6, rtol=1e-5)
    # one process: no process group, the local correlation
    torch.testing.assert_close(
        target_correlation(target[0].reshape(-1, 8)),
        target[0].reshape(-1, 8).T @ target[0].reshape(-1, 8) / 6)
