// stb_write_impl.cpp: stb_image_write's implementation, for tests that write small PNG/JPEG files.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBIW_WINDOWS_UTF8 0
#include <stb_image_write.h>
#pragma GCC diagnostic pop
