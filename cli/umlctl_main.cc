// umlctl: kuml's management client (see cli/umlctl.h).
#include <iostream>
#include <string>
#include <vector>

#include "cli/umlctl.h"

int main(int argc, char** argv) {
  return kuml::RunUmlctl(std::vector<std::string>(argv + 1, argv + argc),
                         std::cout, std::cerr);
}
