#include "core/json_limits.h"

#include <nlohmann/json.hpp>

namespace robotni {

namespace {

// Counts nesting; returning false from a start_* callback stops the parse there.
class DepthCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DepthCheck(int max_depth) : max_(max_depth) {}
  bool too_deep() const { return too_deep_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return Enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Enter() {
    if (++depth_ > max_) too_deep_ = true;
    return !too_deep_;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  const int max_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// Runs the check over `text`: false when it is not valid JSON or nests too deep.
bool Check(std::string_view text, DepthCheck* check) {
  return nlohmann::json::sax_parse(text.begin(), text.end(), check,
                                   nlohmann::json::input_format_t::json, /*strict=*/true);
}

}  // namespace

std::string JsonTooDeepMessage(int max_depth) {
  return "is nested deeper than " + std::to_string(max_depth) + " levels (the limit)";
}

std::string JsonDepthProblem(std::string_view text, int max_depth) {
  DepthCheck check(max_depth);
  bool ok = Check(text, &check);
  if (check.too_deep()) return JsonTooDeepMessage(max_depth);
  if (!ok) return "is not valid JSON";
  return std::string();
}

bool JsonNestedTooDeep(std::string_view text, int max_depth) {
  DepthCheck check(max_depth);
  (void)Check(text, &check);
  return check.too_deep();
}

}  // namespace robotni
