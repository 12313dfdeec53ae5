#include "vmm/cpu/host_kvm.h"

#include <fstream>
#include <sstream>

namespace kuml {

KvmFlavor DetectKvmFlavor(const std::string& cpuinfo_path) {
  std::ifstream in(cpuinfo_path);
  std::string line;
  bool virt_flag = false;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      if (word == "vmx" || word == "svm") virt_flag = true;
    }
    break;  // every CPU lists the same flags
  }
  return virt_flag ? KvmFlavor::kHardware : KvmFlavor::kSoftwareAssisted;
}

const char* KvmFlavorName(KvmFlavor flavor) {
  switch (flavor) {
    case KvmFlavor::kHardware:
      return "hardware";
    case KvmFlavor::kSoftwareAssisted:
      return "software-assisted";
  }
  return "unknown";
}

}  // namespace kuml
