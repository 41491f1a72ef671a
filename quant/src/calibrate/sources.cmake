# calibrate/: activation ranges from the float model (flynet calibrate): the five range observers
# (observer.cpp) and the calibration pass over a data set (calibrate.cpp).
list(APPEND FLYNET_QUANT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/observer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calibrate.cpp)
