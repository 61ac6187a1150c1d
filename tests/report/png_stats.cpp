// Test tool: decodes a PNG (libpng) and prints what a blank-page check needs, one "key value"
// per line: width, height, pixels unlike the top-left (background) colour, distinct colours.
#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE.png\n", argv[0]);
    return 2;
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, argv[1])) {
    std::fprintf(stderr, "cannot read %s: %s\n", argv[1], image.message);
    return 1;
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) {
    std::fprintf(stderr, "cannot decode %s: %s\n", argv[1], image.message);
    return 1;
  }
  const png_byte* background = pixels.data();
  long differing = 0;
  std::set<unsigned> colours;
  for (std::size_t i = 0; i + 2 < pixels.size(); i += 3) {
    const png_byte* p = pixels.data() + i;
    if (p[0] != background[0] || p[1] != background[1] || p[2] != background[2]) ++differing;
    if (colours.size() < 100000) colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
  }
  std::printf("width %u\nheight %u\nnon_background %ld\ncolours %zu\n", image.width, image.height,
              differing, colours.size());
  return 0;
}
