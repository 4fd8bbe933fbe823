// tensorboard.h: TensorBoard event files, written without TensorFlow. A file
// DIR/events.out.tfevents.<seconds>.<host>.<pid>.frost is a sequence of TFRecords (length as
// u64 little-endian, its masked CRC-32C, the bytes, their masked CRC-32C), each a protobuf `Event`:
// the first carries file_version "brain.Event:2", the others one scalar each
// (Event{wall_time=1, step=2, summary=5 {value=1 {tag=1, simple_value=2}}}).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace frost::cli {

// CRC-32C (Castagnoli) of `size` bytes, and the mask TFRecords store it under.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

class EventWriter {
 public:
  explicit EventWriter(const std::string& dir);  // creates DIR and a new event file in it
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  void scalar(const std::string& tag, double value, int64_t step);
  void flush();  // what was written so far reaches the file (TensorBoard reads files as they grow)
  const std::string& path() const { return path_; }

 private:
  void record(const std::string& event);
  std::string path_;
  FILE* file_ = nullptr;
};

// The scalars of an event file, read back with every length and CRC checked (tests, and
// errors that name the file and the record).
struct ScalarEvent {
  std::string tag;
  double wall_time = 0;
  int64_t step = 0;
  float value = 0;
};
std::vector<ScalarEvent> read_scalar_events(const std::string& path, std::string* file_version = nullptr);

}  // namespace frost::cli
