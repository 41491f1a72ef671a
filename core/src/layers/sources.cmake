# Layers: one op per file, forward and backward together. OpenMP because oneDNN 2.6 (Debian)
# runs on OpenMP and the hand-written loops share its thread pool.
find_package(OpenMP REQUIRED)
list(APPEND FLYNET_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/make_layer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/onednn.cpp
  ${CMAKE_CURRENT_LIST_DIR}/conv2d.cpp
  ${CMAKE_CURRENT_LIST_DIR}/depthwise.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batchnorm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/activation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/va_eca.cpp
  ${CMAKE_CURRENT_LIST_DIR}/head_reduce.cpp
  ${CMAKE_CURRENT_LIST_DIR}/add.cpp
  ${CMAKE_CURRENT_LIST_DIR}/global_avg_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/linear.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scale_channels.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dropout.cpp)
list(APPEND FLYNET_CORE_LIBS DNNL::dnnl OpenMP::OpenMP_CXX)
