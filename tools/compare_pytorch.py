#!/usr/bin/env python3
"""compare_pytorch.py: one training step in frost and in PyTorch (timm + HF peft), side by side.

For every MODEL:METHOD:BATCH it times `frost bench step --json` and the same step in PyTorch:
timm's model (its default attention: scaled_dot_product_attention), HF peft's real LoraConfig for
`lora` (r=8, lora_alpha=8, no dropout, the classifier in modules_to_save) or every parameter
trainable for `full`, cross-entropy on a seeded random batch at 224 px, AdamW (lr 1e-4) over the
trainable parameters. Each side runs in its own process; the two alternate over R rounds so both
see the same machine load; in a round each side does W warm-up steps, then K timed steps (each
synchronized on a GPU), and reports their median. A side's figure is its fastest round. Beside
the time: each process's maximum resident set size (getrusage of the child: what `time -v`
reports), frost's allocator peak (weights, gradients, optimizer state, saved activations over
the timed steps) and, on a GPU, torch.cuda.max_memory_allocated. Prints one markdown table for
bench/RESULTS.md: paste it with the date, the CPU or GPU and this command line.

The PyTorch side needs current PyTorch from PyPI with timm and peft; this script installs
nothing. Make the environment once (about 6 GB):

  python3 -m venv ~/anchor && ~/anchor/bin/pip install torch timm peft

CPU, 2 threads, the table of the CPU speed goal (bench/RESULTS.md):

  ~/anchor/bin/python tools/compare_pytorch.py --device cpu --threads 2 --rounds 3 --steps 3 \\
      --runs vit_tiny_patch16_224:full:8 vit_tiny_patch16_224:lora:8 vit_base_patch16_224:lora:8 \\
      swin_tiny_patch4_window7_224:lora:4 swin_tiny_patch4_window7_224:full:4 \\
      convnext_tiny:lora:4 convnext_tiny:full:4

GPU (bf16 autocast and fused AdamW on the PyTorch side):

  python3 tools/compare_pytorch.py --device cuda --precision bf16 --runs vit_base_patch16_224:lora:128

Methods without a PyTorch counterpart here (vpt, adapter) get frost's numbers only. Not part of
the test suite: timing lives in benchmarks.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

# HF peft's target_modules and frost's --peft targets per family: the same layers on both sides.
LORA_TARGETS = {"vit": ["qkv"], "swin": ["qkv"], "convnext": ["mlp.fc1"]}
FROST_LORA_TARGETS = {"vit": "attn.qkv", "swin": "attn.qkv", "convnext": "mlp.fc1"}
CLASSIFIER = {"vit": "head", "swin": "head.fc", "convnext": "head.fc"}
LORA_RANK, LORA_ALPHA = 8, 8
FROST_SPECS = {
    "full": lambda fam: "full",
    "lora": lambda fam: f"lora:r={LORA_RANK},alpha={LORA_ALPHA},targets={FROST_LORA_TARGETS[fam]}",
    "vpt": lambda fam: "vpt",
    "adapter": lambda fam: "adapter",
}
TORCH_METHODS = ("full", "lora")


def family(model):
    for fam in ("vit", "swin", "convnext"):
        if model.startswith(fam):
            return fam
    raise SystemExit(f"compare_pytorch.py: unknown model family for '{model}' (vit_*, swin_*, convnext_*)")


def run_child(cmd, env):
    """Runs cmd, returns (its last stdout line parsed as JSON, its own max RSS in bytes)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        pid = os.posix_spawnp(cmd[0], cmd, env, file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                                             (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)  # this child's rusage alone (ru_maxrss in KiB on Linux)
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"compare_pytorch.py: {' '.join(cmd)} failed ({code}):\n{err.read()}")
        return json.loads(out.read().strip().splitlines()[-1]), usage.ru_maxrss * 1024


