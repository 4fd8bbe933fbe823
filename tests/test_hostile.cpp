// test_hostile.cpp: inputs an attacker or a careless user would give, one test case per class:
// memory-unsafe sizes, memory and time bombs, errors that must name the file and key, inputs
// that used to be accepted silently, and writes that fail (a file-size limit stands in for a
// full disk). Every rejection must name the file (and the key or tensor where there is one).
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <stb_image_write.h>

#include "data/datasets.h"
#include "engine/files.h"
#include "engine/json_file.h"
#include "engine/safetensors.h"
#include "models/registry.h"
#include "peft/lora_folder.h"
#include "peft/spec.h"
#include "tests/helpers.h"
#include "tools/train_state.h"

using namespace frost;
using frost::test::temp_path;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file from a header text and `data` bytes.
std::string safetensors_bytes(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// The error `f` throws; fails the test when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("no error");
  return "";
}

std::string open_error(const std::string& name, const std::string& bytes) {
  const std::string path = temp_path(name);
  spit(path, bytes);
  const std::string msg = error_of([&] {
    const SafetensorsFile f = SafetensorsFile::open(path);
    for (const auto& e : f.entries()) f.get(e.name);
  });
  CHECK_THAT(msg, Catch::Contains(path));
  fs::remove(path);
  return msg;
}

// The header of a frost-written file, edited by `edit`, written back over the same data.
void edit_header(const std::string& path, const std::function<void(json&)>& edit) {
  const std::string bytes = slurp(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  json header = json::parse(bytes.substr(8, n));
  edit(header);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  spit(path, safetensors_bytes(text, bytes.substr(8 + n)));
}

// RLIMIT_FSIZE for the scope: a write past `bytes` fails with EFBIG, as a full disk fails one.
struct FileSizeLimit {
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved);
    old_handler = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
  }
  rlimit saved{};
  sighandler_t old_handler{};
};

std::shared_ptr<models::Model> tiny_vit() {
  return models::create_model(
      "vit_tiny_patch16_224",
      {{"img_size", 16}, {"patch_size", 8}, {"embed_dim", 8}, {"depth", 1}, {"num_heads", 2}, {"num_classes", 3}});
}

}  // namespace

