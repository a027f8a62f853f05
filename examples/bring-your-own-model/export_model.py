"""Exports the bring-your-own-model fixture: torchvision's MobileNetV3-Small (width 0.25, 10 classes, seeded random
weights) as ONNX, the way a PyTorch user exports a torchvision classifier. Run with Debian's python3 (torch 1.13):
    /usr/bin/python3 examples/bring-your-own-model/export_model.py
"""
import os
import torch
import torchvision

torch.manual_seed(0)
model = torchvision.models.mobilenet_v3_small(num_classes=10, width_mult=0.25).eval()
x = torch.rand(1, 3, 96, 96)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mobilenet_v3_small_w025.onnx")
torch.onnx.export(
    model, x, out, opset_version=13, input_names=["input"], output_names=["logits"],
    dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
)
print(out, os.path.getsize(out), "bytes;", sum(p.numel() for p in model.parameters()), "parameters")
