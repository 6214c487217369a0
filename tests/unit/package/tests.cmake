robotni_test(package_test
  tests/unit/package/conda_metadata_test.cc
  tests/unit/package/archive_test.cc
  tests/unit/package/archive_reader_test.cc)
target_link_libraries(package_test PRIVATE robotni_package)
target_link_libraries(package_test PRIVATE BZip2::BZip2 PkgConfig::ZSTD)
