"""Traces a zoo mismatch to float32 kinks (outside CI; Debian's /usr/bin/python3 with python3-torch).

    kinks.py dump  --model resnet34 --out DIR          float64 pre-activations of every ReLU-family call, in call order
    kinks.py force --model resnet34 --out DIR          float64 input gradient with the ReLU masks that WhiteBox chose
    kinks.py floor --model resnet34 --out DIR          float32 PyTorch with float64's masks vs float64: the rounding floor

Both rebuild the zoo's seeded model (zoo.build + zoo.calibrate: the same weights as the exported ONNX file). `dump`
writes DIR/<model>-pre.bin (float64) and -pre.json (per call: module path, function, shape, offset). `force` reads
DIR/<model>-flips.json — per call, the flat indices where WhiteBox's float32 pre-activation is on the other side of a
kink than the float64 one, and which side WhiteBox took — and writes DIR/<model>-forced.bin: the float64 input
gradient (of the zoo's cotangent) and guided gradient with those units forced to WhiteBox's side. If that matches
WhiteBox, the whole difference is those units' float32 rounding.
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo  # noqa: E402


class Recorder:
    """Patches the ReLU family (as zoo.guided_patch does) and calls `visit(k, fn, x, lo, hi, slope)` on each call's input."""

    def __init__(self, model, visit):
        self.visit = visit
        self.k = 0
        self.stack = ['']
        self.hooks = []
        for name, mod in model.named_modules():
            self.hooks.append(mod.register_forward_pre_hook(self._enter(name)))
            self.hooks.append(mod.register_forward_hook(self._leave))
        self.saved = (F.relu, F.relu6, F.hardtanh, F.leaky_relu, torch.relu, torch.Tensor.relu)
        s = self.saved

        self.inside = False

        def call(fn, x, lo, hi, slope, plain):
            if self.inside:  # F.relu calls torch.relu: one call, not two
                return plain()
            y = self.visit(self.k, self.stack[-1], fn, x, lo, hi, slope)
            self.k += 1
            if y is not None:
                return y
            self.inside = True
            try:
                return plain()
            finally:
                self.inside = False

        self.visit_pool = None
        self.j = 0
        self.saved_pool = F.max_pool2d
        sp = self.saved_pool

        def pair(v):
            return list(v) if isinstance(v, (list, tuple)) else [v, v]

        def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
            plain = lambda: sp(x, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=return_indices)  # noqa: E731
            if self.visit_pool is None or return_indices or pair(dilation) != [1, 1]:
                return plain()
            k = pair(kernel_size)
            st = pair(stride if stride not in (None, []) else kernel_size)
            y = self.visit_pool(self.j, self.stack[-1], x, k, st, pair(padding), ceil_mode)
            self.j += 1
            return plain() if y is None else y
        F.max_pool2d = max_pool2d

        F.relu = lambda x, inplace=False: call('relu', x, 0.0, None, 0, lambda: s[0](x))
        F.relu6 = lambda x, inplace=False: call('relu6', x, 0.0, 6.0, 0, lambda: s[1](x))
        F.hardtanh = lambda x, min_val=-1.0, max_val=1.0, inplace=False: (
            call('hardtanh', x, min_val, max_val, 0, lambda: s[2](x, min_val, max_val)) if min_val == 0 else s[2](x, min_val, max_val))
        F.leaky_relu = lambda x, negative_slope=0.01, inplace=False: call('leaky_relu', x, 0.0, None, negative_slope, lambda: s[3](x, negative_slope))
        torch.relu = lambda x: call('relu', x, 0.0, None, 0, lambda: s[4](x))
        torch.Tensor.relu = lambda x: call('relu', x, 0.0, None, 0, lambda: s[5](x))

    def _enter(self, name):
        def hook(module, inputs):
            self.stack.append(name)
        return hook

    def _leave(self, module, inputs, output):
        self.stack.pop()

    def close(self):
        F.relu, F.relu6, F.hardtanh, F.leaky_relu, torch.relu, torch.Tensor.relu = self.saved
        F.max_pool2d = self.saved_pool
        for h in self.hooks:
            h.remove()


def apply_mask(t, mask, hi, slope, saturated):
    """y = t · mask (+ hi where saturated and masked off), or a leaky slope off the mask: the ReLU-family value with
    its derivative taken from `mask` rather than from t."""
    mask = mask.to(t.dtype)
    if slope:
        return t * (mask + (1 - mask) * slope)
    y = t * mask
    if hi is not None:
        y = y + hi * saturated.to(t.dtype) * (1 - mask)
    return y


def apply_route(t, idx):
    """A max-pool whose every window takes the element `idx` names (MaxPool's flat per-plane indices)."""
    n, c, oh, ow = idx.shape
    return t.reshape(n, c, -1).gather(2, idx.reshape(n, c, -1)).reshape(n, c, oh, ow)


def input_grad(model, x, cot, visit, visit_pool):
    """d (cot · model(x)) / dx with the Recorder's visitors patched in."""
    xi = x.clone().requires_grad_(True)
    rec = Recorder(model, visit)
    rec.visit_pool = visit_pool
    try:
        (model(xi) * cot).sum().backward()
    finally:
        rec.close()
    return xi.grad


def setup(name):
    size = zoo.input_size(name)
    model = zoo.build(name, 0)
    zoo.calibrate(model, size)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        k = model(x).shape[1]
    cot = torch.randn(2, k, generator=torch.Generator().manual_seed(3))
    return copy.deepcopy(model).double(), x.double(), cot.double()


