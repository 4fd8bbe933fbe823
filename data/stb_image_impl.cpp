// stb_image_impl.cpp: the one translation unit that compiles stb_image's implementation (Debian's
// libstb-dev headers; frost does not link libstb, see ecosystem.md section 6). Only the
// decoders frost reads are enabled. Every allocation stb_image makes is held to a per-thread
// budget (set_stb_budget, by each decode from what its input can really need; 1 GiB at most), so
// no input, however it lies about its sizes (a PNG chunk claiming 2 GB), makes it allocate more.
#include <cstddef>
#include <cstdlib>

namespace frost::data {

constexpr size_t kMaxDecodeBytes = size_t(1) << 30;
thread_local size_t g_stb_budget = kMaxDecodeBytes;

// Declared where it is used (image.cpp): from now on in this thread, no single stb allocation
// above `bytes` (capped at kMaxDecodeBytes); returns the previous budget.
size_t set_stb_budget(size_t bytes) {
  const size_t previous = g_stb_budget;
  g_stb_budget = bytes < kMaxDecodeBytes ? bytes : kMaxDecodeBytes;
  return previous;
}

}  // namespace frost::data

namespace {
void* capped_malloc(size_t n) { return n > frost::data::g_stb_budget ? nullptr : std::malloc(n); }
void* capped_realloc(void* p, size_t n) { return n > frost::data::g_stb_budget ? nullptr : std::realloc(p, n); }
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_MALLOC(n) capped_malloc(n)
#define STBI_REALLOC(p, n) capped_realloc(p, n)
#define STBI_FREE(p) std::free(p)
#define STBI_NO_STDIO  // frost reads the bytes itself (errors name the file)
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#include <stb_image.h>
#pragma GCC diagnostic pop
