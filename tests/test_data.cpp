// test_data.cpp: every dataset format from small files the test writes itself, gzip, the
// transforms against hand-computed values, and the loader's determinism and bad-input handling.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include <stb_image_write.h>

#include "data/loader.h"
#include "engine/files.h"
#include "tests/helpers.h"

using namespace frost;
using namespace frost::data;
using frost::test::temp_path;
namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A gzip member holding `data` in one stored (uncompressed) deflate block.
std::vector<uint8_t> gzip_stored(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1};
  const uint16_t n = uint16_t(data.size()), nn = uint16_t(~n);
  for (uint16_t v : {n, nn}) {
    out.push_back(uint8_t(v & 0xff));
    out.push_back(uint8_t(v >> 8));
  }
  out.insert(out.end(), data.begin(), data.end());
  const uint32_t crc = crc32(data.data(), data.size()), size = uint32_t(data.size());
  for (uint32_t v : {crc, size})
    for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}

std::vector<uint8_t> idx_header(uint32_t magic, std::vector<uint32_t> dims) {
  std::vector<uint8_t> out;
  dims.insert(dims.begin(), magic);
  for (uint32_t v : dims)
    for (int i = 3; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}

// A w x h PNG whose pixel (x, y) is (value, x, y).
void write_png(const fs::path& path, int w, int h, uint8_t value) {
  fs::create_directories(path.parent_path());
  std::vector<uint8_t> rgb(size_t(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[size_t((y * w + x) * 3)];
      p[0] = value;
      p[1] = uint8_t(x);
      p[2] = uint8_t(y);
    }
  REQUIRE(stbi_write_png(path.string().c_str(), w, h, 3, rgb.data(), w * 3) == 1);
}

Image ramp(int64_t h, int64_t w) {
  Image img;
  img.height = h;
  img.width = w;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) img.pixels.insert(img.pixels.end(), {float(10 * y + x), float(x), float(y)});
  return img;
}

}  // namespace

TEST_CASE("gzip: stored and Debian's dynamic-Huffman files, CRC checked", "[cpu][data]") {
  const std::vector<uint8_t> data = {1, 2, 3, 250, 0, 7};
  CHECK(gunzip(gzip_stored(data), "mem") == data);
  std::vector<uint8_t> corrupt = gzip_stored(data);
  corrupt[corrupt.size() - 8] ^= 1;
  CHECK_THROWS_WITH(gunzip(corrupt, "bad.gz"), Catch::Contains("bad.gz: gzip CRC-32 mismatch"));
  CHECK_THROWS_WITH(gunzip({1, 2, 3}, "x.gz"), Catch::Contains("x.gz: not a gzip file"));
  const std::string debian = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (fs::exists(debian)) {
    const std::vector<uint8_t> labels = gunzip(read_file(debian), debian);
    CHECK(labels.size() == 10008);
    CHECK((labels[2] == 8 && labels[3] == 1));  // magic 0x00000801
  }
}

TEST_CASE("IDX datasets, raw and gzipped; bad files name themselves", "[cpu][data]") {
  const fs::path dir = temp_path("idx");
  std::vector<uint8_t> images = idx_header(0x803, {3, 2, 2}), labels = idx_header(0x801, {3});
  for (uint8_t i = 0; i < 12; ++i) images.push_back(uint8_t(i * 20));
  labels.insert(labels.end(), {4, 0, 9});
  write_bytes(dir / "train-images-idx3-ubyte.gz", gzip_stored(images));
  write_bytes(dir / "train-labels-idx1-ubyte", labels);
  auto d = open_dataset("mnist", dir.string(), "train");
  REQUIRE(d->size() == 3);
  CHECK(d->label(2) == 9);
  const Image img = d->load(1);
  CHECK((img.height == 2 && img.width == 2));
  CHECK(img.pixels == std::vector<float>{80, 80, 80, 100, 100, 100, 120, 120, 120, 140, 140, 140});  // gray -> RGB
  images.pop_back();
  write_bytes(dir / "t10k-images-idx3-ubyte", images);
  write_bytes(dir / "t10k-labels-idx1-ubyte", labels);
  CHECK_THROWS_WITH(open_dataset("mnist", dir.string(), "test"),
                    Catch::Contains("t10k-images-idx3-ubyte: 27 bytes for 3 images of 2x2"));
  CHECK_THROWS_WITH(open_dataset("mnist", dir.string(), "train", 5), Catch::Contains("[2] has label 9, outside [0, 5)"));
  // A task carved out by class (frost demo's upstream/downstream split): relabelled in order, capped.
  auto task = class_subset(d, {9, 4});
  REQUIRE(task->size() == 2);
  CHECK((task->label(0) == 1 && task->label(1) == 0));  // base labels 4, 9 -> 1, 0
  CHECK(task->num_classes == 2);
  CHECK(task->load(1).pixels == d->load(2).pixels);
  CHECK(task->describe(1) == d->describe(2));
  CHECK(class_subset(d, {4, 9}, 1)->size() == 2);
  CHECK(class_subset(d, {0}, 1)->size() == 1);
  CHECK_THROWS_WITH(class_subset(d, {10}), Catch::Contains("class 10 is outside the dataset's 10 classes"));
  const std::string debian = "/usr/share/datasets/fashion-mnist";
  if (fs::exists(debian + "/t10k-images-idx3-ubyte.gz")) {
    auto fm = open_dataset("fmnist", "", "test");
    CHECK(fm->size() == 10000);
    CHECK(fm->num_classes == 10);
    CHECK(fm->load(0).height == 28);
  }
}

