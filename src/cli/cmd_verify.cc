// `runnel verify`: an offline integrity check of a whole data directory.
// Reads every segment and index (storage::VerifyDirectory), changes nothing.
// Exit status: 0 clean, 1 damage found, 2 usage or I/O error (the check
// could not run).
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "storage/verify.h"
#include "util/env.h"

#include <cstdio>
#include <memory>
#include <string>

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "verify";

int RunVerify(const std::string& dir) {
  auto report = storage::VerifyDirectory(Env::Default(), dir);
  if (!report.ok()) {
    (void)ReportError(kVerb, report.status());
    return kExitUsage;
  }
  Output out;
  for (const storage::Damage& d : report->damage) {
    out.Write("DAMAGED " + d.file + " bytes " + std::to_string(d.begin) + "-" +
              std::to_string(d.end) + ": " + d.problem + "\n");
  }
  char summary[320];
  std::snprintf(summary, sizeof(summary),
                "%lld topics, %lld partitions, %lld segments, %lld batches, %lld records, "
                "%lld bytes: ",
                static_cast<long long>(report->topics), static_cast<long long>(report->partitions),
                static_cast<long long>(report->segments), static_cast<long long>(report->batches),
                static_cast<long long>(report->records), static_cast<long long>(report->bytes));
  out.Write(summary);
  out.Write(report->clean() ? std::string("clean\n")
                            : std::to_string(report->damage.size()) + " damaged ranges\n");
  if (!out.Flush() && !out.broken_pipe()) {
    (void)ReportError(kVerb, Status::IoError(out.error()));
    return kExitUsage;
  }
  return report->clean() ? kExitOk : kExitFailure;
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("verify", "Check every segment and index in a data directory");
  cmd->footer(
      WrapText("Prints one line per damaged byte range, 'DAMAGED <file> bytes <begin>-<end>: "
               "<problem>', then a summary (topics, partitions including the internal meta one, "
               "segments, batches, records, bytes). Never modifies anything. Exit status: 0 clean, "
               "1 damage found, 2 usage or I/O error."));
  cmd->add_option("--dir", *dir, "Data directory")->required();
  cmd->callback([dir] { ExitCode() = RunVerify(*dir); });
}

}  // namespace runnel::cli
