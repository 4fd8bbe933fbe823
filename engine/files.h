// files.h: the one checked path every file frost reads or writes goes through.
//   Reading: only regular files (a FIFO, device or directory is refused at once, without
//   blocking), at most a stated number of bytes, every error naming the file.
//   Writing: AtomicFile writes `path`.tmp, checks every write, fsyncs and closes it (checking the
//   close), renames it over `path` and fsyncs the directory. Any failure (a full disk, a size
//   limit, a vanished directory) throws naming `path`, removes the .tmp and leaves the previous
//   `path` as it was: a reader sees the old file or the new one, never a part.
// Also the CRC-32 (IEEE, as gzip and PNG) that checksums gzip members and saved tensors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace frost {

// An open regular file (read-only), closed on destruction.
class ReadableFile {
 public:
  // Throws "<path>: cannot open (...)" or "<path>: not a regular file (a FIFO)" and the like.
  explicit ReadableFile(const std::string& path);
  ~ReadableFile();
  ReadableFile(const ReadableFile&) = delete;
  ReadableFile& operator=(const ReadableFile&) = delete;
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

// The whole file, refused with a message naming it when larger than `max_bytes` (`what` says what
// the file was meant to be, e.g. "a JSON config").
std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what);
std::string read_text_file(const std::string& path, uint64_t max_bytes, const std::string& what);

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates path.tmp (throws naming path)
  ~AtomicFile();                          // not committed: removes path.tmp, path untouched
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, size_t n);  // buffered; throws naming path on failure
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();  // flush, fsync, close, rename, fsync the directory

 private:
  [[noreturn]] void fail(const std::string& what, int error);
  void flush_buffer();
  std::string path_, tmp_;
  int fd_ = -1;
  std::vector<char> buffer_;
  bool committed_ = false;
};

// AtomicFile in one call.
void write_file_atomic(const std::string& path, const std::string& contents);

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace frost