TEST_CASE("CIFAR-10 and CIFAR-100 binary records", "[cpu][data]") {
  const fs::path root = temp_path("cifar");
  auto record = [](std::vector<uint8_t> labels, uint8_t base) {
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 1024; ++i) labels.push_back(uint8_t(base + c * 10 + (i % 7)));
    return labels;
  };
  for (int b = 1; b <= 5; ++b)
    write_bytes(root / "cifar-10-batches-bin" / ("data_batch_" + std::to_string(b) + ".bin"), record({uint8_t(b)}, uint8_t(b)));
  write_bytes(root / "cifar-10-batches-bin" / "test_batch.bin", record({3}, 0));
  auto train = open_dataset("cifar10", root.string(), "train");
  REQUIRE(train->size() == 5);
  CHECK(train->label(4) == 5);
  const Image img = train->load(1);  // batch 2: R = 2 + i%7, G = 12 + i%7, B = 22 + i%7
  CHECK(std::vector<float>(img.pixels.begin(), img.pixels.begin() + 6) == std::vector<float>{2, 12, 22, 3, 13, 23});
  std::vector<uint8_t> hundred = record({7, 42}, 1);
  std::vector<uint8_t> second = record({1, 99}, 2);
  hundred.insert(hundred.end(), second.begin(), second.end());
  write_bytes(root / "cifar-100-binary" / "train.bin", hundred);
  auto c100 = open_dataset("cifar100", root.string(), "train");
  CHECK(c100->label(0) == 42);  // the fine label
  CHECK(c100->label(1) == 99);
  write_bytes(root / "cifar-100-binary" / "test.bin", std::vector<uint8_t>(3000, 0));
  CHECK_THROWS_WITH(open_dataset("cifar100", root.string(), "test"),
                    Catch::Contains("test.bin: 3000 bytes is not a whole number of 3074-byte CIFAR records"));
}

