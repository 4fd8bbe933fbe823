#!/usr/bin/env python3
"""make_fixtures.py: regenerates the parity fixtures in tests/fixtures/ from timm and HF peft.

The tests compare frost with these files: timm's forward values and gradients on small models whose
parameters are all replaced by non-trivial random values (no zeros, no ones, so a missing bias or a
wrong init cannot hide), and the state_dict keys and shapes of the full-size models. The committed
files were made by timm 1.0.29 with PyTorch 1.13 (float32, CPU), the hub-folder, MAE and registry
files by timm 1.0.31 with PyTorch 2.15 and peft 0.21.2; tests/fixtures/README.md describes every file. Not part of the tests, which only read the committed files. Needs torch, timm, peft and
safetensors, e.g. current PyTorch from PyPI:

  python3 -m venv ~/anchor && ~/anchor/bin/pip install torch timm peft
  ~/anchor/bin/python tools/make_fixtures.py --out /tmp/fixtures
  FROST_FIXTURES=/tmp/fixtures build/tests/frost_tests "[cpu]"   # the suite against the new set

Replace tests/fixtures/ with a new set only when that suite passes, and update the versions above.
"""
import argparse
import functools
import json
import os
import sys

# NAME: (timm architecture, timm model_args, image side). Batch 3, 10 classes.
CASES = {
    "vit_tiny": ("vit_tiny_patch16_224",
                 {"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3, "num_classes": 10}, 32),
    "swin_tiny": ("swin_tiny_patch4_window7_224",
                  {"img_size": 32, "patch_size": 2, "window_size": 4, "embed_dim": 24, "depths": [2, 2],
                   "num_heads": [2, 4], "num_classes": 10}, 32),
    "convnext_tiny": ("convnext_tiny", {"depths": [1, 1, 2, 1], "dims": [16, 24, 32, 40], "num_classes": 10}, 64),
}
LORA_CASE = "vit_tiny_lora"  # vit_tiny with HF peft LoRA on qkv, r=4, alpha=8, the head in modules_to_save
# Pre-trained families, written as timm hub folders (NAME.hub/: config.json + model.safetensors, by
# timm's own save_for_hf with model_args): NAME: (architecture, model_args, image side).
_SMALL = {"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3, "num_classes": 10}
_SMALL14 = dict(_SMALL, img_size=28, patch_size=14)
HUB_CASES = {
    "clip": ("vit_base_patch16_clip_224", _SMALL, 32),
    "clip_quickgelu": ("vit_base_patch16_clip_quickgelu_224", _SMALL, 32),
    "dinov2": ("vit_small_patch14_dinov2", _SMALL14, 28),
    "dinov2_reg4": ("vit_small_patch14_reg4_dinov2", _SMALL14, 28),
    "mae": ("vit_base_patch16_224", dict(_SMALL, global_pool="avg"), 32),
    "deit_distilled": ("deit_tiny_distilled_patch16_224", _SMALL, 32),
    "deit3": ("deit3_small_patch16_224", _SMALL, 32),
    "beit": ("beit_base_patch16_224", _SMALL, 32),
}
# The DINOv2 folder run at another size: timm resamples pos_embed to the new grid on load.
RESIZED_CASE = ("dinov2_42", "dinov2", 42)
# HF peft LoRA on two hub cases: BEiT's qkv (its q/v biases stay frozen), and distilled DeiT with
# both heads in modules_to_save.
HUB_LORA_CASES = {"beit_lora": ("beit", ["head"]), "deit_distilled_lora": ("deit_distilled", ["head", "head_dist"])}
MANIFEST_MODELS = ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224",
                   "swin_tiny_patch4_window7_224", "swin_base_patch4_window7_224", "convnext_tiny", "convnext_base",
                   "vit_base_patch16_clip_224", "vit_small_patch14_dinov2", "vit_small_patch14_reg4_dinov2",
                   "deit_tiny_distilled_patch16_224", "deit3_small_patch16_224", "beit_base_patch16_224"]
# Every name frost's registry knows (models/registry.cpp): timm_pretrained.json has their default cfgs.
REGISTRY_NAMES = [
    "vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224",
    "vit_base_patch32_224", "vit_small_patch8_224", "vit_base_patch8_224", "vit_huge_patch14_224",
    "vit_base_patch32_clip_224", "vit_base_patch32_clip_256", "vit_base_patch32_clip_384",
    "vit_base_patch32_clip_448", "vit_base_patch16_clip_224", "vit_base_patch16_clip_384",
    "vit_large_patch14_clip_224", "vit_large_patch14_clip_336", "vit_huge_patch14_clip_224",
    "vit_base_patch32_clip_quickgelu_224", "vit_base_patch16_clip_quickgelu_224",
    "vit_large_patch14_clip_quickgelu_224", "vit_large_patch14_clip_quickgelu_336", "vit_small_patch14_dinov2",
    "vit_base_patch14_dinov2", "vit_large_patch14_dinov2", "vit_small_patch14_reg4_dinov2",
    "vit_base_patch14_reg4_dinov2", "vit_large_patch14_reg4_dinov2", "deit_tiny_patch16_224",
    "deit_small_patch16_224", "deit_base_patch16_224", "deit_base_patch16_384", "deit_tiny_distilled_patch16_224",
    "deit_small_distilled_patch16_224", "deit_base_distilled_patch16_224", "deit_base_distilled_patch16_384",
    "deit3_small_patch16_224", "deit3_small_patch16_384", "deit3_medium_patch16_224", "deit3_base_patch16_224",
    "deit3_base_patch16_384", "deit3_large_patch16_224", "deit3_large_patch16_384", "deit3_huge_patch14_224",
    "beit_base_patch16_224", "beit_base_patch16_384", "beit_large_patch16_224", "beit_large_patch16_384",
    "beit_large_patch16_512", "beitv2_base_patch16_224", "beitv2_large_patch16_224", "swin_tiny_patch4_window7_224",
    "swin_small_patch4_window7_224", "swin_base_patch4_window7_224", "swin_base_patch4_window12_384", "convnext_tiny",
    "convnext_small", "convnext_base", "convnext_large",
]
BATCH, CLASSES = 3, 10


def randomize(named, gen, torch):
    """Every tensor to random values around its role's scale: norm weights and layer scales
    1 + N(0, 0.2), other vectors N(0, 0.1), matrices and kernels N(0, 1/fan_in) (LoRA's B N(0, 0.1)),
    tokens N(0, 1), position embeddings N(0, 1/tokens), relative-position tables N(0, 0.5), the rest
    N(0, 0.25); never exactly 0 or 1."""
    with torch.no_grad():
        for name, p in named:
            leaf = name.split(".")[-1]
            if p.dim() <= 1:
                scale = (leaf == "weight" and "norm" in name) or leaf.startswith("gamma")
                v = 1.0 + 0.2 * torch.randn(p.shape, generator=gen) if scale else 0.1 * torch.randn(p.shape, generator=gen)
            elif "lora_B" in name:
                v = 0.1 * torch.randn(p.shape, generator=gen)
            elif leaf == "weight":
                v = torch.randn(p.shape, generator=gen) * float(p[0].numel()) ** -0.5
            elif "token" in leaf:
                v = torch.randn(p.shape, generator=gen)
            elif leaf == "pos_embed":
                v = torch.randn(p.shape, generator=gen) * float(p.shape[-2]) ** -0.5
            elif "table" in leaf:
                v = 0.5 * torch.randn(p.shape, generator=gen)
            else:
                v = 0.25 * torch.randn(p.shape, generator=gen)
            v[(v == 0) | (v == 1)] = 0.5
            p.copy_(v)


def case_tensors(model, x, labels, grad_names, torch):
    """Forward and backward of the mean cross-entropy: the io file's tensors."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    io = {"input": x.detach(), "labels": labels, "logits": logits.detach(), "loss": loss.detach(),
          "grad.input": x.grad.detach()}
    for key, p in grad_names:
        if p.grad is None:
            raise SystemExit(f"make_fixtures.py: no gradient reached '{key}'")
        io["grad." + key] = p.grad.detach()
    return {k: v.contiguous() for k, v in io.items()}


def write_case(out, name, arch, args, params, weights, io, save_file):
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(out, name + ".weights.safetensors"),
              metadata={"format": "pt"})
    save_file(io, os.path.join(out, name + ".io.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"architecture": arch, "model_args": args, "loss": "cross_entropy_mean", "params": params}, f, indent=1)
        f.write("\n")


def random_model_case(arch, args, side, seed, libs):
    """A timm model with randomized parameters, a random batch, and its io tensors."""
    torch, timm = libs["torch"], libs["timm"]
    gen = torch.Generator().manual_seed(seed)
    model = timm.create_model(arch, pretrained=False, **args).eval()
    randomize(model.named_parameters(), gen, torch)
    x = torch.randn(BATCH, 3, side, side, generator=gen)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    return model, case_tensors(model, x, labels, list(model.named_parameters()), torch)


def make_case(out, name, seed, libs):
    arch, args, side = CASES[name]
    model, io = random_model_case(arch, args, side, seed, libs)
    params = sum(p.numel() for p in model.parameters())
    write_case(out, name, arch, args, params, model.state_dict(), io, libs["save_file"])


def make_lora_case(out, seed, libs):
    torch, timm, save_file, peft = libs["torch"], libs["timm"], libs["save_file"], libs["peft"]
    arch, args, side = CASES["vit_tiny"]
    gen = torch.Generator().manual_seed(seed)
    base = timm.create_model(arch, pretrained=False, **args).eval()
    params = sum(p.numel() for p in base.parameters())
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["qkv"], lora_dropout=0.0, bias="none",
                             modules_to_save=["head"])
    model = peft.get_peft_model(base, config).eval()
    randomize(model.named_parameters(), gen, torch)  # B too: a zero B would hide A's gradient
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    weights = {}  # the frozen base under timm's keys, its own head included
    for n, p in model.named_parameters():
        if not p.requires_grad:
            weights[n.replace("base_model.model.", "").replace(".base_layer", "").replace(".original_module", "")] = p.detach().clone()
    x = torch.randn(BATCH, 3, side, side, generator=gen)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    adapter_dir = os.path.join(out, LORA_CASE + ".adapter")
    model.save_pretrained(adapter_dir)
    saved = libs["load_file"](os.path.join(adapter_dir, "adapter_model.safetensors"))
    keyed = [(adapter_key(n, saved), p) for n, p in trainable]  # each under the key save_pretrained wrote
    if len(keyed) != len(saved):
        raise SystemExit(f"make_fixtures.py: {len(saved)} adapter tensors saved, {len(keyed)} trainable")
    io = case_tensors(model, x, labels, keyed, torch)
    # the head's gradients as grad.head.*, as frost names them
    io = {(k.replace("grad.base_model.model.head.", "grad.head.") if ".head." in k else k): v for k, v in io.items()}
    write_case(out, LORA_CASE, arch, args, params, weights, io, save_file)


def adapter_key(name, saved):
    """peft's parameter name (base_model.model.blocks.0.attn.qkv.lora_A.default.weight,
    base_model.model.head.modules_to_save.default.weight) as save_pretrained keys it."""
    key = name.replace(".default", "").replace(".modules_to_save", "")
    if key not in saved:
        raise SystemExit(f"make_fixtures.py: trainable '{name}' is not in the saved adapter (as '{key}')")
    return key


def write_hub_case(out, name, arch, args, model, io, libs):
    """The model as a timm hub folder (timm's own writer) plus the io file and NAME.json."""
    from timm.models._hub import save_for_hf
    save_for_hf(model, os.path.join(out, name + ".hub"), model_args=args, safe_serialization=True)
    libs["save_file"](io, os.path.join(out, name + ".io.safetensors"), metadata={"format": "pt"})
    params = sum(p.numel() for p in model.parameters())
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"architecture": arch, "model_args": args, "hub": True, "loss": "cross_entropy_mean", "params": params},
                  f, indent=1)
        f.write("\n")


