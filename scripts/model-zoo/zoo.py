#!/usr/bin/env python3
"""Exports one torchvision classification model to ONNX and writes PyTorch autograd references for WhiteBox's zoo check.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision, python3-onnx):
    /usr/bin/python3 scripts/model-zoo/zoo.py --model resnet18 --opset 17 --out /tmp/whitebox-zoo
    /usr/bin/python3 scripts/model-zoo/zoo.py --list

Seeded random weights; BatchNorm running statistics calibrated on a few random batches (train mode, no grad), so
activations are not degenerate. References on a batch of 2 seeded images in [0, 1]:
  logits; the input gradient of cotangent·logits (a seeded random cotangent); guided backprop (every ReLU — F.relu,
  nn.ReLU, ReLU6/hardtanh with min 0, LeakyReLU — passes only positive gradient through its forward mask, every other
  nonlinearity its plain gradient, as WhiteBox's 'guided' rule); and Grad-CAM at the conventional layer (the one
  pytorch-grad-cam's documentation uses for the family) for the top class.
Writes <out>/<model>-op<opset>.onnx, .json (metadata) and .bin (float32 references, offsets in the json).
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision import models

# Input size per model: small where the architecture allows (speed), the native size where it does not.
SIZE_224 = ('alexnet', 'vgg', 'vit', 'swin', 'maxvit')
def input_size(name):
    if name.startswith(SIZE_224):
        return 224
    if name.startswith('inception'):
        return 96
    return 64

# Conventional Grad-CAM layer (module path) per family, as pytorch-grad-cam's README and tutorials name them.
def conventional_layer(name, model):
    if name.startswith(('resnet', 'resnext', 'wide_resnet')):
        return 'layer4'
    if name.startswith(('vgg', 'alexnet', 'densenet', 'squeezenet', 'mobilenet', 'efficientnet', 'convnext')):
        return 'features'
    if name.startswith('mnasnet'):
        return 'layers'
    if name.startswith('shufflenet'):
        return 'conv5'
    if name.startswith('regnet'):
        return 'trunk_output'
    if name == 'googlenet':
        return 'inception5b'
    if name == 'inception_v3':
        return 'Mixed_7c'
    if name.startswith('vit'):
        return 'encoder.layers.encoder_layer_%d.ln_1' % (len(model.encoder.layers) - 1)
    if name.startswith('swin'):
        return 'permute'
    if name.startswith('maxvit'):  # blocks is a ModuleList (never called itself): its last stage
        return 'blocks.%d' % (len(model.blocks) - 1)
    return None


class GuidedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi, slope):
        y = torch.clamp(x, min=lo, max=hi) if slope == 0 else torch.where(x > 0, x, x * slope)
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi, ctx.slope = lo, hi, slope
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        gp = torch.relu(g)
        if ctx.slope != 0:
            return gp * torch.where(x > 0, torch.ones_like(x), torch.full_like(x, ctx.slope)), None, None, None
        mask = (x >= ctx.lo) & (x <= ctx.hi) if ctx.hi is not None else (x > 0)
        return gp * mask.to(g.dtype), None, None, None


def guided_patch():
    """Replaces the ReLU family in torch.nn.functional / torch with guided versions; returns a restore function."""
    saved = (F.relu, F.relu6, F.hardtanh, F.leaky_relu, torch.relu, torch.Tensor.relu)
    def relu(x, inplace=False):
        return GuidedRelu.apply(x, 0.0, None, 0)
    def relu6(x, inplace=False):
        return GuidedRelu.apply(x, 0.0, 6.0, 0)
    def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
        return GuidedRelu.apply(x, 0.0, max_val, 0) if min_val == 0 else saved[2](x, min_val, max_val)
    def leaky(x, negative_slope=0.01, inplace=False):
        return GuidedRelu.apply(x, 0.0, None, negative_slope)
    F.relu, F.relu6, F.hardtanh, F.leaky_relu = relu, relu6, hardtanh, leaky
    torch.relu = lambda x: relu(x)
    torch.Tensor.relu = lambda x: relu(x)
    def restore():
        F.relu, F.relu6, F.hardtanh, F.leaky_relu, torch.relu, torch.Tensor.relu = saved
    return restore


def build(name, seed):
    torch.manual_seed(seed)
    kwargs = {}
    if name in ('googlenet', 'inception_v3'):
        kwargs = {'aux_logits': False, 'init_weights': True}
    m = getattr(models, name)(weights=None, **kwargs)
    # Some initializers make a random model degenerate for this check: ViT's zero-initialized head gives zero logits
    # and gradients; ConvNeXt's 1e-6 layer scale makes every block nearly the identity. Re-draw those.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() >= 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif p.numel() > 1 and p.abs().max() <= 1e-5 and p.any():
                p.fill_(0.1)
    return m


def calibrate(model, size):
    model.train()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.reset_running_stats()
                mod.momentum = None  # cumulative average
        for _ in range(4):
            model(torch.rand(8, 3, size, size, generator=g))
    model.eval()


def module_by_path(model, path):
    m = model
    for p in path.split('.'):
        m = getattr(m, p)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model')
    ap.add_argument('--opset', type=int, default=17)
    ap.add_argument('--out', default='/tmp/whitebox-zoo')
    ap.add_argument('--fixed-batch', action='store_true', help='export without a dynamic batch axis (batch 1)')
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    if a.list:
        print(json.dumps(models.list_models(module=models)))
        return
    torch.set_num_threads(int(os.environ.get('ZOO_THREADS', '2')))
    os.makedirs(a.out, exist_ok=True)
    name = a.model
    size = input_size(name)
    t0 = time.time()
    model = build(name, 0)
    calibrate(model, size)
    base = os.path.join(a.out, '%s-op%d%s' % (name, a.opset, '-fixed' if a.fixed_batch else ''))
    meta = {'model': name, 'opset': a.opset, 'size': size, 'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'params': int(sum(p.numel() for p in model.parameters())), 'fixedBatch': a.fixed_batch}
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, size, size, generator=g)
    try:
        # Exported with gradients enabled: torch 1.13's nn.MultiheadAttention takes a fused fast path (an operator
        # the exporter does not know) when no parameter requires grad.
        kw = {} if a.fixed_batch else {'dynamic_axes': {'input': {0: 'N'}, 'logits': {0: 'N'}}}
        torch.onnx.export(model, x[:1] if a.fixed_batch else x, base + '.onnx', opset_version=a.opset, input_names=['input'],
                          output_names=['logits'], do_constant_folding=True, **kw)
    except Exception as e:  # noqa: BLE001 - report any exporter failure
        meta['exportError'] = ('%s: %s' % (type(e).__name__, e)).splitlines()[0][:400]
        json.dump(meta, open(base + '.json', 'w'))
        print(json.dumps(meta))
        return
    for p in model.parameters():
        p.requires_grad_(False)
    meta['onnxBytes'] = os.path.getsize(base + '.onnx')
    meta['exportSeconds'] = round(time.time() - t0, 2)
    refs = {}
    logits = model(x)
    refs['x'] = x
    refs['logits'] = logits
    k = logits.shape[1]
    cot = torch.randn(2, k, generator=torch.Generator().manual_seed(3))
    refs['cotangent'] = cot

    def input_grad():
        xi = x.clone().requires_grad_(True)
        (model(xi) * cot).sum().backward()
        return xi.grad
    refs['input_grad'] = input_grad()
    restore = guided_patch()
    try:
        refs['guided_grad'] = input_grad()
    finally:
        restore()

    # The same computation in float64: where a pre-activation sits within float32 rounding of a ReLU kink, PyTorch's
    # own float32 result can differ from the exact one by far more than 1e-3; the float64 reference tells which side
    # of the kink the exact computation is on.
    if not os.environ.get('ZOO_NO_FLOAT64'):
        m64 = copy.deepcopy(model).double()
        x64, cot64 = x.double(), cot.double()

        def input_grad64():
            xi = x64.clone().requires_grad_(True)
            out = m64(xi)
            (out * cot64).sum().backward()
            return xi.grad, out.detach()
        refs['input_grad_f64'], refs['logits_f64'] = input_grad64()
        restore = guided_patch()
        try:
            refs['guided_grad_f64'] = input_grad64()[0]
        finally:
            restore()
        del m64

    target = logits.argmax(1)
    refs['target'] = target.to(torch.float32)
    layer = conventional_layer(name, model)
    meta['camLayer'] = layer
    if layer:
        store = {}
        mod = module_by_path(model, layer)
        # Keep the module's output and hand a copy downstream: an in-place op after it (DenseNet's
        # F.relu(features, inplace=True) after norm5) would otherwise overwrite the stored activation.
        def keep(m, i, o):
            store['a'] = o
            return o.clone()
        h1 = mod.register_forward_hook(keep)
        xi = x.clone().requires_grad_(True)
        out = model(xi)
        act = store['a']
        act.retain_grad()
        out.gather(1, target[:, None]).sum().backward()
        h1.remove()
        a_, g_ = act.detach(), act.grad.detach()
        if a_.dim() == 3:  # ViT tokens [N, 1 + h*w, C] -> [N, C, h, w], class token dropped
            n, t, c = a_.shape
            hw = int(round((t - 1) ** 0.5))
            a_ = a_[:, 1:, :].reshape(n, hw, hw, c).permute(0, 3, 1, 2)
            g_ = g_[:, 1:, :].reshape(n, hw, hw, c).permute(0, 3, 1, 2)
            meta['camTokens'] = True
        w = g_.mean(dim=(2, 3), keepdim=True)
        raw = (w * a_).sum(1, keepdim=True)
        cam = torch.relu(raw)
        refs['cam'] = cam
        refs['cam_raw'] = raw  # before the ReLU: random-weight ViTs give all-negative maps
        meta['camShape'] = list(cam.shape)
        meta['camActShape'] = list(store['a'].shape)
    offset = 0
    meta['arrays'] = {}
    with open(base + '.bin', 'wb') as f:
        for key, t in refs.items():
            arr = t.detach().to(torch.float32).contiguous().numpy()
            f.write(arr.tobytes())
            meta['arrays'][key] = {'offset': offset, 'dims': list(arr.shape)}
            offset += arr.nbytes
    meta['seconds'] = round(time.time() - t0, 2)
    json.dump(meta, open(base + '.json', 'w'))
    print(json.dumps({k: v for k, v in meta.items() if k != 'arrays'}))


if __name__ == '__main__':
    sys.exit(main())