TEST_CASE("ImageFolder, VTAB-1k lists and FGVC JSON splits", "[cpu][data]") {
  const fs::path root = temp_path("folder");
  write_png(root / "train" / "b_class" / "x.png", 4, 3, 200);
  write_png(root / "train" / "a_class" / "sub" / "2.png", 4, 3, 10);
  write_png(root / "train" / "a_class" / "1.png", 5, 2, 20);
  std::ofstream(root / "train" / "a_class" / "notes.txt") << "not an image";
  auto folder = open_dataset("folder", root.string(), "train");
  REQUIRE(folder->size() == 3);
  CHECK(folder->class_names == std::vector<std::string>{"a_class", "b_class"});
  CHECK(folder->label(0) == 0);
  CHECK(folder->label(2) == 1);
  CHECK(folder->describe(0).find("a_class/1.png") != std::string::npos);
  const Image first = folder->load(0);
  CHECK((first.height == 2 && first.width == 5));
  CHECK(std::vector<float>(first.pixels.begin(), first.pixels.begin() + 6) == std::vector<float>{20, 0, 0, 20, 1, 0});
  fs::create_directories(root / "val" / "empty");
  CHECK_THROWS_WITH(open_dataset("folder", root.string(), "val"), Catch::Contains("class folder 'empty' holds no"));

  const fs::path task = temp_path("vtab") + "/dtd";
  write_png(fs::path(task) / "images" / "train" / "000001.png", 3, 3, 1);
  write_png(fs::path(task) / "images" / "train" / "000002.png", 3, 3, 2);
  std::ofstream(fs::path(task) / "train800val200.txt") << "images/train/000001.png 3\nimages/train/000002.png 0\n";
  auto vtab = open_dataset("vtab", task, "train", 47);
  CHECK(vtab->size() == 2);
  CHECK(vtab->label(0) == 3);
  std::ofstream(fs::path(task) / "test.txt") << "images/train/000001.png 3\nimages/test/missing.png 1\n";
  CHECK_THROWS_WITH(open_dataset("vtab", task, "test"),
                    Catch::Contains("test.txt:2:") && Catch::Contains("missing.png does not exist"));
  std::ofstream(fs::path(task) / "val200.txt") << "images/train/000001.png\n";
  CHECK_THROWS_WITH(open_dataset("vtab", task, "val200"), Catch::Contains("val200.txt:1: expected '<image path> <label>'"));
  CHECK_THROWS_WITH(open_dataset("vtab", task, "train", 2), Catch::Contains("has label 3, outside [0, 2)"));

  const fs::path fgvc = temp_path("fgvc");
  write_png(fgvc / "images" / "001.Albatross" / "a.png", 2, 2, 5);
  write_png(fgvc / "images" / "002.Gull" / "b.png", 2, 2, 6);
  std::ofstream(fgvc / "train.json") << R"({"001.Albatross/a.png": 17, "002.Gull/b.png": 4})";
  std::ofstream(fgvc / "test.json") << R"({"002.Gull/b.png": 4, "001.Albatross/a.png": 9})";
  auto fg = open_dataset("fgvc", fgvc.string(), "train");
  CHECK(fg->num_classes == 2);
  CHECK(fg->label(0) == 1);  // id 17 -> 1, id 4 -> 0
  CHECK_THROWS_WITH(open_dataset("fgvc", fgvc.string(), "test"), Catch::Contains("class id 9, which train.json never uses"));
  CHECK_THROWS_WITH(open_dataset("imagenet", fgvc.string(), "test"), Catch::Contains("unknown dataset 'imagenet'"));
}

TEST_CASE("transforms against hand-computed values", "[cpu][data]") {
  // Bilinear 1 x 2 -> 1 x 4 (PIL's centers 0.25, 0.75, 1.25, 1.75): 0, 25, 75, 100.
  Image row;
  row.height = 1;
  row.width = 2;
  row.pixels = {0, 0, 0, 100, 100, 100};
  const Image up = resize(row, 1, 4, Interpolation::bilinear);
  CHECK(up.pixels == std::vector<float>{0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100});
  // Shrinking 4 -> 2 bilinear antialiased: support 2, taps at distance .5 and 1.5 -> weights 3/4, 1/4, normalised.
  Image four;
  four.height = 1;
  four.width = 4;
  four.pixels = {0, 0, 0, 40, 40, 40, 80, 80, 80, 120, 120, 120};
  const Image down = resize(four, 1, 2, Interpolation::bilinear);
  CHECK(down.pixels[0] == Approx((0.75 * 0 + 0.75 * 40 + 0.25 * 80) / 1.75));
  // A constant image stays constant under bicubic either way.
  Image flat = ramp(5, 7);
  for (float& p : flat.pixels) p = 42;
  for (float p : resize(flat, 9, 3, Interpolation::bicubic).pixels) CHECK(p == Approx(42).margin(1e-4));
  // Center crop of 5x5 to 2x2 starts at round(1.5) = 2 (ties to even, as torchvision); 4x4 -> 1x1 at round(1.5) = 2 too.
  const Image c = center_crop(ramp(5, 5), 2, 2);
  CHECK(c.pixels[0] == 10 * 2 + 2);
  CHECK(center_crop(ramp(6, 6), 3, 3).pixels[0] == 10 * 2 + 2);  // round(1.5) = 2
  CHECK(center_crop(ramp(7, 7), 2, 2).pixels[0] == 10 * 2 + 2);  // round(2.5) = 2
  CHECK(resize_shorter(ramp(4, 10), 8, Interpolation::bilinear).width == 20);
  CHECK(hflip(ramp(1, 3)).pixels[0] == 2);
  std::vector<float> t(3 * 1 * 2);
  Image px;
  px.height = 1;
  px.width = 2;
  px.pixels = {255, 0, 127.5f, 0, 255, 255};
  to_tensor(px, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, t.data());
  CHECK(t == std::vector<float>{1, -1, -1, 1, 0, 1});  // channel-first
  // RandomResizedCrop boxes stay inside the image, cover [8%, 100%] of it, and depend only on the seed.
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SampleRng a(seed), b(seed);
    const CropBox box = random_resized_crop_box(40, 60, {0.08, 1.0}, {0.75, 4.0 / 3.0}, a);
    const CropBox again = random_resized_crop_box(40, 60, {0.08, 1.0}, {0.75, 4.0 / 3.0}, b);
    CHECK((box.top == again.top && box.left == again.left && box.height == again.height && box.width == again.width));
    CHECK((box.top >= 0 && box.left >= 0 && box.top + box.height <= 40 && box.left + box.width <= 60));
    CHECK(double(box.height * box.width) >= 0.07 * 2400);
  }
}

