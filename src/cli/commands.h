// Each `runnel <verb>` lives in cmd_<verb>.cc and registers itself on the
// top-level CLI11 app here. A command's callback returns through
// CommandResult: the process exit code (0 = success).
#pragma once

#include <CLI/CLI.hpp>

namespace runnel::cli {

// Set by a subcommand's callback; main() returns it.
int& ExitCode();

void RegisterTopicCommand(CLI::App& app);
void RegisterProduceCommand(CLI::App& app);
void RegisterConsumeCommand(CLI::App& app);
void RegisterVerifyCommand(CLI::App& app);
void RegisterStewardCommand(CLI::App& app);
void RegisterBenchCommand(CLI::App& app);  // cmd_bench.cc
void RegisterServeCommand(CLI::App& app);  // cmd_serve.cc (the broker)

}  // namespace runnel::cli
