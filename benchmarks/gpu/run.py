# Copyright (c) densesiam_mm contributors. All rights reserved.
"""The GPU suite: one command, one dated markdown report.

    benchmarks/gpu/run.sh                      # on a GPU, <= 8 min warm
    benchmarks/gpu/run.sh --device cpu --quick  # the same, tiny, ~2-3 min

Sections (each a subprocess with its own time limit, so one failure or
hang does not stop the others; see benchmarks/gpu/README.md):

a. ``pytest -m cuda tests/test_cuda``: geometry and dense correspondence,
   each loss's value and gradients on the device equal the CPU's; a train
   step of each algorithm without a host-device sync
   (``torch.cuda.set_sync_debug_mode('error')``); fp16 and bf16 steps finite.
b. ``benchmarks/speed/run.py``: DenseSiam vs SimSiam ResNet-50, batch 64,
   bf16, channels_last (step time, peak memory, image pairs/s, fraction of
   the GPU's dense bf16 peak); ``benchmarks/speed/siameseim_vs_mae.py``:
   SiameseIM vs MAE ViT-B/16, batch 64, bf16.
c. 200 iterations of DenseSiam R18 on CamVid through ``tools/train.py
   --amp --channels-last``: the logged loss is finite and falls.
d. ``benchmarks/speed/run.py --skip steps pipeline``: one DenseSiam-Seg vs
   one PiCIE epoch on CamVid, 320 px views.

``--device cpu --quick`` runs every section with tiny sizes on the CPU (the
tests with ``DENSESIAM_TEST_DEVICE=cpu``), so the suite cannot rot. Parts
that need CamVid (``$DENSESIAM_SHARED_DATA``, default ``../shared/data``)
are skipped with a message when it is absent. Nothing needs the network.
Exit status 0 when no section failed.
"""
import argparse
import datetime
import glob
import json
import math
import os
import os.path as osp
import resource
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, REPO_ROOT)

SHARED = os.environ.get('DENSESIAM_SHARED_DATA',
                        osp.join(REPO_ROOT, '..', 'shared', 'data'))
TRAIN_CONFIG = ('configs/densesiam/'
                'densesiam_resnet18_1xb16-coslr-200i_camvid.py')
#: seconds each section may take on a GPU (sum <= 8 min with start-up)
CUDA_LIMITS = dict(tests=120, speed=100, siameseim=60, train=120, seg=90)
#: CPU smoke run: about 90 s of CPU time in all; the limits only stop a hang
QUICK_LIMITS = dict(tests=240, speed=120, siameseim=120, train=120, seg=120)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='tiny sizes and few iterations (CI smoke run)')
    parser.add_argument(
        '--out',
        default=osp.join(REPO_ROOT, 'work_dirs', 'gpu_suite'),
        help='folder for the sections\' outputs (and the report, except '
        'for a full CUDA run)')
    parser.add_argument(
        '--report',
        help='report file (default: docs/benchmarks/gpu-DATE.md for a full '
        'CUDA run, OUT/gpu-DATE-DEVICE[-quick].md otherwise)')
    parser.add_argument(
        '--skip',
        nargs='*',
        default=[],
        choices=['tests', 'speed', 'siameseim', 'train', 'seg'])
    parser.add_argument(
        '--budget',
        type=float,
        help='seconds for the whole suite; a section gets at most what is '
        'left (default: 470 on CUDA, 600 with --quick)')
    return parser.parse_args(argv)


