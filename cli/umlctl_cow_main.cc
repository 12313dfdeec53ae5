// umlctl-cow: the `umlctl cow ...` tools as a program of their own (for the
// tests, and until umlctl dispatches to RunCowCommand).
#include <iostream>
#include <string>
#include <vector>

#include "disk/cow_command.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Accept both `umlctl-cow create ...` and `umlctl-cow cow create ...`.
  if (!args.empty() && args[0] == "cow") args.erase(args.begin());
  return kuml::RunCowCommand(args, std::cout, std::cerr);
}
