# A missing library stops configure with one line naming its Debian package (issue 13: a fresh
# machine without ocl-icd-opencl-dev got a CMake stack from inside dnnl-config.cmake).
# Configures the project with OpenCL and TBB hidden from find_package and checks the message.
#   cmake -DSRC=<source dir> -DWORK=<scratch dir> -P missing_package.cmake
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${WORK} -DFLYNET_BUILD_TESTS=OFF
                        -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_TBB=TRUE
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(REMOVE_RECURSE ${WORK})
if(rc EQUAL 0)
  message(FATAL_ERROR "configure succeeded with OpenCL and TBB hidden")
endif()
string(REGEX MATCH "flynet: missing Debian packages: [^\n]*" line "${err}")
if(NOT line MATCHES "ocl-icd-opencl-dev" OR NOT line MATCHES "libtbb-dev" OR line MATCHES "libhdf5-dev")
  message(FATAL_ERROR "expected one line naming ocl-icd-opencl-dev and libtbb-dev (only), got:\n${err}")
endif()
if(err MATCHES "dnnl-config.cmake")
  message(FATAL_ERROR "the error still shows dnnl-config.cmake's own failure:\n${err}")
endif()
message(STATUS "configure stopped with: ${line}")
