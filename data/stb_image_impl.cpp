// stb_image_impl.cpp: the one translation unit that compiles stb_image's implementation (Debian's
// libstb-dev headers; frost does not link libstb, see ecosystem.md section 6). Only the
// decoders frost reads are enabled.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // frost reads the bytes itself (errors name the file)
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#include <stb_image.h>
#pragma GCC diagnostic pop
