// InterruptLine: a device's wire to the guest's interrupt controller.
//
// Level semantics: a device raises the line while it has something for the
// guest and lowers it when the guest has acknowledged. Implementations are
// thread-safe (devices call them from vCPU threads and the event loop).
#ifndef KUML_VMM_INTERRUPT_LINE_H_
#define KUML_VMM_INTERRUPT_LINE_H_

namespace kuml {

class InterruptLine {
 public:
  virtual ~InterruptLine() = default;
  virtual void SetLevel(bool high) = 0;
};

}  // namespace kuml

#endif  // KUML_VMM_INTERRUPT_LINE_H_
