import numpy as np
import pytest
from pose_format import Pose

from signclip.runtime.errors import SignclipError, UnsupportedLayout
from signclip.runtime.pose.io import read_pose, write_pose
from signclip.runtime.pose.layouts import HOLISTIC_576, HOLISTIC_586, REDUCED_178

EXPECTED = {
    "holistic576_97f.pose": ("holistic576", 97, 25.0),
    "holistic576_121f.pose": ("holistic576", 121, 29.89),
    "holistic586_5f.pose": ("holistic586", 5, 25.0),
    "reduced178_170f.pose": ("reduced178", 170, 24.0),
    "reduced178_278f.pose": ("reduced178", 278, 24.0),
    "right_hand21_170f.pose": ("custom(RIGHT_HAND_LANDMARKS:21)", 170, 24.0),
    "openpose137_93f.pose": (None, 93, 24.0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_loads(poses_dir, name):
    layout, frames, fps = EXPECTED[name]
    clip = read_pose(poses_dir / name)
    if layout:
        assert clip.layout.name == layout
    assert clip.num_frames == frames
    assert clip.fps == pytest.approx(fps, abs=0.01)
    assert clip.frames.dtype == np.float32 and clip.frames.shape[-1] == 3
    assert (clip.frames[~clip.mask] == 0).all()
    assert 0.5 < clip.mask.mean() <= 1.0


def test_mask_follows_confidence(poses_dir):
    pose = Pose.read((poses_dir / "holistic576_97f.pose").read_bytes())
    clip = read_pose(poses_dir / "holistic576_97f.pose")
    np.testing.assert_array_equal(clip.mask, pose.body.confidence[:, 0] > 0)


@pytest.mark.parametrize("name", ["holistic576_97f.pose", "holistic586_5f.pose", "reduced178_170f.pose"])
def test_write_then_pose_format_reads_back(poses_dir, tmp_path, name):
    clip = read_pose(poses_dir / name)
    write_pose(clip, tmp_path / "out.pose")
    pose = Pose.read((tmp_path / "out.pose").read_bytes())
    assert pose.body.data.shape == (clip.num_frames, 1, clip.layout.size, 3)
    assert pose.body.fps == pytest.approx(clip.fps)
    again = read_pose(tmp_path / "out.pose")
    assert again.layout == clip.layout
    np.testing.assert_array_equal(again.mask, clip.mask)
    np.testing.assert_allclose(again.frames, clip.frames)


def test_written_holistic_headers_are_pose_formats(poses_dir, tmp_path):
    for name, layout in (("holistic576_97f.pose", HOLISTIC_576), ("holistic586_5f.pose", HOLISTIC_586)):
        write_pose(read_pose(poses_dir / name), tmp_path / name)
        pose = Pose.read((tmp_path / name).read_bytes())
        assert [c.name for c in pose.header.components][:4] == [
            "POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
        assert sum(len(c.points) for c in pose.header.components) == layout.size


def test_layout_conversion_of_a_file(poses_dir):
    clip = read_pose(poses_dir / "holistic576_97f.pose").to_layout(REDUCED_178)
    assert clip.layout is REDUCED_178 and clip.frames.shape == (97, 178, 3)


def test_bad_files_give_one_clear_error(tmp_path, poses_dir):
    (tmp_path / "empty.pose").write_bytes(b"")
    full = (poses_dir / "holistic576_97f.pose").read_bytes()
    (tmp_path / "truncated.pose").write_bytes(full[: len(full) // 3])
    (tmp_path / "folder.pose").mkdir()
    cases = {
        tmp_path / "missing.pose": "no such file",
        tmp_path / "empty.pose": "empty file",
        tmp_path / "truncated.pose": "not a readable .pose file",
        tmp_path / "folder.pose": "is a folder",
    }
    for path, message in cases.items():
        with pytest.raises(SignclipError, match=message):
            read_pose(path)


def test_no_usable_component_is_unsupported_layout(tmp_path, poses_dir):
    from signclip.runtime.pose.clip import PoseClip
    from signclip.runtime.pose.layouts import Layout

    face_only = Layout("face", tuple(("FACE_LANDMARKS", str(i)) for i in range(468)))
    clip = PoseClip(face_only, np.ones((3, 468, 3), np.float32), np.ones((3, 468), bool), 25.0)
    write_pose(clip, tmp_path / "face.pose")
    with pytest.raises(UnsupportedLayout, match="unsupported layout: found components FACE_LANDMARKS"):
        read_pose(tmp_path / "face.pose")


def test_write_is_atomic(tmp_path, poses_dir):
    clip = read_pose(poses_dir / "holistic586_5f.pose")
    target = tmp_path / "x.pose"
    write_pose(clip, target)
    before = target.read_bytes()
    bad = clip.__class__(clip.layout, clip.frames, clip.mask, clip.fps, clip.width, clip.height)
    object.__setattr__(bad, "frames", np.zeros((1, 2, 3), np.float32))  # a body that cannot be written
    with pytest.raises(ValueError):
        write_pose(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.pose"]
