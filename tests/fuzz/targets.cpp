// targets.cpp: the fuzz targets of targets.h. Parsers that take a path get a file in a scratch
// folder (tmpfs when there is one); inputs are shaped so that mutations stay near the format
// (a safetensors header is written with its true length, a checkpoint's metadata is wrapped in a
// valid file), which plain byte fuzzing rarely reaches.
#include "tests/fuzz/targets.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/datasets.h"
#include "engine/json_file.h"
#include "engine/safetensors.h"
#include "models/convnext.h"
#include "models/swin.h"
#include "models/vit.h"
#include "peft/lora.h"
#include "peft/spec.h"
#include "tools/train_state.h"

namespace frost::fuzz {

namespace fs = std::filesystem;

namespace {

// A folder of this process's own, created once.
const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("frost_fuzz_" + std::to_string(getpid()));
    fs::create_directories(d);
    std::ofstream(d / "a.png") << "not really a png";  // a path the split lists can name
    data::set_max_image_pixels(1 << 20);               // keeps each run small; the limit itself is tested
    return d;
  }();
  return dir;
}

std::string write_scratch(const std::string& name, const std::string& bytes) {
  const fs::path path = scratch() / name;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  return path.string();
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return s;
}

// Runs `f`; a std::exception is a clean rejection.
template <class F>
void rejected_or_ok(F&& f) {
  try {
    f();
  } catch (const std::exception&) {
  }
}

void read_every_tensor(const SafetensorsFile& file) {
  for (const SafetensorsFile::Entry& e : file.entries()) {
    const Tensor t = file.get(e.name);
    if (t.numel() <= (1 << 16)) (void)t.to_doubles();
  }
}

}  // namespace

int safetensors(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!bytes.empty() && bytes[0] == '{') {  // header text, NUL, data bytes: the length prefix is made true
    const size_t nul = bytes.find('\0');
    const std::string header = bytes.substr(0, nul), rest = nul == std::string::npos ? "" : bytes.substr(nul + 1);
    bytes = le64(header.size()) + header + rest;
  }
  const std::string path = write_scratch("x.safetensors", bytes);
  rejected_or_ok([&] { read_every_tensor(SafetensorsFile::open(path)); });
  return 0;
}

int json_config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  rejected_or_ok([&] {
    const nlohmann::json j = parse_json(text, "fuzz.json");
    rejected_or_ok([&] { peft::LoraConfig::from_json(j, "adapter_config.json"); });
    rejected_or_ok([&] {
      const JsonFields f(j, "frost_peft.json");
      peft::parse_spec(f.string("peft"));
      f.integer("num_classes", 0, 0, models::kMaxClasses);
    });
    rejected_or_ok([&] {
      models::ArgReader a("vit", j);
      models::ViTConfig c;
      c.read(a);
      a.finish();
      c.validate();
    });
    rejected_or_ok([&] {
      models::ArgReader a("swin", j);
      models::SwinConfig c;
      c.read(a);
      a.finish();
      c.validate();
    });
    rejected_or_ok([&] {
      models::ArgReader a("convnext", j);
      models::ConvNeXtConfig c;
      c.read(a);
      a.finish();
      c.validate();
    });
  });
  return 0;
}

int image(const uint8_t* data, size_t size) {
  scratch();  // sets the fuzzing pixel limit
  rejected_or_ok([&] { data::decode_image(std::vector<uint8_t>(data, data + size), "fuzz.img"); });
  return 0;
}

int idx(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      rejected_or_ok([&] { data::gunzip(std::vector<uint8_t>(rest.begin(), rest.end()), "fuzz.gz"); });
      break;
    case 1: {  // <u16 length of the image file><image file><label file>
      const size_t n = rest.size() >= 2 ? std::min(rest.size() - 2, size_t(uint8_t(rest[0])) | size_t(uint8_t(rest[1])) << 8) : 0;
      const std::string images = write_scratch("images-idx3-ubyte", rest.substr(std::min<size_t>(2, rest.size()), n));
      const std::string labels = write_scratch("labels-idx1-ubyte", rest.size() > 2 + n ? rest.substr(2 + n) : "");
      rejected_or_ok([&] {
        auto d = data::idx_dataset(images, labels);
        if (d->size() > 0) d->load(d->size() - 1);
      });
      break;
    }
    default: {
      const bool hundred = data[0] % 4 == 3;
      write_scratch(hundred ? "cifar/test.bin" : "cifar/test_batch.bin", rest);
      rejected_or_ok([&] {
        auto d = data::cifar((scratch() / "cifar").string(), hundred, false);
        if (d->size() > 0) d->load(0);
      });
    }
  }
  return 0;
}

int split_list(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool vtab = data[0] % 2 == 0;
  write_scratch(vtab ? "test.txt" : "test.json", rest);
  fs::remove(scratch() / (vtab ? "test.json" : "test.txt"));
  rejected_or_ok([&] { data::open_dataset(vtab ? "vtab" : "fgvc", scratch().string(), "test"); });
  return 0;
}

int checkpoint(const uint8_t* data, size_t size) {
  // <position JSON>\n<identity JSON>\n<loss_sum> <loss_count> <best_top1>, as strings in metadata.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t a = text.find('\n'), b = a == std::string::npos ? a : text.find('\n', a + 1);
  const std::string position = text.substr(0, a), identity = a == std::string::npos ? "" : text.substr(a + 1, b - a - 1);
  double values[3] = {0, 0, -1};
  if (b != std::string::npos) std::sscanf(text.c_str() + b + 1, "%lf %lf %lf", &values[0], &values[1], &values[2]);
  const std::string path = (scratch() / "x.ckpt").string();
  rejected_or_ok([&] {
    save_safetensors(path,
                     {{"state.loss_sum", Tensor::scalar(values[0], DType::f64)},
                      {"state.loss_count", Tensor::scalar(values[1], DType::f64)},
                      {"state.best_top1", Tensor::scalar(values[2], DType::f64)}},
                     {{"format", "frost-train-1"}, {"position", position}, {"identity", identity}});
    rejected_or_ok([&] { cli::read_train_position(SafetensorsFile::open(path)); });
    rejected_or_ok([&] { cli::read_checkpoint_identity(path); });
  });
  return 0;
}

}  // namespace frost::fuzz
