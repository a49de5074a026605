"""Throughput against size, one panel per rule: steepest, NumPy and torch.optim, with the
ceiling (the rule's access pattern as a plain loop at each size) as a line. Needs matplotlib (``steepest[plot]``)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"steepest": ("C3", "o-"), "numpy": ("C7", "s--"), "torch": ("C0", "v--"),
         "torch-foreach": ("C9", "^--"), "torch-fused": ("C2", "D-"),
         "steepest.torch": ("C1", "x-")}


def draw(report, path):
    """One panel per rule (all threads, each size in one tensor); returns ``path``."""
    threads = max(r["threads"] for r in report["results"])
    tensors = min(r["tensors"] for r in report["results"])
    rows = [r for r in report["results"] if r["threads"] == threads and r["tensors"] == tensors]
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    columns = min(4, len(rules))
    lines = -(-len(rules) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.4 * lines), squeeze=False)
    for ax in axes.flat[len(rules):]:
        ax.set_visible(False)
    for ax, rule in zip(axes.flat, rules):
        mine = sorted((r for r in rows if r["rule"] == rule), key=lambda r: r["params"])
        sizes = [r["params"] for r in mine]
        for name, (color, style) in STYLE.items():
            points = [(r["params"], r["bytes_per_param"] * r["params"] / r["seconds"][name] / 1e9)
                      for r in mine if name in r["seconds"]]
            if points:
                ax.plot(*zip(*points), style, color=color, label=name, markersize=4)
        ax.plot(sizes, [r["ceiling_gb_s"] for r in mine], color="k", linewidth=0.8,
                linestyle=":", label="ceiling (same pattern and size)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{s >> 20}M" if s >= 1 << 20 else f"{s >> 10}K" for s in sizes])
        ax.set_title(f"{rule} ({mine[0]['dtype']}, {threads} threads)")
        ax.set_xlabel("parameters")
        ax.set_ylabel("GB/s moved")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"steepest bench — {report['machine']['cpu']}, SIMD {report['machine']['simd']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
