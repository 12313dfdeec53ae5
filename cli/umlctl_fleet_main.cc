// umlctl-fleet: `umlctl fleet ...` as a program of its own (the same code
// umlctl runs for its fleet subcommand).
#include <iostream>
#include <string>
#include <vector>

#include "kumld/fleet_command.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kuml::kumld::RunFleetCommand(args, std::cout, std::cerr);
}
