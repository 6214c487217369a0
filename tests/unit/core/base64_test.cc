// Base64 on libcrypto: RFC 4648 vectors, no newlines in long output, binary round trips and
// the refusals robotni documents (bad length, characters, padding).
#include "core/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace robotni {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {{"", ""},
                                                          {"f", "Zg=="},
                                                          {"fo", "Zm8="},
                                                          {"foo", "Zm9v"},
                                                          {"foob", "Zm9vYg=="},
                                                          {"fooba", "Zm9vYmE="},
                                                          {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    std::string back = "stale";
    EXPECT_TRUE(Base64Decode(encoded, &back)) << encoded;
    EXPECT_EQ(back, plain);
  }
}

TEST(Base64Test, BinaryRoundTripsWithoutNewlines) {
  std::string data;
  for (int i = 0; i < 3000; ++i) data += static_cast<char>(i * 31);
  data += std::string("\0\xff\xfe", 3);
  for (size_t len : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{47}, size_t{48}, size_t{49},
                     data.size()}) {
    std::string part = data.substr(0, len);
    std::string text = Base64Encode(part);
    EXPECT_EQ(text.size(), (len + 2) / 3 * 4);
    EXPECT_EQ(text.find_first_of("\r\n"), std::string::npos) << len;
    std::string back;
    ASSERT_TRUE(Base64Decode(text, &back)) << len;
    EXPECT_EQ(back, part) << len;
  }
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff", 2)), "+/8=");  // the standard alphabet
}

TEST(Base64Test, RefusesWhatIsNotCanonicalBase64) {
  std::string out;
  for (const char* bad : {"Zg=", "Zm9", "Zm9vY", " Zm9v", "Zm9v ", "Zm9v\n", "Zm-_",
                          "Z===", "====", "Zg==Zm9v", "Zm=v", "Zm9v\r\n"}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
  EXPECT_FALSE(Base64Decode(std::string("Zg\0=", 4), &out));
}

}  // namespace
}  // namespace robotni
