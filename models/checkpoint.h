// checkpoint.h: loading a timm checkpoint (safetensors state_dict under timm's keys) into a model
// the way timm.create_model(..., checkpoint_path=...) with timm's checkpoint filters does:
//   - keys the model deliberately ignores (Swin's relative_position_index / attn_mask buffers,
//     ViT's pre_logits.*) are skipped;
//   - keys of an older layout are renamed (Swin before timm 0.9, ConvNeXt's original release);
//   - a tensor timm would adapt is adapted (ViT pos_embed resampled to the model's grid);
//   - when the checkpoint's classifier does not fit (other num_classes, or none in the file), the
//     model keeps its freshly initialised head, as timm does, and the report says so;
//   - everything else is strict by default: missing or unexpected keys are one error listing them,
//     a shape mismatch names the key and both shapes; nothing is written unless all checks pass.
#pragma once
#include <string>
#include <vector>

#include "models/model.h"

namespace frost::models {

struct CheckpointReport {
  std::vector<std::string> missing, unexpected;  // only when not strict
  std::vector<std::string> ignored;              // keys skipped by the model's rules
  std::vector<std::string> notes;                // head re-initialised, pos_embed resampled: one line each
};

CheckpointReport load_checkpoint(Model& model, const std::string& path, bool strict = true);

}  // namespace frost::models
