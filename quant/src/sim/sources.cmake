# sim/: what the int8 graph computes, without running quant/ref: the fake-quant simulation in the
# kernels' integer arithmetic and in real arithmetic (fake_quant_sim.cpp, with one function per op
# and arithmetic in the sim_*.cpp files by op family, sim_ops.hpp their private header), float vs
# fake-quant vs int8 on a data set (compare.cpp), and the error and agreement metrics (metrics.cpp).
list(APPEND FLYNET_QUANT_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/fake_quant_sim.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_activation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_basic_math.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_convolution.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_pooling.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_reshape.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sim_vaeca.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compare.cpp
  ${CMAKE_CURRENT_LIST_DIR}/metrics.cpp)
