"""`signclip pose --ray` on a local cluster of two Ray nodes: the same report, resume and landmarks
as the local run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from signclip.runtime.pose.io import read_pose

ray = pytest.importorskip("ray", reason="Ray is the corpus extra's (pip install 'signclip-edge[corpus]')")


@pytest.fixture(scope="module")
def two_nodes():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


def pose(*args):
    return subprocess.run([sys.executable, "-m", "signclip.runtime.cli", "pose", *map(str, args), "--quiet"],
                          capture_output=True, text=True, timeout=600)


def report(out) -> dict:
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    return {r["input"]: r for r in records}


@pytest.mark.slow
def test_two_ray_nodes_write_the_local_runs_landmarks(videos_dir, tmp_path, two_nodes):
    src = tmp_path / "in"
    for folder, name in (("a", "asl_soup.mp4"), ("a", "signer_two_hands.mp4"), ("b", "signer_two_hands.mp4"),
                         ("b", "webcam_one_hand.mp4")):
        (src / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(videos_dir / name, src / folder / name)
    (src / "b" / "empty.mp4").write_bytes(b"")
    local = pose(src, "-o", tmp_path / "local", "--workers", 2)
    on_ray = pose(src, "-o", tmp_path / "ray", "--ray", two_nodes.address)
    assert local.returncode == on_ray.returncode == 1, on_ray.stderr
    assert on_ray.stderr.startswith("signclip pose: error: /"), on_ray.stderr
    assert on_ray.stderr.count("\n") == 1, on_ray.stderr
    mine, theirs = report(tmp_path / "local"), report(tmp_path / "ray")
    assert {k: v["status"] for k, v in mine.items()} == {k: v["status"] for k, v in theirs.items()}
    assert len({v["worker"] for v in theirs.values()}) == 2  # one actor on each node
    for video, line in mine.items():
        if line["status"] == "ok":
            a, b = read_pose(line["output"]), read_pose(theirs[video]["output"])
            assert np.array_equal(a.frames, b.frames) and np.array_equal(a.mask, b.mask), video
    again = pose(src, "-o", tmp_path / "ray", "--ray", two_nodes.address)  # done: nothing runs
    assert again.returncode == 1 and all(v["reused"] for v in report(tmp_path / "ray").values())


def test_no_cluster_at_the_address_is_one_line(tmp_path, videos_dir):
    run = pose(videos_dir / "signer_two_hands.mp4", "-o", tmp_path, "--ray", "127.0.0.1:1")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("signclip pose: error: --ray 127.0.0.1:1: no Ray cluster there"), run.stderr