def frost_round(args, model, method, batch, env, profile=False, binary=None):
    spec = FROST_SPECS[method](family(model))
    cmd = [binary or args.frost, "bench", "step", "--model", model, "--peft", spec, "--batch", str(batch), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--device", args.device, "--precision", args.precision, "--json"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if profile:  # the table, then the JSON line
        cmd = [c for c in cmd if c != "--json"] + ["--profile"]
        print(f"\n### frost: {' '.join(cmd)}\n")
        print(run_table(cmd, env))
        return None
    result, rss = run_child(cmd, env)
    return {"ms": result["ms_per_step"], "rss": rss, "peak": result["peak_bytes"]}


def run_table(cmd, env):
    """Runs a profiling command and returns its whole standard output."""
    with tempfile.TemporaryFile("w+") as out:
        pid = os.posix_spawnp(cmd[0], cmd, env, file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                                             (os.POSIX_SPAWN_DUP2, out.fileno(), 2)])
        _, status, _ = os.wait4(pid, 0)
        out.seek(0)
        text = out.read()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"compare_pytorch.py: {' '.join(cmd)} failed:\n{text}")
        return text


def torch_round(args, model, method, batch, env, profile=False):
    cmd = [args.python, os.path.abspath(__file__), "--worker", f"{model}:{method}:{batch}", "--device", args.device,
           "--precision", args.precision, "--steps", str(args.steps), "--warmup", str(args.warmup)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if profile:
        print(f"\n### PyTorch: torch.profiler over one step of {model} {method} batch {batch}\n")
        print(run_table(cmd + ["--profile"], env))
        return None
    result, rss = run_child(cmd, env)
    return {"ms": result["ms_per_step"], "rss": rss, "peak": result["peak_bytes"]}


def torch_worker(args):
    """One PyTorch side of a round, in its own process: prints {"ms_per_step", "peak_bytes"}."""
    import torch
    import timm
    model_name, method, batch = args.worker.split(":")
    batch = int(batch)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = timm.create_model(model_name, pretrained=False, num_classes=1000)
    if method == "lora":
        from peft import LoraConfig, get_peft_model
        fam = family(model_name)
        config = LoraConfig(r=LORA_RANK, lora_alpha=LORA_ALPHA, target_modules=LORA_TARGETS[fam], lora_dropout=0.0,
                            modules_to_save=[CLASSIFIER[fam]])
        model = get_peft_model(model, config)
    cuda = args.device == "cuda"
    device = torch.device("cuda" if cuda else "cpu")
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, fused=cuda)
    generator = torch.Generator(device=device).manual_seed(3)
    images = torch.randn(batch, 3, 224, 224, device=device, generator=generator)
    labels = torch.arange(batch, device=device) % 1000
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=args.precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(1000.0 * (time.perf_counter() - t0))
    peak = torch.cuda.max_memory_allocated() if cuda else None
    if args.profile:  # one more step under torch.profiler: its operator table, on stderr
        from torch.profiler import ProfilerActivity, profile
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            step()
            sync()
        key = "self_cuda_time_total" if cuda else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=40), file=sys.stderr)
    print(json.dumps({"ms_per_step": statistics.median(times), "peak_bytes": peak}))


def parse_run(run):
    try:
        model, method, batch = run.split(":")
        batch = int(batch)
    except ValueError:
        raise SystemExit(f"compare_pytorch.py: --runs entry '{run}' is not MODEL:METHOD:BATCH")
    if method not in FROST_SPECS:
        raise SystemExit(f"compare_pytorch.py: method '{method}' in '{run}' is not one of {', '.join(FROST_SPECS)}")
    family(model)
    return model, method, batch


def best(rounds):
    """The fastest round; memory is the largest seen over all rounds."""
    if not rounds:
        return None
    fastest = min(rounds, key=lambda r: r["ms"])
    return {"ms": fastest["ms"], "rss": max(r["rss"] for r in rounds),
            "peak": max((r["peak"] for r in rounds if r["peak"] is not None), default=None)}