TEST_CASE("safetensors: sizes that overflow, duplicate keys, bad padding, bad booleans, nesting bombs, FIFOs", "[cpu][hostile]") {
  // numel 2^62 passes, but 2^62 x 4 bytes wraps to 0 = the span [0, 0).
  CHECK_THAT(open_error("wrap", safetensors_bytes(R"({"x":{"dtype":"I32","shape":[4611686018427387904],"data_offsets":[0,0]}})")),
             Catch::Contains("tensor 'x': shape [4611686018427387904] of I32 is more than 2^62 bytes"));
  CHECK_THAT(
      open_error("wrap2", safetensors_bytes(R"({"x":{"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,0]}})")),
      Catch::Contains("tensor 'x'"));
  // Zero elements, but strides of 2^62 x 2^62.
  CHECK_THAT(open_error("strides",
                        safetensors_bytes(
                            R"({"x":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})")),
             Catch::Contains("tensor 'x': shape [0,4611686018427387904,4611686018427387904] is too large"));
  CHECK_THROWS_WITH(contiguous_strides({0, int64_t(1) << 62, int64_t(1) << 62}), Catch::Contains("more elements than an int64"));
  CHECK_THROWS_WITH(shape_numel({int64_t(1) << 40, int64_t(1) << 40}), Catch::Contains("more elements than an int64"));

  const std::string entry = R"("w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  CHECK_THAT(open_error("dup", safetensors_bytes("{" + entry + "," + entry + "}", "abcd")),
             Catch::Contains("key 'w' appears twice"));
  CHECK_THAT(open_error("nulpad", safetensors_bytes("{" + entry + "}" + std::string(3, '\0'), "abcd")),
             Catch::Contains("padded with spaces only"));
  CHECK_THAT(open_error("nulin", safetensors_bytes("{" + entry + std::string(1, '\0') + "}", "abcd")),
             Catch::Contains("not valid JSON"));
  CHECK_NOTHROW(SafetensorsFile::open([&] {
    const std::string p = temp_path("spaces");
    spit(p, safetensors_bytes("{" + entry + "}   ", "abcd"));
    return p;
  }()));
  CHECK_THAT(open_error("hole", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "abcdefgh")),
             Catch::Contains("the data buffer has a hole at [0, 4) before tensor 'w'"));
  CHECK_THAT(open_error("payload", safetensors_bytes("{" + entry + "}", "abcd<script>")),
             Catch::Contains("8 bytes follow the last tensor's data"));
  CHECK_THAT(open_error("bool7", safetensors_bytes(R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                                                   std::string("\1\0\7", 3))),
             Catch::Contains("tensor 'b': BOOL element 2 has byte value 7"));

  // Ten million brackets: refused at depth 65, in well under a second and without building anything.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THAT(open_error("brackets", safetensors_bytes(R"({"x":)" + std::string(10'000'000, '[') + "}")),
             Catch::Contains("nested deeper than 64"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));

  const std::string fifo = temp_path("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(SafetensorsFile::open(fifo), Catch::Contains(fifo + ": not a regular file (a FIFO)"));
  CHECK_THROWS_WITH(read_json_file(fifo, ""), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(data::load_image(fifo), Catch::Contains("not a regular file"));
  fs::remove(fifo);
  CHECK_THROWS_WITH(SafetensorsFile::open(fs::temp_directory_path().string()),
                    Catch::Contains("not a regular file (a directory)"));
}

TEST_CASE("safetensors: a flipped data byte in a frost file is refused by its checksum", "[cpu][hostile]") {
  const std::string path = temp_path("crc.safetensors");
  save_safetensors(path, {{"a", Tensor::from_vector({1, 2, 3}, {3})}, {"b", Tensor::from_vector({4, 5}, {2}, DType::i64)}});
  const SafetensorsFile good = SafetensorsFile::open(path);
  CHECK(good.has_checksum("a"));
  CHECK(good.get("b").to_doubles() == std::vector<double>{4, 5});
  std::string bytes = slurp(path);
  bytes[bytes.size() - 3] ^= 0x10;  // inside 'b' (the last tensor)
  spit(path, bytes);
  const SafetensorsFile bad = SafetensorsFile::open(path);
  CHECK(bad.get("a").to_doubles() == std::vector<double>{1, 2, 3});
  CHECK_THROWS_WITH(bad.get("b"),
                    Catch::Contains(path + ": tensor 'b': checksum mismatch") && Catch::Contains("the file is corrupt"));
  edit_header(path, [](json& h) { h["__metadata__"][kChecksumKey] = R"({"zz":"00000000"})"; });
  CHECK_THROWS_WITH(SafetensorsFile::open(path), Catch::Contains("names tensor 'zz', which the file lacks"));
  fs::remove(path);
}

TEST_CASE("JSON files: duplicates, depth, readable errors, typed and bounded keys", "[cpu][hostile]") {
  CHECK_THROWS_WITH(parse_json(R"({"a":1,"b":{"c":2,"c":3}})", "cfg.json"),
                    Catch::Contains("cfg.json: not valid JSON key 'c' appears twice"));
  CHECK_THROWS_WITH(parse_json(std::string(100, '[') + std::string(100, ']'), "deep.json"),
                    Catch::Contains("nested deeper than 64"));
  const std::string msg = error_of([] { parse_json("{\n \"a\": tru }", "x.json"); });
  CHECK_THAT(msg, Catch::StartsWith("x.json: not valid JSON at line 2, column"));
  CHECK_THAT(msg, !Catch::Contains("json.exception"));
  const JsonFields f(json{{"r", 1e300}, {"s", "x"}, {"h", 2.5}, {"seed", "18446744073709551616"}}, "adapter_config.json");
  CHECK_THROWS_WITH(f.integer("r", 1, 4096),
                    Catch::Contains("adapter_config.json: 'r' must be an integer in [1, 4096], got 1e+300"));
  CHECK_THROWS_WITH(f.integer("h", 0, 9), Catch::Contains("'h' must be an integer"));
  CHECK_THROWS_WITH(f.integer("s", 0, 9), Catch::Contains("'s' must be an integer"));
  CHECK_THROWS_WITH(f.integer("missing", 0, 9), Catch::Contains("'missing' is missing"));
  CHECK_THROWS_WITH(f.decimal_u64("seed"), Catch::Contains("'seed' must be a decimal unsigned 64-bit integer"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"embed_dim", 1e300}}),
                    Catch::Contains("model arg 'embed_dim' must be an integer in [1, 65536]"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"num_classes", 1e12}}), Catch::Contains("'num_classes'"));
  CHECK_THROWS_WITH(models::create_model("vit_tiny_patch16_224", {{"mlp_ratio", 1e9}}),
                    Catch::Contains("'mlp_ratio' must be a number in [0"));
}

