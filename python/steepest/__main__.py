"""The ``steepest`` command: ``steepest bench [options]``, ``steepest config``,
``steepest --version`` (also ``python -m steepest``)."""

import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["--version"], ["-V"]):
        from . import __version__

        print(f"steepest {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: steepest bench [options]    (steepest bench --help for the options)")
        print("       steepest bench nn [options] (the GEMM and the digits model's training step)")
        print("       steepest bench loop [options] (the AdamW step inside torch training loops)")
        print("       steepest bench estimators [options] (the estimators beside scikit-learn's)")
        print("       steepest config             (the build and the CPU target in use)")
        print("       steepest --version")
        return 0
    command, rest = argv[0], argv[1:]
    if command == "bench" and rest[:1] == ["nn"]:
        from .bench.nn import main as bench_nn

        return bench_nn(rest[1:])
    if command == "bench" and rest[:1] == ["loop"]:
        from .bench.torch_loop import main as bench_loop

        return bench_loop(rest[1:])
    if command == "bench":
        from .bench.cli import main as bench_main

        return bench_main(rest)
    if command == "config":
        import steepest

        steepest.show_config()
        return 0
    print(f"steepest: unknown command {command!r}; try 'steepest bench'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
