// Tests for the multipart/form-data parser used by file uploads.
#include "http/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace robotni::http {
namespace {

TEST(MultipartBoundaryTest, ReadsPlainAndQuotedBoundaries) {
  std::string b, err;
  ASSERT_TRUE(MultipartBoundary("multipart/form-data; boundary=abc123", &b, &err)) << err;
  EXPECT_EQ(b, "abc123");
  ASSERT_TRUE(MultipartBoundary("Multipart/Form-Data;boundary=\"a b;c\"", &b, &err)) << err;
  EXPECT_EQ(b, "a b;c");
  ASSERT_TRUE(MultipartBoundary("multipart/form-data; charset=utf-8; boundary=x", &b, &err));
  EXPECT_EQ(b, "x");
}

TEST(MultipartBoundaryTest, RefusesOtherTypesAndBadBoundaries) {
  std::string b, err;
  EXPECT_FALSE(MultipartBoundary("application/json", &b, &err));
  EXPECT_FALSE(MultipartBoundary("", &b, &err));
  EXPECT_FALSE(MultipartBoundary("multipart/form-data", &b, &err));
  EXPECT_NE(err.find("boundary"), std::string::npos);
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=", &b, &err));
  EXPECT_FALSE(
      MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x'), &b, &err));
}

TEST(MultipartTest, ParsesFieldsAndFilesWithBinaryContent) {
  std::string binary("a\0b\r\nc--x", 9);
  std::string body =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n"
      "\r\n"
      "hello\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"data.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n" +
      binary +
      "\r\n"
      "--XyZ--\r\n";
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(ParseMultipart(body, "XyZ", &parts, &err)) << err;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "note");
  EXPECT_FALSE(parts[0].has_filename);
  EXPECT_EQ(parts[0].body, "hello");
  EXPECT_EQ(parts[1].name, "file");
  EXPECT_TRUE(parts[1].has_filename);
  EXPECT_EQ(parts[1].filename, "data.bin");
  EXPECT_EQ(parts[1].content_type, "application/octet-stream");
  EXPECT_EQ(parts[1].body, binary);
}

TEST(MultipartTest, IgnoresPreambleAndEpilogueAndAcceptsEmptyParts) {
  std::string body =
      "preamble text\r\n"
      "--b\r\n"
      "Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n"
      "\r\n"
      "\r\n"
      "--b--\r\n"
      "epilogue";
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(ParseMultipart(body, "b", &parts, &err)) << err;
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "empty");
  EXPECT_TRUE(parts[0].has_filename);
  EXPECT_EQ(parts[0].filename, "");
  EXPECT_EQ(parts[0].body, "");
}

TEST(MultipartTest, FilenameEscapesAndExtendedFilename) {
  std::string body =
      "--b\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\";b.txt\"\r\n"
      "\r\n"
      "x\r\n"
      "--b\r\n"
      "content-disposition: form-data; name=file2; filename=\"ignored\"; "
      "filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n"
      "\r\n"
      "y\r\n"
      "--b--";
  std::vector<MultipartPart> parts;
  std::string err;
  ASSERT_TRUE(ParseMultipart(body, "b", &parts, &err)) << err;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].filename, "a \"q\";b.txt");
  EXPECT_EQ(parts[1].name, "file2");
  EXPECT_EQ(parts[1].filename, "r\xC3\xA9sum\xC3\xA9.txt");
}

TEST(MultipartTest, RefusesMalformedBodies) {
  const char* cd = "Content-Disposition: form-data; name=\"f\"\r\n";
  std::vector<std::pair<const char*, std::string>> bad = {
      {"empty", ""},
      {"no opening boundary", "hello world"},
      {"no closing boundary", std::string("--b\r\n") + cd + "\r\ndata"},
      {"unterminated headers", std::string("--b\r\n") + cd},
      {"header without colon", "--b\r\nbogus header\r\n\r\nx\r\n--b--"},
      {"no content-disposition", "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"},
      {"not form-data", "--b\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--"},
      {"junk after boundary", std::string("--bjunk\r\n") + cd + "\r\nx\r\n--b--"},
  };
  for (const auto& [why, body] : bad) {
    std::vector<MultipartPart> parts;
    std::string err;
    EXPECT_FALSE(ParseMultipart(body, "b", &parts, &err)) << why;
    EXPECT_FALSE(err.empty()) << why;
  }
}

TEST(HeaderParamsTest, SplitsTokenAndParameters) {
  std::string token;
  std::vector<std::pair<std::string, std::string>> params;
  ParseHeaderParams("Form-Data; Name=\"a;b\" ; filename=c.txt;flag", &token, &params);
  EXPECT_EQ(token, "form-data");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"name", "a;b"}));
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"filename", "c.txt"}));
  EXPECT_EQ(params[2].first, "flag");
}

}  // namespace
}  // namespace robotni::http