TEST_CASE("data: IDX headers that divide by zero or wrap, gzip trailers that lie, image bombs, label typos", "[cpu][hostile]") {
  auto be32 = [](std::initializer_list<uint32_t> v) {
    std::string s;
    for (uint32_t x : v)
      for (int i = 3; i >= 0; --i) s += char((x >> (8 * i)) & 0xff);
    return s;
  };
  const std::string images = temp_path("hostile-images"), labels = temp_path("hostile-labels");
  spit(labels, be32({0x801, 2}) + std::string(2, '\0'));
  spit(images, be32({0x803, 2, 0, 28}));
  CHECK_THROWS_WITH(data::idx_dataset(images, labels), Catch::Contains(images + ": IDX header gives images of 0x28"));
  spit(images, be32({0x803, 0x80000000u, 0x80000000u, 4}));  // 2^31 * 2^33 wraps to 0 bytes
  CHECK_THROWS_WITH(data::idx_dataset(images, labels), Catch::Contains("does not match the file's size"));

  // A gzip of 4 bytes whose trailer claims 4 GiB - 1.
  std::string gz = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, 3, 1, 4, 0, '\xfb', '\xff', 'a', 'b', 'c', 'd'};
  gz += std::string("\0\0\0\0\xff\xff\xff\xff", 8);
  CHECK_THROWS_WITH(data::gunzip(std::vector<uint8_t>(gz.begin(), gz.end()), "x.gz"),
                    Catch::Contains("x.gz: the gzip trailer claims 4294967295 bytes"));

  // A PNG header claiming 16384 x 16384: refused from its header, before any pixel is decoded.
  std::string png =
      "\x89PNG\r\n\x1a\n" + be32({13}) + "IHDR" + be32({16384, 16384}) + std::string("\x08\x02\0\0\0", 5) + be32({0});
  const std::vector<uint8_t> bomb(png.begin(), png.end());
  CHECK_THROWS_WITH(data::decode_image(bomb, "bomb.png"),
                    Catch::Contains("bomb.png: image is 16384x16384 = 268435456 pixels, above the limit") &&
                        Catch::Contains("--max-image-pixels"));
  data::set_max_image_pixels(0);  // no limit: stb's own allocation cap still refuses it, readably
  CHECK_THROWS_WITH(data::decode_image(bomb, "bomb.png"), Catch::Contains("bomb.png: cannot decode image"));
  data::set_max_image_pixels(data::kDefaultMaxImagePixels);
  CHECK_THROWS_WITH(
      data::decode_image({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 4, 'J', 'U', 'N', 'K'}, "short.png"),
      Catch::Contains("short.png: cannot decode image: PNG data is corrupt"));
  CHECK_THROWS_WITH(data::decode_image({'<', 'h', 't', 'm', 'l'}, "page.jpg"),
                    Catch::Contains("page.jpg: cannot decode image: not an image frost reads") && Catch::Contains("3c 68 74 6d"));

  // 16-bit PNM: stb_image's RGB conversion overran its buffer here (and it misreads the samples).
  const std::string pgm16 = std::string("P5\n2 1\n65535\n") + std::string("\xff\xff\x80\x00", 4);
  CHECK_THROWS_WITH(data::decode_image(std::vector<uint8_t>(pgm16.begin(), pgm16.end()), "16bit.pgm"),
                    Catch::Contains("16bit.pgm: 16-bit PNM (maximum value above 255) is not read"));
  // A JPEG Huffman table of 16 x 255 codes: stb_image wrote past its 257-entry table.
  std::vector<uint8_t> jpeg(7 + 16, 0xff);  // SOI, a DHT segment of 19 bytes: class/id 0, then 16 counts
  const uint8_t head[] = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00};
  std::copy(std::begin(head), std::end(head), jpeg.begin());
  CHECK_THROWS_WITH(data::decode_image(jpeg, "dht.jpg"),
                    Catch::Contains("dht.jpg: cannot decode image: JPEG data is corrupt (a Huffman table lists 4080 codes"));
  // Valid JPEGs (baseline and progressive-free, several tables) still decode past that guard.
  std::vector<uint8_t> rgb(32 * 24 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 7);
  std::vector<uint8_t> encoded;
  REQUIRE(stbi_write_jpg_to_func(
              [](void* ctx, void* data, int n) {
                auto* out = static_cast<std::vector<uint8_t>*>(ctx);
                out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + n);
              },
              &encoded, 32, 24, 3, rgb.data(), 90) == 1);
  const data::Image decoded = data::decode_image(encoded, "ok.jpg");
  CHECK((decoded.width == 32 && decoded.height == 24));
  const std::string pgm_huge = "P5\n5335565535533 2\n255\n";
  CHECK_THROWS_WITH(data::decode_image(std::vector<uint8_t>(pgm_huge.begin(), pgm_huge.end()), "huge.pgm"),
                    Catch::Contains("huge.pgm: PNM header number with 13 digits"));
  const std::string pgm8 = std::string("P5\n2 1\n255\n") + std::string("\xff\x80", 2);
  CHECK(data::decode_image(std::vector<uint8_t>(pgm8.begin(), pgm8.end()), "8bit.pgm").pixels ==
        std::vector<float>{255, 255, 255, 128, 128, 128});

  // A VTAB list whose one typo would make a million-class head.
  const std::string task = temp_path("hostile-vtab");
  fs::create_directories(task);
  spit(task + "/a.png", "x");
  spit(task + "/train800val200.txt", "a.png 0\na.png 1\na.png 999999\n");
  CHECK_THROWS_WITH(data::open_dataset("vtab", task, "train"),
                    Catch::Contains("the labels run up to 999999") && Catch::Contains("--num-classes 1000000"));
  CHECK_NOTHROW(data::open_dataset("vtab", task, "train", 1000000));  // asked for: allowed
  spit(task + "/train800val200.txt", "a.png 9223372036854775807\n");
  CHECK_THROWS_WITH(data::open_dataset("vtab", task, "train"),
                    Catch::Contains("train800val200.txt:1: label 9223372036854775807 is outside"));
  fs::remove_all(task);
  fs::remove(images);
  fs::remove(labels);
}

