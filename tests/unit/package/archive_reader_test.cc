// The archive readers `robotni env create` uses, against the writers and known vectors:
// tar and zip round trips, a flipped byte or a cut archive is an error, bzip2 and zstd
// round trips and their limits, MD5's RFC 1321 test vectors.
#include <gtest/gtest.h>

#include "package/compress.h"
#include "package/decompress.h"
#include "package/md5.h"
#include "package/tar_reader.h"
#include "package/tar_writer.h"
#include "package/zip_reader.h"
#include "package/zip_writer.h"

namespace robotni::package {
namespace {

TEST(ArchiveReaderTest, TarRoundTrip) {
  TarWriter w;
  std::string long_dir(120, 'd');
  ASSERT_TRUE(w.Add("a.txt", "alpha", false).ok());
  ASSERT_TRUE(w.Add(long_dir + "/bin/run.sh", "#!/bin/sh\n", true).ok());
  std::string tar = w.Finish();
  auto entries = ReadTar(tar);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].path, "a.txt");
  EXPECT_EQ((*entries)[0].data, "alpha");
  EXPECT_EQ((*entries)[0].mode, 0644u);
  EXPECT_EQ((*entries)[1].path, long_dir + "/bin/run.sh");  // ustar prefix + name
  EXPECT_EQ((*entries)[1].mode, 0755u);
  std::string bad = tar;
  bad[10] ^= 1;
  EXPECT_FALSE(ReadTar(bad).ok());
  EXPECT_FALSE(ReadTar(tar.substr(0, 700)).ok());
}

TEST(ArchiveReaderTest, ZipRoundTripAndCrc) {
  ZipWriter w;
  ASSERT_TRUE(w.Add("metadata.json", "{}").ok());
  ASSERT_TRUE(w.Add("pkg-x.tar.zst", std::string(1000, 'z')).ok());
  std::string zip = w.Finish();
  auto entries = ReadStoredZip(zip);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  EXPECT_EQ(entries->at("metadata.json"), "{}");
  EXPECT_EQ(entries->at("pkg-x.tar.zst"), std::string(1000, 'z'));
  std::string bad = zip;
  bad[bad.find("zzz")] = 'y';
  auto crc = ReadStoredZip(bad);
  ASSERT_FALSE(crc.ok());
  EXPECT_NE(crc.status().message().find("CRC-32"), std::string::npos);
  EXPECT_FALSE(ReadStoredZip(zip.substr(0, zip.size() / 2)).ok());
  EXPECT_FALSE(ReadStoredZip("not a zip at all, but long enough to look").ok());
}

TEST(ArchiveReaderTest, CompressorsRoundTripWithLimits) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i);
  auto bz = Bzip2(data);
  ASSERT_TRUE(bz.ok());
  auto back = Bunzip2(*bz);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, data);
  EXPECT_FALSE(Bunzip2(*bz, 1000).ok());
  EXPECT_FALSE(Bunzip2(bz->substr(0, bz->size() / 2)).ok());
  EXPECT_FALSE(Bunzip2("garbage").ok());
  auto zs = Zstd(data, 3);
  ASSERT_TRUE(zs.ok());
  auto back2 = Unzstd(*zs);
  ASSERT_TRUE(back2.ok()) << back2.status().message();
  EXPECT_EQ(*back2, data);
  EXPECT_FALSE(Unzstd(*zs, 1000).ok());
  EXPECT_FALSE(Unzstd(zs->substr(0, zs->size() / 2)).ok());
  EXPECT_FALSE(Unzstd("garbage").ok());
}

TEST(ArchiveReaderTest, Md5Rfc1321Vectors) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Md5Hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Md5Hex("12345678901234567890123456789012345678901234567890123456789012345678901234"
                   "567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
  EXPECT_EQ(Md5Hex(std::string(56, 'a')), "3b0c8ac703f828b04c6c197006d17218");
}

}  // namespace
}  // namespace robotni::package
