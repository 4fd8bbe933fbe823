// files.cpp: see files.h.
#include "engine/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace frost {

namespace {

std::string reason(int error) { return std::strerror(error); }

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a plain file";
}

constexpr size_t kWriteBuffer = size_t(1) << 20;

}  // namespace

ReadableFile::ReadableFile(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot open (" + reason(errno) + ")");
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::runtime_error(path + ": cannot stat (" + reason(e) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw std::runtime_error(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  }
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
  size_ = uint64_t(st.st_size);
}

ReadableFile::~ReadableFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const ReadableFile file(path);
  if (file.size() > max_bytes)
    throw std::runtime_error(path + ": " + std::to_string(file.size()) + " bytes is more than " + what + " may hold (limit " +
                             std::to_string(max_bytes) + ")");
  std::vector<uint8_t> bytes(size_t(file.size()));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(file.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path + ": read failed (" + reason(errno) + ")");
    if (n == 0) throw std::runtime_error(path + ": shrank while being read");
    done += size_t(n);
  }
  return bytes;
}

std::string read_text_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, max_bytes, what);
  return std::string(bytes.begin(), bytes.end());
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) throw std::runtime_error(path_ + ": cannot write " + tmp_ + " (" + reason(errno) + ")");
  buffer_.reserve(kWriteBuffer);
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what, int error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw std::runtime_error(path_ + ": " + what + " (" + reason(error) + "); " +
                           (std::filesystem::exists(path_) ? "the previous file is kept" : "nothing was written"));
}

void AtomicFile::flush_buffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed", errno);
    done += size_t(n);
  }
  buffer_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) throw std::logic_error(path_ + ": write after commit");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const size_t take = std::min(n, kWriteBuffer - buffer_.size());
    buffer_.insert(buffer_.end(), p, p + take);
    p += take;
    n -= take;
    if (buffer_.size() == kWriteBuffer) flush_buffer();
  }
}

void AtomicFile::commit() {
  flush_buffer();
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close failed", errno);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename " + tmp_ + " into place", errno);
  committed_ = true;
  // The rename itself must reach the disk before the file counts as written.
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int e = errno;
    ::close(dfd);
    if (rc != 0 && e != EINVAL && e != EROFS)  // some filesystems cannot fsync a directory
      throw std::runtime_error(path_ + ": fsync of its directory failed (" + reason(e) + ")");
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile file(path);
  file.write(contents);
  file.commit();
}

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  // Slicing by 8: table[k][b] is the CRC of byte b followed by k zero bytes.
  static const std::array<std::array<uint32_t, 256>, 8> table = [] {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    return t;
  }();
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
    crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^ table[3][p[4]] ^
          table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
  }
  for (; n > 0; --n, ++p) crc = table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace frost
