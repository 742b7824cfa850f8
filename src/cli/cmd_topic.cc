// `runnel topic create|list|describe|delete|delete-records`: topic
// administration on a data directory. Output of list/describe is for people; --json is for scripts.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

namespace runnel::cli {
namespace {

constexpr char kNameHelp[] =
    "Topic names may hold any bytes but NUL. Printed names are escaped so that one line is "
    "one topic: \\\\ for a backslash, \\n \\r \\t, \\xHH for other control bytes, DEL and "
    "bytes that are not valid UTF-8; valid UTF-8 is printed as is.";

struct TopicFlags {
  std::string dir;
  std::string name;
  TopicConfig config;
  std::string fsync;
  bool if_not_exists = false;
  bool json = false;
  int32_t partition = 0;
  int64_t before = -1;
};

void AddDirOption(CLI::App* cmd, TopicFlags* f) {
  cmd->add_option("--dir", f->dir, "Data directory")->required();
}

void AddNameArgument(CLI::App* cmd, TopicFlags* f) {
  cmd->add_option("topic", f->name, "Topic name (use -- before a name that starts with -)")
      ->required();
}

// ---- create -----------------------------------------------------------------

int RunCreate(TopicFlags& f) {
  const char* verb = "topic create";
  if (!f.fsync.empty()) {
    auto spec = FsyncSpec::Parse(f.fsync);
    if (!spec.ok()) return ReportUsage(verb, spec.status().message());
    f.config.fsync = *spec;
  }
  if (Status st = f.config.Validate(); !st.ok()) return ReportUsage(verb, st.message());
  auto log = OpenLog(f.dir, /*create=*/true);
  if (!log.ok()) return ReportError(verb, log.status());
  Status st = (*log)->CreateTopic(f.name, f.config);
  if (st.Is(StatusCode::kAlreadyExists) && f.if_not_exists) return kExitOk;
  if (!st.ok()) return ReportError(verb, st);
  return kExitOk;
}

void RegisterCreate(CLI::App* topic) {
  auto f = std::make_shared<TopicFlags>();
  CLI::App* cmd = topic->add_subcommand("create", "Create a topic");
  AddDirOption(cmd, f.get());
  AddNameArgument(cmd, f.get());
  TopicConfig& c = f->config;
  cmd->add_option("--partitions", c.partitions, "Number of partitions")->capture_default_str();
  cmd->add_option("--retention-ms", c.retention_ms,
                  "Delete sealed segments older than this; -1 keeps forever")
      ->capture_default_str();
  cmd->add_option("--retention-bytes", c.retention_bytes,
                  "Per-partition size bound for sealed segments; -1 = unlimited")
      ->capture_default_str();
  cmd->add_flag("--compact", c.compact, "Keep only the newest record per key");
  cmd->add_option("--delete-retention-ms", c.delete_retention_ms,
                  "How long compaction keeps tombstones")
      ->capture_default_str();
  cmd->add_option("--fsync", f->fsync,
                  "always | interval:MS | never (default interval:" +
                      std::to_string(c.fsync.interval_ms) + ")");
  cmd->add_option("--max-message-bytes", c.max_message_bytes, "Largest encoded record accepted")
      ->capture_default_str();
  cmd->add_option("--segment-bytes", c.segment_bytes, "Roll the active segment at this size")
      ->capture_default_str();
  cmd->add_option("--segment-ms", c.segment_ms, "... or at this age")->capture_default_str();
  cmd->add_flag("--if-not-exists", f->if_not_exists, "Succeed if the topic already exists");
  cmd->callback([f] { ExitCode() = RunCreate(*f); });
}

// ---- list --------------------------------------------------------------------

int RunList(const TopicFlags& f) {
  const char* verb = "topic list";
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(verb, log.status());
  auto topics = (*log)->ListTopics();
  if (!topics.ok()) return ReportError(verb, topics.status());
  std::sort(topics->begin(), topics->end(),
            [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; });
  Output out;
  for (const TopicInfo& t : *topics) {
    if (f.json) {
      out.Write("{");
      AppendJsonBytesField(&out.buffer(), "name", t.name);
      out.Write(",\"partitions\":" + std::to_string(t.config.partitions) + "}\n");
    } else {
      out.Write(EscapeLine(t.name));
      out.Write("\n");
    }
  }
  if (!out.Flush() && !out.broken_pipe()) return ReportError(verb, Status::IoError(out.error()));
  return kExitOk;
}

void RegisterList(CLI::App* topic) {
  auto f = std::make_shared<TopicFlags>();
  CLI::App* cmd = topic->add_subcommand("list", "List topic names, one per line, sorted");
  cmd->footer(WrapText(kNameHelp));
  AddDirOption(cmd, f.get());
  cmd->add_flag("--json", f->json,
                "One JSON object per line: {\"name\":..,\"partitions\":N} (name_b64 for "
                "names that are not UTF-8)");
  cmd->callback([f] { ExitCode() = RunList(*f); });
}

// ---- describe ----------------------------------------------------------------

void AppendConfigJson(std::string* out, const TopicConfig& c) {
  out->append("{\"partitions\":" + std::to_string(c.partitions) +
              ",\"retention_ms\":" + std::to_string(c.retention_ms) + ",\"retention_bytes\":" +
              std::to_string(c.retention_bytes) + ",\"compact\":" + (c.compact ? "true" : "false") +
              ",\"delete_retention_ms\":" + std::to_string(c.delete_retention_ms) +
              ",\"fsync\":\"" + c.fsync.ToString() + "\"" +
              ",\"max_message_bytes\":" + std::to_string(c.max_message_bytes) +
              ",\"segment_bytes\":" + std::to_string(c.segment_bytes) +
              ",\"segment_ms\":" + std::to_string(c.segment_ms) + "}");
}

std::string DescribeJson(const TopicInfo& t) {
  std::string out = "{";
  AppendJsonBytesField(&out, "name", t.name);
  out += ",\"config\":";
  AppendConfigJson(&out, t.config);
  out += ",\"partitions\":[";
  for (size_t i = 0; i < t.partitions.size(); ++i) {
    const PartitionInfo& p = t.partitions[i];
    if (i > 0) out += ',';
    out += "{\"partition\":" + std::to_string(p.partition) +
           ",\"start_offset\":" + std::to_string(p.start_offset) +
           ",\"end_offset\":" + std::to_string(p.end_offset) +
           ",\"bytes\":" + std::to_string(p.bytes) + ",\"segments\":" + std::to_string(p.segments) +
           "}";
  }
  out += "]}\n";
  return out;
}

std::string DescribeText(const TopicInfo& t) {
  const TopicConfig& c = t.config;
  auto line = [](std::string_view key, const std::string& value) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%-20.*s ", static_cast<int>(key.size()), key.data());
    return buf + value + "\n";
  };
  auto limit = [](int64_t v, const char* none) {
    return v < 0 ? std::to_string(v) + " (" + none + ")" : std::to_string(v);
  };
  std::string out;
  out += line("topic", EscapeLine(t.name));
  out += line("partitions", std::to_string(c.partitions));
  out += line("retention_ms", limit(c.retention_ms, "keep forever"));
  out += line("retention_bytes", limit(c.retention_bytes, "unlimited"));
  out += line("compact", c.compact ? "true" : "false");
  out += line("delete_retention_ms", std::to_string(c.delete_retention_ms));
  out += line("fsync", c.fsync.ToString());
  out += line("max_message_bytes", std::to_string(c.max_message_bytes));
  out += line("segment_bytes", std::to_string(c.segment_bytes));
  out += line("segment_ms", std::to_string(c.segment_ms));
  out += "\n";
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%-10s %14s %14s %14s %9s\n", "partition", "start_offset",
                "end_offset", "bytes", "segments");
  out += buf;
  for (const PartitionInfo& p : t.partitions) {
    std::snprintf(buf, sizeof(buf), "%-10d %14lld %14lld %14lld %9d\n", p.partition,
                  static_cast<long long>(p.start_offset), static_cast<long long>(p.end_offset),
                  static_cast<long long>(p.bytes), p.segments);
    out += buf;
  }
  return out;
}