TEST_CASE("the loader: same batches for any worker count, epochs by (seed, epoch), resume mid-epoch, bad images", "[cpu][data]") {
  const fs::path dir = temp_path("loader");
  std::vector<uint8_t> images = idx_header(0x803, {23, 6, 6}), labels = idx_header(0x801, {23});
  for (int i = 0; i < 23 * 36; ++i) images.push_back(uint8_t((i * 37) % 251));
  for (int i = 0; i < 23; ++i) labels.push_back(uint8_t(i % 10));
  write_bytes(dir / "train-images-idx3-ubyte", images);
  write_bytes(dir / "train-labels-idx1-ubyte", labels);
  auto d = open_dataset("mnist", dir.string(), "train");
  TransformOptions t;
  t.size = 4;
  t.train_augment = true;
  auto run = [&](int workers, int64_t epoch, int64_t first = 0) {
    LoaderOptions o;
    o.batch_size = 5;
    o.shuffle = true;
    o.seed = 11;
    o.workers = workers;
    o.prefetch = 2;
    DataLoader loader(d, t, o);
    loader.start(epoch, first);
    std::vector<Batch> out;
    for (Batch b; loader.next(b);) out.push_back(b);
    return out;
  };
  const auto serial = run(0, 1), threaded = run(3, 1);
  REQUIRE(serial.size() == 5);  // 23 images in batches of 5
  REQUIRE(threaded.size() == 5);
  for (size_t i = 0; i < serial.size(); ++i) {
    CHECK(serial[i].samples == threaded[i].samples);
    CHECK(serial[i].images == threaded[i].images);
  }
  CHECK(serial[4].size == 3);
  CHECK(run(2, 2)[0].samples != serial[0].samples);  // another epoch, another order
  const auto tail = run(2, 1, 3);                    // resume at batch 3
  REQUIRE(tail.size() == 2);
  CHECK(tail[0].images == serial[3].images);
  CHECK(tail[1].labels == serial[4].labels);

  // An unreadable image is skipped and noted, or an error with strict.
  const fs::path root = temp_path("loader_folder");
  write_png(root / "train" / "cat" / "ok.png", 8, 8, 1);
  write_bytes(root / "train" / "cat" / "broken.png", {0x89, 'P', 'N', 'G', 1, 2, 3});
  auto folder = open_dataset("folder", root.string(), "train");
  LoaderOptions o;
  o.batch_size = 4;
  DataLoader loader(folder, TransformOptions{}, o);
  loader.start(0);
  Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.size == 1);
  REQUIRE(b.skipped.size() == 1);
  CHECK_THAT(b.skipped[0], Catch::Contains("broken.png: cannot decode image"));
  o.strict = true;
  DataLoader strict(folder, TransformOptions{}, o);
  strict.start(0);
  CHECK_THROWS_WITH(strict.next(b), Catch::Contains("broken.png") && Catch::Contains("--strict-data"));
}
