// Architectural bits of CR0, CR4 and EFER that kuml reads or sets (Intel SDM
// vol. 3, 2.5; AMD APM vol. 2, 3.1): the boot states (vmm/boot/cpu_state.h)
// and the page walk (vmm/paging/page_walk.h) share them.
#ifndef KUML_VMM_CPU_CONTROL_REGISTERS_H_
#define KUML_VMM_CPU_CONTROL_REGISTERS_H_

#include <cstdint>

namespace kuml {

inline constexpr uint64_t kCr0Pe = 1ull << 0;
inline constexpr uint64_t kCr0Et = 1ull << 4;
inline constexpr uint64_t kCr0Ne = 1ull << 5;
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kCr4La57 = 1ull << 12;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;

}  // namespace kuml

#endif  // KUML_VMM_CPU_CONTROL_REGISTERS_H_
