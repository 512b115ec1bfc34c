#pragma once
// labcheck's command line: subcommands, options, and the exit status contract
// (0 every graded check passed, 1 some failed, 2 a usage or configuration error).

namespace labcheck {

int run_cli(int argc, char** argv);

}  // namespace labcheck
