"""The mediapipe wheel's own Holistic graph, run with frames in flight (mediapipe 0.10.18).

MediaPipe's Python solution (`mediapipe/python/solution_base.py`) sends one frame and waits until
the whole graph is idle, so on a laptop CPU one core waits while the other runs the pose model. A
graph is a pipeline: the pose model of frame t+1 needs only frame t's pose, so it can run while the
hand models of frame t still run. `HolisticGraph` gives the pose and the hands a thread each, feeds
frames without waiting for the graph to be idle and hands results back in order, each once every
output stream has passed its timestamp. Everything else is as the solution does it: the same graph
file, side packets, thresholds and timestamps (33333 us apart), so the landmarks are the same
numbers.

With `skip_still_hands` (what a bundle reads), a gate in front of each hand branch, opened frame by
frame from the pose's results as they come out (`HandWatch`), skips the hand models of a hand at
rest: the pose stays the same numbers, the hands nearly all (docs/runtime.md).
"""

from __future__ import annotations

import collections
import importlib
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HOLISTIC_GRAPH = "modules/holistic_landmark/holistic_landmark_cpu.binarypb"  # inside the mediapipe package
FACE_NODES = ("SplitNormalizedLandmarkListCalculator", "FaceLandmarksFromPoseCpu")
BODY_AND_HANDS = ("pose_landmarks", "pose_world_landmarks", "left_hand_landmarks", "right_hand_landmarks")
FRAME_STEP_US = 33333  # the solution's simulated 30 fps clock, which its landmark filters read

# The two thresholds the solution exposes, as the nodes of the expanded graph name them
DETECTION_NODE = "poselandmarkcpu__posedetectioncpu__TensorsToDetectionsCalculator"
TRACKING_NODE = ("poselandmarkcpu__poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
                 "ThresholdingCalculator")

# A thread of its own for each branch: the pose chain (each frame's pose needs the previous one's)
# never waits behind a hand model, and the hands of frame t run beside the pose of frame t+1. The
# face, where computed, and the glue between branches share the default thread. Measured on 2 cores:
# 22.5 ms a frame without the face, against 26 with one pool of 4 threads for all nodes.
BRANCH_EXECUTORS = {"PoseLandmarkCpu": "pose", "HandLandmarksLeftAndRightCpu": "hands"}
WAIT_STEP_S = 0.5  # how often a wait for results checks the graph for an error

# A hand that Holistic's hand model found absent (presence score under ABSENT_SCORE, its threshold
# being 0.5) and whose pose points (wrist, pinky, index) have not moved since is a hand resting out
# of sight or in the lap: its models (more than half of a frame's model work without the face) are
# skipped for up to STILL_SKIPS frames, then it is looked for again. Measured by bench/capture.py on
# the fixture videos: C-A-B 20.1 ms a frame against 23.1; 0.978-1.000 of the hands Holistic finds
# found (the misses: a resting hand flickering in and out of Holistic's own view).
ABSENT_SCORE = 0.2
STILL_SHOULDERS = 0.05  # how far, in shoulder widths, the pose's hand points may move and stay still
STILL_SKIPS = 2
# hand output -> (its branch's number in the expanded graph, its wrist, pinky and index in the pose)
HAND_SIDES = {"left_hand_landmarks": (1, (15, 17, 19)), "right_hand_landmarks": (2, (16, 18, 20))}
HAND_BRANCH = "handlandmarksleftandrightcpu__handlandmarksfromposecpu_{}__"
HAND_GATE = HAND_BRANCH + "GateCalculator"   # Holistic's own: shut where the pose's wrist is not visible
PRESENCE = HAND_BRANCH + "handlandmarkcpu__hand_presence_score"


class _LoadedAtFirstUse(types.ModuleType):
    """A module that imports the real one the first time one of its names is read."""

    def __getattr__(self, name: str):
        return getattr(importlib.import_module(self.__name__), name)


def import_mediapipe():
    """`import mediapipe`, with `matplotlib.pyplot` loaded only where it is used: the package's
    drawing utilities import it (0.2 s of a 0.5 s import, and more at exit), and capture never draws."""
    deferred = "mediapipe" not in sys.modules and "matplotlib.pyplot" not in sys.modules
    if deferred:
        sys.modules["matplotlib.pyplot"] = _LoadedAtFirstUse("matplotlib.pyplot")
    try:
        import mediapipe
    finally:  # the name is free again: the next `import matplotlib.pyplot` gets the real one
        if deferred:
            del sys.modules["matplotlib.pyplot"]
    return mediapipe


