// `runnel`: the command-line tool. Each verb registers itself from its
// cmd_<verb>.cc (see commands.h); this file only parses and maps outcomes to
// exit codes: 0 success, 1 runtime failure, 2 usage error.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <cstdio>
#include <signal.h>
#include <string>

#ifndef RUNNEL_VERSION
#error "RUNNEL_VERSION must be defined by the build (CMake's PROJECT_VERSION)"
#endif

namespace runnel::cli {

int& ExitCode() {
  static int code = 0;
  return code;
}

namespace {

// "topic create" for `runnel topic create ...`: the deepest subcommand that
// the parser reached, so a usage error names the command it belongs to.
std::string SelectedVerb(CLI::App& app) {
  std::string verb;
  CLI::App* at = &app;
  for (;;) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : at->get_subcommands({})) {
      if (sub->parsed()) {
        next = sub;
        break;
      }
    }
    if (next == nullptr) return verb;
    if (!verb.empty()) verb += ' ';
    verb += next->get_name();
    at = next;
  }
}

}  // namespace
}  // namespace runnel::cli

int main(int argc, char** argv) {
  using namespace runnel::cli;
  // A closed stdout (e.g. `runnel consume ... | head`) must come back as
  // EPIPE from write() so the command can stop quietly, not kill us mid-way.
  signal(SIGPIPE, SIG_IGN);

  CLI::App app(
      "runnel: an embedded event log and (later) a broker.\n"
      "Every command works on a data directory given with --dir.",
      "runnel");
  app.set_version_flag("--version", "runnel " RUNNEL_VERSION);
  app.require_subcommand(1);
  app.get_formatter()->column_width(34);

  RegisterTopicCommand(app);
  RegisterProduceCommand(app);
  RegisterConsumeCommand(app);
  RegisterVerifyCommand(app);
  RegisterStewardCommand(app);
#ifdef RUNNEL_HAVE_BENCH
  RegisterBenchCommand(app);
#endif
  RegisterServeCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string verb = SelectedVerb(app);
    std::string where = verb.empty() ? "runnel" : "runnel " + verb;
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", where.c_str(), e.what(),
                 where.c_str());
    return kExitUsage;
  }
  std::fflush(stdout);
  return ExitCode();
}
