// `robotni items`: inspect and manage the work-item store (docs/items-cli.md). Thin: flags ->
// RuntimeOptions -> the Runtime's work-item calls -> text, JSON or JSON lines. The runtime
// opened here never starts CPython.
//
// Exit codes: 0 ok; 1 the store cannot be found or opened, or another store / I/O
// error; 2 bad arguments or bad input (payload, import lines); 3 the item is in the
// wrong state for the operation (e.g. retry of a PENDING item); 4 no such item id.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "cli/action_server_import.h"
#include "cli/commands.h"
#include "cli/items_format.h"
#include "cli/robot_loader.h"
#include "cli/store_flag.h"
#include "core/json_limits.h"
#include "robotni/runtime.h"

namespace robotni::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

enum ItemsExit {
  kItemsOk = 0,
  kItemsStoreError = 1,
  kItemsBadInput = 2,
  kItemsWrongState = 3,
  kItemsUnknownId = 4,
};

// Options every `items` subcommand takes.
struct CommonFlags {
  std::string store;
  std::string robot = "robot.yaml";
  bool json = false;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(int code, const std::string& message) {
  PrintError(message);
  return code;
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return kItemsOk;
    case Status::Code::kNotFound:
      return kItemsUnknownId;
    case Status::Code::kInvalidArgument:
      return kItemsBadInput;
    case Status::Code::kConflict:
      return kItemsWrongState;
    default:
      return kItemsStoreError;
  }
}

int FailStatus(const Status& s) { return Fail(ExitFor(s), s.message()); }

void PrintJson(const json& j) {
  std::string text = j.dump(2, ' ', false, json::error_handler_t::replace);
  fwrite(text.data(), 1, text.size(), stdout);
  fputc('\n', stdout);
}

void PrintText(const std::string& text) { fwrite(text.data(), 1, text.size(), stdout); }

