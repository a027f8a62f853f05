#!/usr/bin/env python3
"""
PyTorch parity of WhiteBox's CAM family: the shipped ONNX models rebuilt as torch modules (same weights), maps from
jacobgil/pytorch-grad-cam itself, compared with the maps that cam-parity-maps.mjs computed with WhiteBox.

  /usr/bin/python3 packages/cli/scripts/cam-parity.py <maps-dir> <pytorch-grad-cam source dir> [report.md]

pytorch-grad-cam is pure Python; its optional imports that Debian's python3 lacks (ttach, opencv, tqdm, scikit-learn,
scipy, matplotlib) are replaced by the small stand-ins below: only `cv2.resize` (bilinear, half-pixel centres, as
cv2.INTER_LINEAR when upsampling) and ttach's flip × multiply augmentations are used by the code paths compared here.
Eigen-CAM's SVD sign is arbitrary (LAPACK's); the comparison applies WhiteBox's documented sign rule (positive
correlation with the channel sum) to pytorch-grad-cam's projections.
"""
import itertools, json, sys, types
from pathlib import Path
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F

maps_dir, pgc_dir = Path(sys.argv[1]), Path(sys.argv[2])
report = Path(sys.argv[3]) if len(sys.argv) > 3 else None
torch.set_num_threads(2)

# ---------- stand-ins for the optional dependencies ----------
def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m

def cv2_resize(img, size):
    w, h = size
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(h, w), mode='bilinear', align_corners=False)[0, 0].numpy()

stub('cv2', resize=cv2_resize, COLORMAP_JET=2, applyColorMap=None, cvtColor=None, COLOR_BGR2RGB=4, COLOR_RGB2HSV=41, COLOR_HSV2RGB=55)

class _Flip:
    params = [False, True]
class _Multiply:
    def __init__(self, factors): self.params = list(factors)
class _Aug:
    def __init__(self, flip, factor): self.flip, self.factor = flip, factor
    def augment_image(self, x):
        x = torch.flip(x, dims=[3]) if self.flip else x
        return x * self.factor
    def deaugment_mask(self, m):
        return torch.flip(m, dims=[3]) if self.flip else m
class _Compose:
    def __init__(self, transforms): self.transforms = transforms
    def __iter__(self):
        flips = self.transforms[0].params
        factors = self.transforms[1].params
        for f, k in itertools.product(flips, factors): yield _Aug(f, k)
stub('ttach', Compose=_Compose, HorizontalFlip=_Flip, Multiply=_Multiply)
stub('tqdm', tqdm=lambda it, *a, **k: it)
stub('sklearn'); stub('sklearn.decomposition', KernelPCA=object, NMF=object)
stub('scipy'); stub('scipy.ndimage', zoom=None)
mpl = stub('matplotlib'); plt = stub('matplotlib.pyplot'); mpl.pyplot = plt
stub('matplotlib.lines', Line2D=object)

# The package's __init__ imports every method and metric (scipy, scikit-learn …); load only the modules compared here.
import importlib
pkg = types.ModuleType('pytorch_grad_cam')
pkg.__path__ = [str(pgc_dir / 'pytorch_grad_cam')]
sys.modules['pytorch_grad_cam'] = pkg
pgc = types.SimpleNamespace(**{cls: getattr(importlib.import_module(f'pytorch_grad_cam.{mod}'), cls) for mod, cls in [
    ('grad_cam', 'GradCAM'), ('grad_cam_plusplus', 'GradCAMPlusPlus'), ('xgrad_cam', 'XGradCAM'), ('hirescam', 'HiResCAM'),
    ('layer_cam', 'LayerCAM'), ('score_cam', 'ScoreCAM'), ('ablation_cam', 'AblationCAM'), ('eigen_cam', 'EigenCAM'), ('eigen_grad_cam', 'EigenGradCAM')]})
from pytorch_grad_cam.utils import svd_on_activations
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

_projection = svd_on_activations.get_2d_projection
def signed_projection(batch):
    """pytorch-grad-cam's projection, its sign fixed as WhiteBox documents it."""
    p = _projection(batch)
    out = []
    for proj, act in zip(p, np.asarray(batch)):
        s = act.reshape(act.shape[0], -1).sum(axis=0)
        c = float((proj.reshape(-1).astype(np.float64) * (s - s.mean())).sum())
        flip = c < 0 or (c == 0 and -proj.min() > proj.max())
        out.append(-proj if flip else proj)
    return np.float32(out)
for mod in ['base_cam', 'eigen_cam', 'eigen_grad_cam', 'hirescam', 'layer_cam', 'ablation_layer']:
    m = importlib.import_module(f'pytorch_grad_cam.{mod}')
    if hasattr(m, 'get_2d_projection'): m.get_2d_projection = signed_projection

