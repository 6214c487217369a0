#ifndef ROBOTNI_RUNTIME_CLI_FLAG_CHECKS_H_
#define ROBOTNI_RUNTIME_CLI_FLAG_CHECKS_H_

// Checks for the command line that say what is allowed: numeric ranges ("--concurrency: got
// '0'; expected an integer >= 1", where CLI11's own print the bounds as 300-digit doubles) and
// unknown or missing subcommands ("unknown command 'foo'; the commands are: run, ...").

#include <CLI/CLI.hpp>

#include <string>

namespace robotni::cli {

// A number (an integer when `integer`) from `min` to `max` (inclusive; max < 0: no upper
// bound). The message names what is expected and what was given.
CLI::Validator NumberRange(double min, double max, bool integer);
inline CLI::Validator IntegerAtLeast(double min) { return NumberRange(min, -1, true); }
inline CLI::Validator NumberAtLeast(double min) { return NumberRange(min, -1, false); }

// For a parse error of `app`: when the command given was not one of its (sub)commands, or
// none was given where one is required, the message naming the ones there are; "" for any
// other error (CLI11's own message stands).
std::string SubcommandError(const CLI::App& app, const CLI::ParseError& error);

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_FLAG_CHECKS_H_
