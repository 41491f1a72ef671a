# The qemu MPS2/MPS3 boards the firmware supports: board -> -mcpu, linker script and float ABI.
#   flyref_mps2_board(<an385|an386|an500|an505|an547> <mcpu-var> <linker-script-var> [<float-abi-var>])
# The float ABI is "soft" except on the an547 (Cortex-M55), where "hard" enables the FPU and MVE
# (Helium) in the compiler: with -mfloat-abi=soft gcc leaves __ARM_FEATURE_MVE undefined. The
# startup code then enables the coprocessors (CPACR) before any FP or MVE instruction runs.
function(flyref_mps2_board board mcpu_var ld_var)
  #                 -mcpu       linker script   float ABI
  set(_board_an385  cortex-m3   mps2.ld         soft)
  set(_board_an386  cortex-m4   mps2.ld         soft)
  set(_board_an500  cortex-m7   mps2.ld         soft)
  set(_board_an505  cortex-m33  mps2_an505.ld   soft)
  set(_board_an547  cortex-m55  mps3_an547.ld   hard)
  if(NOT DEFINED _board_${board})
    message(FATAL_ERROR "the board must be an385 (Cortex-M3), an386 (Cortex-M4), an500 (Cortex-M7), an505 (Cortex-M33) or an547 (Cortex-M55), not '${board}'")
  endif()
  list(GET _board_${board} 0 _cpu)
  list(GET _board_${board} 1 _ld)
  list(GET _board_${board} 2 _abi)
  set(${mcpu_var} ${_cpu} PARENT_SCOPE)
  set(${ld_var} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${_ld} PARENT_SCOPE)
  if(ARGC GREATER 3)
    set(${ARGV3} ${_abi} PARENT_SCOPE)
  endif()
endfunction()