class Suite:
    """Runs the sections as subprocesses and collects the report."""

    def __init__(self, args):
        self.args = args
        self.cuda = args.device == 'cuda'
        self.quick = args.quick
        self.out = osp.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.start = time.perf_counter()
        self.budget = args.budget or (600 if args.quick else 470)
        self.limits = QUICK_LIMITS if args.quick else CUDA_LIMITS
        self.summary = []  # [section, status, wall s, CPU s, key figure]
        self.cpu_seconds = 0.
        self.body = []
        self.env = dict(os.environ, DENSESIAM_TEST_DEVICE=args.device)
        if not self.cuda:
            self.env['CUDA_VISIBLE_DEVICES'] = ''
        self.env.setdefault('PYTHONWARNINGS', 'ignore')

    def log(self, message):
        print(
            f'[{time.perf_counter() - self.start:6.0f} s] {message}',
            file=sys.stderr,
            flush=True)

    def run(self, name, cmd):
        """Run ``cmd`` in the repository; returns (rc, output, seconds);
        rc None when it ran past its time limit."""
        left = self.budget - (time.perf_counter() - self.start)
        limit = max(1., min(self.limits[name], left))
        self.log(f'{name}: {" ".join(cmd[1:])} (limit {limit:.0f} s)')
        begin = time.perf_counter()
        cpu_begin = _children_cpu()
        try:
            proc = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=limit)
            rc, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as err:
            rc = None
            output = ((err.stdout or b'').decode(errors='replace') +
                      (err.stderr or b'').decode(errors='replace') +
                      f'\n[stopped after {limit:.0f} s]')
        seconds = time.perf_counter() - begin
        self.cpu_seconds = _children_cpu() - cpu_begin
        with open(osp.join(self.out, f'{name}.log'), 'w') as f:
            f.write(output)
        self.log(f'{name}: rc {rc}, {seconds:.0f} s '
                 f'({self.cpu_seconds:.0f} s CPU)')
        return rc, output, seconds

    def add(self, title, status, seconds, figure, lines):
        cpu = f'{self.cpu_seconds:.0f}' if seconds else '0'
        self.summary.append([title, status, f'{seconds:.0f}', cpu, figure])
        self.body += [f'## {title}', '', *lines, '']

    def failed_lines(self, rc, output):
        what = 'ran past its time limit' if rc is None else f'exit {rc}'
        return [
            f'Failed ({what}); last lines of the output:', '', '```',
            *output.strip().splitlines()[-25:], '```'
        ]

    # ------------------------------------------------------------ sections
    def tests(self):
        title = 'a. pytest -m cuda (tests/test_cuda)'
        xml = osp.join(self.out, 'pytest.xml')
        cmd = [
            sys.executable, '-m', 'pytest', 'tests/test_cuda', '-m', 'cuda',
            '-q', '-rs', '-p', 'no:cacheprovider', f'--junitxml={xml}'
        ]
        rc, output, seconds = self.run('tests', cmd)
        if rc is None or not osp.exists(xml):
            return self.add(title, 'FAILED', seconds, '',
                            self.failed_lines(rc, output))
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == 'testsuite' else suite[0]
        counts = {
            k: int(suite.get(k, 0))
            for k in ('tests', 'failures', 'errors', 'skipped')
        }
        passed = counts['tests'] - counts['failures'] - counts[
            'errors'] - counts['skipped']
        rows = []
        for case in suite.iter('testcase'):
            for kind in ('failure', 'error', 'skipped'):
                node = case.find(kind)
                if node is not None:
                    message = (node.get('message') or '').splitlines()
                    rows.append([
                        f'`{case.get("name")}`', kind,
                        (message[0] if message else '')[:160].replace(
                            '|', '/')
                    ])
        figure = (f'{passed} passed, {counts["failures"] + counts["errors"]}'
                  f' failed, {counts["skipped"]} skipped')
        ok = rc == 0 and (passed > 0 or not self.cuda)
        lines = [
            f'Device `{self.args.device}` (`DENSESIAM_TEST_DEVICE`); '
            f'{figure} of {counts["tests"]}.', ''
        ]
        if self.args.device == 'cpu':
            lines += [
                'On the CPU the device equals the CPU (comparisons trivially '
                'equal) and the sync check is `HostSyncGuard` (aten ops that '
                'would synchronise a GPU), not CUDA\'s sync debug mode.', ''
            ]
        if rows:
            lines += [
                report_table(['test', 'result', 'message'], rows[:40]), ''
            ]
        self.add(title, 'ok' if ok else 'FAILED', seconds, figure, lines)

    def speed(self):
        title = 'b. DenseSiam vs SimSiam train step (benchmarks/speed/run.py)'
        md = osp.join(self.out, 'speed.md')
        cmd = [
            sys.executable, 'benchmarks/speed/run.py', '--device',
            self.args.device, '--skip', 'pipeline', 'seg', '--out', md
        ]
        cmd += (['--quick', '--repeats', '1'] if self.quick else [
            '--backbones', 'resnet50', '--batch-size', '64', '--amp', 'bf16',
            '--channels-last', '--warmup', '5', '--repeats', '15'
        ])
        rc, output, seconds = self.run('speed', cmd)
        if rc != 0 or not osp.exists(md):
            return self.add(title, 'FAILED', seconds, '',
                            self.failed_lines(rc, output))
        text = open(md).read()
        figure = 'step ratio RegionSim off / on: ' + _first_ratio(
            text, '| train step, wall s (median) |')
        if 'GPU throughput' in text:  # DenseSiam, RegionSim on
            gpu = text[text.index('GPU throughput'):]
            cells = [
                _first_ratio(gpu, '| DenseSiam, + PixSim + RegionSim |', i)
                for i in (1, 2, 3)
            ]
            figure += (f'; DenseSiam {cells[0]} pairs/s, {cells[1]} '
                       f'TFLOP/s, {cells[2]} of bf16 peak')
        self.add(title, 'ok', seconds, figure,
                 [f'Command: `{_cmd(cmd)}`', '', *_sections(text)])

    def siameseim(self):
        title = 'b. SiameseIM vs MAE train step ' \
            '(benchmarks/speed/siameseim_vs_mae.py)'
        md = osp.join(self.out, 'siameseim.md')
        cmd = [
            sys.executable, 'benchmarks/speed/siameseim_vs_mae.py', '--device',
            self.args.device, '--out', md
        ]
        cmd += (['--quick', '--warmup', '1', '--repeats', '1']
                if self.quick else [
                    '--arch', 'b', '--batch-size', '64', '--amp', 'bf16',
                    '--warmup', '3', '--repeats', '10'
                ])
        rc, output, seconds = self.run('siameseim', cmd)
        if rc != 0 or not osp.exists(md):
            return self.add(title, 'FAILED', seconds, '',
                            self.failed_lines(rc, output))
        text = open(md).read()
        ratio = [
            line for line in text.splitlines()
            if line.startswith('| ratio SiameseIM / MAE')
        ]
        cells = ratio[0].split('|') if ratio else []
        figure = (f'step {cells[2].strip()}, memory {cells[5].strip()}'
                  if len(cells) > 5 else '')
        self.add(title, 'ok', seconds, f'SiameseIM / MAE: {figure}', [
            f'Command: `{_cmd(cmd)}`', '', *[
                line for line in text.splitlines() if not line.startswith(
                    ('#', '- ')) or line.startswith('- encoder')
            ]
        ])

    def train(self):
        iters = 6 if self.quick else 200
        title = f'c. {iters}-iteration DenseSiam R18 CamVid run ' \
            '(tools/train.py)'
        camvid = osp.join(SHARED, 'camvid', 'images', 'train')
        if not osp.isdir(camvid):
            return self.add(title, 'skipped', 0, 'no CamVid', [
                f'Skipped: CamVid not found at {camvid} (set '
                'DENSESIAM_SHARED_DATA, see ../shared/data/README.md).'
            ])
        work_dir = osp.join(self.out,
                            f'train_{datetime.datetime.now():%Y%m%d_%H%M%S}')
        options = [
            f'train_cfg.max_iters={iters}',
            'default_hooks.checkpoint.interval=100000',
        ]
        if self.quick:
            options += [
                'default_hooks.logger.interval=1',
                'train_dataloader.batch_size=2',
                'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False',
                'train_dataloader.dataset.pipeline.1.transforms.0.0.scale=64',
            ]
        else:
            options += [
                'default_hooks.logger.interval=10',
                'train_dataloader.num_workers=8',
            ]
        cmd = [
            sys.executable, 'tools/train.py', TRAIN_CONFIG, '--work-dir',
            work_dir
        ]
        if self.cuda:
            cmd += ['--amp', '--channels-last']
        cmd += ['--cfg-options', *options]
        rc, output, seconds = self.run('train', cmd)
        if rc != 0:
            return self.add(title, 'FAILED', seconds, '',
                            self.failed_lines(rc, output))
        logs = sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
        records = []
        if logs:
            with open(logs[-1]) as f:
                records = [json.loads(line) for line in f if line.strip()]
        records = [r for r in records if 'loss' in r and 'iter' in r]
        if not records:
            return self.add(
                title, 'FAILED', seconds, 'no loss logged',
                [f'No loss in {work_dir}/*/vis_data/'
                 'scalars.json.'])
        verdict = loss_verdict(records, require_fall=not self.quick)
        rows = [[
            r['iter'],
            *(f'{r[k]:.4f}' if k in r else ''
              for k in ('loss', 'loss_global', 'loss_dense', 'loss_region'))
        ] for r in records]
        lines = [
            f'Command: `{_cmd(cmd)}`', '', verdict['text'], '',
            report_table(
                ['iter', 'loss', 'loss_global', 'loss_dense', 'loss_region'],
                rows)
        ]
        self.add(title, 'ok' if verdict['ok'] else 'FAILED', seconds,
                 verdict['figure'], lines)

    def seg(self):
        size = 64 if self.quick else 320
        title = f'd. DenseSiam-Seg vs PiCIE epoch, CamVid, {size} px views'
        camvid = osp.join(SHARED, 'camvid', 'images', 'train')
        if not osp.isdir(camvid):
            return self.add(title, 'skipped', 0, 'no CamVid', [
                f'Skipped: CamVid not found at {camvid} (set '
                'DENSESIAM_SHARED_DATA, see ../shared/data/README.md).'
            ])
        md = osp.join(self.out, 'seg.md')
        cmd = [
            sys.executable, 'benchmarks/speed/run.py', '--device',
            self.args.device, '--skip', 'steps', 'pipeline', '--seg-view-size',
            str(size), '--seg-rounds', '1', '--out', md
        ]
        cmd += (['--seg-images', '4'] if self.quick else
                ['--seg-images', '96', '--seg-workers', '8'])
        rc, output, seconds = self.run('seg', cmd)
        if rc != 0 or not osp.exists(md):
            return self.add(title, 'FAILED', seconds, '',
                            self.failed_lines(rc, output))
        text = open(md).read()
        ok = 'Pending' not in text
        figure = _first_ratio(text, '| DenseSiam-Seg |', column=4)
        self.add(title, 'ok' if ok else 'FAILED', seconds,
                 f'epoch ratio DenseSiam-Seg / PiCIE: {figure}',
                 [f'Command: `{_cmd(cmd)}`', '', *_sections(text)])

    # -------------------------------------------------------------- report
    def report(self, argv):
        from benchmarks.speed import report
        elapsed = time.perf_counter() - self.start
        failed = [row[0] for row in self.summary if row[1] == 'FAILED']
        command = 'benchmarks/gpu/run.sh ' + ' '.join(argv)
        lines = [
            f'# GPU suite ({self.args.device}'
            f'{", quick" if self.quick else ""})', '',
            *report.machine_lines(self.args.device, REPO_ROOT),
            f'- load average (1/5/15 min) at the end: '
            f'{report.load_average()}',
            f'- command: `{command.strip()}` ({elapsed / 60:.1f} min)',
            f'- result: {"all sections ok" if not failed else "FAILED: "}'
            f'{", ".join(failed)}',
            f'- CPU time of the sections: {_children_cpu():.0f} s', '',
            report_table(
                ['section', 'status', 'wall s', 'CPU s', 'key figure'],
                self.summary), '', *self.body
        ]
        return '\n'.join(lines) + '\n', not failed


