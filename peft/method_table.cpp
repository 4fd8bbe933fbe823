// method_table.cpp: every PEFT method frost has, one row each, in the order of the survey. A row
// is all that the spec parser, `frost methods`, the README's tables and the generic tests
// (tests/test_peft.cpp, test_train.cpp, test_precision.cpp) know of a method: a new method gets
// all of them by adding its row here and its apply_<name> in a file of its own.
#include <string>

#include "peft/lora_folder.h"
#include "peft/method.h"
#include "peft/sparse.h"

namespace frost::peft {

const std::vector<MethodInfo>& all_methods() {
  static const std::vector<MethodInfo> table = {
      // ---- specification tuning: the tensors trained are the model's own, so a merge is a save
      {.name = "full",
       .family = "specification",
       .apply = apply_full,
       .order = 0,
       .keys = "",
       .where = "every parameter",
       .on = kAllBackbones,
       .alone = "it trains everything already",
       .examples = {{"full", kAllBackbones, true}},
       .sized = {{"full", 85798656}}},
      {.name = "linear",
       .family = "specification",
       .apply = apply_linear,
       .order = 0,
       .keys = "",
       .where = "the head only",
       .on = kAllBackbones,
       .alone = "it trains the head alone",
       .examples = {{"linear", kAllBackbones, true}},
       .sized = {{"linear", 0}}},
      {.name = "partial",
       .family = "specification",
       .apply = apply_partial,
       .order = 0,
       .keys = "`k` (1)",
       .where = "the last k blocks and everything after (final norm)",
       .on = kAllBackbones,
       .examples = {{"partial:k=1", kAllBackbones, true}},
       .sized = {{"partial:k=1", 7089408}}},
      {.name = "bitfit",
       .family = "specification",
       .apply = apply_bitfit,
       .order = 0,
       .keys = "",
       .where = "every `.bias`",
       .on = kAllBackbones,
       .examples = {{"bitfit", kAllBackbones, true}},
       .sized = {{"bitfit", 102912}}},
      {.name = "ln",
       .family = "specification",
       .apply = apply_ln,
       .order = 0,
       .keys = "",
       .where = "every LayerNorm's weight and bias",
       .on = kAllBackbones,
       .examples = {{"ln", kAllBackbones, true}},
       .sized = {{"ln", 38400}}},
      {.name = "sparse",
       .family = "specification",
       .apply = apply_sparse,
       .order = 0,
       .keys = "`k` (1), `batches` (8)",
       .where = "GPS: k entries per row of every block Linear, by accumulated \\|grad\\| over `batches` batches (by \\|W\\| "
                "until calibrated), trained through gradient masks",
       .on = kAllBackbones,
       .examples = {{"sparse:k=2,batches=2", kAllBackbones, true}},
       .sized = {{"sparse:k=1", 82944}},
       .calibrate = calibrate_sparse_state},

      // ---- reparameter tuning: layer wrappers that fold into the weights; plain-layer wrappers first
      {.name = "lora",
       .family = "reparameter",
       .apply = apply_lora,
       .order = 1,
       .keys = "`r` (8), `alpha` (r), `dropout` (0), `rslora` (false), `targets` (attn.qkv)",
       .where = "HF peft's LoRA on Linear / Conv2d targets",
       .on = kAllBackbones,
       .examples = {{"lora:r=4,alpha=8,targets=attn.qkv", kViT | kSwin, true},
                    {"lora:r=4,alpha=8,targets=mlp.fc1", kConvNeXt, true}},
       .sized = {{"lora:r=8,targets=attn.qkv", 294912}, {"lora:r=8,targets=mlp.fc1", 368640}},
       .layout = &kHfPeftLayout},
      {.name = "dora",
       .family = "reparameter",
       .apply = apply_dora,
       .order = 1,
       .keys = "as lora",
       .where = "LoRA + magnitude vector, norm detached (HF peft's DoRA)",
       .on = kAllBackbones,
       .exact_grad_only = "lora_magnitude_vector",
       .examples = {{"dora:r=4,targets=attn.qkv|mlp.fc2", kViT | kSwin, true},
                    {"dora:r=4,targets=mlp.fc1|mlp.fc2", kConvNeXt, true}},
       .sized = {{"dora:r=8,targets=attn.qkv", 322560}},
       .layout = &kHfPeftLayout},
      {.name = "krona",
       .family = "reparameter",
       .apply = apply_krona,
       .order = 1,
       .keys = "`targets` (attn.qkv), `scale` (1)",
       .where = "Kronecker A (x) B, LoKr factors (w1 = 0, w2 kaiming)",
       .on = kAllBackbones,
       .examples = {{"krona:targets=attn.qkv", kViT | kSwin, true}, {"krona:targets=mlp.fc1", kConvNeXt, true}},
       .sized = {{"krona", 32256}}},
      {.name = "glora",
       .family = "reparameter",
       .apply = apply_glora,
       .order = 1,
       .keys = "`r` (8), `targets` (all-linear)",
       .where = "W + W*A + B, b + b*D + E + W C (HF GLoRAConfig defaults)",
       .on = kAllBackbones,
       .examples = {{"glora:r=2", kAllBackbones, true}},
       .sized = {{"glora:r=8", 2875872}}},
      {.name = "fact",
       .family = "reparameter",
       .apply = apply_fact,
       .order = 2,
       .keys = "`mode` tt\\|tk (tt), `r` (8 tt, 16 tk), `scale` (1), `dropout` (0.1)",
       .where = "qkv, proj, fc1, fc2 with network-wide U, V; ViT only",
       .on = kViT,
       .examples = {{"fact:mode=tt,r=4", kViT, true}, {"fact:mode=tk,r=4", kViT, true}},
       .sized = {{"fact:mode=tt,r=8", 21504}, {"fact:mode=tk,r=16", 30976}}},
      {.name = "repadapter",
       .family = "reparameter",
       .apply = apply_repadapter,
       .order = 3,
       .keys = "`dim` (8), `scale` (1), `dropout` (0.1)",
       .where = "linear adapter (B in 2 groups) before qkv and fc1 (ConvNeXt: fc1)",
       .on = kAllBackbones,
       .examples = {{"repadapter:dim=4", kAllBackbones, true}},
       .sized = {{"repadapter:dim=8", 239808}}},
      {.name = "ssf",
       .family = "reparameter",
       .apply = apply_ssf,
       .order = 4,
       .keys = "",
       .where = "scale and shift after every Linear, Conv2d and LayerNorm but the head",
       .on = kAllBackbones,
       .examples = {{"ssf", kAllBackbones, false}},
       .sized = {{"ssf", 205824}}},

      // ---- addition: new modules on the branches, tokens and attention
      {.name = "adapter",
       .family = "addition",
       .apply = apply_adapter,
       .order = 5,
       .keys =
           "`mode` pfeiffer\\|houlsby (pfeiffer), `dim` (8), `scale` (1), `dropout` (0.1), `act` gelu\\|quick_gelu\\|relu (gelu)",
       .where = "after the MLP branch (houlsby: and attention), down xavier, up 0",
       .on = kAllBackbones,
       .why_not = "a bottleneck adapter has a nonlinearity between its projections",
       .examples = {{"adapter:mode=pfeiffer,dim=4", kAllBackbones, true}, {"adapter:mode=houlsby,dim=4", kViT | kSwin, true}},
       .sized = {{"adapter:mode=pfeiffer,dim=8", 156768}, {"adapter:mode=houlsby,dim=8", 313536}}},
      {.name = "adaptformer",
       .family = "addition",
       .apply = apply_adaptformer,
       .order = 5,
       .keys = "`dim` (64), `scale` (0.1), `dropout` (0.1), `act` (relu)",
       .where = "parallel to the MLP on the pre-LN stream",
       .on = kAllBackbones,
       .why_not = "AdaptFormer's parallel branch has a ReLU between its projections",
       .examples = {{"adaptformer:dim=4", kAllBackbones, true}},
       .sized = {{"adaptformer:dim=64", 1189632}}},
      {.name = "convpass",
       .family = "addition",
       .apply = apply_convpass,
       .order = 5,
       .keys = "`dim` (8), `scale` (1), `dropout` (0.1), `conv_init` identity\\|xavier",
       .where = "3x3 conv bypass beside attention and MLP, fed norm1/norm2; ViT, Swin",
       .on = kViT | kSwin,
       .why_not = "Convpass's bypass has a 3x3 convolution between nonlinearities",
       .examples = {{"convpass:dim=4", kViT | kSwin, true}},
       .sized = {{"convpass:dim=8", 327552}}},
      {.name = "vpt",
       .family = "addition",
       .apply = apply_vpt,
       .order = 6,
       .keys = "`mode` shallow\\|deep (shallow), `tokens` (10), `dropout` (0.1); `img_size` (224, ConvNeXt)",
       .where =
           "ViT: prompt tokens after the class token; Swin/ConvNeXt: VPT's pixel prompt pad (a learned border `tokens` px wide)",
       .on = kAllBackbones,
       .why_not = "visual prompts are extra inputs, not weights",
       .examples = {{"vpt:tokens=2", kViT | kSwin, false},
                    {"vpt:tokens=2,img_size=64", kConvNeXt, false},
                    {"vpt:mode=deep,tokens=2", kViT, false}},
       .sized = {{"vpt:mode=shallow,tokens=100", 76800},
                 {"vpt:mode=shallow,tokens=10", 7680},
                 {"vpt:mode=deep,tokens=10", 92160}}},
      {.name = "prefix",
       .family = "addition",
       .apply = apply_prefix,
       .order = 6,
       .keys = "`tokens` (10)",
       .where = "learned key/value rows in every attention; ViT, Swin",
       .on = kViT | kSwin,
       .why_not = "prefixes are extra keys and values, not weights",
       .examples = {{"prefix:tokens=3", kViT | kSwin, false}},
       .sized = {{"prefix:tokens=10", 184320}}},
      {.name = "lst",
       .family = "addition",
       .apply = apply_lst,
       .order = 7,
       .keys = "`reduction` (8), `temperature` (0.1)",
       .where = "ladder side network of width D/8 with gated ladders from every block; the backbone runs without a graph; ViT; "
                "alone only",
       .on = kViT,
       .why_not = "the ladder side network is a second network beside the backbone",
       .alone = "the backbone runs without a graph, so nothing in it could train",
       .examples = {{"lst", kViT, true}},
       .sized = {{"lst", 2374476}}},
  };
  return table;
}

bool on(unsigned set, Backbone b) {
  switch (b) {
    case Backbone::vit:
      return set & kViT;
    case Backbone::swin:
      return set & kSwin;
    default:
      return set & kConvNeXt;
  }
}

std::string methods_markdown() {
  std::string out = "| method | family | keys (defaults) | where | merges |\n|---|---|---|---|---|\n";
  for (const MethodInfo& m : all_methods()) {
    const std::string merges = std::string(m.family) == "specification" ? "(weights)" : m.mergeable() ? "yes" : "no";
    const std::string keys = *m.keys ? std::string(" ") + m.keys + " " : " ";
    out += "| `" + std::string(m.name) + "` | " + m.family + " |" + keys + "| " + m.where + " | " + merges + " |\n";
  }
  return out;
}

}  // namespace frost::peft
