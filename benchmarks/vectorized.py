"""Shows what the compiler made of each kernel: per SIMD target and kernel object, the number of
packed (vector) and scalar floating-point arithmetic instructions, from `objdump -d` of the build
tree. A vectorized loop has packed ymm (avx2) / zmm (avx512) arithmetic; a kernel whose packed
count falls to zero or collapses after a change lost its vectorization.

    python benchmarks/vectorized.py [build-dir]     (default: the newest build/*/ directory)
"""

import collections
import glob
import os
import re
import subprocess
import sys

ARITH = re.compile(r"\bv?(fmadd|fmsub|fnmadd|add|sub|mul|div|sqrt|max|min)\w*(ps|pd|ss|sd)\b")


def count(obj):
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True,
                          text=True, check=True).stdout
    counts = collections.Counter()
    for line in text.splitlines():
        m = ARITH.search(line)
        if not m:
            continue
        kind = m.group(2)
        width = "zmm" if "zmm" in line else "ymm" if "ymm" in line else "xmm"
        counts[f"{'packed' if kind in ('ps', 'pd') else 'scalar'}-{width}"] += 1
    return counts


def main():
    root = os.path.join(os.path.dirname(__file__), "..")
    builds = sorted(glob.glob(os.path.join(root, "build", "*")), key=os.path.getmtime)
    build = sys.argv[1] if len(sys.argv) > 1 else (builds or [""])[-1]
    objects = sorted(glob.glob(os.path.join(build, "CMakeFiles", "kernels_*.dir", "**", "*.o"),
                               recursive=True))
    if not objects:
        sys.exit(f"no kernel objects under {build!r}: build first (pip install .)")
    print(f"{'target':<9} {'kernel':<14} {'packed ymm':>10} {'packed zmm':>10} {'packed xmm':>10} {'scalar':>7}")
    for obj in objects:
        target = re.search(r"kernels_(\w+)\.dir", obj).group(1)
        c = count(obj)
        scalar = sum(v for k, v in c.items() if k.startswith("scalar"))
        print(f"{target:<9} {os.path.basename(obj)[:-5]:<14} {c['packed-ymm']:>10} "
              f"{c['packed-zmm']:>10} {c['packed-xmm']:>10} {scalar:>7}")


if __name__ == "__main__":
    main()