int RunDescribe(const TopicFlags& f) {
  const char* verb = "topic describe";
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(verb, log.status());
  auto info = (*log)->DescribeTopic(f.name);
  if (!info.ok()) return ReportError(verb, info.status());
  Output out;
  out.Write(f.json ? DescribeJson(*info) : DescribeText(*info));
  if (!out.Flush() && !out.broken_pipe()) return ReportError(verb, Status::IoError(out.error()));
  return kExitOk;
}

void RegisterDescribe(CLI::App* topic) {
  auto f = std::make_shared<TopicFlags>();
  CLI::App* cmd = topic->add_subcommand(
      "describe", "Show a topic's config and each partition's offsets, bytes and segments");
  cmd->footer(WrapText(std::string(kNameHelp) +
                       "\n--json prints one object: {\"name\":..,\"config\":{\"partitions\":..,"
                       "\"retention_ms\":..,\"retention_bytes\":..,\"compact\":..,"
                       "\"delete_retention_ms\":..,\"fsync\":\"..\",\"max_message_bytes\":..,"
                       "\"segment_bytes\":..,\"segment_ms\":..},\"partitions\":[{\"partition\":..,"
                       "\"start_offset\":..,\"end_offset\":..,\"bytes\":..,\"segments\":..}]}\n"
                       "start_offset is the partition's log start offset, the first one readable "
                       "(records below it were deleted by retention or topic delete-records); "
                       "bytes count the segments still on disk."));
  AddDirOption(cmd, f.get());
  AddNameArgument(cmd, f.get());
  cmd->add_flag("--json", f->json, "Machine-readable output (one JSON object)");
  cmd->callback([f] { ExitCode() = RunDescribe(*f); });
}

