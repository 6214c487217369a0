// End-to-end tests of `robotni items`: the real binary against a real store, a SQLite file
// and a PostgreSQL schema (tests/support/store_backends.h). What is refused before a store is
// opened (bad arguments, bad JSON) and what only a SQLite file has (its path, its resolution
// from robot.yaml, a file that is not a database) run on SQLite only (ItemsCliSqliteTest).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "tests/integration/cli/items_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Backend;
using testing::CliOptions;
using testing::CliResult;
using ::testing::HasSubstr;
using testing::RunRobotni;

// `robotni items` on a store of `backend`.
class ItemsCli : public ::testing::Test {
 protected:
  explicit ItemsCli(Backend backend)
      : store_(backend, dir_.path()), fresh_(backend, dir_.path(), "fresh.db") {}
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    ASSERT_TRUE(fresh_.ok()) << fresh_.error();
  }

  // The test's store, and a second one (empty) to import into.
  const std::string& StoreUrl() const { return store_.url(); }
  const std::string& FreshStoreUrl() const { return fresh_.url(); }

  // `robotni items SUB --store <url> ARGS...`
  CliResult Items(std::vector<std::string> args, const CliOptions& opts = {},
                  const std::string& url = "") {
    std::vector<std::string> full = {"items", args.at(0), "--store",
                                     url.empty() ? StoreUrl() : url};
    full.insert(full.end(), args.begin() + 1, args.end());
    return RunRobotni(full, opts);
  }

  json ItemsJson(std::vector<std::string> args, const std::string& url = "",
                 const CliOptions& opts = {}) {
    args.push_back("--json");
    CliResult r = Items(args, opts, url);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return j;
  }

  std::string Add(std::vector<std::string> args, const std::string& url = "") {
    args.insert(args.begin(), "add");
    CliResult r = Items(args, {}, url);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  fs::path WriteFile(const std::string& name, const std::string& data) {
    fs::path p = dir_.path() / name;
    testing::WriteWholeFile(p, data);
    return p;
  }

  static void ExpectError(const CliResult& r, int code, const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.rfind("robotni: ", 0), 0u) << r.err;
    EXPECT_THAT(r.err, HasSubstr(needle));
  }

  // How many items the store holds (a page of up to 100); 0 when there is no store.
  int StoredItems() {
    CliResult r = Items({"list", "--json"});
    if (r.exit_code == 1 && r.err.find("no work-item store") != std::string::npos) return 0;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false).value("count", -1);
  }

  testing::TempDir dir_;
  testing::TestStore store_, fresh_;
};

// The tests on each backend.
class ItemsCliTest : public ItemsCli, public ::testing::WithParamInterface<Backend> {
 protected:
  ItemsCliTest() : ItemsCli(GetParam()) {}
};

// The tests of what is refused before any store is opened, or is a SQLite file's own.
class ItemsCliSqliteTest : public ItemsCli {
 protected:
  ItemsCliSqliteTest() : ItemsCli(Backend::kSqlite) {}
};

ROBOTNI_STORE_BACKENDS(ItemsCliTest);

TEST_P(ItemsCliTest, AddThenShowJsonHasAllFieldsFilesAndTimeline) {
  fs::path attachment = WriteFile("invoice.pdf", std::string("%PDF\0binary\xff", 12));
  std::string id =
      Add({"orders", R"({"customer":"ACME","amount":12.5})", "--priority", "7", "--max-attempts",
           "5", "--idempotency-key", "order-1", "--attach", "invoice.pdf=" + attachment.string()});
  ASSERT_FALSE(id.empty());

  json j = ItemsJson({"show", id});
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["queue"], "orders");
  EXPECT_EQ(j["state"], "PENDING");
  EXPECT_EQ(j["payload"], json::parse(R"({"customer":"ACME","amount":12.5})"));
  EXPECT_EQ(j["priority"], 7);
  EXPECT_EQ(j["max_attempts"], 5);
  EXPECT_EQ(j["attempt"], 0);
  EXPECT_EQ(j["idempotency_key"], "order-1");
  EXPECT_TRUE(j["created_ms"].is_number());
  EXPECT_TRUE(j["result"].is_null());
  ASSERT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["files"][0]["name"], "invoice.pdf");
  EXPECT_EQ(j["files"][0]["size"], 12);
  EXPECT_EQ(j["files"][0]["sha256"], core::Sha256Hex(std::string("%PDF\0binary\xff", 12)));
  ASSERT_GE(j["timeline"].size(), 1u);
  EXPECT_EQ(j["timeline"][0]["event"], "queued");

  // Same idempotency key: the first item's id, no second item.
  EXPECT_EQ(Add({"orders", "{}", "--idempotency-key", "order-1"}), id);
  EXPECT_EQ(ItemsJson({"list"})["count"], 1);

  // The readable form names the fields, the file and the timeline.
  CliResult text = Items({"show", id});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("queue:"));
  EXPECT_THAT(text.out, HasSubstr("orders"));
  EXPECT_THAT(text.out, HasSubstr("invoice.pdf"));
  EXPECT_THAT(text.out, HasSubstr(j["files"][0]["sha256"].get<std::string>()));
  EXPECT_THAT(text.out, HasSubstr("queued"));
  EXPECT_THAT(text.out, HasSubstr("\"customer\": \"ACME\""));
}

