// loader.h: batches of transformed images, assembled by worker threads with bounded prefetch and
// handed out in order. Everything random depends only on (seed, epoch, sample): the epoch's order
// is a Fisher-Yates shuffle seeded by (seed, epoch), a sample's augmentation by (seed, epoch,
// sample index), so the batches are the same whatever the number of workers, and an epoch can be
// restarted at any batch (exact resume). An image that cannot be read is skipped with a note in
// its batch (the batch is then smaller), or, with `strict`, is an error naming the file.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/datasets.h"
#include "data/transforms.h"

namespace frost::data {

struct Batch {
  int64_t epoch = 0, index = 0;  // batch index within the epoch
  int64_t size = 0, height = 0, width = 0;
  std::vector<float> images;         // (size, 3, height, width)
  std::vector<int64_t> labels;       // (size)
  std::vector<int64_t> samples;      // dataset indices
  std::vector<std::string> skipped;  // "<file>: <why>" for each unreadable image left out
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false, drop_last = false, strict = false;
  uint64_t seed = 0;
  int workers = 2;   // 0: batches are made in next() on the calling thread
  int prefetch = 4;  // batches made ahead of the consumer, at most
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, TransformOptions transform, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Begins epoch `epoch` at batch `first_batch` (earlier batches are not made).
  void start(int64_t epoch, int64_t first_batch = 0);
  // The next batch in order; false after the epoch's last. Rethrows a worker's error.
  bool next(Batch& batch);
  const Dataset& dataset() const { return *dataset_; }

 private:
  Batch make_batch(int64_t index) const;
  void stop();
  void work();

  std::shared_ptr<const Dataset> dataset_;
  TransformOptions transform_;
  LoaderOptions options_;
  int64_t epoch_ = 0, next_to_make_ = 0, next_to_give_ = 0, end_ = 0;
  std::vector<int64_t> order_;
  std::map<int64_t, std::pair<Batch, std::exception_ptr>> ready_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
};

}  // namespace frost::data
