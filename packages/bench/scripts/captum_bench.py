#!/usr/bin/env python3
"""PyTorch + Captum side of `pnpm bench -- --only=methods --vs-captum`.

A long-lived worker: the bench starts it once, then alternates one WhiteBox measurement and one Captum measurement
per (model, method, threads) row. Commands arrive as JSON lines on stdin, answers leave as JSON lines on stdout.

  {"cmd": "hello"}                                      -> torch / Captum versions and paths
  {"cmd": "load", "shape": "mnist", "weights": "w.json", "input": "x.f32", "dims": [64, 1, 28, 28],
   "targets": [...], "logits": "l.f32", "vanilla": "g.f32"}
                                                        -> the torch SimpleCNN built from the ONNX weights; max |logit|
                                                           difference to WhiteBox's logits and max |vanilla gradient|
                                                           difference (both relative to the largest value)
  {"cmd": "measure", "shape": "mnist", "row": "grad-cam", "threads": 1, "reps": 5}
                                                        -> best-of-reps maps/s (wall) and maps/CPU-s

The module is the SimpleCNN of models/*.onnx (Sub/Div normalization, 3 × Conv3×3-BatchNorm-ReLU-MaxPool2, Flatten,
Linear-ReLU-Linear) in eval mode, every ReLU its own nn.ReLU (Captum's guided backprop and deconvolution hook them),
parameters frozen (requires_grad False): Captum at its best, one batch per call, torch.set_num_threads(threads).
Captum comes from PYTHONPATH (the bench puts WHITEBOX_CAPTUM_PATH there); it is not part of this repository.
"""
import base64
import json
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn


class SimpleCnn(nn.Module):
    def __init__(self, w):
        super().__init__()
        t = lambda k: torch.from_numpy(w[k].copy())  # noqa: E731
        self.register_buffer('mean', t('norm_mean'))
        self.register_buffer('std', t('norm_std'))
        convs, bns, relus, pools = [], [], [], []
        for i in (1, 2, 3):
            wt = t(f'conv{i}.weight')
            conv = nn.Conv2d(wt.shape[1], wt.shape[0], 3, padding=1)
            conv.weight.data.copy_(wt)
            conv.bias.data.copy_(t(f'conv{i}.bias'))
            bn = nn.BatchNorm2d(wt.shape[0], eps=float(w.get(f'bn{i}.epsilon', 0.0)))
            bn.weight.data.copy_(t(f'bn{i}.scale'))
            bn.bias.data.copy_(t(f'bn{i}.bias'))
            bn.running_mean.copy_(t(f'bn{i}.mean'))
            bn.running_var.copy_(t(f'bn{i}.var'))
            convs.append(conv)
            bns.append(bn)
            relus.append(nn.ReLU())
            pools.append(nn.MaxPool2d(2, 2))
        self.conv1, self.conv2, self.conv3 = convs
        self.bn1, self.bn2, self.bn3 = bns
        self.relu1, self.relu2, self.relu3 = relus
        self.pool1, self.pool2, self.pool3 = pools
        f1, f2 = t('fc1.weight'), t('fc2.weight')
        self.fc1 = nn.Linear(f1.shape[1], f1.shape[0])
        self.fc1.weight.data.copy_(f1)
        self.fc1.bias.data.copy_(t('fc1.bias'))
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(f2.shape[1], f2.shape[0])
        self.fc2.weight.data.copy_(f2)
        self.fc2.bias.data.copy_(t('fc2.bias'))

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.pool3(self.relu3(self.bn3(self.conv3(x))))
        x = torch.flatten(x, 1)
        return self.fc2(self.relu4(self.fc1(x)))


def read_weights(path):
    with open(path) as f:
        raw = json.load(f)
    out = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            out[k] = np.frombuffer(base64.b64decode(v['data']), dtype=np.float32).reshape(v['dims'])
        else:
            out[k] = v
    return out


def read_f32(path, dims):
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(dims).copy())


MODELS = {}


