// The archive writers' byte layout: ustar headers and path splitting, zip's CRC-32 and
// records, compressors round-tripping through the system's bzip2 and zstd libraries.
#include <bzlib.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include "package/compress.h"
#include "package/tar_writer.h"
#include "package/zip_writer.h"

namespace robotni::package {
namespace {

TEST(ArchiveTest, TarHeaderFields) {
  TarWriter tar;
  ASSERT_TRUE(tar.Add("dir/file.txt", "hello", /*executable=*/true).ok());
  std::string t = tar.Finish();
  ASSERT_EQ(t.size(), 512u * 4);  // header, data block, two end blocks
  EXPECT_EQ(t.substr(0, 13), std::string("dir/file.txt\0", 13));
  EXPECT_EQ(t.substr(100, 7), "0000755");
  EXPECT_EQ(t.substr(124, 11), "00000000005");
  EXPECT_EQ(t.substr(136, 11), "00000000000");  // mtime 0
  EXPECT_EQ(t[156], '0');
  EXPECT_EQ(t.substr(257, 6), std::string("ustar\0", 6));
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)t[i];
  EXPECT_EQ(std::stoul(t.substr(148, 6), nullptr, 8), sum);
  EXPECT_EQ(t.substr(512, 5), "hello");
}

TEST(ArchiveTest, TarSplitsLongPathsAndRefusesTooLongOnes) {
  TarWriter tar;
  std::string dir(120, 'd'), name(90, 'n');
  ASSERT_TRUE(tar.Add(dir + "/" + name, "", false).ok());
  std::string t = tar.Finish();
  EXPECT_EQ(t.substr(0, 90), name);
  EXPECT_EQ(t.substr(345, 120), dir);
  TarWriter too_long;
  Status s = too_long.Add(std::string(101, 'x'), "", false);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("does not fit a tar (ustar) header"), std::string::npos);
}

TEST(ArchiveTest, ZipCrcAndRecords) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  ZipWriter zip;
  ASSERT_TRUE(zip.Add("a.json", "{}").ok());
  std::string z = zip.Finish();
  EXPECT_EQ(z.substr(0, 4), std::string("PK\3\4"));
  EXPECT_EQ(z.substr(30, 6), "a.json");
  EXPECT_EQ(z.substr(36, 2), "{}");
  EXPECT_EQ(z.substr(z.size() - 22, 4), std::string("PK\5\6"));
}

TEST(ArchiveTest, CompressorsRoundTrip) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += std::to_string(i) + ",";
  auto bz = Bzip2(data);
  ASSERT_TRUE(bz.ok());
  std::string back(data.size(), '\0');
  unsigned int n = static_cast<unsigned int>(back.size());
  ASSERT_EQ(BZ2_bzBuffToBuffDecompress(back.data(), &n, bz->data(),
                                       static_cast<unsigned int>(bz->size()), 0, 0),
            BZ_OK);
  EXPECT_EQ(back.substr(0, n), data);
  auto zs = Zstd(data);
  ASSERT_TRUE(zs.ok());
  std::string back2(data.size(), '\0');
  EXPECT_EQ(ZSTD_decompress(back2.data(), back2.size(), zs->data(), zs->size()), data.size());
  EXPECT_EQ(back2, data);
  EXPECT_EQ(*Zstd(data), *zs) << "the same input gives the same bytes";
}

}  // namespace
}  // namespace robotni::package
