#include "flyref.h"

const char *flyref_status_str(flyref_status s)
{
    switch (s) {
    case FLYREF_OK: return "FLYREF_OK";
    case FLYREF_ARG_ERROR: return "FLYREF_ARG_ERROR";
    case FLYREF_NO_IMPL: return "FLYREF_NO_IMPL";
    case FLYREF_FORMAT_ERROR: return "FLYREF_FORMAT_ERROR";
    case FLYREF_ARENA_TOO_SMALL: return "FLYREF_ARENA_TOO_SMALL";
    case FLYREF_SHAPE_ERROR: return "FLYREF_SHAPE_ERROR";
    }
    return "FLYREF_UNKNOWN_STATUS";
}
