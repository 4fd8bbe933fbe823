// loader.cpp: see loader.h.
#include "data/loader.h"

#include <algorithm>
#include <stdexcept>

namespace frost::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, TransformOptions transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(transform), options_(options) {
  if (options_.batch_size < 1) throw std::invalid_argument("data loader: batch size must be >= 1");
  if (dataset_->size() == 0) throw std::invalid_argument("data loader: the dataset is empty");
  options_.prefetch = std::max(options_.prefetch, 1);
  options_.workers = std::max(options_.workers, 0);
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(size_t(dataset_->size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
  if (options_.shuffle) {
    SampleRng rng(mix_seed(options_.seed, uint64_t(epoch), 0x5eed));
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.next() % (i + 1)]);
  }
  return order;
}

Batch DataLoader::make_batch(int64_t index) const {
  Batch batch;
  batch.epoch = epoch_;
  batch.index = index;
  batch.height = batch.width = transform_.size;
  const int64_t first = index * options_.batch_size;
  const int64_t last = std::min<int64_t>(first + options_.batch_size, int64_t(order_.size()));
  const size_t plane = size_t(3 * transform_.size * transform_.size);
  batch.images.reserve(size_t(last - first) * plane);
  for (int64_t i = first; i < last; ++i) {
    const int64_t sample = order_[size_t(i)];
    Image img;
    try {
      img = dataset_->load(sample);
    } catch (const std::exception& e) {
      if (options_.strict) throw std::runtime_error(std::string(e.what()) + " (--strict-data)");
      batch.skipped.push_back(e.what());
      continue;
    }
    batch.images.resize(batch.images.size() + plane);
    apply_transform(transform_, img, mix_seed(options_.seed, uint64_t(epoch_), uint64_t(sample)),
                    batch.images.data() + batch.images.size() - plane);
    batch.labels.push_back(dataset_->label(sample));
    batch.samples.push_back(sample);
  }
  batch.size = int64_t(batch.labels.size());
  return batch;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  ready_.clear();
  stopping_ = false;
}

void DataLoader::start(int64_t epoch, int64_t first_batch) {
  stop();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  end_ = batches_per_epoch();
  next_to_make_ = next_to_give_ = std::clamp<int64_t>(first_batch, 0, end_);
  for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this] { work(); });
}

void DataLoader::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || (next_to_make_ < end_ && next_to_make_ < next_to_give_ + options_.prefetch); });
    if (stopping_) return;
    const int64_t index = next_to_make_++;
    lock.unlock();
    std::pair<Batch, std::exception_ptr> result;
    try {
      result.first = make_batch(index);
    } catch (...) {
      result.second = std::current_exception();
    }
    lock.lock();
    ready_[index] = std::move(result);
    changed_.notify_all();
  }
}

bool DataLoader::next(Batch& batch) {
  if (next_to_give_ >= end_) return false;
  if (options_.workers == 0) {
    batch = make_batch(next_to_give_++);
    return true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return ready_.count(next_to_give_) > 0; });
  auto node = ready_.extract(next_to_give_);
  ++next_to_give_;
  lock.unlock();
  changed_.notify_all();
  if (node.mapped().second) std::rethrow_exception(node.mapped().second);
  batch = std::move(node.mapped().first);
  return true;
}

}  // namespace frost::data
