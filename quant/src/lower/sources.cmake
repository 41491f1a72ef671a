# lower/: float model + ranges -> int8 graph (flynet quantize): BN folding, per-channel weights,
# requantization parameters (lower.cpp), and the two optional improvements run around it,
# cross-layer equalization (equalize.cpp) and empirical bias correction (bias_correction.cpp).
list(APPEND FLYNET_QUANT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/lower.cpp
  ${CMAKE_CURRENT_LIST_DIR}/equalize.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bias_correction.cpp)
