"""PlatformIO post-script for the STM32 envs: link with the float ABI the sources are compiled
with (the env's build_flags). build_flags reach only the compiler, and a hard-float build linked
without these flags picks the soft-float C library or fails on mixed objects."""

Import("env")  # noqa: F821  (SCons builtin)

words = [w for item in env.get("BUILD_FLAGS", []) for w in str(item).split()]  # noqa: F821
env.Append(LINKFLAGS=[w for w in words  # noqa: F821
                      if w.startswith(("-mfloat-abi=", "-mfpu="))])