def holistic_config(face: bool):
    """The wheel's Holistic graph config; without its face branch (the face landmarks split off the
    pose and the face mesh model) when `face` is False, pose and hands from the same nodes."""
    mediapipe = import_mediapipe()
    from mediapipe.framework import calculator_pb2

    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString((Path(mediapipe.__file__).parent / HOLISTIC_GRAPH).read_bytes())
    if face:
        return config
    kept = [n for n in config.node if n.calculator not in FACE_NODES]
    outputs = [s for s in config.output_stream if not s.startswith("FACE_LANDMARKS:")]
    sides = [s for s in config.input_side_packet if not s.startswith("REFINE_FACE_LANDMARKS:")]
    del config.node[:], config.output_stream[:], config.input_side_packet[:]
    config.node.extend(kept)
    config.output_stream.extend(outputs)
    config.input_side_packet.extend(sides)
    return config


def look_stream(hand: str) -> str:
    """The graph input that says, frame by frame, whether `hand`'s models run."""
    return "look_for_" + hand.removesuffix("_landmarks")


def with_hand_gates(config) -> None:
    """Put a GateCalculator before each hand branch, opened frame by frame by `look_stream(hand)`
    (the branch then finds no hand, as when the pose says the wrist is not visible)."""
    nodes = {n.name: n for n in config.node}
    for hand, (branch, _) in HAND_SIDES.items():
        gate = nodes[HAND_GATE.format(branch)]
        pose_points = gate.input_stream[0]
        gate.input_stream[0] = pose_points + "_looked_for"
        config.input_stream.append(look_stream(hand))
        config.node.add(name=f"handlandmarksleftandrightcpu__look_for_{branch}", calculator="GateCalculator",
                        input_stream=[pose_points, "ALLOW:" + look_stream(hand)],
                        output_stream=[gate.input_stream[0]])


def expanded_config(face: bool, min_detection: float, min_tracking: float, branch_threads: bool = True,
                    hand_gates: bool = False):
    """The graph with its subgraphs expanded and the solution's two thresholds set; with
    `branch_threads`, a one-thread executor each for the pose, the hands and the rest (the wheel's
    graph names none: its nodes take turns on one pool, which suits one frame at a time)."""
    from mediapipe.calculators.tensor import tensors_to_detections_calculator_pb2 as detections_pb2
    from mediapipe.calculators.util import thresholding_calculator_pb2 as thresholding_pb2
    from mediapipe.framework import calculator_pb2, thread_pool_executor_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    validated = validated_graph_config.ValidatedGraphConfig()
    validated.initialize(graph_config=holistic_config(face))
    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString(validated.binary_config)
    nodes = {n.name: n for n in config.node}
    nodes[DETECTION_NODE].options.Extensions[
        detections_pb2.TensorsToDetectionsCalculatorOptions.ext].min_score_thresh = min_detection
    nodes[TRACKING_NODE].options.Extensions[
        thresholding_pb2.ThresholdingCalculatorOptions.ext].threshold = min_tracking
    if hand_gates:
        with_hand_gates(config)
    if not branch_threads:
        return config
    # validation leaves an empty entry for the default executor (name ""), which these replace
    del config.executor[:]
    for name in ("", *BRANCH_EXECUTORS.values()):
        executor = config.executor.add(name=name, type="ThreadPoolExecutor")
        executor.options.Extensions[thread_pool_executor_pb2.ThreadPoolExecutorOptions.ext].num_threads = 1
    for node in config.node:  # an expanded node's name starts with its subgraph's, in lower case
        for subgraph, executor in BRANCH_EXECUTORS.items():
            if node.name.startswith(subgraph.lower() + "__"):
                node.executor = executor
    return config


