"""A static guest init and the initramfs (newc cpio, gzip) holding it as /init."""

def init_initramfs(name, init_src, out, srcs = []):
    """`name`_init: the static binary (`init_src` plus `srcs`); `name`: `out`, the initramfs.

    The benchmarks boot the same initramfs in kuml's guest and in UML.
    """
    native.cc_binary(
        name = name + "_init",
        srcs = [init_src] + srcs,
        linkopts = ["-static"],
    )
    native.genrule(
        name = name,
        srcs = [":" + name + "_init"],
        outs = [out],
        cmd = " && ".join([
            "d=$$(mktemp -d)",
            "mkdir -p $$d/dev",
            "cp $(location :" + name + "_init) $$d/init",
            "(cd $$d && find . | cpio -o -H newc --quiet) | gzip -9n > $@",
            "rm -rf $$d",
        ]),
    )