def make_hub_case(out, name, seed, libs):
    arch, args, side = HUB_CASES[name]
    model, io = random_model_case(arch, args, side, seed, libs)
    write_hub_case(out, name, arch, args, model, io, libs)
    return model


def make_resized_case(out, base_model, seed, libs):
    """The base case's weights loaded at another image size through timm's checkpoint filter."""
    torch, timm = libs["torch"], libs["timm"]
    from timm.models.vision_transformer import checkpoint_filter_fn
    name, base, side = RESIZED_CASE
    arch, args, _ = HUB_CASES[base]
    resized = timm.create_model(arch, pretrained=False, **dict(args, img_size=side)).eval()
    resized.load_state_dict(checkpoint_filter_fn(base_model.state_dict(), resized))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 3, side, side, generator=gen)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    io = case_tensors(resized, x, labels, list(resized.named_parameters()), torch)
    libs["save_file"](io, os.path.join(out, name + ".io.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"architecture": arch, "model_args": {"img_size": side}, "hub_folder": base + ".hub", "hub": True,
                   "loss": "cross_entropy_mean", "params": sum(p.numel() for p in resized.parameters())}, f, indent=1)
        f.write("\n")


def make_hub_lora_case(out, name, seed, libs):
    """HF peft LoRA (r=4, alpha=8 on qkv) over a hub case's frozen model; the adapter folder and the
    trainable gradients, as vit_tiny_lora."""
    torch, timm, peft = libs["torch"], libs["timm"], libs["peft"]
    base_name, heads = HUB_LORA_CASES[name]
    arch, args, side = HUB_CASES[base_name]
    gen = torch.Generator().manual_seed(seed)
    base = timm.create_model(arch, pretrained=False, **args).eval()
    randomize(base.named_parameters(), gen, torch)
    write_hub_case(out, name, arch, args, base, {"unused": torch.zeros(1)}, libs)  # the folder the adapter sits on
    for m in base.modules():  # timm's BEiT calls F.linear on qkv.weight (LoRA never runs) unless the bias is separate
        if hasattr(m, "qkv_bias_separate"):
            m.qkv_bias_separate = True
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["qkv"], lora_dropout=0.0, bias="none", modules_to_save=heads)
    model = peft.get_peft_model(base, config).eval()
    with torch.no_grad():  # A and B non-zero; the base stays as written
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    x = torch.randn(BATCH, 3, side, side, generator=gen)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=gen)
    adapter_dir = os.path.join(out, name + ".adapter")
    model.save_pretrained(adapter_dir)
    saved = libs["load_file"](os.path.join(adapter_dir, "adapter_model.safetensors"))
    keyed = [(adapter_key(n, saved), p) for n, p in trainable]
    if len(keyed) != len(saved):
        raise SystemExit(f"make_fixtures.py: {len(saved)} adapter tensors saved, {len(keyed)} trainable")
    io = case_tensors(model, x, labels, keyed, torch)
    for h in heads:  # the heads' gradients as grad.<head>.*, as frost names them
        io = {k.replace("grad.base_model.model." + h + ".", "grad." + h + "."): v for k, v in io.items()}
    libs["save_file"](io, os.path.join(out, name + ".io.safetensors"), metadata={"format": "pt"})