// Integer option given as text, so that a bad value exits 2 with our message.
std::optional<int64_t> ParseInt(const std::string& flag, const std::string& text, int64_t min,
                                int64_t max) {
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
    PrintError(flag + ": expected an integer from " + std::to_string(min) + " to " +
               std::to_string(max) + ", got '" + text + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<double> ParseSeconds(const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  double v = strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !(v >= 0) || v > 1e11) {
    PrintError(flag + ": expected a number of seconds >= 0, got '" + text + "'");
    return std::nullopt;
  }
  return v;
}

StatusOr<std::string> ReadStream(std::istream& in, const std::string& what) {
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError("cannot read " + what);
  return data;
}

StatusOr<std::string> ReadFileOrStdin(const std::string& path) {
  if (path == "-") return ReadStream(std::cin, "standard input");
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::InvalidArgument(path + " is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::InvalidArgument("cannot read " + path + ": " + strerror(errno));
  return ReadStream(f, path);
}

enum class Access { kExisting, kCreate };

// A runtime over the store the flags name: --store, else RC_WORKITEM_DB_PATH (relative to
// the robot root, or to the working directory when there is no robot.yaml), else
// <robot root>/.robotni/workitems.db, exactly as `robotni run` resolves it. Commands that
// only read or change existing items refuse to create a new, empty database. The store is
// opened here, so that its errors exit 1 whatever the command's own errors map to (and, as
// any runtime does, it gives items held by runs that died on this host back to the queue).
// Prints the error and sets *code on failure.
std::unique_ptr<Runtime> OpenRuntime(const CommonFlags& f, Access access, int* code) {
  *code = kItemsStoreError;
  RuntimeOptions options;
  options.concurrency = 1;
  options.create_store_if_missing = access == Access::kCreate;
  std::error_code ec;
  if (!f.store.empty()) {
    if (Status s = CheckStoreDirectory(f.store, "--store"); !s.ok()) {
      PrintError(s.message());
      return nullptr;
    }
    options.store = f.store;
  } else if (fs::is_regular_file(f.robot, ec)) {
    options.store = DefaultStoreUrl(f.robot);  // robot.yaml need not be a valid one
  } else if (const char* env = getenv("RC_WORKITEM_DB_PATH"); env && *env) {
    options.store = std::string_view(env).find("://") != std::string_view::npos
                        ? std::string(env)  // a URL (postgresql://...), as given
                        : fs::absolute(env, ec).lexically_normal().string();
  } else {
    PrintError("no work-item store given and no robot.yaml at " +
               fs::absolute(f.robot, ec).lexically_normal().string() +
               ": pass --store sqlite:///path/workitems.db, set RC_WORKITEM_DB_PATH, or run in "
               "the robot's directory (or -r path/to/robot.yaml)");
    return nullptr;
  }
  auto rt = Runtime::Open(options);
  if (!rt.ok()) {
    PrintError(rt.status().message());
    return nullptr;
  }
  if (Status s = (*rt)->OpenStore(); !s.ok()) {
    if (s.IsNotFound() && access == Access::kExisting)
      PrintError(s.message() + " (nothing has been queued there yet)");
    else
      PrintError("cannot open the work-item store " + (*rt)->StoreUrl() + ": " + s.message());
    return nullptr;
  }
  *code = kItemsOk;
  return std::move(rt).value();
}

// Registers a subcommand with the common options. Extra arguments are collected
// (not refused by CLI11) so that they exit 2 with a robotni message.
CLI::App* AddSub(CLI::App* parent, const char* name, const char* help, CommonFlags* f) {
  auto* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--store", f->store,
                  "Work-item store URL (sqlite:///path/workitems.db); default "
                  "RC_WORKITEM_DB_PATH or <robot>/.robotni/workitems.db");
  cmd->add_option("-r,--robot", f->robot, "robot.yaml whose store to use")->capture_default_str();
  cmd->add_flag("--json", f->json, "Print one JSON document for scripts");
  cmd->allow_extras();
  return cmd;
}

// Sets *body to `run` unless the user gave arguments the subcommand does not know.
void Bind(CLI::App* cmd, CommandBody* body, std::function<int()> run) {
  cmd->callback([cmd, body, run] {
    std::vector<std::string> extra = cmd->remaining();
    if (!extra.empty()) {
      std::string list;
      for (const auto& e : extra) list += (list.empty() ? "" : " ") + e;
      std::string name = cmd->get_name();
      *body = [name, list] {
        return Fail(kItemsBadInput, "items " + name + ": unexpected argument(s): " + list +
                                        " (see robotni items " + name + " --help)");
      };
      return;
    }
    *body = run;
  });
}

std::string StateCell(const ItemInfo& it, int64_t now) {
  std::string s = it.state;
  if (it.state == "PENDING" && it.not_before_ms > now) s += " (scheduled)";
  if (it.state == "RESERVED" && it.cancel_requested) s += " (cancelling)";
  return s;
}

// --state as given, checked before the store is opened.
std::optional<std::string> ParseStateFlag(const std::string& text) {
  auto state = ParseItemState(text);
  if (state.ok()) return std::move(state).value();
  PrintError("--state: " + state.status().message());
  return std::nullopt;
}

// ---------------------------------------------------------------------------------
// list

struct ListFlags {
  CommonFlags common;
  std::string queue, state, limit = "100", offset = "0";
};

int RunList(const ListFlags& f) {
  ListRequest filter;
  filter.queue = f.queue;
  if (!f.state.empty()) {
    auto state = ParseStateFlag(f.state);
    if (!state) return kItemsBadInput;
    filter.state = *state;
  }
  auto limit = ParseInt("--limit", f.limit, 0, 1000000);
  auto offset = ParseInt("--offset", f.offset, 0, INT32_MAX);
  if (!limit || !offset) return kItemsBadInput;
  filter.limit = static_cast<int>(*limit);
  filter.offset = static_cast<int>(*offset);
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  auto items = rt->List(filter);
  if (!items.ok()) return FailStatus(items.status());
  if (f.common.json) {
    json arr = json::array();
    for (const auto& it : *items) arr.push_back(items::ItemToJson(it));
    PrintJson({{"items", std::move(arr)}, {"count", items->size()}});
    return kItemsOk;
  }
  if (items->empty()) {
    PrintText("no work items\n");
    return kItemsOk;
  }
  int64_t now = NowMs();
  items::Table t({"ID", "QUEUE", "STATE", "PRIO", "ATTEMPT", "FILES", "CREATED", "PAYLOAD"});
  for (const auto& it : *items) {
    t.Add({it.id, it.queue, StateCell(it, now), std::to_string(it.priority),
           std::to_string(it.attempt) + "/" + std::to_string(it.max_attempts),
           std::to_string(it.files.size()), items::FormatTime(it.created_ms),
           items::Abbreviate(it.payload_json, 48)});
  }
  PrintText(t.Render());
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// show

struct IdFlags {
  CommonFlags common;
  std::string id;
};

int RunShow(const IdFlags& f) {
  if (f.id.empty()) return Fail(kItemsBadInput, "items show: missing the item ID");
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  auto item = rt->Get(f.id);
  if (!item.ok()) return FailStatus(item.status());
  if (f.common.json) {
    json j = items::ItemToJson(*item);
    j["timeline"] = items::TimelineToJson(item->timeline);
    PrintJson(j);
    return kItemsOk;
  }
  const ItemInfo& it = *item;
  auto opt = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", it.id},
      {"queue", it.queue},
      {"state", StateCell(it, NowMs())},
      {"priority", std::to_string(it.priority)},
      {"attempt", std::to_string(it.attempt) + " of " + std::to_string(it.max_attempts)},
      {"parent", opt(it.parent_id)},
      {"idempotency key", opt(it.idempotency_key)},
      {"created", items::FormatTime(it.created_ms)},
      {"not before", items::FormatTime(it.not_before_ms)},
      {"started", items::FormatTime(it.started_ms)},
      {"finished", items::FormatTime(it.finished_ms)},
      {"updated", items::FormatTime(it.updated_ms)},
      {"lease owner", opt(it.lease_owner)},
      {"lease expires", items::FormatTime(it.lease_expires_ms)},
      {"cancel requested", it.cancel_requested ? "yes" : "no"},
      {"exception type", opt(it.exception_type)},
      {"error code", opt(it.error_code)},
      {"error message", opt(it.error_message)},
  };
  std::string out;
  size_t w = 0;
  for (const auto& [k, v] : fields) w = std::max(w, k.size());
  auto line = [&](const std::string& k, const std::string& v) {
    out += k + ":" + std::string(w - k.size() + 2, ' ') + v + "\n";
  };
  for (const auto& [k, v] : fields) line(k, v);
  auto pretty = [](const std::string& text) {
    if (JsonNestedTooDeep(text)) return text;
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? text : j.dump(2, ' ', false, json::error_handler_t::replace);
  };
  out += "\npayload:\n" + pretty(it.payload_json.empty() ? "null" : it.payload_json) + "\n";
  if (!it.result_json.empty()) out += "\nresult:\n" + pretty(it.result_json) + "\n";
  if (!it.traceback.empty()) out += "\ntraceback:\n" + it.traceback + "\n";
  out += "\nfiles:";
  if (it.file_details.empty()) {
    out += " none\n";
  } else {
    out += "\n";
    items::Table t({"NAME", "SIZE", "SHA256"});
    for (const auto& file : it.file_details)
      t.Add({file.name, std::to_string(file.size), file.sha256});
    out += t.Render();
  }
  out += "\ntimeline:\n";
  items::Table t({"AT", "EVENT", "ATTEMPT", "MESSAGE"});
  for (const auto& e : it.timeline)
    t.Add({items::FormatTime(e.at_ms), e.event, std::to_string(e.attempt),
           items::Abbreviate(e.message, 100)});
  out += t.Render();
  PrintText(out);
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// add

struct AddFlags {
  CommonFlags common;
  std::string queue, payload, file, priority = "0", delay, max_attempts = "3", key;
  std::vector<std::string> attach;
};

int RunAdd(const AddFlags& f) {
  if (f.queue.empty()) return Fail(kItemsBadInput, "items add: missing the QUEUE");
  EnqueueRequest item;
  item.queue = f.queue;
  if (!f.payload.empty() && !f.file.empty())
    return Fail(kItemsBadInput,
                "items add: give the payload as an argument or with --file, not both");
  std::string text = "{}", source = "payload";
  if (f.payload == "-" || f.file == "-") {
    auto in = ReadFileOrStdin("-");
    if (!in.ok()) return Fail(kItemsStoreError, in.status().message());
    text = std::move(in).value();
    source = "payload from standard input";
  } else if (!f.file.empty()) {
    auto in = ReadFileOrStdin(f.file);
    if (!in.ok()) return Fail(kItemsBadInput, "--file: " + in.status().message());
    text = std::move(in).value();
    source = "payload in " + f.file;
  } else if (!f.payload.empty()) {
    text = f.payload;
  }
  if (JsonNestedTooDeep(text)) return Fail(kItemsBadInput, source + " " + JsonTooDeepMessage());
  try {
    item.payload_json = json::parse(text).dump();
  } catch (const json::exception& e) {  // parse_error, out_of_range (a number like 1e400)
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Fail(kItemsBadInput, source + " is not valid JSON: " + what);
  }
  auto prio = ParseInt("--priority", f.priority, INT32_MIN, INT32_MAX);
  auto attempts = ParseInt("--max-attempts", f.max_attempts, 1, INT32_MAX);
  if (!prio || !attempts) return kItemsBadInput;
  item.priority = static_cast<int>(*prio);
  item.max_attempts = static_cast<int>(*attempts);
  if (!f.delay.empty()) {
    auto d = ParseSeconds("--delay", f.delay);
    if (!d) return kItemsBadInput;
    if (*d > 0) item.run_at_ms = NowMs() + static_cast<int64_t>(*d * 1000.0 + 0.5);
  }
  item.idempotency_key = f.key;
  for (const auto& spec : f.attach) {
    auto eq = spec.find('=');
    std::string name =
        eq == std::string::npos ? fs::path(spec).filename().string() : spec.substr(0, eq);
    std::string path = eq == std::string::npos ? spec : spec.substr(eq + 1);
    if (Status s = ValidateItemFileName(name); !s.ok())
      return Fail(kItemsBadInput, "--attach " + spec + ": " + s.message());
    if (item.files.count(name))
      return Fail(kItemsBadInput, "--attach: file name '" + name + "' given twice");
    if (path == "-") return Fail(kItemsBadInput, "--attach " + spec + ": expected a file path");
    auto content = ReadFileOrStdin(path);
    if (!content.ok())
      return Fail(kItemsBadInput, "--attach " + spec + ": " + content.status().message());
    item.files.emplace(name, std::move(content).value());
  }
  int code;
  auto rt = OpenRuntime(f.common, Access::kCreate, &code);
  if (!rt) return code;
  auto id = rt->Enqueue(item);
  if (!id.ok()) return FailStatus(id.status());
  if (f.common.json) {
    PrintJson({{"id", *id}, {"queue", item.queue}});
  } else {
    PrintText(*id + "\n");
  }
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// stats

struct StatsFlags {
  CommonFlags common;
  std::string queue;
};

int RunStats(const StatsFlags& f) {
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  auto stats = rt->Stats(f.queue);
  if (!stats.ok()) return FailStatus(stats.status());
  QueueStats total;
  total.queue = "TOTAL";
  for (const auto& q : *stats) {
    total.pending += q.pending;
    total.scheduled += q.scheduled;
    total.reserved += q.reserved;
    total.done += q.done;
    total.failed += q.failed;
    total.cancelled += q.cancelled;
  }
  auto row_json = [](const QueueStats& q) {
    return json{{"queue", q.queue},         {"pending", q.pending}, {"scheduled", q.scheduled},
                {"reserved", q.reserved},   {"done", q.done},       {"failed", q.failed},
                {"cancelled", q.cancelled}, {"total", q.total()}};
  };
  if (f.common.json) {
    json arr = json::array();
    for (const auto& q : *stats) arr.push_back(row_json(q));
    json t = row_json(total);
    t.erase("queue");
    PrintJson({{"queues", std::move(arr)}, {"total", std::move(t)}});
    return kItemsOk;
  }
  if (stats->empty()) {
    PrintText(f.queue.empty() ? "no work items\n" : "no work items in queue '" + f.queue + "'\n");
    return kItemsOk;
  }
  items::Table t({"QUEUE", "PENDING", "SCHEDULED", "RESERVED", "DONE", "FAILED", "CANCELLED"});
  auto add = [&](const QueueStats& q) {
    t.Add({q.queue, std::to_string(q.pending), std::to_string(q.scheduled),
           std::to_string(q.reserved), std::to_string(q.done), std::to_string(q.failed),
           std::to_string(q.cancelled)});
  };
  for (const auto& q : *stats) add(q);
  if (stats->size() > 1) add(total);
  PrintText(t.Render());
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// retry, cancel

int RunRetryOrCancel(const IdFlags& f, bool retry) {
  const char* verb = retry ? "retry" : "cancel";
  if (f.id.empty())
    return Fail(kItemsBadInput, std::string("items ") + verb + ": missing the item ID");
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  Status s = retry ? rt->Retry(f.id) : rt->Cancel(f.id);
  if (!s.ok()) return FailStatus(s);
  auto item = rt->Get(f.id);
  if (!item.ok()) return FailStatus(item.status());
  const std::string& state = item->state;
  if (f.common.json) {
    PrintJson({{"id", item->id}, {"state", state}, {"cancel_requested", item->cancel_requested}});
  } else if (retry) {
    PrintText("work item " + item->id + " is " + state + " again\n");
  } else if (state == "RESERVED") {
    PrintText("work item " + item->id + " is RESERVED; cancel requested (the task can see it)\n");
  } else {
    PrintText("work item " + item->id + " is " + state + "\n");
  }
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// flush, prune

struct FlushFlags {
  CommonFlags common;
  std::string queue;
};

int RunFlush(const FlushFlags& f) {
  if (f.queue.empty()) return Fail(kItemsBadInput, "items flush: missing the QUEUE");
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  auto n = rt->Flush(f.queue);
  if (!n.ok()) return FailStatus(n.status());
  if (f.common.json) {
    PrintJson({{"queue", f.queue}, {"cancelled", *n}});
  } else {
    PrintText("cancelled " + std::to_string(*n) + " pending item(s) of queue '" + f.queue + "'\n");
  }
  return kItemsOk;
}

struct PruneFlags {
  CommonFlags common;
  std::string older_than;
};

int RunPrune(const PruneFlags& f) {
  if (f.older_than.empty())
    return Fail(kItemsBadInput, "items prune: --older-than SECONDS is required");
  auto secs = ParseSeconds("--older-than", f.older_than);
  if (!secs) return kItemsBadInput;
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  int64_t cutoff = NowMs() - static_cast<int64_t>(*secs * 1000.0);
  auto n = rt->Prune(cutoff);
  if (!n.ok()) return FailStatus(n.status());
  if (f.common.json) {
    PrintJson({{"pruned", *n}, {"finished_before_ms", cutoff}});
  } else {
    PrintText("pruned " + std::to_string(*n) + " finished item(s) (finished before " +
              items::FormatTime(cutoff) + ")\n");
  }
  return kItemsOk;
}

// ---------------------------------------------------------------------------------
// export, import

struct ExportFlags {
  CommonFlags common;
  std::string queue, state, output = "-";
};

int RunExport(const ExportFlags& f) {
  ListRequest filter;
  filter.queue = f.queue;
  filter.newest_first = false;  // creation order, which import keeps
  filter.limit = 500;
  if (!f.state.empty()) {
    auto state = ParseStateFlag(f.state);
    if (!state) return kItemsBadInput;
    filter.state = *state;
  }
  int code;
  auto rt = OpenRuntime(f.common, Access::kExisting, &code);
  if (!rt) return code;
  const bool to_stdout = f.output == "-";
  std::string tmp;
  FILE* out = stdout;
  if (!to_stdout) {
    // Written next to the target and renamed, so a failed export leaves no half file.
    tmp = f.output + ".tmp" + std::to_string(getpid());
    out = fopen(tmp.c_str(), "wb");
    if (!out) return Fail(kItemsBadInput, "--output: cannot write " + tmp + ": " + strerror(errno));
  }
  auto abort_export = [&](int rc) {
    if (!to_stdout) {
      fclose(out);
      unlink(tmp.c_str());
    }
    return rc;
  };
  int64_t count = 0;
  for (;;) {
    auto page = rt->List(filter);
    if (!page.ok()) return abort_export(FailStatus(page.status()));
    for (const auto& it : *page) {
      json j = items::ItemToJson(it);
      for (auto& file : j["files"]) {
        auto content = rt->GetFile(it.id, file["name"].get<std::string>());
        if (!content.ok()) return abort_export(FailStatus(content.status()));
        file["content_base64"] = items::Base64Encode(*content);
      }
      auto timeline = rt->Timeline(it.id);
      if (!timeline.ok()) return abort_export(FailStatus(timeline.status()));
      j["timeline"] = items::TimelineToJson(*timeline);
      std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
      line += '\n';
      if (fwrite(line.data(), 1, line.size(), out) != line.size())
        return abort_export(
            Fail(kItemsStoreError, "export: write failed: " + std::string(strerror(errno))));
      ++count;
    }
    if (static_cast<int>(page->size()) < filter.limit) break;
    filter.offset += filter.limit;
  }
  if (to_stdout) {
    fflush(stdout);
    return kItemsOk;
  }
  if (fclose(out) != 0 || rename(tmp.c_str(), f.output.c_str()) != 0) {
    unlink(tmp.c_str());
    return Fail(kItemsStoreError, "export: cannot write " + f.output + ": " + strerror(errno));
  }
  if (f.common.json) {
    PrintJson({{"exported", count}, {"output", f.output}});
  } else {
    PrintText("exported " + std::to_string(count) + " item(s) to " + f.output + "\n");
  }
  return kItemsOk;
}

struct ImportFlags {
  CommonFlags common;
  std::string input = "-", queue;
  std::string action_server_db;
};

// Ids only grow: a returned id above the newest one before the import is a new item, one at
// or below it was already there (same idempotency key). 0 for an empty store.
StatusOr<int64_t> NewestId(Runtime& rt) {
  ListRequest newest;
  newest.limit = 1;
  auto last = rt.List(newest);
  if (!last.ok()) return last.status();
  return last->empty() ? 0 : std::stoll(last->front().id);
}

int RunImportActionServer(const ImportFlags& f) {
  if (f.input != "-" || !f.queue.empty())
    return Fail(kItemsBadInput, "import: --from-action-server takes no FILE and no --queue");
  auto read = ReadActionServerDb(f.action_server_db);
  if (!read.ok())
    return Fail(kItemsBadInput, "import: " + read.status().message() + "; nothing was imported");
  int code;
  auto rt = OpenRuntime(f.common, Access::kCreate, &code);
  if (!rt) return code;
  auto newest_before = NewestId(*rt);
  if (!newest_before.ok()) return FailStatus(newest_before.status());
  auto ids = rt->Import(read->items);
  if (!ids.ok()) {
    return Fail(ExitFor(ids.status()) == kItemsBadInput ? kItemsBadInput : kItemsStoreError,
                "import: " + ids.status().message() + "; nothing was imported");
  }
  std::map<std::string, int64_t> by_state;
  int64_t fresh = 0, existing = 0;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (std::stoll((*ids)[i]) > *newest_before) {
      ++fresh;
      by_state[read->items[i].state]++;
    } else {
      ++existing;
    }
  }
  if (f.common.json) {
    PrintJson({{"imported", fresh},
               {"existing", existing},
               {"states", by_state},
               {"files", read->files},
               {"were_in_progress", read->were_in_progress},
               {"ids", *ids}});
    return kItemsOk;
  }
  std::string msg = "imported " + std::to_string(fresh) + " item(s) from " + f.action_server_db;
  std::string states;
  for (const auto& [state, n] : by_state)
    states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + state;
  if (!states.empty()) msg += " (" + states + ")";
  msg += ", " + std::to_string(read->files) + " file(s)";
  if (read->were_in_progress > 0)
    msg += "; " + std::to_string(read->were_in_progress) +
           " were IN_PROGRESS there and are PENDING here";
  if (existing > 0)
    msg += "; " + std::to_string(existing) + " already imported before (left as they are)";
  PrintText(msg + "\n");
  return kItemsOk;
}

int RunImport(const ImportFlags& f) {
  if (!f.action_server_db.empty()) return RunImportActionServer(f);
  auto text = ReadFileOrStdin(f.input);
  if (!text.ok()) return Fail(kItemsBadInput, "import: " + text.status().message());
  const std::string where = f.input == "-" ? "<stdin>" : f.input;
  std::vector<EnqueueRequest> batch;
  std::vector<std::string> errors;
  size_t line_no = 0, pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto item = items::ParseExportLine(line, f.queue);
    if (!item.ok()) {
      errors.push_back(where + ":" + std::to_string(line_no) + ": " + item.status().message());
      continue;
    }
    batch.push_back(std::move(item).value());
  }
  if (!errors.empty()) {
    const size_t kMaxShown = 20;
    for (size_t i = 0; i < errors.size() && i < kMaxShown; ++i) PrintError(errors[i]);
    if (errors.size() > kMaxShown)
      PrintError("... and " + std::to_string(errors.size() - kMaxShown) + " more bad line(s)");
    return Fail(kItemsBadInput, "import: " + std::to_string(errors.size()) + " bad line(s) in " +
                                    where + "; nothing was imported");
  }
  int code;
  auto rt = OpenRuntime(f.common, Access::kCreate, &code);
  if (!rt) return code;
  auto newest = NewestId(*rt);
  if (!newest.ok()) return FailStatus(newest.status());
  const int64_t newest_before = *newest;
  std::vector<std::string> ids;
  if (!batch.empty()) {
    auto created = rt->EnqueueBatch(batch);
    if (!created.ok()) {
      return Fail(ExitFor(created.status()) == kItemsBadInput ? kItemsBadInput : kItemsStoreError,
                  "import: " + created.status().message() + "; nothing was imported");
    }
    ids = std::move(created).value();
  }
  std::set<std::string> fresh, existing;
  for (const auto& id : ids) (std::stoll(id) > newest_before ? fresh : existing).insert(id);
  if (f.common.json) {
    PrintJson({{"imported", fresh.size()}, {"existing", existing.size()}, {"ids", ids}});
  } else {
    std::string msg = "imported " + std::to_string(fresh.size()) + " item(s)";
    if (!existing.empty())
      msg += ", " + std::to_string(existing.size()) + " already present (same idempotency key)";
    PrintText(msg + "\n");
  }
  return kItemsOk;
}

}  // namespace

void AddItemsCommand(CLI::App& app, CommandBody* body) {
  auto* items_cmd = app.add_subcommand("items", "Inspect and manage the work-item store");
  items_cmd->callback([items_cmd, body] {
    if (!items_cmd->get_subcommands().empty()) return;
    std::string help = items_cmd->help();
    *body = [help] {
      fputs(help.c_str(), stderr);
      return Fail(kItemsBadInput,
                  "items: expected a subcommand: list, show, add, stats, retry, cancel, flush, "
                  "prune, export or import");
    };
  });

  {
    auto f = std::make_shared<ListFlags>();
    auto* c = AddSub(items_cmd, "list", "List work items, newest first", &f->common);
    c->add_option("--queue", f->queue, "Only this queue");
    c->add_option("--state", f->state, "Only this state (PENDING, RESERVED, DONE, FAILED, ...)");
    c->add_option("--limit", f->limit, "At most this many items")->capture_default_str();
    c->add_option("--offset", f->offset, "Skip this many items")->capture_default_str();
    Bind(c, body, [f] { return RunList(*f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* c = AddSub(items_cmd, "show", "Show one item: all fields, files, timeline", &f->common);
    c->add_option("ID", f->id, "Item id");
    Bind(c, body, [f] { return RunShow(*f); });
  }
  {
    auto f = std::make_shared<AddFlags>();
    auto* c = AddSub(items_cmd, "add", "Queue a new work item; prints its id", &f->common);
    c->add_option("QUEUE", f->queue, "Queue name");
    c->add_option("PAYLOAD_JSON", f->payload, "Payload as JSON, or - for standard input");
    c->add_option("--file", f->file, "Read the payload JSON from this file (- = stdin)");
    c->add_option("--priority", f->priority, "Higher first")->capture_default_str();
    c->add_option("--delay", f->delay, "Not before this many seconds from now");
    c->add_option("--max-attempts", f->max_attempts, "Attempts before FAILED")
        ->capture_default_str();
    c->add_option("--idempotency-key", f->key,
                  "A second add with the same key returns the first item");
    c->add_option("--attach", f->attach, "Attach a file as NAME=PATH (repeatable)");
    Bind(c, body, [f] { return RunAdd(*f); });
  }
  {
    auto f = std::make_shared<StatsFlags>();
    auto* c = AddSub(items_cmd, "stats", "Item counts per queue and state", &f->common);
    c->add_option("--queue", f->queue, "Only this queue");
    Bind(c, body, [f] { return RunStats(*f); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* c = AddSub(items_cmd, "retry", "FAILED or CANCELLED item -> PENDING", &f->common);
    c->add_option("ID", f->id, "Item id");
    Bind(c, body, [f] { return RunRetryOrCancel(*f, true); });
  }
  {
    auto f = std::make_shared<IdFlags>();
    auto* c = AddSub(items_cmd, "cancel",
                     "PENDING item -> CANCELLED; RESERVED item: request cancellation", &f->common);
    c->add_option("ID", f->id, "Item id");
    Bind(c, body, [f] { return RunRetryOrCancel(*f, false); });
  }
  {
    auto f = std::make_shared<FlushFlags>();
    auto* c = AddSub(items_cmd, "flush", "Cancel every PENDING item of a queue", &f->common);
    c->add_option("QUEUE", f->queue, "Queue name");
    Bind(c, body, [f] { return RunFlush(*f); });
  }
  {
    auto f = std::make_shared<PruneFlags>();
    auto* c = AddSub(items_cmd, "prune",
                     "Delete DONE/FAILED/CANCELLED items finished before a cutoff", &f->common);
    c->add_option("--older-than", f->older_than, "Finished more than this many seconds ago");
    Bind(c, body, [f] { return RunPrune(*f); });
  }
  {
    auto f = std::make_shared<ExportFlags>();
    auto* c = AddSub(items_cmd, "export", "Write items as JSON lines, files inlined as base64",
                     &f->common);
    c->add_option("--queue", f->queue, "Only this queue");
    c->add_option("--state", f->state, "Only this state");
    c->add_option("-o,--output", f->output, "Output file (- = stdout)")->capture_default_str();
    Bind(c, body, [f] { return RunExport(*f); });
  }
  {
    auto f = std::make_shared<ImportFlags>();
    auto* c = AddSub(items_cmd, "import",
                     "Read an export back as new PENDING items (all or nothing)", &f->common);
    c->add_option("FILE", f->input, "JSON-lines file (- = stdin)")->capture_default_str();
    c->add_option("--queue", f->queue, "Put every item in this queue");
    c->add_option("--from-action-server", f->action_server_db,
                  "Import an Action Server / actions-work-items workitems.db instead: every "
                  "item in its state, with its files, parents and errors");
    Bind(c, body, [f] { return RunImport(*f); });
  }
}

}  // namespace robotni::cli
