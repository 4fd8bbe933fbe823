#!/usr/bin/env python3
"""check_tensorboard.py FROST: trains a tiny run with `frost train --log-dir` and reads its event file
back with the tensorboard package's own reader; every eval/top1 must equal summary.csv's eval_top1.
Skipped (exit 77) when no Python here has tensorboard: $FROST_PYTHON, this one, ~/anchor/bin/python3."""
import os
import subprocess
import sys
import tempfile


def python_with_tensorboard():
    for exe in (os.environ.get("FROST_PYTHON"), sys.executable, os.path.expanduser("~/anchor/bin/python3")):
        if exe and os.path.exists(exe):
            if subprocess.run([exe, "-c", "import tensorboard"], capture_output=True).returncode == 0:
                return exe
    return None


def write_dataset(root):
    """root/{train,validation}/{a,b}/*.ppm: class a red-ish, class b blue-ish, 16x16."""
    seed = 1
    for split, n in (("train", 8), ("validation", 4)):
        for cls, channel in (("a", 0), ("b", 2)):
            os.makedirs(os.path.join(root, split, cls))
            for i in range(n):
                pixels = bytearray()
                for _ in range(16 * 16):
                    for c in range(3):
                        seed = (seed * 1103515245 + 12345) % 2**32
                        pixels.append((150 if c == channel else 70) + (seed >> 26))
                with open(os.path.join(root, split, cls, f"{i}.ppm"), "wb") as f:
                    f.write(b"P6\n16 16\n255\n" + bytes(pixels))


def main():
    frost = sys.argv[1]
    if len(sys.argv) < 3:
        exe = python_with_tensorboard()
        if exe is None:
            print("no Python with the tensorboard package here: skipped")
            return 77
        return subprocess.run([exe, os.path.abspath(__file__), frost, "--read"]).returncode
    from tensorboard.backend.event_processing import event_accumulator

    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(os.path.join(tmp, "data"))
        run, logs = os.path.join(tmp, "run"), os.path.join(tmp, "logs")
        subprocess.run([frost, "train", "--model", "vit_tiny_patch16_224", "--model-args",
                        '{"img_size":16,"patch_size":8,"embed_dim":16,"depth":1,"num_heads":2}',
                        "--dataset", "folder", "--data-dir", os.path.join(tmp, "data"), "--peft", "lora:r=2",
                        "--epochs", "3", "--batch-size", "4", "--direct-resize", "--log-interval", "2",
                        "--output", run, "--log-dir", logs], check=True, stdout=subprocess.DEVNULL)
        acc = event_accumulator.EventAccumulator(logs)
        acc.Reload()
        tags = set(acc.Tags()["scalars"])
        want = {"train/loss", "train/lr", "train/images_per_s", "eval/top1", "eval/top5", "eval/loss", "epoch/train_loss"}
        if not want <= tags:
            print("missing tags:", sorted(want - tags), "found:", sorted(tags))
            return 1
        with open(os.path.join(run, "summary.csv")) as f:
            rows = [line.strip().split(",") for line in f][1:]
        top1 = [e.value for e in acc.Scalars("eval/top1")]
        expected = [float(r[3]) for r in rows]
        if len(top1) != len(expected) or any(abs(a - b) > 1e-4 * max(1.0, abs(b)) for a, b in zip(top1, expected)):
            print("eval/top1", top1, "!= summary.csv", expected)
            return 1
        steps = [e.step for e in acc.Scalars("train/loss")]
        print(f"tensorboard read {len(tags)} tags; eval/top1 {top1} equals summary.csv; train/loss at steps {steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