# ---------- the ONNX model as a torch module ----------
class OnnxNet(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        g = onnx.load(path).graph
        self.inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        self.nodes = list(g.node)
        self.input = g.input[0].name
        self.output = g.output[0].name
        self.mods = torch.nn.ModuleDict()
        for n in self.nodes:
            a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
            key = n.output[0]
            if n.op_type == 'Conv':
                w = self.inits[n.input[1]]
                conv = torch.nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=tuple(a.get('pads', [0, 0, 0, 0])[:2]), stride=tuple(a.get('strides', [1, 1])), bias=len(n.input) > 2)
                conv.weight.data = w.clone()
                if len(n.input) > 2: conv.bias.data = self.inits[n.input[2]].clone()
                self.mods[key] = conv
            elif n.op_type == 'BatchNormalization':
                s, b, m, v = (self.inits[i] for i in n.input[1:5])
                bn = torch.nn.BatchNorm2d(s.shape[0], eps=a.get('epsilon', 1e-5))
                bn.weight.data, bn.bias.data, bn.running_mean.data, bn.running_var.data = s.clone(), b.clone(), m.clone(), v.clone()
                self.mods[key] = bn
            elif n.op_type == 'Relu':
                self.mods[key] = torch.nn.ReLU(inplace=False)
            elif n.op_type == 'MaxPool':
                self.mods[key] = torch.nn.MaxPool2d(tuple(a['kernel_shape']), stride=tuple(a['strides']))
            elif n.op_type == 'Gemm':
                w = self.inits[n.input[1]]
                fc = torch.nn.Linear(w.shape[1], w.shape[0])
                fc.weight.data = w.clone() if a.get('transB', 0) else w.t().clone()
                fc.bias.data = self.inits[n.input[2]].clone()
                self.mods[key] = fc
            elif n.op_type not in ('Sub', 'Div', 'Flatten'):
                raise ValueError(f'op {n.op_type} not handled')
        self.eval()

    def forward(self, x):
        env = {self.input: x}
        get = lambda name: env[name] if name in env else self.inits[name]
        for n in self.nodes:
            if n.op_type == 'Sub': y = get(n.input[0]) - get(n.input[1])
            elif n.op_type == 'Div': y = get(n.input[0]) / get(n.input[1])
            elif n.op_type == 'Flatten': y = torch.flatten(get(n.input[0]), 1)
            else: y = self.mods[n.output[0]](get(n.input[0]))
            env[n.output[0]] = y
        return env[self.output]

# ---------- compare ----------
CLASSES = {
    'GradCAM': pgc.GradCAM, 'GradCAMPlusPlus': pgc.GradCAMPlusPlus, 'XGradCAM': pgc.XGradCAM, 'HiResCAM': pgc.HiResCAM,
    'LayerCAM': pgc.LayerCAM, 'ScoreCAM': pgc.ScoreCAM, 'AblationCAM': pgc.AblationCAM, 'EigenCAM': pgc.EigenCAM, 'EigenGradCAM': pgc.EigenGradCAM,
}
manifest = json.loads((maps_dir / 'manifest.json').read_text())
rows, worst = [], 0.0
for m in manifest['models']:
    root = Path(__file__).resolve().parents[3]
    net = OnnxNet(str(root / m['file']))
    x = torch.from_numpy(np.fromfile(maps_dir / f"{m['name']}.input.f32", dtype=np.float32).reshape(m['dims']))
    with torch.no_grad():
        pred = net(x).argmax(1).tolist()
    assert pred == m['targets'], f"torch predictions {pred} differ from WhiteBox's {m['targets']}"
    targets = [ClassifierOutputTarget(t) for t in m['targets']]
    for cid, spec in m['maps'].items():
        base, _, variant = cid.partition(':')
        layers = variant.split('+') if variant and '_smooth' not in variant else [m['layer']]
        cam = CLASSES[base](model=net, target_layers=[net.mods[l] for l in layers])
        if base == 'ScoreCAM': cam.batch_size = 64
        ref = cam(input_tensor=x, targets=targets, aug_smooth='aug_smooth' in variant, eigen_smooth='eigen_smooth' in variant)
        ours = np.fromfile(maps_dir / spec['file'], dtype=np.float32).reshape(ref.shape)
        diff = float(np.abs(ours - ref).max())
        worst = max(worst, diff)
        rows.append((m['name'], cid, diff, float(np.abs(ref).max())))
        print(f"{m['name']:8s} {cid:34s} max |WhiteBox − pytorch-grad-cam| = {diff:.2e}", flush=True)
lines = ['| model | pytorch-grad-cam class (options) | max abs difference of the [0, 1] maps |', '| --- | --- | --- |']
lines += [f'| {a} | {b} | {d:.1e} |' for a, b, d, _ in rows]
if report:
    report.write_text('\n'.join(lines) + '\n')
print(f'worst: {worst:.2e}')
sys.exit(0 if worst < 1e-4 else 1)
