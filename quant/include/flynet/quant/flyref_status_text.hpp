// What a quant/ref status means, in words for an error line (flyref_status_str gives the C
// enum's name, which says nothing to a user).
#ifndef FLYNET_QUANT_FLYREF_STATUS_TEXT_HPP_
#define FLYNET_QUANT_FLYREF_STATUS_TEXT_HPP_

#include <string>

#include "flyref.h"

namespace flynet {

inline std::string flyref_status_text(flyref_status s) {
  switch (s) {
    case FLYREF_OK: return "no error";
    case FLYREF_ARG_ERROR: return "a parameter is out of the kernel's range";
    case FLYREF_NO_IMPL: return "an unknown or unimplemented op";
    case FLYREF_FORMAT_ERROR: return "a malformed graph (tensor index, type or arity)";
    case FLYREF_ARENA_TOO_SMALL: return "the arena or scratch buffer is too small";
    case FLYREF_SHAPE_ERROR: return "tensor shapes that do not fit the op";
    case FLYREF_MODEL_TRUNCATED: return "the file is truncated";
    case FLYREF_MODEL_BAD_MAGIC: return "not a .fly file";
    case FLYREF_MODEL_UNSUPPORTED_VERSION: return "a .fly version this flynet does not read";
    case FLYREF_MODEL_BAD_HEADER: return "a bad header (section count, size or flags)";
    case FLYREF_MODEL_HEADER_CRC: return "the header's CRC does not match (corrupted)";
    case FLYREF_MODEL_PAYLOAD_CRC: return "the sections' CRC does not match (corrupted)";
    case FLYREF_MODEL_BAD_SECTION: return "a section is missing, repeated, misplaced or of a wrong size";
    case FLYREF_MODEL_BAD_TENSOR: return "a bad tensor record";
    case FLYREF_MODEL_BAD_CONSTANTS: return "constant data does not fill its section";
    case FLYREF_MODEL_BAD_OP: return "a bad op record";
    case FLYREF_MODEL_BAD_INDEX: return "a tensor index out of range or of the wrong kind";
    case FLYREF_MODEL_BAD_PLAN: return "an arena offset misaligned or past the arena";
    case FLYREF_MODEL_TABLES_TOO_SMALL: return "the loader's table memory is too small";
  }
  return "unknown status " + std::to_string(int(s));
}

}  // namespace flynet

#endif  // FLYNET_QUANT_FLYREF_STATUS_TEXT_HPP_
