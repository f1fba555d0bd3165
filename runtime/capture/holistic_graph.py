"""The mediapipe wheel's own Holistic graph, run with frames in flight (mediapipe 0.10.18).

MediaPipe's Python solution (`mediapipe/python/solution_base.py`) sends one frame and waits until
the whole graph is idle, so on a laptop CPU one core waits while the other runs the pose model. A
graph is a pipeline: the pose model of frame t+1 needs only frame t's pose, so it can run while the
hand models of frame t still run. `HolisticGraph` gives the pose and the hands a thread each, feeds
frames without waiting for the graph to be idle and hands results back in order, each once every
output stream has passed its timestamp. Everything else is as the solution does it: the same graph
file, side packets, thresholds and timestamps (33333 us apart), so the landmarks are the same
numbers.
"""

from __future__ import annotations

import collections
import threading
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


def holistic_config(face: bool):
    """The wheel's Holistic graph config; without its face branch (the face landmarks split off the
    pose and the face mesh model) when `face` is False, pose and hands from the same nodes."""
    import mediapipe
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


def expanded_config(face: bool, min_detection: float, min_tracking: float, branch_threads: bool = True):
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


class HolisticGraph:
    """Holistic (with or without its face) over a stream of RGB frames: `submit(rgb, tag)` queues a
    frame, `result()` returns the oldest one's (tag, landmarks {output: proto or None})."""

    def __init__(self, *, face: bool, static_image_mode: bool = False, model_complexity: int = 1,
                 refine_face: bool = False, min_detection: float = 0.5, min_tracking: float = 0.5):
        import mediapipe
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import calculator_graph, resource_util

        # the graph names its models by paths inside the wheel ("mediapipe/modules/...")
        resource_util.set_resource_dir(str(Path(mediapipe.__file__).parent.parent))
        self.outputs = BODY_AND_HANDS + (("face_landmarks",) if face else ())
        self._graph = calculator_graph.CalculatorGraph(
            graph_config=expanded_config(face, min_detection, min_tracking,
                                         branch_threads=not static_image_mode))
        self._changed = threading.Condition()
        self._packets: dict = collections.defaultdict(dict)   # timestamp -> {output: packet}
        self._passed = dict.fromkeys(self.outputs, -1)         # output -> newest timestamp settled
        for name in self.outputs:
            self._graph.observe_output_stream(name, self._observe, True)
        tracking = not static_image_mode
        sides = {"model_complexity": packet_creator.create_int(int(model_complexity)),
                 "smooth_landmarks": packet_creator.create_bool(tracking),
                 "enable_segmentation": packet_creator.create_bool(False),
                 "smooth_segmentation": packet_creator.create_bool(tracking),
                 "use_prev_landmarks": packet_creator.create_bool(tracking)}
        if face:
            sides["refine_face_landmarks"] = packet_creator.create_bool(refine_face)
        self._graph.start_run(sides)
        self._timestamp = 0
        self._waiting: collections.deque = collections.deque()  # (timestamp, tag) submitted, not yet out

    def _observe(self, stream: str, packet) -> None:
        """Graph thread: a packet, or (empty) a timestamp bound passed without one."""
        with self._changed:
            timestamp = packet.timestamp.value
            if not packet.is_empty():
                self._packets[timestamp][stream] = packet
            self._passed[stream] = max(self._passed[stream], timestamp)
            self._changed.notify_all()

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
        self._timestamp += FRAME_STEP_US
        packet = packet_creator.create_image_frame(rgb, image_format=image_frame.ImageFormat.SRGB)
        self._graph.add_packet_to_input_stream(stream="image", packet=packet.at(self._timestamp))
        self._waiting.append((self._timestamp, tag))

    def result(self) -> tuple:
        """The oldest submitted frame's (tag, landmarks {output: proto or None}); waits for them."""
        from mediapipe.python import packet_getter

        timestamp, tag = self._waiting.popleft()
        with self._changed:
            while min(self._passed.values()) < timestamp:
                if not self._changed.wait(WAIT_STEP_S) and self._graph.has_error():
                    self._graph.wait_until_idle()  # raises the graph's error
            packets = self._packets.pop(timestamp, {})
        return tag, {name: packet_getter.get_proto(packets[name]) if name in packets else None
                     for name in self.outputs}

    def close(self) -> None:
        self._graph.close()
