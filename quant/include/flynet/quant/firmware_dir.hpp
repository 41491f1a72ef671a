// Where `flynet verify --target` finds the firmware sources it builds (examples/cortex-m/model
// and fw, quant/ref, formats/include/flynet_format.h, in the source tree's layout): the binary
// carries them beside itself, as <bin>/../share/flynet/firmware. `cmake --install` puts them
// there and the build tree stages the same copy (build/share/flynet/firmware), so neither an
// installed nor a freshly built flynet reaches back into the source tree it came from.
#pragma once

#include <string>

namespace flynet {

/// $FLYNET_FIRMWARE_DIR when set, else <directory of this executable>/../share/flynet/firmware
/// when it holds examples/cortex-m/model; empty when neither exists.
std::string installed_firmware_dir();

}  // namespace flynet
