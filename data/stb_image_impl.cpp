// stb_image_impl.cpp: the one translation unit that compiles stb_image's implementation (Debian's
// libstb-dev headers; frost does not link libstb, see ecosystem.md section 6). Only the
// decoders frost reads are enabled. Every allocation stb_image makes goes through a cap
// (kMaxDecodeBytes), so no input, however it lies about its size, makes it allocate more.
#include <cstdlib>

namespace {
constexpr size_t kMaxDecodeBytes = size_t(1) << 30;
void* capped_malloc(size_t n) { return n > kMaxDecodeBytes ? nullptr : std::malloc(n); }
void* capped_realloc(void* p, size_t n) { return n > kMaxDecodeBytes ? nullptr : std::realloc(p, n); }
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
