"""A training run's metrics log: one CSV row per logged step (metrics.csv) and its curve (curve.png)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes

METRICS = "metrics.csv"
CURVE = "curve.png"
METRIC_FIELDS = ("step", "loss", "lr", "logit_scale", "clips_per_s", "data_wait")


def append_metrics(out_dir: Path, rows: list) -> None:
    path = out_dir / METRICS
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(METRIC_FIELDS)
        writer.writerows(rows)


def read_metrics(out_dir: Path) -> list:
    path = Path(out_dir) / METRICS
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def truncate_metrics(out_dir: Path, step: int) -> None:
    """Drop rows after `step` (logged after the checkpoint we resume from)."""
    rows = [r for r in read_metrics(out_dir) if r["step"] <= step]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(METRIC_FIELDS)
    writer.writerows([[int(r["step"])] + [r[k] for k in METRIC_FIELDS[1:]] for r in rows])
    atomic_write_bytes(out_dir / METRICS, buffer.getvalue().encode())


def plot_curve(out_dir: Path) -> Path | None:
    """Loss and logit scale against the step, as out_dir/curve.png (matplotlib's Agg backend)."""
    rows = read_metrics(out_dir)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    top.plot(steps, [r["loss"] for r in rows])
    top.set_ylabel("loss")
    top.grid(alpha=0.3)
    bottom.plot(steps, [r["logit_scale"] for r in rows], color="tab:orange")
    bottom.set_ylabel("logit scale")
    bottom.set_xlabel("step")
    bottom.grid(alpha=0.3)
    fig.suptitle(out_dir.name)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(out_dir / CURVE, buffer.getvalue())
    return out_dir / CURVE