def methods(model, x, targets):
    """Row name -> a zero-argument call computing the maps of the whole batch (names as WhiteBox's bench rows)."""
    from captum.attr import (Deconvolution, GuidedBackprop, GuidedGradCam, InputXGradient, IntegratedGradients,
                             LayerGradCam, NoiseTunnel, Occlusion, Saliency)
    sal = Saliency(model)
    nt = NoiseTunnel(Saliency(model))
    # WhiteBox's σ is a fraction of each input's (max − min); Captum's stdevs is one absolute value per input tensor:
    # 0.15 × the batch's pixel range (the cost does not depend on it).
    stdevs = float(0.15 * (x.max() - x.min()))
    c = x.shape[1]
    return {
        'vanilla-gradient': lambda xx, tt: sal.attribute(xx, target=tt, abs=False),
        'input-x-gradient': lambda xx, tt: InputXGradient(model).attribute(xx, target=tt),
        'deconvnet': lambda xx, tt: Deconvolution(model).attribute(xx, target=tt),
        'guided-backprop': lambda xx, tt: GuidedBackprop(model).attribute(xx, target=tt),
        'integrated-gradients (50 steps)': lambda xx, tt: IntegratedGradients(model).attribute(xx, target=tt, n_steps=50, method='gausslegendre'),
        'grad-cam': lambda xx, tt: LayerGradCam(model, model.relu3).attribute(xx, target=tt),
        'guided-grad-cam': lambda xx, tt: GuidedGradCam(model, model.relu3).attribute(xx, target=tt),
        'smoothgrad (50)': lambda xx, tt: nt.attribute(xx, nt_type='smoothgrad', nt_samples=50, stdevs=stdevs, target=tt, abs=False),
        'smoothgrad-squared (50)': lambda xx, tt: nt.attribute(xx, nt_type='smoothgrad_sq', nt_samples=50, stdevs=stdevs, target=tt, abs=False),
        'vargrad (50)': lambda xx, tt: nt.attribute(xx, nt_type='vargrad', nt_samples=50, stdevs=stdevs, target=tt, abs=False),
        # Same windows as WhiteBox's default (4 × 4 over all channels, stride 2, baseline 0), one batch of the N
        # images per perturbation (perturbations_per_eval=1: a forward pass of 64 images, as WhiteBox's batch 64).
        'occlusion': lambda xx, tt: Occlusion(model).attribute(xx, sliding_window_shapes=(c, 4, 4), strides=(c, 2, 2), baselines=0, target=tt),
    }


def handle(msg):
    cmd = msg['cmd']
    if cmd == 'hello':
        import captum
        return {'torch': torch.__version__, 'captum': captum.__version__, 'captumPath': captum.__file__,
                'python': sys.version.split()[0], 'mklThreadsDefault': torch.get_num_threads()}
    if cmd == 'load':
        w = read_weights(msg['weights'])
        model = SimpleCnn(w).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        x = read_f32(msg['input'], msg['dims'])
        t = torch.tensor(msg['targets'], dtype=torch.long)
        with torch.no_grad():
            logits = model(x)
        out = {}
        if msg.get('logits'):
            ref = read_f32(msg['logits'], list(logits.shape))
            out['logitMaxAbsDiff'] = float((logits - ref).abs().max())
            out['logitMaxAbs'] = float(ref.abs().max())
        torch.set_num_threads(1)
        fns = methods(model, x, t)
        if msg.get('vanilla'):
            ref = read_f32(msg['vanilla'], msg['dims'])
            g = fns['vanilla-gradient'](x.clone().requires_grad_(True), t)
            out['vanillaMaxAbsDiff'] = float((g - ref).abs().max())
            out['vanillaMaxAbs'] = float(ref.abs().max())
        MODELS[msg['shape']] = (model, x, t, fns)
        return out
    if cmd == 'measure':
        model, x, t, fns = MODELS[msg['shape']]
        fn = fns.get(msg['row'])
        if fn is None:
            return {'missing': True}
        torch.set_num_threads(int(msg['threads']))
        heavy = '(50' in msg['row'] or msg['row'] == 'occlusion'
        # Warm-up: a full call for the light rows, two images for the 50-step rows.
        fn(x[:2] if heavy else x, t[:2] if heavy else t)
        best, best_cpu = float('inf'), float('inf')
        for _ in range(int(msg['reps'])):
            c0, t0 = time.process_time(), time.perf_counter()
            fn(x, t)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        n = x.shape[0]
        return {'rate': n / best, 'cpuRate': n / best_cpu, 'threads': torch.get_num_threads()}
    raise ValueError(f'unknown command {cmd}')


def main():
    # Captum warns on every call that it set requires_grad on the input and hooked the ReLUs.
    warnings.filterwarnings('ignore', category=UserWarning)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            res = {'ok': True, **handle(msg)}
        except Exception as e:  # reported to the bench, which marks the row "not measured"
            res = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
