# CMake toolchain file for arm-none-eabi-gcc (Debian gcc-arm-none-eabi + libnewlib-arm-none-eabi).
# The CPU comes from FLYREF_MCPU, or from the board FLYREF_MPS2_MACHINE (an385 Cortex-M3,
# an386 Cortex-M4, an500 Cortex-M7, an505 Cortex-M33, an547 Cortex-M55), or defaults to the
# Cortex-M4. The float ABI comes from FLYREF_FLOAT_ABI, or from the board (hard on the an547, so
# that gcc enables MVE), or is soft.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
if(NOT FLYREF_MCPU)
  include(${CMAKE_CURRENT_LIST_DIR}/mps2_boards.cmake)
  if(NOT FLYREF_MPS2_MACHINE)
    set(FLYREF_MPS2_MACHINE an386)
  endif()
  flyref_mps2_board(${FLYREF_MPS2_MACHINE} FLYREF_MCPU _flyref_unused_ld _flyref_board_abi)
  if(NOT FLYREF_FLOAT_ABI)
    set(FLYREF_FLOAT_ABI ${_flyref_board_abi})
  endif()
endif()
if(NOT FLYREF_FLOAT_ABI)
  set(FLYREF_FLOAT_ABI soft)
endif()
set(CMAKE_C_FLAGS_INIT "-mcpu=${FLYREF_MCPU} -mthumb -mfloat-abi=${FLYREF_FLOAT_ABI} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-mcpu=${FLYREF_MCPU} -mthumb -mfloat-abi=${FLYREF_FLOAT_ABI} --specs=nano.specs --specs=nosys.specs -nostartfiles -Wl,--gc-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
