# deploy/: from the int8 graph to the device: the offline arena plan (arena_plan.cpp), the .fly
# export (export.cpp), what a model holds (info.cpp: flynet info, a .fly file's flash and RAM and
# the other kinds of model), flynet verify on the host (verify.cpp) and on an emulated Cortex-M
# (target_qemu.cpp, with the firmware sources the binary carries: firmware_dir.cpp).
list(APPEND FLYNET_QUANT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/arena_plan.cpp
  ${CMAKE_CURRENT_LIST_DIR}/export.cpp
  ${CMAKE_CURRENT_LIST_DIR}/info.cpp
  ${CMAKE_CURRENT_LIST_DIR}/verify.cpp
  ${CMAKE_CURRENT_LIST_DIR}/target_qemu.cpp
  ${CMAKE_CURRENT_LIST_DIR}/target_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/firmware_dir.cpp)
