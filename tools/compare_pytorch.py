#!/usr/bin/env python3
"""compare_pytorch.py: frost against PyTorch (timm + HF peft) on the same GPU, in one run.

For every (model, method) it times `frost bench step --json` and the same training step in
PyTorch: timm's model with HF peft's LoRA (or everything trainable for `full`), bf16 autocast,
timm's fused scaled_dot_product_attention, AdamW(fused=True) over the trainable parameters,
cross-entropy on a seeded random batch. Both run W warm-up steps and then K timed steps, each
synchronized; the median step gives images/s. Peak memory is frost's allocator peak and
torch.cuda.max_memory_allocated over the timed steps (both include weights, gradients, optimizer
state and saved activations). Prints one markdown table: paste it into bench/RESULTS.md with the
date, GPU and this command line.

Runs only where PyTorch, timm and peft are installed (the device machine); it is not part of the
test suite. Methods without a PyTorch counterpart here (vpt, adapter) get frost's numbers only.

  python3 tools/compare_pytorch.py --frost build/tools/frost \\
      --runs vit_base_patch16_224:lora:128 vit_base_patch16_224:full:128 --precision bf16
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

# frost's --peft spec and HF peft's target_modules per (family, method).
LORA_TARGETS = {"vit": ["qkv"], "swin": ["qkv"], "convnext": ["mlp.fc1", "mlp.fc2"]}
FROST_SPECS = {
    "full": lambda fam: "full",
    "lora": lambda fam: "lora:r=8,alpha=16,targets=" + ("attn.qkv" if fam != "convnext" else "mlp.fc1|mlp.fc2"),
    "vpt": lambda fam: "vpt",
    "adapter": lambda fam: "adapter",
}


def family(model):
    for fam in ("vit", "swin", "convnext"):
        if model.startswith(fam):
            return fam
    raise SystemExit(f"compare_pytorch.py: unknown model family for '{model}' (vit_*, swin_*, convnext_*)")


def run_frost(args, model, method, batch):
    spec = FROST_SPECS[method](family(model))
    cmd = [args.frost, "bench", "step", "--model", model, "--peft", spec, "--batch", str(batch), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--device", args.device, "--precision", args.precision, "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"compare_pytorch.py: {' '.join(cmd)} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["images_per_s"], result["peak_bytes"], spec


def run_pytorch(args, model_name, method, batch):
    if args.frost_only or method not in ("full", "lora"):
        return None, None
    import torch
    import timm
    torch.manual_seed(0)
    timm.layers.set_fused_attn(True)  # scaled_dot_product_attention
    model = timm.create_model(model_name, pretrained=False, num_classes=1000)
    if method == "lora":
        from peft import LoraConfig, get_peft_model
        config = LoraConfig(r=8, lora_alpha=16, target_modules=LORA_TARGETS[family(model_name)], lora_dropout=0.0,
                            modules_to_save=["head"] if family(model_name) != "convnext" else ["head.fc"])
        model = get_peft_model(model, config)
    model = model.cuda().train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, fused=True)
    size = 224
    generator = torch.Generator(device="cuda").manual_seed(3)
    images = torch.randn(batch, 3, size, size, device="cuda", generator=generator)
    labels = torch.arange(batch, device="cuda") % 1000
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32

    def step():
        with torch.autocast("cuda", dtype=dtype, enabled=args.precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated()
    del model, optimizer, params
    torch.cuda.empty_cache()
    return batch / statistics.median(times), peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frost", default="build/tools/frost", help="the frost binary")
    parser.add_argument("--runs", nargs="+", required=True, help="MODEL:METHOD:BATCH, METHOD one of " + ", ".join(FROST_SPECS))
    parser.add_argument("--precision", choices=["f32", "bf16"], default="bf16")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cuda", help="frost's --device (PyTorch always runs on cuda)")
    parser.add_argument("--frost-only", action="store_true", help="skip PyTorch (a machine without torch, timm, peft)")
    args = parser.parse_args()

    rows = []
    for run in args.runs:
        try:
            model, method, batch = run.split(":")
            batch = int(batch)
        except ValueError:
            raise SystemExit(f"compare_pytorch.py: --runs entry '{run}' is not MODEL:METHOD:BATCH")
        if method not in FROST_SPECS:
            raise SystemExit(f"compare_pytorch.py: method '{method}' in '{run}' is not one of {', '.join(FROST_SPECS)}")
        frost_ips, frost_peak, spec = run_frost(args, model, method, batch)
        torch_ips, torch_peak = run_pytorch(args, model, method, batch)
        rows.append((model, spec, batch, frost_ips, torch_ips, frost_peak, torch_peak))
        print(f"# {model} {spec} batch {batch}: frost {frost_ips:.1f} img/s"
              + (f", PyTorch {torch_ips:.1f} img/s" if torch_ips else ""), file=sys.stderr)

    mib = 1024.0 * 1024.0
    print(f"| model | frost --peft | batch | frost img/s | PyTorch img/s | ratio | frost peak MiB | PyTorch peak MiB | memory ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, spec, batch, fi, ti, fp, tp in rows:
        ratio = f"{fi / ti:.2f}" if ti else "-"
        mem_ratio = f"{fp / tp:.2f}" if tp else "-"
        print(f"| {model} | {spec} | {batch} | {fi:.1f} | {f'{ti:.1f}' if ti else '-'} | {ratio} | {fp / mib:.0f} | "
              f"{f'{tp / mib:.0f}' if tp else '-'} | {mem_ratio} |")


if __name__ == "__main__":
    main()
