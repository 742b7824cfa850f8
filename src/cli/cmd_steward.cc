// `runnel steward`: retention and compaction for an embedded data directory
// (no broker running). Each pass is Log::RunSteward(), which works under
// each partition's writer lock, so it is safe next to producers in other
// processes.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace runnel::cli {
namespace {

constexpr const char* kVerb = "steward";
constexpr auto kStopCheck = std::chrono::milliseconds(100);

struct StewardFlags {
  std::string dir;
  bool once = false;
  int64_t interval_ms = 10000;
};

int RunSteward(const StewardFlags& f) {
  if (f.interval_ms <= 0) {
    return ReportUsage(kVerb, "--interval-ms " + std::to_string(f.interval_ms) + ": must be > 0");
  }
  if (!f.once) InstallStopSignals();
  auto log = OpenLog(f.dir, /*create=*/false);
  if (!log.ok()) return ReportError(kVerb, log.status());
  for (;;) {
    Status st = (*log)->RunSteward();
    if (f.once) return st.ok() ? kExitOk : ReportError(kVerb, st);
    // A long-running steward outlives a bad pass (a busy lock, a full disk):
    // say so and try again next interval.
    if (!st.ok()) (void)ReportError(kVerb, st);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(f.interval_ms);
    while (!StopRequested() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kStopCheck);
    }
    if (StopRequested()) return kExitOk;
  }
}

}  // namespace

void RegisterStewardCommand(CLI::App& app) {
  auto f = std::make_shared<StewardFlags>();
  CLI::App* cmd = app.add_subcommand(
      "steward", "Apply retention and compaction to every topic (once, or every interval)");
  cmd->footer(
      WrapText("Without --once, runs a pass every --interval-ms until SIGINT/SIGTERM (exit 0); a "
               "failed pass is reported on stderr and retried at the next interval."));
  cmd->add_option("--dir", f->dir, "Data directory")->required();
  cmd->add_flag("--once", f->once, "Run one pass and exit (non-zero if it failed)");
  cmd->add_option("--interval-ms", f->interval_ms, "Time between passes")->capture_default_str();
  cmd->callback([f] { ExitCode() = RunSteward(*f); });
}

}  // namespace runnel::cli