TEST_P(ItemsCliTest, AddReadsPayloadFromStdinFileAndDefaultsToEmptyObject) {
  CliOptions in;
  in.stdin_data = "[1, 2, {\"x\": null}]\n";
  CliResult r = Items({"add", "q", "-"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string from_stdin = r.out.substr(0, r.out.find('\n'));

  in.stdin_data = "\"text\"";
  r = Items({"add", "q", "--file", "-", "--json"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string from_stdin2 = json::parse(r.out)["id"];

  fs::path payload = WriteFile("payload.json", R"({"from": "file"})");
  std::string from_file = Add({"q", "--file", payload.string()});
  std::string empty = Add({"q"});

  EXPECT_EQ(ItemsJson({"show", from_stdin})["payload"], json::parse(R"([1,2,{"x":null}])"));
  EXPECT_EQ(ItemsJson({"show", from_stdin2})["payload"], "text");
  EXPECT_EQ(ItemsJson({"show", from_file})["payload"], json::parse(R"({"from":"file"})"));
  EXPECT_EQ(ItemsJson({"show", empty})["payload"], json::object());
}

TEST_F(ItemsCliSqliteTest, AddRefusesMalformedJsonAndBadArguments) {
  ExpectError(Items({"add", "q", "{\"a\": "}), 2, "not valid JSON");
  CliOptions in;
  in.stdin_data = "{oops}";
  ExpectError(Items({"add", "q", "-"}, in), 2, "standard input is not valid JSON");
  ExpectError(Items({"add", "q", "{}", "--priority", "high"}), 2, "--priority");
  ExpectError(Items({"add", "q", "{}", "--max-attempts", "0"}), 2, "--max-attempts");
  ExpectError(Items({"add", "q", "{}", "--delay", "-3"}), 2, "--delay");
  ExpectError(Items({"add", "q", "{}", "--attach", "../x=/etc/hostname"}), 2, "--attach");
  ExpectError(Items({"add", "q", "{}", "--attach", "a=" + (dir_.path() / "missing").string()}), 2,
              "cannot read");
  ExpectError(Items({"add", "q", "{}", "--bogus"}), 2, "unexpected argument");
  ExpectError(Items({"add"}), 2, "missing the QUEUE");
  // None of these created the store, let alone an item.
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
}

// JSON nested past 128 levels is refused naming the limit, before anything copies it: a
// 70,000-deep payload (~140 KB) recursed through a dump and overflowed the stack.
TEST_F(ItemsCliSqliteTest, DeeplyNestedJsonIsRefusedNamingTheLimit) {
  const std::string deep = "{\"a\":" + std::string(70000, '[') + std::string(70000, ']') + "}";
  CliOptions in;  // stdin: one argument of 140 KB is past the kernel's 128 KiB per argument
  in.stdin_data = deep;
  ExpectError(Items({"add", "q", "-"}, in), 2,
              "payload from standard input is nested deeper than 128 levels (the limit)");
  WriteFile("deep.jsonl", R"({"queue":"q","payload":)" + deep + "}\n");
  CliResult r = Items({"import", (dir_.path() / "deep.jsonl").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("deep.jsonl:1: the line is nested deeper than 128 levels"));
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
}

TEST_P(ItemsCliTest, DelayedItemIsScheduled) {
  std::string id = Add({"later", "{}", "--delay", "3600"});
  json item = ItemsJson({"show", id});
  EXPECT_GT(item["not_before_ms"].get<int64_t>(), item["created_ms"].get<int64_t>() + 3500000);
  json stats = ItemsJson({"stats"});
  ASSERT_EQ(stats["queues"].size(), 1u);
  EXPECT_EQ(stats["queues"][0]["scheduled"], 1);
  EXPECT_EQ(stats["queues"][0]["pending"], 0);
  EXPECT_THAT(Items({"list"}).out, HasSubstr("PENDING (scheduled)"));
}

TEST_P(ItemsCliTest, ListFiltersPagesAndPrintsATable) {
  std::vector<std::string> a_ids;
  for (int i = 0; i < 5; ++i) a_ids.push_back(Add({"a", "{\"n\":" + std::to_string(i) + "}"}));
  std::string b1 = Add({"b", "{}"});
  ASSERT_EQ(Items({"cancel", a_ids[0]}).exit_code, 0);

  EXPECT_EQ(ItemsJson({"list"})["count"], 6);
  json a = ItemsJson({"list", "--queue", "a"});
  ASSERT_EQ(a["count"], 5);
  EXPECT_EQ(a["items"][0]["id"], a_ids[4]);  // newest first
  json cancelled = ItemsJson({"list", "--state", "cancelled"});
  ASSERT_EQ(cancelled["count"], 1);
  EXPECT_EQ(cancelled["items"][0]["id"], a_ids[0]);
  // Robocorp's names work too.
  EXPECT_EQ(ItemsJson({"list", "--state", "IN_PROGRESS"})["count"], 0);
  json page =
      ItemsJson({"list", "--queue", "a", "--state", "PENDING", "--limit", "2", "--offset", "1"});
  ASSERT_EQ(page["count"], 2);
  EXPECT_EQ(page["items"][0]["id"], a_ids[3]);
  EXPECT_EQ(page["items"][1]["id"], a_ids[2]);

  CliResult text = Items({"list", "--queue", "b"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::istringstream lines(text.out);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(header.rfind("ID", 0), 0u) << header;
  // Columns line up: the QUEUE column starts at the same offset in both lines.
  EXPECT_EQ(header.find("QUEUE"), row.find("b  ")) << text.out;
  EXPECT_EQ(header.find("STATE"), row.find("PENDING")) << text.out;
  EXPECT_EQ(row.rfind(b1, 0), 0u);
}

TEST_F(ItemsCliSqliteTest, ListRefusesUnknownStateAndBadNumbers) {
  Add({"q"});
  ExpectError(Items({"list", "--state", "sleeping"}), 2, "unknown state 'sleeping'");
  ExpectError(Items({"list", "--limit", "many"}), 2, "--limit");
  ExpectError(Items({"list", "--offset", "-1"}), 2, "--offset");
  ExpectError(Items({"export", "--state", "nope"}), 2, "unknown state");
}

TEST_P(ItemsCliTest, UnknownIdExitsFour) {
  Add({"q"});
  ExpectError(Items({"show", "424242"}), 4, "424242");
  ExpectError(Items({"retry", "424242"}), 4, "424242");
  ExpectError(Items({"cancel", "424242"}), 4, "424242");
  ExpectError(Items({"show", "not-a-number"}), 4, "not-a-number");
  ExpectError(Items({"show"}), 2, "missing the item ID");
}

TEST_P(ItemsCliTest, CancelThenRetry) {
  std::string id = Add({"q"});
  json c = ItemsJson({"cancel", id});
  EXPECT_EQ(c["state"], "CANCELLED");
  EXPECT_EQ(ItemsJson({"show", id})["state"], "CANCELLED");

  CliResult r = Items({"retry", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("PENDING"));
  json shown = ItemsJson({"show", id});
  EXPECT_EQ(shown["state"], "PENDING");
  bool saw_retry = false;
  for (const auto& e : shown["timeline"]) saw_retry |= e["event"] == "retry";
  EXPECT_TRUE(saw_retry) << shown["timeline"].dump();

  // A PENDING item cannot be retried: wrong state, exit 3.
  ExpectError(Items({"retry", id}), 3, "only FAILED or CANCELLED");
}

TEST_P(ItemsCliTest, FlushCancelsPendingItemsOfOneQueue) {
  for (int i = 0; i < 3; ++i) Add({"doomed"});
  std::string keep = Add({"kept"});
  CliResult r = Items({"flush", "doomed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cancelled 3"));
  EXPECT_EQ(ItemsJson({"flush", "doomed"})["cancelled"], 0);
  EXPECT_EQ(ItemsJson({"list", "--queue", "doomed", "--state", "CANCELLED"})["count"], 3);
  EXPECT_EQ(ItemsJson({"show", keep})["state"], "PENDING");
  ExpectError(Items({"flush"}), 2, "missing the QUEUE");
}

TEST_P(ItemsCliTest, PruneDeletesFinishedItemsOlderThanTheCutoff) {
  std::string gone = Add({"q"});
  std::string pending = Add({"q"});
  ASSERT_EQ(Items({"cancel", gone}).exit_code, 0);
  EXPECT_EQ(ItemsJson({"prune", "--older-than", "3600"})["pruned"], 0);
  usleep(20000);
  CliResult r = Items({"prune", "--older-than", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("pruned 1"));
  ExpectError(Items({"show", gone}), 4, gone);
  EXPECT_EQ(ItemsJson({"show", pending})["state"], "PENDING");
  ExpectError(Items({"prune"}), 2, "--older-than");
  ExpectError(Items({"prune", "--older-than", "soon"}), 2, "--older-than");
}

TEST_P(ItemsCliTest, StatsCountsPerQueueAndState) {
  Add({"a"});
  Add({"a"});
  std::string c = Add({"a"});
  Add({"b"});
  ASSERT_EQ(Items({"cancel", c}).exit_code, 0);
  json s = ItemsJson({"stats"});
  ASSERT_EQ(s["queues"].size(), 2u);
  json a = s["queues"][0]["queue"] == "a" ? s["queues"][0] : s["queues"][1];
  EXPECT_EQ(a["pending"], 2);
  EXPECT_EQ(a["cancelled"], 1);
  EXPECT_EQ(a["total"], 3);
  EXPECT_EQ(s["total"]["total"], 4);
  EXPECT_EQ(s["total"]["pending"], 3);
  json only_b = ItemsJson({"stats", "--queue", "b"});
  ASSERT_EQ(only_b["queues"].size(), 1u);
  EXPECT_EQ(only_b["queues"][0]["queue"], "b");

  CliResult text = Items({"stats"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("QUEUE"));
  EXPECT_THAT(text.out, HasSubstr("CANCELLED"));
  EXPECT_THAT(text.out, HasSubstr("TOTAL"));
}

TEST_P(ItemsCliTest, ExportImportRoundTripIntoAFreshStoreWithFiles) {
  std::string binary("\0\x01\x02\xfe\xff zip", 9);
  fs::path f1 = WriteFile("data.bin", binary);
  fs::path f2 = WriteFile("notes.txt", "hello\n");
  std::string id1 =
      Add({"orders", R"({"n":1,"nested":{"list":[1,"two"]}})", "--priority", "3", "--max-attempts",
           "7", "--attach", "data.bin=" + f1.string(), "--attach", "notes.txt=" + f2.string()});
  std::string id2 = Add({"orders", "42", "--idempotency-key", "own-key"});
  std::string other = Add({"other", "{}"});
  ASSERT_EQ(Items({"cancel", id2}).exit_code, 0);

  fs::path exported = dir_.path() / "export.jsonl";
  CliResult ex = Items({"export", "--queue", "orders", "--output", exported.string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_THAT(ex.out, HasSubstr("exported 2"));
  std::string text = testing::ReadWholeFile(exported);
  std::istringstream lines(text);
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["id"], id1);  // creation order
  EXPECT_EQ(rows[0]["state"], "PENDING");
  EXPECT_EQ(rows[1]["state"], "CANCELLED");
  ASSERT_EQ(rows[0]["files"].size(), 2u);
  EXPECT_EQ(rows[0]["files"][0]["name"], "data.bin");
  EXPECT_EQ(rows[0]["files"][0]["content_base64"], "AAEC/v8gemlw");
  EXPECT_EQ(rows[0]["files"][0]["sha256"], core::Sha256Hex(binary));

  // Stdout export is the same data.
  CliResult to_stdout = Items({"export", "--queue", "orders"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, text);

  const std::string& fresh = FreshStoreUrl();
  CliResult im = RunRobotni({"items", "import", exported.string(), "--store", fresh, "--json"});
  ASSERT_EQ(im.exit_code, 0) << im.err;
  json imj = json::parse(im.out);
  EXPECT_EQ(imj["imported"], 2);
  EXPECT_EQ(imj["existing"], 0);
  ASSERT_EQ(imj["ids"].size(), 2u);

  json a = ItemsJson({"show", imj["ids"][0]}, fresh);
  EXPECT_EQ(a["state"], "PENDING");
  EXPECT_EQ(a["queue"], "orders");
  EXPECT_EQ(a["payload"], rows[0]["payload"]);
  EXPECT_EQ(a["priority"], 3);
  EXPECT_EQ(a["max_attempts"], 7);
  EXPECT_EQ(a["idempotency_key"], "import:" + id1);
  ASSERT_EQ(a["files"].size(), 2u);
  json b = ItemsJson({"show", imj["ids"][1]}, fresh);
  EXPECT_EQ(b["state"], "PENDING");  // imported items start again
  EXPECT_EQ(b["payload"], 42);
  EXPECT_EQ(b["idempotency_key"], "own-key");

  // The files came across byte for byte: export the fresh store and compare.
  CliResult again = Items({"export"}, {}, fresh);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  json first = json::parse(again.out.substr(0, again.out.find('\n')));
  EXPECT_EQ(first["files"], rows[0]["files"]);

  // Importing again (from stdin this time) duplicates nothing.
  CliOptions in;
  in.stdin_data = text;
  CliResult twice = RunRobotni({"items", "import", "-", "--store", fresh}, in);
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_THAT(twice.out, HasSubstr("imported 0 item(s), 2 already present"));
  EXPECT_EQ(ItemsJson({"list"}, fresh)["count"], 2);
  (void)other;
}

TEST_P(ItemsCliTest, ImportQueueOverrideAndStateFilteredExport) {
  Add({"src", R"({"k":1})"});
  std::string c = Add({"src", R"({"k":2})"});
  ASSERT_EQ(Items({"cancel", c}).exit_code, 0);
  CliResult ex = Items({"export", "--state", "CANCELLED"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  ASSERT_EQ(std::count(ex.out.begin(), ex.out.end(), '\n'), 1);

  CliOptions in;
  in.stdin_data = ex.out;
  const std::string& fresh = FreshStoreUrl();
  CliResult im = RunRobotni({"items", "import", "--queue", "dst", "--store", fresh}, in);
  ASSERT_EQ(im.exit_code, 0) << im.err;
  json list = ItemsJson({"list"}, fresh);
  ASSERT_EQ(list["count"], 1);
  EXPECT_EQ(list["items"][0]["queue"], "dst");
  EXPECT_EQ(list["items"][0]["payload"], json::parse(R"({"k":2})"));
}

TEST_P(ItemsCliTest, MalformedImportLinesImportNothingAndNameTheLines) {
  Add({"q"});  // the target store exists and must stay as it was
  std::string good = R"({"id":"9","queue":"q","payload":{"ok":true},"files":[]})";
  std::string input = good + "\n" +                           // 1
                      "{\"queue\": \"q\", \"payload\": \n" +  // 2 malformed
                      "[1, 2, 3]\n" +                         // 3 not an object
                      "\n" +                                  // 4 blank: skipped
                      R"({"queue":"q","files":[{"name":"a","content_base64":"@@@"}]})"
                      "\n"  // 5
                      R"({"queue":"q","files":[{"name":"../evil","content_base64":""}]})"
                      "\n"            // 6
                      + good + "\n";  // 7
  WriteFile("bad.jsonl", input);
  CliResult r = Items({"import", (dir_.path() / "bad.jsonl").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl:2: malformed JSON"));
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl:3: expected a JSON object"));
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl:5: files[0].content_base64: not valid base64"));
  EXPECT_THAT(r.err, HasSubstr("bad.jsonl:6: files[0].name"));
  EXPECT_THAT(r.err, HasSubstr("4 bad line(s)"));
  EXPECT_THAT(r.err, HasSubstr("nothing was imported"));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr(":1:")));
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr(":7:")));
  EXPECT_EQ(ItemsJson({"list"})["count"], 1);

  // A sha256 that does not match its content is refused too; so is a missing queue.
  CliOptions in;
  in.stdin_data = R"({"queue":"q","files":[{"name":"a","sha256":"00","content_base64":"aGk="}]})"
                  "\n"
                  R"({"payload":{}})"
                  "\n";
  CliResult r2 = Items({"import", "-"}, in);
  EXPECT_EQ(r2.exit_code, 2);
  EXPECT_THAT(r2.err, HasSubstr("<stdin>:1: files[0].sha256: does not match"));
  EXPECT_THAT(r2.err, HasSubstr("<stdin>:2: queue"));
  EXPECT_EQ(ItemsJson({"list"})["count"], 1);
}

// A number too large for a double is a bad line (and a bad payload), not an uncaught
// exception that aborts robotni (found by tests/fuzz/work_items_fuzz).
TEST_F(ItemsCliSqliteTest, NumberOverflowIsMalformedJsonNotACrash) {
  CliOptions in;
  in.stdin_data = R"({"queue":"q","payload":{"n":1e400}})"
                  "\n";
  CliResult r = Items({"import", "-"}, in);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("<stdin>:1: malformed JSON: number overflow parsing '1e400'"));
  ExpectError(Items({"add", "q", "[1e400]"}), 2, "payload is not valid JSON: number overflow");
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
}

TEST_F(ItemsCliSqliteTest, StoreResolutionLikeRun) {
  // No robot.yaml, no --store, no RC_WORKITEM_DB_PATH: say so.
  testing::TempDir empty;
  CliOptions in_empty;
  in_empty.cwd = empty.path().string();
  CliResult r = RunRobotni({"items", "list"}, in_empty);
  ExpectError(r, 1, "no robot.yaml");
  EXPECT_THAT(r.err, HasSubstr("--store"));

  // With robot.yaml: <robot root>/.robotni/workitems.db, also via -r.
  testing::TempDir robot;
  testing::WriteWholeFile(robot.path() / "robot.yaml",
                          "tasks:\n  Main:\n    shell: python -m main\n");
  CliOptions in_robot;
  in_robot.cwd = robot.path().string();
  r = RunRobotni({"items", "add", "q", "{}"}, in_robot);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(robot.path() / ".robotni" / "workitems.db"));
  r = RunRobotni({"items", "list", "--json", "-r", (robot.path() / "robot.yaml").string()},
                 in_empty);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["count"], 1);

  // RC_WORKITEM_DB_PATH wins over robot.yaml; relative to the robot root.
  in_robot.env["RC_WORKITEM_DB_PATH"] = "custom/items.db";
  r = RunRobotni({"items", "add", "q"}, in_robot);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(robot.path() / "custom" / "items.db"));
  // ... and works without robot.yaml too.
  in_empty.env["RC_WORKITEM_DB_PATH"] = (robot.path() / "custom" / "items.db").string();
  r = RunRobotni({"items", "stats", "--json"}, in_empty);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["total"]["total"], 1);
}

TEST_F(ItemsCliSqliteTest, StoreErrorsExitOne) {
  // Read commands do not create a store that is not there.
  ExpectError(Items({"list"}), 1, "no work-item store");
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
  // Not a SQLite file.
  fs::path junk = WriteFile("junk.db", "this is not a database, just text....");
  ExpectError(Items({"list"}, {}, junk.string()), 1, "not a SQLite database");
  ExpectError(Items({"add", "q"}, {}, "sqlite://relative/path.db"), 1, "absolute path");
  ExpectError(Items({"add", "q"}, {}, "mysql://host/db"), 1, "unknown store URL scheme");
}

TEST_F(ItemsCliSqliteTest, ItemsWithoutSubcommandIsABadArgument) {
  CliResult r = RunRobotni({"items"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("robotni: items: expected a subcommand"));
  Add({"q"});
  ExpectError(Items({"show", "1", "2"}), 2, "unexpected argument");
}

// An Action Server / actions-work-items workitems.db, made as its SQLiteAdapter makes it
// (actions-work-items 0.2 _adapters/_sqlite.py: its schema, uuid4 ids, ISO times, files under
// files_dir/<item>/<file id>_<name> recorded by path) with Debian's python3.11.
class ActionServerImportTest : public ItemsCliTest {
 protected:
  // Writes the database at dir/as/workitems.db; `extra` is more Python run at the end.
  fs::path MakeActionServerDb(const std::string& extra = "") {
    fs::path root = dir_.path() / "as";
    fs::create_directories(root);
    WriteFile("make_db.py", R"PY(
import os, sqlite3, sys, uuid
root = sys.argv[1]
os.chdir(root)  # the adapter's defaults are relative: ./workitems.db, ./work_item_files
db = sqlite3.connect("workitems.db")
db.executescript("""
CREATE TABLE IF NOT EXISTS work_items (
    id TEXT PRIMARY KEY, queue_name TEXT NOT NULL, parent_id TEXT,
    state TEXT NOT NULL DEFAULT 'PENDING', payload TEXT, exception_type TEXT,
    error_code TEXT, error_message TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    reserved_at TEXT, completed_at TEXT);
CREATE INDEX IF NOT EXISTS idx_work_items_queue_state ON work_items(queue_name, state);
CREATE INDEX IF NOT EXISTS idx_work_items_parent ON work_items(parent_id);
CREATE TABLE IF NOT EXISTS work_item_files (
    id TEXT PRIMARY KEY, work_item_id TEXT NOT NULL, name TEXT NOT NULL,
    original_name TEXT NOT NULL, file_path TEXT NOT NULL, created_at TEXT NOT NULL,
    FOREIGN KEY (work_item_id) REFERENCES work_items(id));
CREATE UNIQUE INDEX IF NOT EXISTS idx_work_item_files_name ON work_item_files(work_item_id, name);
""")
T = "2025-03-01T10:00:%02d.250000+00:00"
def item(key, queue, state, payload, sec, parent=None, exc=None, code=None, msg=None,
         reserved=None, completed=None):
    db.execute("INSERT INTO work_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (key, queue, parent, state, payload, exc, code, msg, T % sec, T % (sec + 1),
                reserved and T % reserved, completed and T % completed))
def attach(key, name, content, original=None):
    file_id = str(uuid.uuid4())
    os.makedirs(os.path.join("work_item_files", key), exist_ok=True)
    path = os.path.join("work_item_files", key, file_id + "_" + name)
    open(path, "wb").write(content)
    db.execute("INSERT INTO work_item_files VALUES (?,?,?,?,?,?)",
               (file_id, key, name, original or name, path, T % 0))
item("a-pending", "orders", "PENDING", '{"n": 1, "z": 2, "a": 3}', 1)
attach("a-pending", "invoice.pdf", b"%PDF\x00\xff binary")
item("b-running", "orders", "IN_PROGRESS", '{"n": 2}', 2, reserved=5)
item("c-done", "orders", "DONE", '{"n": 3}', 3, reserved=4, completed=6)
item("d-output", "orders_output", "PENDING", '{"total": 3}', 7, parent="c-done")
attach("d-output", "result.txt", b"three\n", original="report.txt")
item("e-business", "orders", "FAILED", '{"n": 4}', 8, exc="BUSINESS", code="BAD_ORDER",
     msg="no such customer", reserved=8, completed=9)
item("f-app", "orders", "FAILED", '{"n": 5}', 10, exc="APPLICATION", msg="timeout",
     reserved=10, completed=11)
item("g-null", "orders", "PENDING", None, 12)
item("h-orphan", "orders_output", "PENDING", '{}', 13, parent="gone-parent")
)PY" + extra + "\ndb.commit()\n");
    std::string cmd =
        "/usr/bin/python3.11 -I " + (dir_.path() / "make_db.py").string() + " " + root.string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return root / "workitems.db";
  }

  json ByTheirId(const json& list, const std::string& their_id) {
    for (const auto& it : list["items"])
      if (it["meta"].is_object() && it["meta"]["action_server"]["id"] == their_id) return it;
    ADD_FAILURE() << "no imported item with Action Server id " << their_id;
    return json();
  }
};

ROBOTNI_STORE_BACKENDS(ActionServerImportTest);

TEST_P(ActionServerImportTest, ImportsEveryItemInItsStateWithFilesParentsAndErrors) {
  fs::path db = MakeActionServerDb();
  // From another directory: relative file paths are found beside the database.
  CliOptions elsewhere;
  elsewhere.cwd = dir_.path().string();
  CliResult r = Items({"import", "--from-action-server", db.string()}, elsewhere);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("imported 8 item(s) from " + db.string() +
                               " (1 DONE, 2 FAILED, 5 PENDING), 2 file(s); 1 were IN_PROGRESS "
                               "there and are PENDING here"));
  json list = ItemsJson({"list", "--limit", "100"});
  ASSERT_EQ(list["count"], 8);

  json a = ByTheirId(list, "a-pending");
  EXPECT_EQ(a["state"], "PENDING");
  EXPECT_EQ(a["queue"], "orders");
  EXPECT_EQ(a["created_ms"], 1740823201250);
  ASSERT_EQ(a["files"].size(), 1u);
  EXPECT_EQ(a["files"][0]["name"], "invoice.pdf");
  EXPECT_EQ(a["files"][0]["sha256"], core::Sha256Hex(std::string("%PDF\0\xff binary", 13)));
  EXPECT_EQ(a["idempotency_key"], "action-server:a-pending");

  json b = ByTheirId(list, "b-running");
  EXPECT_EQ(b["state"], "PENDING");
  EXPECT_EQ(b["meta"]["action_server"]["state"], "IN_PROGRESS");
  EXPECT_EQ(b["meta"]["action_server"]["reserved_at"], "2025-03-01T10:00:05.250000+00:00");
  json tl = ItemsJson({"show", b["id"].get<std::string>()})["timeline"];
  bool noted = false;
  for (const auto& e : tl)
    noted |= e["event"] == "imported" &&
             e["message"].get<std::string>().find("nobody holds it here") != std::string::npos;
  EXPECT_TRUE(noted) << tl.dump();

  json c = ByTheirId(list, "c-done");
  EXPECT_EQ(c["state"], "DONE");
  EXPECT_EQ(c["started_ms"], 1740823204250);
  EXPECT_EQ(c["finished_ms"], 1740823206250);
  json d = ByTheirId(list, "d-output");
  EXPECT_EQ(d["parent_id"], c["id"]);
  EXPECT_EQ(d["queue"], "orders_output");
  EXPECT_EQ(d["meta"]["action_server"]["files"]["result.txt"]["original_name"], "report.txt");
  CliResult file = RunRobotni(
      {"items", "export", "--store", StoreUrl(), "--queue", "orders_output", "--state", "PENDING"});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_THAT(file.out, HasSubstr("\"content_base64\":\"dGhyZWUK\""));  // "three\n"
  CliResult orders = RunRobotni({"items", "export", "--store", StoreUrl(), "--queue", "orders"});
  ASSERT_EQ(orders.exit_code, 0) << orders.err;
  EXPECT_THAT(orders.out, HasSubstr(R"("payload":{"n":1,"z":2,"a":3})"));  // key order kept

  json e = ByTheirId(list, "e-business");
  EXPECT_EQ(e["state"], "FAILED");
  EXPECT_EQ(e["exception_type"], "BUSINESS");
  EXPECT_EQ(e["error_code"], "BAD_ORDER");
  EXPECT_EQ(e["error_message"], "no such customer");
  json f = ByTheirId(list, "f-app");
  EXPECT_EQ(f["exception_type"], "APPLICATION");
  EXPECT_EQ(f["error_message"], "timeout");
  EXPECT_EQ(ByTheirId(list, "g-null")["payload"], json::object());  // as its load_payload
  json h = ByTheirId(list, "h-orphan");
  EXPECT_TRUE(h["parent_id"].is_null());
  EXPECT_EQ(h["meta"]["action_server"]["parent_id"], "gone-parent");

  // A second import copies nothing.
  CliResult again = Items({"import", "--from-action-server", db.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("imported 0 item(s)"));
  EXPECT_THAT(again.out, HasSubstr("8 already imported before"));
  EXPECT_EQ(ItemsJson({"list", "--limit", "100"})["count"], 8);
}

// What would be lost stops the import before anything is written, naming the item.
TEST_P(ActionServerImportTest, AMissingFileOrABadRowImportsNothing) {
  fs::path db = MakeActionServerDb(
      "import glob\nfor p in glob.glob('work_item_files/d-output/*'): os.remove(p)\n");
  CliResult r = Items({"import", "--from-action-server", db.string()});
  ExpectError(r, 2, "work item d-output: file 'result.txt'");
  EXPECT_THAT(r.err, HasSubstr("not found"));
  EXPECT_THAT(r.err, HasSubstr("nothing was imported"));

  fs::remove_all(dir_.path() / "as");
  db = MakeActionServerDb("item('x-bad', 'orders', 'PENDING', '{broken', 20)\n");
  r = Items({"import", "--from-action-server", db.string()});
  ExpectError(r, 2, "work item x-bad: payload is not JSON");

  fs::remove_all(dir_.path() / "as");
  db = MakeActionServerDb("item('y-odd', 'orders', 'PAUSED', '{}', 21)\n");
  r = Items({"import", "--from-action-server", db.string()});
  ExpectError(r, 2, "work item y-odd: unknown state 'PAUSED'");
  EXPECT_EQ(StoredItems(), 0);

  r = Items({"import", "--from-action-server", (dir_.path() / "nope.db").string()});
  ExpectError(r, 2, "no such file");
  // Another SQLite database is not an Action Server database.
  const fs::path other = dir_.path() / "other.db";
  const std::string make =
      "/usr/bin/python3.11 -I -c \"import sqlite3; "
      "sqlite3.connect('" +
      other.string() + "').execute('CREATE TABLE work_items(x)')\"";
  ASSERT_EQ(std::system(make.c_str()), 0);
  r = Items({"import", "--from-action-server", other.string()});
  ExpectError(r, 2, "is not an Action Server / actions-work-items database");
}

}  // namespace
}  // namespace robotni