def report_table(header, rows):
    from benchmarks.speed.report import table
    return table(header, rows)


def _children_cpu():
    """User + system CPU seconds of the finished subprocesses."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cmd(cmd):
    return ' '.join(['python'] + [
        osp.relpath(c, REPO_ROOT) if c.startswith(REPO_ROOT + os.sep) else c
        for c in cmd[1:]
    ])


def _sections(text):
    """The ``###`` sections of a speed report (its header dropped)."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith('###')),
                 len(lines))
    return lines[first:]


def _first_ratio(text, row_start, column=None):
    """Ratios of the first table row starting with ``row_start``."""
    for line in text.splitlines():
        if line.startswith(row_start):
            cells = [c.strip() for c in line.strip('|').split('|')]
            if column is not None:
                return cells[column] if len(cells) > column else ''
            return ' / '.join(cells[i] for i in (3, 5) if i < len(cells))
    return ''


def loss_verdict(records, require_fall=True):
    """Finite, and falling: the mean over the last quarter of the logged
    ``loss_global + loss_dense`` (RegionSim joins at half of the run, so the
    total jumps there) is below the mean over the first quarter."""
    finite = all(
        math.isfinite(r[k]) for r in records for k in r
        if k.startswith('loss'))

    def value(r):
        return r.get('loss_global', r['loss']) + r.get('loss_dense', 0.)

    quarter = max(1, len(records) // 4)
    first = sum(value(r) for r in records[:quarter]) / quarter
    last = sum(value(r) for r in records[-quarter:]) / quarter
    falling = last < first
    ok = finite and (falling or not require_fall)
    figure = (f'loss_global + loss_dense {first:.3f} -> {last:.3f}, '
              f'{"finite" if finite else "NOT FINITE"}')
    text = (f'{len(records)} logged iterations; every logged loss finite: '
            f'{finite}; loss_global + loss_dense, mean of the first quarter '
            f'{first:.4f}, of the last quarter {last:.4f}: '
            f'{"falls" if falling else "does not fall"}' +
            ('' if require_fall else ' (not required in a quick run)') + '.')
    return dict(ok=ok, figure=figure, text=text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            print(
                'benchmarks/gpu/run.py: CUDA is not available; run with '
                '--device cpu --quick for the CPU smoke run.',
                file=sys.stderr)
            return 2
    suite = Suite(args)
    for name in ('tests', 'speed', 'siameseim', 'train', 'seg'):
        if name in args.skip:
            continue
        getattr(suite, name)()
    text, ok = suite.report(argv)
    date = f'{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}'
    path = args.report or (
        osp.join(REPO_ROOT, 'docs', 'benchmarks', f'gpu-{date}.md')
        if args.device == 'cuda' and not args.quick else osp.join(
            suite.out,
            f'gpu-{date}-{args.device}{"-quick" if args.quick else ""}.md'))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    print(text)
    suite.log(f'report written to {path}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
