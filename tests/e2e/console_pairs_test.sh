#!/bin/bash
# con0's split `in,out` forms and single-direction fds, kuml against the real
# UML on the same forms (console_pairs.py runs one VMM over the matrix).
# The real UML runs here (it needs no KVM); kuml runs where a KVM is
# (with-kvm.sh). The two result files must match line for line.
set -uo pipefail
runfiles=$TEST_SRCDIR/kuml
pairs=$runfiles/tests/e2e/console_pairs.py

python3 "$pairs" uml "$TEST_TMPDIR/uml.txt" || {
  echo "FAIL: the UML matrix did not run" >&2
  exit 1
}
# A sanity floor: with the real UML, fd:0,fd:1 must work both ways, or the
# harness (not kuml) is broken and the comparison would prove nothing.
grep -q '^fd:0,fd:1 *started=1 out=1 in=1$' "$TEST_TMPDIR/uml.txt" || {
  echo "FAIL: the real UML's fd:0,fd:1 row is not 1 1 1: harness broken" >&2
  cat "$TEST_TMPDIR/uml.txt" >&2
  exit 1
}
# One deliberate difference: input from a regular file (fd:6 < file). UML
# cannot epoll a regular file ("epollctl add err fd 6, Operation not
# permitted") and drops that input; kuml reads it to the end, which is what a
# user who redirected a script into the console wants. The expected kuml row
# is UML's with in=1; if UML's row ever changes, the comparison fails.
uml_file_row='fd:6,fd:1  started=1 out=1 in=0'
grep -qx "$uml_file_row" "$TEST_TMPDIR/uml.txt" || {
  echo "FAIL: the real UML's fd:6 (regular file) row changed; revisit" >&2
  cat "$TEST_TMPDIR/uml.txt" >&2
  exit 1
}
sed "s/^$uml_file_row\$/fd:6,fd:1  started=1 out=1 in=1/" \
  "$TEST_TMPDIR/uml.txt" >"$TEST_TMPDIR/expected.txt"
"$runfiles/tests/kvmhost/with-kvm.sh" python3 "$pairs" kuml \
  "$TEST_TMPDIR/kuml.txt" || {
  echo "FAIL: the kuml matrix did not run" >&2
  exit 1
}
if ! diff -u "$TEST_TMPDIR/expected.txt" "$TEST_TMPDIR/kuml.txt"; then
  echo "FAIL: kuml (+) differs from the real UML (-, with the one deliberate difference) on the forms above" >&2
  exit 1
fi
echo "PASS: $(wc -l <"$TEST_TMPDIR/uml.txt") forms behave as under the real UML"
