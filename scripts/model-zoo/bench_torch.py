#!/usr/bin/env python3
"""PyTorch side of `pnpm bench -- --only=models`: exports a torchvision model (seeded random weights, calibrated
BatchNorm, as zoo.py) to ONNX once, and times PyTorch 1.13 eager autograd's input gradient on the same weights.

    /usr/bin/python3 scripts/model-zoo/bench_torch.py --model resnet50 --batch 16 --threads 1 --onnx /tmp/resnet50.onnx
Prints one JSON line: {"imagesPerSecond": (median call), "fastestImagesPerSecond": ..., "calls": ..., "torch": ...}.
"""
import argparse
import json
import os
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--onnx', required=True)
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--export-only', action='store_true', help='write --onnx (if missing) and time nothing')
    return ap.parse_args()


ARGS = parse_args()
# Debian's torch runs matrix products through OpenBLAS (openblas-pthread), whose own thread pool ignores
# torch.set_num_threads: without these, a "1 thread" PyTorch run used every core for ViT's MatMuls. Set before torch
# loads OpenBLAS.
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_var] = str(ARGS.threads)

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import zoo  # noqa: E402


def main():
    a = ARGS
    torch.set_num_threads(a.threads)
    model = zoo.build(a.model, 0)
    zoo.calibrate(model, 64 if not a.model.startswith(zoo.SIZE_224) else a.size)
    x = torch.rand(a.batch, 3, a.size, a.size, generator=torch.Generator().manual_seed(2))
    if not os.path.exists(a.onnx):
        torch.onnx.export(model, x, a.onnx, opset_version=17, input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, do_constant_folding=True)
    if a.export_only:
        print(json.dumps({'exported': a.onnx}))
        return
    for p in model.parameters():
        p.requires_grad_(False)
    cot = torch.zeros(a.batch, 1000)
    cot[:, 3] = 1

    def call():
        xi = x.clone().requires_grad_(True)
        (model(xi) * cot).sum().backward()
        return xi.grad

    call()
    times = []
    t0 = time.time()
    while len(times) < 3 or time.time() - t0 < a.seconds:
        t = time.time()
        call()
        times.append(time.time() - t)
    times.sort()
    print(json.dumps({'imagesPerSecond': a.batch / times[len(times) // 2], 'fastestImagesPerSecond': a.batch / times[0],
                      'calls': len(times), 'torch': torch.__version__, 'threads': a.threads}))


if __name__ == '__main__':
    main()
