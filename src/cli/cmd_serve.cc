// `runnel serve`: the broker. It is a later piece of work; the command is
// registered now with its planned flags so scripts and docs can refer to it,
// and it says plainly that it is not there rather than pretending to run.
#include "cli/cli_util.h"
#include "cli/commands.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace runnel::cli {
namespace {

struct ServeFlags {
  std::string config;
  std::string data;
  std::vector<std::string> resp;
};

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the broker (not part of this build yet)");
  cmd->add_option("--config", f->config, "Config file (TOML)");
  cmd->add_option("--data", f->data, "Data directory");
  cmd->add_option("--resp", f->resp, "RESP listener address:port (repeatable)")
      ->allow_extra_args(false);
  // The flags are parsed (and checked) but unused until the broker exists;
  // the callback owns them so they outlive parsing.
  cmd->callback([f] {
    (void)f;
    std::fputs("runnel serve: the broker is not part of this build yet\n", stderr);
    ExitCode() = kExitUsage;
  });
}

}  // namespace runnel::cli