def dump(a):
    m64, x, _ = setup(a.model)
    calls = []
    with open(os.path.join(a.out, a.model + '-pre.bin'), 'wb') as f:
        offset = 0

        def visit(k, module, fn, t, lo, hi, slope):
            nonlocal offset
            arr = t.detach().contiguous().numpy()
            f.write(arr.tobytes())
            calls.append({'module': module, 'fn': fn, 'dims': list(arr.shape), 'offset': offset, 'lo': lo, 'hi': hi, 'slope': slope})
            offset += arr.nbytes
            return None
        pools = []

        def visit_pool(j, module, t, kernel, stride, padding, ceil):
            nonlocal offset
            arr = t.detach().contiguous().numpy()
            f.write(arr.tobytes())
            pools.append({'module': module, 'dims': list(arr.shape), 'offset': offset, 'kernel': kernel, 'stride': stride, 'padding': padding, 'ceil': bool(ceil)})
            offset += arr.nbytes
            return None
        rec = Recorder(m64, visit)
        rec.visit_pool = visit_pool
        try:
            with torch.no_grad():
                y = m64(x)
        finally:
            rec.close()
        del y
    json.dump({'calls': calls, 'pools': pools}, open(os.path.join(a.out, a.model + '-pre.json'), 'w'))
    print(json.dumps({'calls': len(calls), 'pools': len(pools)}))


def force(a):
    m64, x, cot = setup(a.model)
    flips_file = json.load(open(os.path.join(a.out, a.model + '-flips.json')))
    flips = flips_file.get('flips', [])
    by_call = {}
    for fl in flips:
        by_call.setdefault(fl['call'], []).append(fl)
    # Every kink decided as WhiteBox decided it: each unit's side from the dumped (unforced) float64 pre-activation,
    # except the flipped units, which take WhiteBox's side. Deciding the other units from the forced run's own
    # pre-activations instead would let a forced unit move near-kink units downstream to the other side (deep ResNets
    # have many within 1e-5 of a kink) and leave a difference that is not WhiteBox's.
    meta = json.load(open(os.path.join(a.out, a.model + '-pre.json')))
    pre = open(os.path.join(a.out, a.model + '-pre.bin'), 'rb')

    def dumped(entry):
        n = 1
        for d in entry['dims']:
            n *= d
        pre.seek(entry['offset'])
        return torch.frombuffer(bytearray(pre.read(n * 8)), dtype=torch.float64).reshape(entry['dims'])

    def visit(k, module, fn, t, lo, hi, slope):
        c = meta['calls'][k]
        t0 = dumped(c)
        active = (t0 > lo) if hi is None else (t0 > lo) & (t0 < hi)
        flat = active.reshape(-1).clone()
        for fl in by_call.get(k, []):
            flat[fl['index']] = bool(fl['active'])
        # The same forward values up to the flipped units' tiny magnitudes, and the derivative WhiteBox took at each unit.
        return apply_mask(t, flat.reshape(t.shape), hi, slope, t0 >= hi if hi is not None else None)

    pool_flips = {}
    for fl in flips_file.get('poolFlips', []):
        pool_flips.setdefault(fl['pool'], []).append(fl)
    saved_pool = F.max_pool2d

    def visit_pool(j, module, t, kernel, stride, padding, ceil):
        _, idx = saved_pool(dumped(meta['pools'][j]), kernel, stride, padding, ceil_mode=ceil, return_indices=True)
        n, c, oh, ow = idx.shape
        flat = idx.reshape(n * c, oh * ow).clone()
        for fl in pool_flips.get(j, []):
            flat[fl['plane'], fl['out']] = fl['index']
        return apply_route(t, flat.reshape(idx.shape))

    try:
        g = input_grad(m64, x, cot, visit, visit_pool)
    finally:
        pre.close()
    with open(os.path.join(a.out, a.model + '-forced.bin'), 'wb') as f:
        f.write(g.to(torch.float32).contiguous().numpy().tobytes())
    print(json.dumps({'forcedUnits': len(flips), 'forcedWindows': sum(len(v) for v in pool_flips.values())}))


def floor(a):
    """PyTorch's own float32 rounding with every kink decided as in float64: the float32 model run with each ReLU-family
    mask and each max-pool route taken from the float64 forward pass. What is left between its input gradient and
    float64's is float32 arithmetic alone (deep random-weight nets amplify it), the floor any float32 engine meets."""
    m64, x64, cot64 = setup(a.model)
    masks, routes = [], []

    def record(k, module, fn, t, lo, hi, slope):
        masks.append(((t > lo) if hi is None else (t > lo) & (t < hi)).clone())
        return None

    def record_pool(j, module, t, kernel, stride, padding, ceil):
        routes.append(F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil, return_indices=True)[1].clone())
        return None

    g64 = input_grad(m64, x64, cot64, record, record_pool)
    m32 = copy.deepcopy(m64).float()

    def forced(k, module, fn, t, lo, hi, slope):
        return apply_mask(t, masks[k], hi, slope, t >= hi if hi is not None else None)

    def forced_pool(j, module, t, kernel, stride, padding, ceil):
        return apply_route(t, routes[j])
    g32 = input_grad(m32, x64.float(), cot64.float(), forced, forced_pool).double()
    rel = float((g32 - g64).abs().max() / g64.abs().max())
    print(json.dumps({'floor': rel, 'calls': len(masks), 'pools': len(routes)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('what', choices=['dump', 'force', 'floor'])
    ap.add_argument('--model', required=True)
    ap.add_argument('--out', default='/tmp/whitebox-zoo')
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get('ZOO_THREADS', '2')))
    os.makedirs(a.out, exist_ok=True)
    {'dump': dump, 'force': force, 'floor': floor}[a.what](a)


if __name__ == '__main__':
    sys.exit(main())
