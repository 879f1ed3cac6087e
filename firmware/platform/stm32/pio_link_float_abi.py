"""PlatformIO post-script for the STM32 envs: link with the float ABI the sources are compiled
with. build_flags reach only the compiler, and a hard-float build linked without these flags
picks the soft-float C library (or fails on mixed objects)."""

Import("env")  # noqa: F821  (SCons builtin)

flags = [f for f in env.get("CCFLAGS", [])  # noqa: F821
         if isinstance(f, str) and f.startswith(("-mfloat-abi=", "-mfpu="))]
env.Append(LINKFLAGS=flags)  # noqa: F821
