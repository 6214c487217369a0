#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/robot_yaml.h"

namespace robotni::config {
namespace {

using Strings = std::vector<std::string>;

Strings Split(const std::string& line) {
  StatusOr<Strings> words = SplitShellLine(line);
  EXPECT_TRUE(words.ok()) << line << ": " << words.status().ToString();
  return words.ok() ? *words : Strings{"<error>"};
}

TEST(SplitShellLineTest, WhitespaceSeparatesWords) {
  EXPECT_EQ(Split("python -m robocorp.tasks run tasks.py"),
            (Strings{"python", "-m", "robocorp.tasks", "run", "tasks.py"}));
  EXPECT_EQ(Split("  a\t\tb \r\n c  "), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Split(""), Strings{});
  EXPECT_EQ(Split("   "), Strings{});
}

TEST(SplitShellLineTest, Quotes) {
  EXPECT_EQ(Split("run -t \"two words\""), (Strings{"run", "-t", "two words"}));
  EXPECT_EQ(Split("run -t 'two words'"), (Strings{"run", "-t", "two words"}));
  EXPECT_EQ(Split("--flag='x y'z"), (Strings{"--flag=x yz"}));
  EXPECT_EQ(Split("a\"b c\"d"), (Strings{"ab cd"}));
  EXPECT_EQ(Split("'' \"\""), (Strings{"", ""}));
  EXPECT_EQ(Split("'a \"b\" c'"), (Strings{"a \"b\" c"}));
  EXPECT_EQ(Split("\"it's\""), (Strings{"it's"}));
}

TEST(SplitShellLineTest, BackslashEscapes) {
  EXPECT_EQ(Split("a\\ b c"), (Strings{"a b", "c"}));
  EXPECT_EQ(Split("\\\"x\\\""), (Strings{"\"x\""}));
  EXPECT_EQ(Split("\"say \\\"hi\\\"\""), (Strings{"say \"hi\""}));
  // google/shlex: inside "..." a backslash keeps whatever follows it.
  EXPECT_EQ(Split("\"a\\b\""), (Strings{"ab"}));
  // Inside '...' a backslash is literal.
  EXPECT_EQ(Split("'a\\b'"), (Strings{"a\\b"}));
}

TEST(SplitShellLineTest, CommentsStartOnlyAtAWord) {
  EXPECT_EQ(Split("python a.py # run it"), (Strings{"python", "a.py"}));
  EXPECT_EQ(Split("python a#b"), (Strings{"python", "a#b"}));
  EXPECT_EQ(Split("# all comment"), Strings{});
  EXPECT_EQ(Split("a # c\nb"), (Strings{"a", "b"}));
}

TEST(SplitShellLineTest, UnterminatedIsInvalidArgument) {
  for (const char* line : {"python -c \"print(1)", "python -c 'x", "ends with \\", "\"a\\"}) {
    StatusOr<Strings> words = SplitShellLine(line);
    ASSERT_FALSE(words.ok()) << line;
    EXPECT_TRUE(words.status().IsInvalidArgument()) << line;
  }
  EXPECT_NE(SplitShellLine("x 'y").status().message().find("unterminated single quote"),
            std::string::npos);
}

}  // namespace
}  // namespace robotni::config