TEST_CASE("adapters: absurd ranks and sizes are refused before anything is allocated; sparse indices are checked",
          "[cpu][hostile]") {
  auto model = tiny_vit();
  const std::string dir = temp_path("hostile-lora");
  peft::LoraConfig config;
  config.r = 4;
  config.target_modules = peft::TargetSpec::from_json(json::array({"qkv"}), "target_modules");
  auto lora_model = tiny_vit();
  const peft::AppliedAdapter lora = peft::apply_lora_config(*lora_model, config);
  peft::save_adapter(dir, config, lora);
  json cfg = read_json_file(dir + "/adapter_config.json", "");
  for (const auto& [r, fragment] :
       std::vector<std::pair<json, std::string>>{{1e300, "'r' must be an integer in [1, 4096], got 1e+300"},
                                                 {4000, "rank 4000 for 'blocks.0.attn.qkv' (r or rank_pattern), but"},
                                                 {-3, "'r' must be an integer"}}) {
    cfg["r"] = r;
    write_json_file(dir + "/adapter_config.json", cfg);
    CHECK_THROWS_WITH(peft::load_adapter(*tiny_vit(), dir),
                      Catch::Contains(dir + "/adapter_config.json") && Catch::Contains(fragment));
  }
  CHECK_THROWS_WITH(peft::apply_spec(*model, "vpt:tokens=100000000"),
                    Catch::Contains("--peft vpt: tokens=100000000: must be an integer in [1, 4096]"));
  CHECK_THROWS_WITH(peft::apply_spec(*tiny_vit(), "lora:alpha=1e999"), Catch::Contains("alpha=1e999 is not a finite number"));
  // Regular expressions from a file are bounded before libstdc++ compiles them (it overflows).
  CHECK_THROWS_WITH(peft::TargetSpec::from_json("qkv{77777}", "target_modules"), Catch::Contains("repeats more than 1000 times"));
  CHECK_THROWS_WITH(peft::TargetSpec::from_json(std::string(40, '(') + "x" + std::string(40, ')'), "target_modules"),
                    Catch::Contains("nests groups deeper than 32"));
  CHECK_THROWS_WITH(peft::TargetSpec::from_json(std::string(2000, 'a'), "target_modules"), Catch::Contains("longer than 1024"));
  CHECK_THROWS_WITH(peft::TargetSpec::from_json("(a)\\2222222222222222222", "target_modules"),
                    Catch::Contains("more than 6 digits"));
  CHECK(peft::TargetSpec::from_json("blocks\\.[0-9]{1,2}\\.attn\\.qkv", "target_modules").matches("blocks.11.attn.qkv"));

  // GPS-style sparse tensors: the index must be unique integers inside the tensor.
  auto sparse = tiny_vit();
  const peft::AppliedSpec applied = peft::apply_spec(*sparse, "sparse:k=1");
  const std::string sdir = temp_path("hostile-sparse");
  peft::save_spec_adapter(sdir, applied, *sparse);
  const std::string weights = sdir + "/adapter.safetensors";
  std::string index_name;
  const SafetensorsFile original = SafetensorsFile::open(weights);
  for (const auto& e : original.entries())
    if (e.name.size() > 13 && e.name.substr(e.name.size() - 13) == ".sparse_index") index_name = e.name;
  REQUIRE(!index_name.empty());
  std::vector<NamedTensor> tensors;
  auto rewrite = [&](const Tensor& index) {
    tensors.clear();
    for (const auto& e : original.entries())
      tensors.push_back({e.name, e.name == index_name ? index : original.get(e.name).clone()});
    save_safetensors(weights, tensors);
  };
  const Tensor index = original.get(index_name).clone();
  std::vector<double> nan(size_t(index.numel()), std::nan(""));
  rewrite(Tensor::from_vector(nan, index.shape(), DType::f32));
  CHECK_THROWS_WITH(peft::load_spec_adapter(*tiny_vit(), sdir),
                    Catch::Contains("'" + index_name + "' must hold integers (I64), not f32"));
  std::vector<double> twice(size_t(index.numel()), 0.0);
  if (twice.size() > 1) {
    rewrite(Tensor::from_vector(twice, index.shape(), DType::i64));
    CHECK_THROWS_WITH(peft::load_spec_adapter(*tiny_vit(), sdir), Catch::Contains("holds index 0 twice"));
  }
  fs::remove_all(dir);
  fs::remove_all(sdir);
}

