# robotni_package: `robotni package` (conda packages of robots) and `robotni env create`. A
# library of its own so that only the robotni binary and its tests link bzip2 and zstd, not librobotni.
find_package(BZip2 REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
add_library(robotni_package STATIC
  runtime/package/compress.cc
  runtime/package/conda_install.cc
  runtime/package/decompress.cc
  runtime/package/md5.cc
  runtime/package/read_all.cc
  runtime/package/conda_metadata.cc
  runtime/package/conda_package.cc
  runtime/package/robot_files.cc
  runtime/package/tar_reader.cc
  runtime/package/tar_writer.cc
  runtime/package/zip_reader.cc
  runtime/package/zip_writer.cc)
target_link_libraries(robotni_package PUBLIC robotni_runtime PRIVATE BZip2::BZip2 PkgConfig::ZSTD)