@dataclass
class HandWatch:
    """Whether to run one hand's models on the next frame: not while the hand, found absent when
    last looked for, keeps still (its pose points within STILL_SHOULDERS of where they were then),
    for at most STILL_SKIPS frames in a row."""

    anchor: np.ndarray | None = None   # its pose points [3, 2] (pixels) when last found absent
    points: np.ndarray | None = None   # its pose points on the frame decided last
    looked: bool = True                # whether its models ran on that frame
    skipped: int = 0                   # frames in a row not looked for

    def look(self, points: np.ndarray | None, shoulders: float, score_before: float) -> bool:
        """Decide for the next frame, given its pose's hand points (None without a pose), the
        shoulder width in pixels, and the frame before's presence score (0 where no model ran)."""
        if self.looked:
            self.anchor = self.points if score_before < ABSENT_SCORE else None
        still = (points is not None and self.anchor is not None and self.skipped < STILL_SKIPS
                 and np.linalg.norm(points - self.anchor, axis=1).max() < STILL_SHOULDERS * shoulders)
        self.points, self.looked = points, not still
        self.skipped = self.skipped + 1 if still else 0
        return self.looked


def hand_from_pose(pose, width: int, height: int, indices: tuple) -> tuple:
    """(a hand's pose points [3, 2] in pixels, the shoulder width in pixels) from pose landmarks."""
    marks = pose.landmark
    xy = np.array([[marks[i].x * width, marks[i].y * height] for i in (*indices, 11, 12)])
    return xy[:3], float(np.linalg.norm(xy[3] - xy[4]))