TEST_CASE("training checkpoints: corrupt positions and data are refused with the file's name", "[cpu][hostile]") {
  auto model = tiny_vit();
  AdamWOptions ao;
  AdamW opt(model->trainable_parameters(), ao);
  cli::TrainState state;
  state.epoch = 2;
  state.batch = 3;
  state.step = 17;
  state.best_epoch = 1;
  state.best_top1 = 50;
  const json identity = {{"model", "vit_tiny_patch16_224"}};
  const std::string path = temp_path("hostile.ckpt");
  cli::save_train_checkpoint(path, *model, opt, state, identity);
  CHECK(cli::load_train_checkpoint(path, *tiny_vit(), nullptr, identity).step == 17);
  const std::string good = slurp(path);
  auto position_error = [&](const std::string& key, const json& value) {
    spit(path, good);
    edit_header(path, [&](json& h) {
      json pos = json::parse(h["__metadata__"]["position"].get<std::string>());
      pos[key] = value;
      h["__metadata__"]["position"] = pos.dump();
    });
    return error_of([&] { cli::load_train_checkpoint(path, *tiny_vit(), nullptr, identity); });
  };
  CHECK_THAT(position_error("epoch", -1), Catch::Contains(path + ": metadata 'position': 'epoch' must be an integer in [0,"));
  CHECK_THAT(position_error("step", 1e30), Catch::Contains("'step' must be an integer"));
  CHECK_THAT(position_error("batch", "three"), Catch::Contains("'batch' must be an integer"));
  CHECK_THAT(position_error("best_epoch", 5), Catch::Contains("'best_epoch' must be an integer in [-1, 1]"));
  CHECK_THAT(position_error("rng_seed", "12x"), Catch::Contains("'rng_seed' must be a decimal"));
  CHECK_THAT(position_error("batch", 40), Catch::Contains("'batch' is 40, past step 17"));
  spit(path, good);
  edit_header(path, [](json& h) { h["__metadata__"]["identity"] = "{\"model\": "; });
  CHECK_THROWS_WITH(cli::read_checkpoint_identity(path), Catch::Contains(path + ": metadata 'identity': not valid JSON"));
  spit(path, good);
  edit_header(path, [](json& h) { h["__metadata__"].erase("position"); });
  CHECK_THROWS_WITH(cli::load_train_checkpoint(path, *tiny_vit(), nullptr, identity),
                    Catch::Contains("metadata lacks 'position'"));
  std::string flipped = good;
  flipped[flipped.size() - 20] ^= 0x01;
  spit(path, flipped);
  CHECK_THROWS_WITH(cli::load_train_checkpoint(path, *tiny_vit(), nullptr, identity),
                    Catch::Contains(path + ": tensor '") && Catch::Contains("checksum mismatch"));
  fs::remove(path);
}

