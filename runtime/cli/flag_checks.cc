#include "cli/flag_checks.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace robotni::cli {

namespace {

std::string Number(double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.15g", v);
  return buf;
}

// "run, tasks, items, serve or version": the visible subcommands of `app`.
std::string Commands(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) {
         return !s->get_group().empty();  // hidden ones (worker) have no group
       }))
    names.push_back(sub->get_name());
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

}  // namespace

CLI::Validator NumberRange(double min, double max, bool integer) {
  std::string expected =
      std::string(integer ? "an integer" : "a number") +
      (max < 0 ? " >= " + Number(min) : " from " + Number(min) + " to " + Number(max));
  // --help shows "INT:>=1" (CLI11 puts the type first).
  std::string description =
      max < 0 ? ">=" + Number(min) : "[" + Number(min) + ", " + Number(max) + "]";
  return CLI::Validator(
      [=](std::string& input) -> std::string {
        char* end = nullptr;
        double v = strtod(input.c_str(), &end);
        bool number = !input.empty() && *end == '\0' && std::isfinite(v);
        if (number && (!integer || v == std::floor(v)) && v >= min && (max < 0 || v <= max))
          return "";
        return "got '" + input + "'; expected " + expected;
      },
      description);
}

std::string SubcommandError(const CLI::App& app, const CLI::ParseError& error) {
  // The innermost command that was given: its own subcommands are the ones in question.
  const CLI::App* at = &app;
  std::string path = "robotni";
  for (;;) {
    auto given = at->get_subcommands();
    if (given.empty()) break;
    at = given.front();
    path += " " + at->get_name();
  }
  std::string commands = Commands(*at);
  if (commands.empty()) return "";
  std::vector<std::string> rest = at->remaining();
  if (!rest.empty() && !rest.front().empty() && rest.front()[0] != '-')
    return path + ": unknown command '" + rest.front() + "'; the commands are: " + commands;
  if (dynamic_cast<const CLI::RequiredError*>(&error) && at->get_subcommands().empty())
    return path + ": a command is required: " + commands + " (" + path + " --help)";
  return "";
}

}  // namespace robotni::cli
