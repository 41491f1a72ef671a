# Training: the graph executor, loss, optimizers, schedules and the trainer loop.
list(APPEND FLYNET_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/net.cpp
  ${CMAKE_CURRENT_LIST_DIR}/loss.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optim.cpp
  ${CMAKE_CURRENT_LIST_DIR}/schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trainer.cpp)
list(APPEND FLYNET_CORE_LIBS DNNL::dnnl TBB::tbb)
