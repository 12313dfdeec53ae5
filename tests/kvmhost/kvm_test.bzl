"""Tests that need a KVM: run through with-kvm.sh (host /dev/kvm or the
nested KVM host), tagged requires-kvm so `--config=nokvm` can leave them out."""

def kvm_cc_test(name, srcs, deps = [], data = [], size = "medium", tags = [], args = [], **kwargs):
    """A gtest binary run under with-kvm.sh."""
    native.cc_binary(
        name = name + "_bin",
        srcs = srcs,
        deps = deps + ["@gtest//:lib"],
        data = data,
        testonly = 1,
        **kwargs
    )
    native.sh_test(
        name = name,
        srcs = ["//tests/kvmhost:with-kvm.sh"],
        args = ["$(location :%s_bin)" % name] + args,
        data = [":%s_bin" % name, "//tests/kvmhost"] + data,
        size = size,
        tags = tags + ["requires-kvm"],
    )

def kvm_sh_test(name, srcs, data = [], size = "large", tags = [], args = [], **kwargs):
    """A shell test run under with-kvm.sh."""
    native.sh_test(
        name = name,
        srcs = ["//tests/kvmhost:with-kvm.sh"],
        args = ["$(location %s)" % srcs[0]] + args,
        data = srcs + data + ["//tests/kvmhost"],
        size = size,
        tags = tags + ["requires-kvm"],
        **kwargs
    )
