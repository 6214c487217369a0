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

// nlohmann's DOM builder, stopped past max_depth levels.
class DepthLimitedDom {
 public:
  using json = nlohmann::json;
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  DepthLimitedDom(json* out, int max_depth)
      : dom_(*out, /*allow_exceptions=*/false), max_(max_depth) {}
  bool too_deep() const { return too_deep_; }
  bool errored() const { return dom_.is_errored(); }

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return dom_.number_float(v, s); }
  bool string(string_t& v) { return dom_.string(v); }
  bool binary(binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return Enter() && dom_.start_object(n); }
  bool key(string_t& k) { return dom_.key(k); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return Enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t at, const std::string& token, const Exception& e) {
    return dom_.parse_error(at, token, e);
  }

 private:
  bool Enter() {
    if (++depth_ > max_) too_deep_ = true;
    return !too_deep_;
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
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

bool ParseJsonWithin(std::string_view text, nlohmann::json* out, bool* too_deep, int max_depth) {
  *out = nlohmann::json();
  DepthLimitedDom dom(out, max_depth);
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &dom,
                                      nlohmann::json::input_format_t::json, /*strict=*/true);
  if (too_deep) *too_deep = dom.too_deep();
  if (ok && !dom.too_deep() && !dom.errored()) return true;
  *out = nlohmann::json(nlohmann::json::value_t::discarded);
  return false;
}

}  // namespace robotni