// ---- delete ------------------------------------------------------------------

int RunDelete(const TopicFlags& f) {
  const char* verb = "topic delete";
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(verb, log.status());
  if (Status st = (*log)->DeleteTopic(f.name); !st.ok()) return ReportError(verb, st);
  return kExitOk;
}

void RegisterDelete(CLI::App* topic) {
  auto f = std::make_shared<TopicFlags>();
  CLI::App* cmd = topic->add_subcommand("delete", "Delete a topic and all its records");
  AddDirOption(cmd, f.get());
  AddNameArgument(cmd, f.get());
  cmd->callback([f] { ExitCode() = RunDelete(*f); });
}

// ---- delete-records ----------------------------------------------------------

int RunDeleteRecords(const TopicFlags& f) {
  const char* verb = "topic delete-records";
  if (f.before < 0) return ReportUsage(verb, "--before must be an offset >= 0");
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(verb, log.status());
  auto start = (*log)->DeleteRecordsBefore(f.name, f.partition, f.before);
  if (!start.ok()) return ReportError(verb, start.status());
  Output out;
  out.Write(f.json ? "{\"partition\":" + std::to_string(f.partition) +
                         ",\"start_offset\":" + std::to_string(*start) + "}\n"
                   : "partition " + std::to_string(f.partition) + " start_offset " +
                         std::to_string(*start) + "\n");
  if (!out.Flush() && !out.broken_pipe()) return ReportError(verb, Status::IoError(out.error()));
  return kExitOk;
}

void RegisterDeleteRecords(CLI::App* topic) {
  auto f = std::make_shared<TopicFlags>();
  CLI::App* cmd = topic->add_subcommand(
      "delete-records", "Delete a partition's records below an offset (raise its log start)");
  cmd->footer(WrapText(
      "Raises the partition's log start offset to --before (never lowers it) and prints the "
      "new start offset. Readers no longer see records below it at once; the disk they use is "
      "freed by the next steward pass (runnel steward, or the server's periodic pass), one "
      "whole sealed segment at a time: a segment the offset points into stays until all of it "
      "is below. --before may be at most the partition's end offset (= delete everything); "
      "past it the command fails (exit 1). Safe while other processes produce and read."));
  AddDirOption(cmd, f.get());
  AddNameArgument(cmd, f.get());
  cmd->add_option("--partition", f->partition, "Partition")->capture_default_str();
  cmd->add_option("--before", f->before, "Delete the records with offsets below this")->required();
  cmd->add_flag("--json", f->json, "Print {\"partition\":P,\"start_offset\":N}");
  cmd->callback([f] { ExitCode() = RunDeleteRecords(*f); });
}

}  // namespace

void RegisterTopicCommand(CLI::App& app) {
  CLI::App* topic = app.add_subcommand(
      "topic", "Create, list, describe and delete topics; delete records below an offset");
  topic->require_subcommand(1);
  RegisterCreate(topic);
  RegisterList(topic);
  RegisterDescribe(topic);
  RegisterDelete(topic);
  RegisterDeleteRecords(topic);
}

}  // namespace runnel::cli