def print_table(rows, device, with_baseline):
    mib = 1024.0 * 1024.0
    fmt = lambda v, f="{:,.0f}": f.format(v) if v is not None else "-"
    peak_col = "PyTorch CUDA peak MiB" if device == "cuda" else None
    head = ["model", "method", "frost --peft", "batch", "frost ms", "PyTorch ms", "frost / PyTorch", "frost RSS MiB",
            "PyTorch RSS MiB", "frost allocator peak MiB"] + ([peak_col] if peak_col else [])
    head += ["baseline ms", "baseline / PyTorch", "baseline peak MiB"] if with_baseline else []
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + "|")
    for model, method, spec, batch, fr, tr, br in rows:
        cells = [model, method, f"`{spec}`", str(batch), fmt(fr["ms"]), fmt(tr and tr["ms"]),
                 f"{fr['ms'] / tr['ms']:.2f}" if tr else "-", fmt(fr["rss"] / mib), fmt(tr and tr["rss"] / mib),
                 fmt(fr["peak"] / mib)]
        if peak_col:
            cells.append(fmt(tr and tr["peak"] and tr["peak"] / mib))
        if with_baseline:
            cells += [fmt(br["ms"]), f"{br['ms'] / tr['ms']:.2f}" if tr else "-", fmt(br["peak"] / mib)]
        print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frost", default="build/tools/frost", help="the frost binary")
    parser.add_argument("--baseline", help="a second frost binary (an earlier build) timed in the same alternation: "
                                           "its column shows what a change gained")
    parser.add_argument("--python", default=sys.executable, help="the Python with torch, timm and peft (default: this one)")
    parser.add_argument("--runs", nargs="+", help="MODEL:METHOD:BATCH, METHOD one of " + ", ".join(FROST_SPECS))
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    parser.add_argument("--precision", choices=["f32", "bf16"], default=None, help="default: bf16 on cuda, f32 on cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads per side (OMP_NUM_THREADS too); 0: the default")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; each side's fastest is kept")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round (their median is the round's time)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before them")
    parser.add_argument("--frost-only", action="store_true", help="skip PyTorch (a machine without torch, timm, peft)")
    parser.add_argument("--profile", action="store_true",
                        help="after the rounds, one profiled run per side: frost's per-op table (bench step --profile) "
                             "and torch.profiler's operator table, printed for each MODEL:METHOD:BATCH")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.precision = args.precision or ("bf16" if args.device == "cuda" else "f32")
    if args.worker:
        return torch_worker(args)
    if not args.runs:
        parser.error("--runs is required")
    if args.rounds < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--rounds and --steps must be at least 1, --warmup at least 0")
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(args.threads)

    rows = []
    for run in args.runs:
        model, method, batch = parse_run(run)
        with_torch = not args.frost_only and method in TORCH_METHODS
        frost_rounds, torch_rounds, base_rounds = [], [], []
        baseline = lambda *a: frost_round(*a, binary=args.baseline)
        for r in range(args.rounds):
            # Alternate which side goes first so neither always follows the other's cache state.
            sides = [("frost", frost_round, frost_rounds)] + ([("PyTorch", torch_round, torch_rounds)] if with_torch else [])
            sides += [("baseline", baseline, base_rounds)] if args.baseline else []
            for name, fn, out in (sides if r % 2 == 0 else sides[::-1]):
                out.append(fn(args, model, method, batch, env))
                print(f"# {model} {method} batch {batch} round {r + 1}: {name} {out[-1]['ms']:.1f} ms", file=sys.stderr, flush=True)
        rows.append((model, method, FROST_SPECS[method](family(model)), batch, best(frost_rounds), best(torch_rounds),
                     best(base_rounds)))
    print(f"# {args.device}, {args.precision}, threads {args.threads or 'default'}, {args.rounds} rounds, "
          f"median of {args.steps} steps after {args.warmup} warm-up")
    print_table(rows, args.device, bool(args.baseline))
    if args.profile:
        for run in args.runs:
            model, method, batch = parse_run(run)
            frost_round(args, model, method, batch, env, profile=True)
            if not args.frost_only and method in TORCH_METHODS:
                torch_round(args, model, method, batch, env, profile=True)


if __name__ == "__main__":
    main()
