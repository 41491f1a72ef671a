// Shared by the HDF5 fuzz targets: each input is read twice. First as the product reads it, in
// h5::run_isolated's child: libhdf5 1.10.8 crashes on some damaged attribute messages (a wild
// read in H5O_attr_decode, found again by h5_model_fuzz within 400 runs in process), which the
// child turns into "damaged HDF5 file: ...". Only when the child came back with something else
// (a value, or flynet's own Error) is the input read again in this process, where libFuzzer
// sees the coverage and the sanitizers check flynet's reading code. What the first read masks:
// a crash of flynet's own code on an input that also crashes libhdf5's child.
#ifndef FLYNET_TESTS_FUZZ_H5_FUZZ_HPP_
#define FLYNET_TESTS_FUZZ_H5_FUZZ_HPP_

#include <string>

#include "flynet/formats/h5_read.hpp"
#include "fuzz_util.hpp"

namespace flynet::fuzz {

template <class F>
void read_h5_twice(F&& read) {
  h5::set_isolation_for_fuzzing(true);
  try {
    read();
  } catch (const Error& e) {
    if (std::string(e.what()).rfind("damaged HDF5 file: ", 0) == 0) return;
  }
  h5::set_isolation_for_fuzzing(false);
  expect_error_or_value(read);
}

}  // namespace flynet::fuzz

#endif  // FLYNET_TESTS_FUZZ_H5_FUZZ_HPP_