class HolisticGraph:
    """Holistic (with or without its face) over a stream of RGB frames: `submit(rgb, tag)` queues a
    frame, `result()` returns the oldest one's (tag, landmarks {output: proto or None})."""

    def __init__(self, *, face: bool, static_image_mode: bool = False, model_complexity: int = 1,
                 refine_face: bool = False, min_detection: float = 0.5, min_tracking: float = 0.5,
                 skip_still_hands: bool = False):
        mediapipe = import_mediapipe()
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import resource_util

        # the graph names its models by paths inside the wheel ("mediapipe/modules/...")
        resource_util.set_resource_dir(str(Path(mediapipe.__file__).parent.parent))
        self.outputs = BODY_AND_HANDS + (("face_landmarks",) if face else ())
        gated = skip_still_hands and not static_image_mode
        self._config = expanded_config(face, min_detection, min_tracking,
                                       branch_threads=not static_image_mode, hand_gates=gated)
        self._changed = threading.Condition()
        self._presence = {hand: PRESENCE.format(HAND_SIDES[hand][0]) for hand in HAND_SIDES} if gated else {}
        self.hands_skipped = 0                                  # hand models not run (HandWatch)
        self._clear()
        self._graph = self._new_graph()
        tracking = not static_image_mode
        self._sides = {"model_complexity": packet_creator.create_int(int(model_complexity)),
                       "smooth_landmarks": packet_creator.create_bool(tracking),
                       "enable_segmentation": packet_creator.create_bool(False),
                       "smooth_segmentation": packet_creator.create_bool(tracking),
                       "use_prev_landmarks": packet_creator.create_bool(tracking)}
        if face:
            self._sides["refine_face_landmarks"] = packet_creator.create_bool(refine_face)
        self._graph.start_run(self._sides)

    def _clear(self) -> None:
        """The state of a run that has seen no frame yet."""
        self._packets: dict = collections.defaultdict(dict)   # timestamp -> {output: packet}
        self._watches = {hand: HandWatch() for hand in self._presence}
        self._scores = dict.fromkeys(self._presence.values(), (0, 0.0))  # newest (timestamp, score)
        self._undecided = {hand: collections.deque() for hand in self._watches}  # (timestamp, previous)
        self._sizes: dict = {}                                  # timestamp -> (width, height)
        self._passed = dict.fromkeys(self.outputs + tuple(self._presence.values()), 0)  # stream -> settled
        self._timestamp = 0
        self._waiting: collections.deque = collections.deque()  # (timestamp, tag) submitted, not yet out

    def _new_graph(self):
        """A calculator graph of the config built once, its outputs observed."""
        from mediapipe.python._framework_bindings import calculator_graph

        graph = calculator_graph.CalculatorGraph(graph_config=self._config)
        for name in self._passed:
            graph.observe_output_stream(name, self._observe, True)
        return graph

    def restart(self) -> None:
        """Track afresh from the next frame: the same keypoints as a new HolisticGraph's, without
        expanding and validating the config again. Not MediaPipe's own `reset()` (close, then
        start_run on the same graph): after it, a frame without a person never settles the pose
        streams (mediapipe 0.10.18), so a graph of the same config takes over."""
        self._graph.close()
        with self._changed:
            self._clear()
        self._graph = self._new_graph()
        self._graph.start_run(self._sides)

    def _observe(self, stream: str, packet) -> None:
        """Graph thread: a packet, or (empty) a timestamp bound passed without one."""
        from mediapipe.python import packet_getter

        with self._changed:
            timestamp = packet.timestamp.value
            if stream in self._scores:
                if not packet.is_empty():
                    self._scores[stream] = (timestamp, packet_getter.get_float(packet))
            elif not packet.is_empty():
                self._packets[timestamp][stream] = packet
            self._passed[stream] = max(self._passed[stream], timestamp)
            self._changed.notify_all()

    def _decide_looks(self) -> list:
        """(hand, timestamp, look) for every frame whose pose, and whose previous frame's hand, are
        settled (lock held)."""
        from mediapipe.python import packet_getter

        looks, poses = [], {}  # poses: timestamp -> its pose landmarks, parsed once for both hands
        for hand, waiting in self._undecided.items():
            presence = self._presence[hand]
            while (waiting and self._passed["pose_landmarks"] >= waiting[0][0]
                   and self._passed[presence] >= waiting[0][1]):
                timestamp, previous = waiting.popleft()
                if timestamp not in poses:
                    packet = self._packets.get(timestamp, {}).get("pose_landmarks")
                    poses[timestamp] = None if packet is None else packet_getter.get_proto(packet)
                pose = poses[timestamp]
                points, shoulders = (None, 0.0) if pose is None else hand_from_pose(
                    pose, *self._sizes[timestamp], HAND_SIDES[hand][1])
                scored_at, score = self._scores[presence]
                look = self._watches[hand].look(points, shoulders, score if scored_at == previous else 0.0)
                self.hands_skipped += not look
                looks.append((hand, timestamp, look))
        return looks

    def _send_looks(self, looks: list) -> None:
        """Open or shut the hands' gates. Only the thread that submits frames adds packets to the
        graph (MediaPipe's graph inputs are not to be added to from two threads at once), never a
        graph thread, which would hold up the graph while its inputs are throttled."""
        from mediapipe.python import packet_creator

        for hand, timestamp, look in looks:
            self._graph.add_packet_to_input_stream(
                stream=look_stream(hand), packet=packet_creator.create_bool(look).at(timestamp))

    @property
    def in_flight(self) -> int:
        """Frames submitted whose results have not been taken."""
        return len(self._waiting)

    def submit(self, rgb: np.ndarray, tag=None) -> None:
        """Queue one RGB frame [H, W, 3] uint8 (copied into the graph) with a tag that comes back with
        its results; returns at once."""
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import image_frame

        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB image [H, W, 3], got shape {rgb.shape}")
        previous = self._timestamp
        self._timestamp += FRAME_STEP_US
        packet = packet_creator.create_image_frame(rgb, image_format=image_frame.ImageFormat.SRGB)
        with self._changed:
            self._sizes[self._timestamp] = (rgb.shape[1], rgb.shape[0])
            for waiting in self._undecided.values():
                waiting.append((self._timestamp, previous))
            looks = self._decide_looks()
        self._send_looks(looks)
        self._graph.add_packet_to_input_stream(stream="image", packet=packet.at(self._timestamp))
        self._waiting.append((self._timestamp, tag))

    def result(self) -> tuple:
        """The oldest submitted frame's (tag, landmarks {output: proto or None}); waits for them."""
        from mediapipe.python import packet_getter

        timestamp, tag = self._waiting.popleft()
        while True:  # the frames in flight may wait for their hands' gates, sent from here
            with self._changed:
                looks = self._decide_looks()
                if not looks:
                    if min(self._passed.values()) >= timestamp:
                        packets = self._packets.pop(timestamp, {})
                        del self._sizes[timestamp]
                        break
                    if not self._changed.wait(WAIT_STEP_S) and self._graph.has_error():
                        self._graph.wait_until_idle()  # raises the graph's error
                    continue
            self._send_looks(looks)
        return tag, {name: packet_getter.get_proto(packets[name]) if name in packets else None
                     for name in self.outputs}

    def close(self) -> None:
        self._graph.close()  # frames still in flight get no gate packet: their hands find none
