"""Plot module time against inventory size from bench/results/latest.json (needs matplotlib: .venv-bench).

Usage: .venv-bench/bin/python bench/plot.py RESULTS.json OUT.png
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LABEL = {
    "ours": "virtops.compute",
    "ours_az": "virtops.compute (AnsiballZ)",
    "cg": "community.general",
    "cv": "community.vmware",
    "vv": "vmware.vmware",
}
STYLE = {
    "ours": ("tab:blue", "o"),
    "ours_az": ("tab:purple", "D"),
    "cg": ("tab:orange", "s"),
    "cv": ("tab:green", "^"),
    "vv": ("tab:red", "v"),
}
KEY = "task_seconds"  # controller-side task time, the same ruler for every side


def main(results: str, out: str) -> None:
    with open(results, encoding="utf-8") as fh:
        doc = json.load(fh)
    data: dict[tuple[str, str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in doc["rows"]:
        if (
            r["scenario"] in ("xen_scale", "vmware_scale")
            and r.get("ok")
            and r["step"] in ("lookup", "noop")
            and r.get(KEY) is not None
        ):
            data[(r["scenario"], r["step"], r["side"])][r["size"]].append(r[KEY])
    panels = [(s, st) for s in ("xen_scale", "vmware_scale") for st in ("lookup", "noop")]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    titles = {"xen_scale": "XenServer (XenAPI simulator)", "vmware_scale": "vSphere (vcsim)"}
    for ax, (scenario, step) in zip(axes.flat, panels, strict=True):
        any_line = False
        for side in ("ours", "ours_az", "cg", "cv", "vv"):
            series = data.get((scenario, step, side))
            if not series:
                continue
            sizes = sorted(series)
            med = [statistics.median(series[n]) for n in sizes]
            lo = [med[i] - min(series[n]) for i, n in enumerate(sizes)]
            hi = [max(series[n]) - med[i] for i, n in enumerate(sizes)]
            color, marker = STYLE[side]
            ax.errorbar(sizes, med, yerr=[lo, hi], label=LABEL[side], color=color, marker=marker, capsize=3)
            any_line = True
        if scenario == "vmware_scale" and not data.get((scenario, step, "ours")):
            ax.text(0.02, 0.95, "virtops.compute: not yet available", transform=ax.transAxes, va="top", fontsize=9)
        ax.set_title(f"{titles[scenario]}: {'lookup by name' if step == 'lookup' else 'no-op run'}")
        ax.set_xscale("log")
        ax.set_xlim(5, 10000)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.set_ylabel("task time on the controller, s (median, min-max)")
        if any_line:
            ax.legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("VMs in the inventory (log scale)")
    meta = doc["meta"]
    when = meta.get("merged_from") or meta["date"]
    fig.suptitle(
        f"virtops.compute vs peers — time vs inventory size ({when}, {meta['machine'].split(',')[0]})", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
