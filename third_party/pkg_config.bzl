"""pkg_config(name, modules): a repository whose //:lib wraps system libraries."""

def _pkg_config_impl(rctx):
    res = rctx.execute(["pkg-config", "--cflags", "--libs"] + rctx.attr.modules)
    if res.return_code != 0:
        fail("pkg-config %s failed: %s" % (rctx.attr.modules, res.stderr))
    flags = [f for f in res.stdout.strip().split(" ") if f]
    defines = [f[2:] for f in flags if f.startswith("-D")]
    linkopts = [f for f in flags if not (f.startswith("-D") or f.startswith("-I"))]
    rctx.file("WORKSPACE", "")
    rctx.file("BUILD", """cc_library(
    name = "lib",
    defines = {defines},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(defines = repr(defines), linkopts = repr(linkopts)))

pkg_config = repository_rule(
    implementation = _pkg_config_impl,
    attrs = {"modules": attr.string_list(mandatory = True)},
    environ = ["PKG_CONFIG_PATH"],
    local = True,
)
