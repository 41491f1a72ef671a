# run/: the int8 graph on the C99 integer reference: its tables (flyref_tables.cpp), the in-memory
# runner on the offline plan (int_runner.cpp) and a .fly file run exactly as the device runs it
# (fly_runner.cpp).
list(APPEND FLYNET_QUANT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/flyref_tables.cpp
  ${CMAKE_CURRENT_LIST_DIR}/int_runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fly_runner.cpp)
