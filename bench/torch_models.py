#!/usr/bin/env python3
"""PyTorch CPU reference for `frost bench model`: the same architectures (torchvision's definitions
match timm's compute for these models), the same batch and image size, the same timing rule
(best of --repeat after one warm-up, milliseconds per image), eval mode (no dropout).

    /usr/bin/python3 bench/torch_models.py --threads 2 --batch 2 --repeat 3

Needs Debian's python3-torch and python3-torchvision (not needed to build or test frost).
"""
import argparse
import time

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torchvision.models.vision_transformer import VisionTransformer


def vit(embed_dim, depth, heads):
    return VisionTransformer(image_size=224, patch_size=16, num_layers=depth, num_heads=heads,
                             hidden_dim=embed_dim, mlp_dim=4 * embed_dim, num_classes=1000)


MODELS = {
    "vit_tiny_patch16_224": lambda: vit(192, 12, 3),
    "vit_small_patch16_224": lambda: vit(384, 12, 6),
    "vit_base_patch16_224": lambda: vit(768, 12, 12),
    "swin_tiny_patch4_window7_224": lambda: tvm.swin_t(),
    "convnext_tiny": lambda: tvm.convnext_tiny(),
}


def best_ms(step, repeat):
    step()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--models", nargs="*", default=list(MODELS))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for name in a.models:
        model = MODELS[name]().eval()
        x = torch.randn(a.batch, 3, 224, 224)
        y = torch.arange(a.batch) % 1000

        def forward():
            with torch.no_grad():
                model(x)

        def train_step():
            F.cross_entropy(model(x), y).backward()
            model.zero_grad(set_to_none=True)

        fwd = best_ms(forward, a.repeat) / a.batch
        step = best_ms(train_step, a.repeat) / a.batch
        params = sum(t.numel() for t in model.parameters())
        print(f"torch {torch.__version__} {name}: {params} params, batch {a.batch}, {a.threads} threads: "
              f"forward {fwd:.1f} ms/image, forward+backward {step:.1f} ms/image", flush=True)


if __name__ == "__main__":
    main()
