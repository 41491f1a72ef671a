# core/src/data: dataset readers and the batch pipeline (included by core/CMakeLists.txt).
# libjpeg and libpng: the standard decoders, packaged by Debian (libjpeg-dev is libjpeg-turbo).
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)
set(FLYNET_DATA_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/dataset_common.cpp
  ${CMAKE_CURRENT_LIST_DIR}/idx_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cifar_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_folder_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/h5_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/open_dataset.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batch_loader.cpp)
list(APPEND FLYNET_CORE_SOURCES ${FLYNET_DATA_SOURCES})
# Only the HDF5 reader sees the HDF5 headers and definitions.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/h5_dataset.cpp PROPERTIES
  INCLUDE_DIRECTORIES "${HDF5_INCLUDE_DIRS}"
  COMPILE_OPTIONS "${HDF5_DEFINITIONS}")
list(APPEND FLYNET_CORE_LIBS ZLIB::ZLIB JPEG::JPEG PNG::PNG TBB::tbb ${HDF5_CXX_LIBRARIES} ${HDF5_LIBRARIES})

# Loader throughput benchmark; not part of `all` (build it with --target flynet_data_loader_bench).
add_executable(flynet_data_loader_bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/../../../bench/data_loader_bench.cpp)
target_link_libraries(flynet_data_loader_bench PRIVATE flynet_core)