TEST_CASE("writes that fail leave the previous file and name the file", "[cpu][hostile]") {
  const std::string dir = temp_path("hostile-writes");
  fs::create_directories(dir);
  const std::string cfg = dir + "/adapter_config.json", st = dir + "/w.safetensors", text = dir + "/summary.csv";
  write_json_file(cfg, {{"r", 8}});
  save_safetensors(st, {{"x", Tensor::from_vector({1, 2}, {2})}});
  write_file_atomic(text, "old\n");
  const std::string cfg_before = slurp(cfg), st_before = slurp(st);
  const json big = {{"blob", std::string(1 << 16, 'x')}};
  const Tensor large = Tensor::zeros({1 << 16});
  {
    const FileSizeLimit limit(4096);  // every write past 4 KiB fails, as on a full disk
    CHECK_THROWS_WITH(write_json_file(cfg, big),
                      Catch::Contains(cfg + ": write failed") && Catch::Contains("the previous file is kept"));
    CHECK_THROWS_WITH(save_safetensors(st, {{"x", large}}), Catch::Contains(st + ": write failed"));
    CHECK_THROWS_WITH(write_file_atomic(text, std::string(1 << 20, 'y')), Catch::Contains(text + ": write failed"));
    CHECK_THROWS_WITH(write_file_atomic(dir + "/new.json", std::string(1 << 20, 'y')), Catch::Contains("nothing was written"));
  }
  CHECK(slurp(cfg) == cfg_before);
  CHECK(slurp(st) == st_before);
  CHECK(slurp(text) == "old\n");
  CHECK_FALSE(fs::exists(cfg + ".tmp"));
  CHECK_FALSE(fs::exists(st + ".tmp"));
  CHECK_FALSE(fs::exists(dir + "/new.json"));
  CHECK_THROWS_WITH(write_file_atomic(dir + "/no/such/dir/x", "x"), Catch::Contains(dir + "/no/such/dir/x: cannot write"));
  fs::remove_all(dir);
}
