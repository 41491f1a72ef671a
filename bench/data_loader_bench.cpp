// Throughput of the data pipeline: images/s that BatchLoader delivers (shuffle, pad-crop,
// flip, normalise, NHWC float) with the consumer doing nothing, so the loader is the only
// cost. Usage: flynet_data_loader_bench [dataset-path] [epochs] [batch]
// Default dataset: Debian's Fashion-MNIST.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "flynet/core/data.hpp"
#include "flynet/formats/error.hpp"

int main(int argc, char** argv) {
  using clock = std::chrono::steady_clock;
  const std::string path = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  const int batch = argc > 3 ? std::atoi(argv[3]) : 128;
  try {
    const auto t0 = clock::now();
    flynet::DatasetPair d = flynet::open_dataset(path);
    const double open_s = std::chrono::duration<double>(clock::now() - t0).count();
    const flynet::DatasetInfo& info = d.train->info();
    std::printf("%s: %lld train + %lld test, %dx%dx%d, %d classes, opened in %.3f s\n", path.c_str(),
                static_cast<long long>(info.size), static_cast<long long>(d.test->info().size), info.h, info.w, info.c,
                info.classes, open_s);
    for (int threads : {1, 2}) {
      flynet::LoaderOptions o;
      o.batch = batch;
      o.augment = flynet::Augment::for_dataset(info);
      o.augment.hflip = true;  // measure the full augmentation path
      o.mean = info.mean;
      o.std = info.std;
      o.threads = threads;
      flynet::BatchLoader loader(d.train, o);
      int64_t images = 0;
      double checksum = 0;
      const auto t1 = clock::now();
      for (int e = 0; e < epochs; ++e) {
        loader.start_epoch(e);
        flynet::Batch b;
        while (loader.next(b)) {
          images += b.n();
          checksum += b.images.data[0];
        }
      }
      const double s = std::chrono::duration<double>(clock::now() - t1).count();
      std::printf("threads %d, batch %d, pad %d, flip: %.0f images/s (%lld images in %.3f s, checksum %.3f)\n", threads,
                  batch, o.augment.pad_crop, double(images) / s, static_cast<long long>(images), s, checksum);
    }
  } catch (const flynet::Error& e) {
    std::fprintf(stderr, "data_loader_bench: error: %s\n", e.message().c_str());
    return 1;
  }
  return 0;
}
