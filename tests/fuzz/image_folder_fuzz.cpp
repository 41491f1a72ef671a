// The image-folder reader: the input is every image of a two-class tree, as x.png when it starts
// with PNG's signature byte, else as x.jpg (libjpeg and libpng decoders, header limits).
#include "flynet/core/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path root = flynet::fuzz::scratch("images");
  const bool png = size > 0 && data[0] == 0x89;
  const std::string_view bytes = flynet::fuzz::view(data, size);
  for (const char* split : {"train", "test"})
    for (const char* cls : {"a", "b"}) {
      const std::filesystem::path d = root / split / cls;
      flynet::fuzz::write_file(d / (png ? "x.png" : "x.jpg"), bytes);
      std::error_code ec;
      std::filesystem::remove(d / (png ? "x.jpg" : "x.png"), ec);
    }
  flynet::fuzz::expect_error_or_value([&] { flynet::open_dataset(root.string()); });
  return 0;
}
