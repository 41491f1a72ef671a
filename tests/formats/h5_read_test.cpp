// h5::run_isolated, the child process every HDF5 read runs in: its result, an Error, and a
// crash inside it (as libhdf5 1.10 can crash on a damaged file) all come back as they should;
// without isolation (the fuzz targets) the work runs in this process.
#include "flynet/formats/h5_read.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <string>

#include "flynet/formats/error.hpp"

namespace flynet {
namespace {

TEST(H5Read, IsolatedResultCrossesThePipe) {
  const std::string big(3 << 20, 'x');  // more than a pipe holds at once
  EXPECT_EQ(h5::run_isolated([&] { return big; }, "f.h5"), big);
}

TEST(H5Read, IsolatedErrorIsRethrownAsItWas) {
  try {
    h5::run_isolated([]() -> std::string { throw Error(ErrorCode::shape, "odd shape", "g.h5"); }, "f.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
    EXPECT_EQ(e.message(), "odd shape (g.h5)");
  }
}

TEST(H5Read, IsolatedCrashIsAFormatError) {
  try {
    h5::run_isolated([]() -> std::string {
      std::raise(SIGSEGV);
      return {};
    }, "f.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(e.message(), "damaged HDF5 file: libhdf5 stopped with signal 11 while reading it (f.h5)");
  }
}

// The fuzz targets' mode: the same result and Error, from this process (the pid tells).
TEST(H5Read, WithoutIsolationTheWorkRunsHereAndAnswersTheSame) {
  h5::set_isolation_for_fuzzing(false);
  EXPECT_EQ(h5::run_isolated([] { return std::to_string(::getpid()); }, "f.h5"), std::to_string(::getpid()));
  try {
    h5::run_isolated([]() -> std::string { throw Error(ErrorCode::shape, "odd shape", "g.h5"); }, "f.h5");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
    EXPECT_EQ(e.message(), "odd shape (g.h5)");
  }
  h5::set_isolation_for_fuzzing(true);
  EXPECT_NE(h5::run_isolated([] { return std::to_string(::getpid()); }, "f.h5"), std::to_string(::getpid()));
}

TEST(H5Read, BytesRoundTrip) {
  h5::ByteWriter w;
  w.u64(7);
  w.str(std::string("a\0b", 3));
  const std::string b = w.take();
  h5::ByteReader r(b, "f");
  EXPECT_EQ(r.u64(), 7u);
  EXPECT_EQ(r.str(), std::string("a\0b", 3));
  EXPECT_TRUE(r.done());
  EXPECT_THROW(r.u64(), Error);
}

}  // namespace
}  // namespace flynet
