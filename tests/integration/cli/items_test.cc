// End-to-end tests of `robotni items`: the real binary against a real SQLite file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "tests/integration/cli/items_test_util.h"

namespace robotni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliOptions;
using testing::CliResult;
using ::testing::HasSubstr;
using testing::RunRobotni;

class ItemsCliTest : public ::testing::Test {
 protected:
  std::string StoreUrl(const std::string& name = "wi.db") const {
    return "sqlite://" + (dir_.path() / name).string();
  }

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

  testing::TempDir dir_;
};

TEST_F(ItemsCliTest, AddThenShowJsonHasAllFieldsFilesAndTimeline) {
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

TEST_F(ItemsCliTest, AddReadsPayloadFromStdinFileAndDefaultsToEmptyObject) {
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

TEST_F(ItemsCliTest, AddRefusesMalformedJsonAndBadArguments) {
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

TEST_F(ItemsCliTest, DelayedItemIsScheduled) {
  std::string id = Add({"later", "{}", "--delay", "3600"});
  json item = ItemsJson({"show", id});
  EXPECT_GT(item["not_before_ms"].get<int64_t>(), item["created_ms"].get<int64_t>() + 3500000);
  json stats = ItemsJson({"stats"});
  ASSERT_EQ(stats["queues"].size(), 1u);
  EXPECT_EQ(stats["queues"][0]["scheduled"], 1);
  EXPECT_EQ(stats["queues"][0]["pending"], 0);
  EXPECT_THAT(Items({"list"}).out, HasSubstr("PENDING (scheduled)"));
}

TEST_F(ItemsCliTest, ListFiltersPagesAndPrintsATable) {
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

TEST_F(ItemsCliTest, ListRefusesUnknownStateAndBadNumbers) {
  Add({"q"});
  ExpectError(Items({"list", "--state", "sleeping"}), 2, "unknown state 'sleeping'");
  ExpectError(Items({"list", "--limit", "many"}), 2, "--limit");
  ExpectError(Items({"list", "--offset", "-1"}), 2, "--offset");
  ExpectError(Items({"export", "--state", "nope"}), 2, "unknown state");
}

TEST_F(ItemsCliTest, UnknownIdExitsFour) {
  Add({"q"});
  ExpectError(Items({"show", "424242"}), 4, "424242");
  ExpectError(Items({"retry", "424242"}), 4, "424242");
  ExpectError(Items({"cancel", "424242"}), 4, "424242");
  ExpectError(Items({"show", "not-a-number"}), 4, "not-a-number");
  ExpectError(Items({"show"}), 2, "missing the item ID");
}

TEST_F(ItemsCliTest, CancelThenRetry) {
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

TEST_F(ItemsCliTest, FlushCancelsPendingItemsOfOneQueue) {
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

TEST_F(ItemsCliTest, PruneDeletesFinishedItemsOlderThanTheCutoff) {
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

TEST_F(ItemsCliTest, StatsCountsPerQueueAndState) {
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

TEST_F(ItemsCliTest, ExportImportRoundTripIntoAFreshStoreWithFiles) {
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

  const std::string fresh = StoreUrl("fresh.db");
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

TEST_F(ItemsCliTest, ImportQueueOverrideAndStateFilteredExport) {
  Add({"src", R"({"k":1})"});
  std::string c = Add({"src", R"({"k":2})"});
  ASSERT_EQ(Items({"cancel", c}).exit_code, 0);
  CliResult ex = Items({"export", "--state", "CANCELLED"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  ASSERT_EQ(std::count(ex.out.begin(), ex.out.end(), '\n'), 1);

  CliOptions in;
  in.stdin_data = ex.out;
  const std::string fresh = StoreUrl("fresh.db");
  CliResult im = RunRobotni({"items", "import", "--queue", "dst", "--store", fresh}, in);
  ASSERT_EQ(im.exit_code, 0) << im.err;
  json list = ItemsJson({"list"}, fresh);
  ASSERT_EQ(list["count"], 1);
  EXPECT_EQ(list["items"][0]["queue"], "dst");
  EXPECT_EQ(list["items"][0]["payload"], json::parse(R"({"k":2})"));
}

TEST_F(ItemsCliTest, MalformedImportLinesImportNothingAndNameTheLines) {
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
TEST_F(ItemsCliTest, NumberOverflowIsMalformedJsonNotACrash) {
  CliOptions in;
  in.stdin_data = R"({"queue":"q","payload":{"n":1e400}})"
                  "\n";
  CliResult r = Items({"import", "-"}, in);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("<stdin>:1: malformed JSON: number overflow parsing '1e400'"));
  ExpectError(Items({"add", "q", "[1e400]"}), 2, "payload is not valid JSON: number overflow");
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
}

TEST_F(ItemsCliTest, StoreResolutionLikeRun) {
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

TEST_F(ItemsCliTest, StoreErrorsExitOne) {
  // Read commands do not create a store that is not there.
  ExpectError(Items({"list"}), 1, "no work-item store");
  EXPECT_FALSE(fs::exists(dir_.path() / "wi.db"));
  // Not a SQLite file.
  fs::path junk = WriteFile("junk.db", "this is not a database, just text....");
  ExpectError(Items({"list"}, {}, junk.string()), 1, "not a SQLite database");
  ExpectError(Items({"add", "q"}, {}, "sqlite://relative/path.db"), 1, "absolute path");
  ExpectError(Items({"add", "q"}, {}, "mysql://host/db"), 1, "unknown store URL scheme");
}

TEST_F(ItemsCliTest, ItemsWithoutSubcommandIsABadArgument) {
  CliResult r = RunRobotni({"items"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("robotni: items: expected a subcommand"));
  Add({"q"});
  ExpectError(Items({"show", "1", "2"}), 2, "unexpected argument");
}

}  // namespace
}  // namespace robotni
