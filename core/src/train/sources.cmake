# Training: the graph executor, loss, optimizers, schedules, the trainer loop and flynet
# train's work around it (train_model.cpp).
list(APPEND FLYNET_CORE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/net.cpp
  ${CMAKE_CURRENT_LIST_DIR}/loss.cpp
  ${CMAKE_CURRENT_LIST_DIR}/optim.cpp
  ${CMAKE_CURRENT_LIST_DIR}/schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/trainer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/train_model.cpp)
list(APPEND FLYNET_CORE_LIBS DNNL::dnnl TBB::tbb)
