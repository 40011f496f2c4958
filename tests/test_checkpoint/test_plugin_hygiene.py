# Copyright (c) densesiam_mm contributors. All rights reserved.
"""``import densesiam_mm`` only adds: every name mmengine, mmpretrain, mmseg
and mmdet registered resolves to their own object afterwards, mmengine's
checkpoint loader is mmengine's, and a stock mmseg model initialised from a
partial checkpoint with ``type='Pretrained'`` loads the same tensors with
the same log messages with and without the import (fresh processes)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import torch

from ..conftest import REPO_ROOT

FRESH_PROCESS = r'''
import hashlib, io, json, logging, sys
import torch

with_plugin, ckpt, plain, odd = sys.argv[1] == '1', *sys.argv[2:5]
import mmdet.models, mmdet.datasets, mmdet.evaluation, mmdet.engine  # noqa
import mmpretrain.models, mmpretrain.datasets, mmpretrain.evaluation  # noqa
import mmpretrain.engine  # noqa
import mmseg.models, mmseg.datasets, mmseg.evaluation, mmseg.engine  # noqa
import mmdet.registry, mmengine.registry, mmpretrain.registry, mmseg.registry
from mmengine.registry import Registry


def registries():
    for module in (mmengine.registry, mmpretrain.registry, mmseg.registry,
                   mmdet.registry):
        for name, value in vars(module).items():
            if isinstance(value, Registry):
                yield f'{module.__name__}.{name}', value


before = {(where, key): obj for where, registry in registries()
          for key, obj in registry.module_dict.items()}
if with_plugin:
    import densesiam_mm  # noqa: F401
after = {(where, key): obj for where, registry in registries()
         for key, obj in registry.module_dict.items()}
replaced = sorted(f'{w}:{k}' for (w, k), obj in before.items()
                  if after.get((w, k)) is not obj)
added = sorted(f'{w}:{k}' for w, k in set(after) - set(before))

from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
pretrained = [r.get('Pretrained') is PretrainedInit for r in (
    mmengine.registry.WEIGHT_INITIALIZERS,
    mmpretrain.registry.WEIGHT_INITIALIZERS,
    mmseg.registry.WEIGHT_INITIALIZERS, mmdet.registry.WEIGHT_INITIALIZERS)]
local_loader = CheckpointLoader._get_checkpoint_loader('x.pth') \
    is load_from_local

# a stock mmseg model config, backbone from a partial checkpoint
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
messages = []
handler = logging.Handler()
handler.emit = lambda record: messages.append(record.getMessage())
MMLogger.get_current_instance().addHandler(handler)
import os.path as osp
cfg = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                               '_base_', 'models', 'fcn_r50-d8.py'))
cfg.model.pretrained = None  # the config's open-mmlab:// download
cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=ckpt)
init_default_scope('mmseg')
from mmseg.registry import MODELS
torch.manual_seed(0)
model = MODELS.build(cfg.model)
model.init_weights()
sha = hashlib.sha256()
for key, value in model.backbone.state_dict().items():
    sha.update(key.encode() + value.numpy().tobytes())

# other loads: a plain file loads to the same bytes, an odd one fails
loaded = torch.load(plain)
plain_sha = hashlib.sha256(b''.join(
    v.numpy().tobytes() for v in loaded['state_dict'].values()) +
    repr(loaded['meta']).encode()).hexdigest()
try:
    torch.load(odd)
    odd_result = 'loaded'
except Exception as err:
    odd_result = type(err).__name__
print(json.dumps(dict(
    replaced=replaced, added=added, pretrained=pretrained,
    local_loader=local_loader, backbone=sha.hexdigest(),
    messages=[m for m in messages if 'init_cfg' not in m],
    plain=plain_sha, odd=odd_result,
    safe_globals=sorted(
        g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
        for g in torch.serialization.get_safe_globals()))))
'''


def _run(with_plugin: bool, *files) -> dict:
    proc = subprocess.run(
        [sys.executable, '-c', FRESH_PROCESS,
         str(int(with_plugin)), *files],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_replaces_nothing_and_loads_the_same(tmp_path):
    from mmseg.models.backbones import ResNetV1c
    source = ResNetV1c(depth=50).state_dict()
    partial = {
        k: v + 1
        for k, v in source.items() if not k.startswith('layer4')
    }  # 'deliberately partial'
    ckpt = str(tmp_path / 'partial.pth')
    torch.save(dict(state_dict=partial), ckpt)
    plain = str(tmp_path / 'plain.pth')
    torch.save(
        dict(
            state_dict=dict(w=torch.arange(4.)),
            meta=dict(iter=3, name='x', ok=True)), plain)
    odd = str(tmp_path / 'odd.pth')
    torch.save(dict(state_dict={}, meta=dict(obj=argparse_namespace())), odd)

    stock = _run(False, ckpt, plain, odd)
    plugin = _run(True, ckpt, plain, odd)

    assert plugin['replaced'] == [] and stock['replaced'] == []
    assert any(
        name.endswith('WEIGHT_INITIALIZERS:CheckedPretrained')
        for name in plugin['added'])
    assert plugin['pretrained'] == [True] * 4
    assert plugin['local_loader'] and stock['local_loader']
    # the same tensors, the same mmengine messages (missing-key counts)
    assert plugin['backbone'] == stock['backbone']
    assert plugin['messages'] == stock['messages']
    missing = [m for m in stock['messages'] if 'missing keys' in m]
    assert len(missing) == 1
    assert len(re.findall(r'layer4\.', missing[0])) == \
        len([k for k in source if k.startswith('layer4.')
             and not k.endswith('num_batches_tracked')])
    # other loads: bit-identical results, refusals still refusals
    assert plugin['plain'] == stock['plain']
    assert plugin['odd'] == stock['odd'] == 'UnpicklingError'
    # the allow-list only grew; getattr only as the restricted function
    assert set(stock['safe_globals']) <= set(plugin['safe_globals'])
    assert [name for name in plugin['safe_globals'] if 'getattr' in name] \
        == ['builtins.getattr']
    import densesiam_mm  # noqa: F401
    from densesiam_mm.checkpoint import history_buffer_getattr
    assert [g[0] for g in torch.serialization.get_safe_globals()
            if isinstance(g, tuple) and g[1] == 'builtins.getattr'] \
        == [history_buffer_getattr]


def argparse_namespace():
    import argparse
    return argparse.Namespace(a=1)


def test_no_force_registration_in_the_package():
    """``grep -rn "force=True" densesiam_mm`` finds nothing."""
    package = osp.join(REPO_ROOT, 'densesiam_mm')
    found = []
    for folder, _, files in os.walk(package):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    found += [
                        f'{path}:{number}' for number, line in enumerate(f, 1)
                        if 'force=True' in line
                    ]
    assert found == []