MAE_CASE = ("mae_pretrain", "vit_base_patch16_224",
            {"img_size": 32, "patch_size": 8, "embed_dim": 48, "depth": 2, "num_heads": 3, "num_classes": 0},
            {"mask_ratio": 0.75, "norm_pix_loss": True, "decoder_dim": 32, "decoder_depth": 1, "decoder_heads": 2})


def sincos_2d(dim, grid, np):
    """facebookresearch/mae util/pos_embed.py get_2d_sincos_pos_embed (cls row of zeros), in float64."""
    gw, gh = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64))
    def one_d(d, pos):
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    emb = np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)
    return np.concatenate([np.zeros([1, dim]), emb], axis=0)


def make_mae_case(out, seed, libs):
    """MAE pre-training as facebookresearch/mae's models_mae.py computes it (written out here on
    timm's modules, the noise given): the encoder a timm ViT, the decoder under mae_decoder.*; the
    loss on the masked patches of norm-pix targets, and every gradient."""
    torch, timm, np = libs["torch"], libs["timm"], __import__("numpy")
    from timm.models.vision_transformer import Block
    name, arch, args, mae = MAE_CASE
    gen = torch.Generator().manual_seed(seed)
    enc = timm.create_model(arch, pretrained=False, **args).eval()
    C, p, dd = args["embed_dim"], args["patch_size"], mae["decoder_dim"]
    grid = args["img_size"] // p
    L = grid * grid

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder_embed = torch.nn.Linear(C, dd)
            self.mask_token = torch.nn.Parameter(torch.zeros(1, 1, dd))
            self.register_buffer("decoder_pos_embed", torch.from_numpy(sincos_2d(dd, grid, np)).float().unsqueeze(0))
            self.decoder_blocks = torch.nn.ModuleList([Block(dd, mae["decoder_heads"], 4.0, qkv_bias=True,
                                                             norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6))
                                                       for _ in range(mae["decoder_depth"])])
            self.decoder_norm = torch.nn.LayerNorm(dd, eps=1e-6)
            self.decoder_pred = torch.nn.Linear(dd, p * p * 3)

    dec = Decoder().eval()
    randomize(list(enc.named_parameters()) + list(dec.named_parameters()), gen, torch)
    with torch.no_grad():
        enc.pos_embed.copy_(torch.from_numpy(sincos_2d(C, grid, np)).float().unsqueeze(0))
    enc.pos_embed.requires_grad_(False)
    imgs = torch.randn(BATCH, 3, args["img_size"], args["img_size"], generator=gen).requires_grad_(True)
    noise = torch.rand(BATCH, L, generator=gen)
    # forward_encoder with random_masking
    x = enc.patch_embed(imgs) + enc.pos_embed[:, 1:, :]
    keep = int(L * (1 - mae["mask_ratio"]))
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    x = torch.gather(x, 1, ids_shuffle[:, :keep].unsqueeze(-1).repeat(1, 1, C))
    mask = torch.ones(BATCH, L)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    x = torch.cat(((enc.cls_token + enc.pos_embed[:, :1, :]).expand(BATCH, -1, -1), x), dim=1)
    for blk in enc.blocks:
        x = blk(x)
    x = enc.norm(x)
    # forward_decoder
    x = dec.decoder_embed(x)
    x_ = torch.cat([x[:, 1:, :], dec.mask_token.repeat(BATCH, L + 1 - x.shape[1], 1)], dim=1)
    x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
    x = torch.cat([x[:, :1, :], x_], dim=1) + dec.decoder_pos_embed
    for blk in dec.decoder_blocks:
        x = blk(x)
    pred = dec.decoder_pred(dec.decoder_norm(x))[:, 1:, :]
    # forward_loss
    target = torch.einsum("nchpwq->nhwpqc", imgs.detach().reshape(BATCH, 3, grid, p, grid, p)).reshape(BATCH, L, p * p * 3)
    if mae["norm_pix_loss"]:
        target = (target - target.mean(dim=-1, keepdim=True)) / (target.var(dim=-1, keepdim=True) + 1.e-6) ** .5
    loss = (((pred - target) ** 2).mean(dim=-1) * mask).sum() / mask.sum()
    loss.backward()
    weights = dict(enc.state_dict())
    weights.update({"mae_decoder." + k: v for k, v in dec.state_dict().items()})
    io = {"input": imgs.detach(), "noise": noise, "mask": mask, "pred": pred.detach(), "loss": loss.detach(),
          "grad.input": imgs.grad}
    for n, prm in list(enc.named_parameters()) + [("mae_decoder." + n, q) for n, q in dec.named_parameters()]:
        if prm.grad is not None:
            io["grad." + n] = prm.grad
    save = libs["save_file"]
    save({k: v.contiguous() for k, v in weights.items()}, os.path.join(out, name + ".weights.safetensors"),
         metadata={"format": "pt"})
    save({k: v.contiguous() for k, v in io.items()}, os.path.join(out, name + ".io.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"architecture": arch, "model_args": args, "mae": mae, "loss": "mae_masked_mse"}, f, indent=1)
        f.write("\n")


def make_pretrained_cfgs(out, libs):
    """timm's default pretrained_cfg (eval preprocessing, default num_classes and input size) of
    every name frost's registry knows, for the registry test."""
    torch, timm = libs["torch"], libs["timm"]
    cfgs = {}
    for arch in REGISTRY_NAMES:
        with torch.device("meta"):
            model = timm.create_model(arch, pretrained=False)
        c = model.pretrained_cfg
        cfgs[arch] = {"tag": c.get("tag"), "mean": list(c["mean"]), "std": list(c["std"]), "crop_pct": c["crop_pct"],
                      "crop_mode": c.get("crop_mode", "center"), "interpolation": c["interpolation"],
                      "input_size": list(c["input_size"]), "num_classes": model.num_classes}
    with open(os.path.join(out, "timm_pretrained.json"), "w") as f:
        json.dump(cfgs, f, indent=1)
        f.write("\n")


def make_manifests(out, libs):
    torch, timm = libs["torch"], libs["timm"]
    manifests = {}
    for arch in MANIFEST_MODELS:
        with torch.device("meta"):
            model = timm.create_model(arch, pretrained=False)
        manifests[arch] = {"params": sum(p.numel() for p in model.parameters()),
                           "state_dict": {k: list(v.shape) for k, v in model.state_dict().items()}}
    with open(os.path.join(out, "timm_manifests.json"), "w") as f:
        json.dump(manifests, f, indent=1)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the folder to write (its timm/ subfolder is made)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import peft
        import timm
        import torch
        from safetensors.torch import load_file, save_file
    except ImportError as e:
        raise SystemExit(f"make_fixtures.py: {e}; install torch, timm and peft (see this file's header)")
    torch.set_num_threads(1)  # a fixed reduction order
    libs = {"torch": torch, "timm": timm, "peft": peft, "save_file": save_file, "load_file": load_file}
    out = os.path.join(args.out, "timm")
    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(CASES):
        make_case(out, name, args.seed + i, libs)
    make_lora_case(out, args.seed + len(CASES), libs)
    seed = args.seed + len(CASES) + 1
    for name in HUB_CASES:
        model = make_hub_case(out, name, seed, libs)
        if name == RESIZED_CASE[1]:
            make_resized_case(out, model, seed + 1000, libs)
        seed += 1
    for name in HUB_LORA_CASES:
        make_hub_lora_case(out, name, seed, libs)
        seed += 1
    make_mae_case(out, seed, libs)
    make_pretrained_cfgs(out, libs)
    make_manifests(out, libs)
    print(f"make_fixtures.py: wrote {out} with torch {torch.__version__}, timm {timm.__version__}, "
          f"peft {peft.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
