// test_safetensors.cpp: round trip, every fixture file, and every malformed-file error.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/safetensors.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::test;
namespace fs = std::filesystem;

namespace {

// Writes an 8-byte length (or `declared_length` when >= 0), the header text and `data_bytes` zeros.
std::string write_raw(const std::string& name, const std::string& header, size_t data_bytes, int64_t declared_length = -1) {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = declared_length >= 0 ? uint64_t(declared_length) : header.size();
  for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
  out << header;
  for (size_t i = 0; i < data_bytes; ++i) out.put('\0');
  return path;
}

void expect_error(const std::string& path, const std::string& fragment) {
  INFO(path);
  try {
    SafetensorsFile::open(path);
    FAIL("no error for " << fragment);
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains(path));
    CHECK_THAT(msg, Catch::Contains(fragment));
  }
  std::remove(path.c_str());
}

}  // namespace

TEST_CASE("safetensors round trip keeps dtypes, shapes, values and metadata", "[cpu][safetensors]") {
  const std::string path = temp_path("roundtrip.safetensors");
  const Tensor f = normal({3, 5}, 1, DType::f32);
  const Tensor strided = normal({4, 6}, 2, DType::f64).transpose(0, 1);  // written contiguous
  const Tensor h = normal({7}, 3, DType::bf16);
  const Tensor i = Tensor::from_vector({-3, 0, 9}, {3}, DType::i64);
  const Tensor b = Tensor::from_vector({1, 0}, {2}, DType::boolean);
  const Tensor s = Tensor::scalar(2.5);
  const Tensor empty = Tensor::empty({0, 4});
  save_safetensors(path, {{"f", f}, {"strided", strided}, {"h", h}, {"i", i}, {"b", b}, {"s", s}, {"empty", empty}},
                   {{"format", "pt"}});
  std::ifstream raw(path, std::ios::binary);
  uint64_t header_len = 0;
  raw.read(reinterpret_cast<char*>(&header_len), 8);
  CHECK(header_len % 8 == 0);
  const SafetensorsFile file = SafetensorsFile::open(path);
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.entries().size() == 7);
  for (const auto& [name, t] : std::vector<std::pair<std::string, Tensor>>{
           {"f", f}, {"strided", strided}, {"h", h}, {"i", i}, {"b", b}, {"s", s}, {"empty", empty}}) {
    const Tensor r = file.get(name);
    INFO(name);
    CHECK(r.dtype() == t.dtype());
    CHECK(r.shape() == t.shape());
    CHECK(r.to_doubles() == t.to_doubles());
  }
  CHECK_THROWS_WITH(file.get("missing"), Catch::Contains("no tensor named 'missing'"));
  CHECK_THROWS_WITH(save_safetensors(path, {{"x", f}, {"x", f}}), Catch::Contains("given twice"));
  CHECK(SafetensorsFile::open(path).entries().size() == 7);  // a failed save left the file intact
  std::remove(path.c_str());
}

TEST_CASE("every fixture file reads", "[cpu][safetensors]") {
  const fs::path root = fixtures_dir();
  REQUIRE(fs::is_directory(root / "timm"));  // tests/fixtures, or FROST_FIXTURES / -Dfixtures
  int files = 0;
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.path().extension() != ".safetensors") continue;
    const SafetensorsFile file = SafetensorsFile::open(item.path().string());
    INFO(item.path().string());
    CHECK_FALSE(file.entries().empty());
    for (const auto& e : file.entries()) {
      const Tensor t = file.get(e.name);
      CHECK(t.shape() == e.shape);
      if (t.numel() > 0 && dtype_is_float(t.dtype())) CHECK(std::isfinite(sum(t.to(DType::f64)).item()));
    }
    ++files;
  }
  CHECK(files >= 9);  // 4 cases x (weights, io) + the LoRA adapter
  const SafetensorsFile vit = SafetensorsFile::open((root / "timm" / "vit_tiny.weights.safetensors").string());
  CHECK(vit.entry("cls_token").shape == Shape{1, 1, 48});
  CHECK(vit.entry("patch_embed.proj.weight").shape == Shape{48, 3, 8, 8});
}

TEST_CASE("malformed safetensors files give clear errors", "[cpu][safetensors]") {
  const std::string good_entry = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  const std::string tiny = temp_path("tiny");
  std::ofstream(tiny, std::ios::binary) << "abc";
  expect_error(tiny, "truncated");
  expect_error(write_raw("pastend", "{" + good_entry + "}", 16, 5000), "runs past the end");
  expect_error(write_raw("notjson", "{\"w\": [1, 2,", 16), "header is not a JSON object");
  expect_error(write_raw("notjson2", "{\"w\": [1, 2}", 16), "not valid JSON at line 1");
  expect_error(write_raw("dtype", R"({"w":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}})", 8),
               "tensor 'w': unknown dtype 'X9'");
  expect_error(write_raw("mismatch", R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", 24),
               "tensor 'w': shape [3, 2] of F32 needs 24 bytes but data_offsets span 16");
  expect_error(write_raw("overlap",
                         R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                         16),
               "tensors 'a' and 'b' overlap");
  expect_error(write_raw("outside", "{" + good_entry + "}", 8), "tensor 'w': data [0, 16) lies outside");
  expect_error(write_raw("offsets", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8]}})", 8), "tensor 'w': data_offsets");
  expect_error(write_raw("meta", R"({"__metadata__":{"k":1}})", 0), "__metadata__ value 'k'");
  expect_error(write_raw("array", "[1]", 0), "not a JSON object");
  expect_error(temp_path("does_not_exist"), "cannot open");
  // A valid header with a dtype frost cannot hold natively: readable header, clear error on get.
  const std::string fp8 = write_raw("fp8",
                                    R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]},)"
                                    R"("n":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})",
                                    8);
  const SafetensorsFile file = SafetensorsFile::open(fp8);
  CHECK_THROWS_WITH(file.get("q"), Catch::Contains("tensor 'q': dtype F8_E4M3 is not supported"));
  CHECK(file.get("n").dtype() == DType::i64);  // narrower integers widen
  std::remove(fp8.c_str());
}

TEST_CASE("a tensor at an offset that is not a multiple of its element size reads correctly", "[cpu][safetensors]") {
  // Legal in the format; kernels assume natural alignment, so the reader copies such a tensor.
  const std::string path = temp_path("odd.safetensors");
  {
    const std::string header =
        R"({"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
    out << header;
    const float values[2] = {1.5f, -2.25f};
    out.put(char(7));
    out.write(reinterpret_cast<const char*>(values), 8);
  }
  const SafetensorsFile file = SafetensorsFile::open(path);
  const Tensor f = file.get("f");
  CHECK(reinterpret_cast<uintptr_t>(f.raw_data()) % 4 == 0);
  CHECK(f.to_doubles() == std::vector<double>{1.5, -2.25});
  CHECK(file.get("u").to_doubles() == std::vector<double>{7});
  std::remove(path.c_str());
}
