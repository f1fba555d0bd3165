"""Look up signs: pose files, videos and photos (sign to text) or --text (text to sign) in the vocabulary.

    signclip lookup clip.pose video.mp4 hand.jpg --top-k 5 --language ase
    signclip lookup --text house --json
    signclip lookup clips/*.pose --json > results.jsonl     # one JSON object per input and line

Every input of one call shares one loaded model; taught signs (`signclip teach`) are searched too.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path

from ..errors import SignclipError
from ..model.index import check_top_k
from .engine_args import add_engine_arguments, add_result_arguments, open_engine


def add_arguments(parser) -> None:
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help=".pose files, videos or photos")
    parser.add_argument("--text", action="append", default=[], metavar="TEXT",
                        help="a word or phrase to find signs for (repeatable)")
    add_result_arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help='one line per input: {"input": ..., "results": [{"label", "language", '
                             '"text", "score"}, ...]}')
    parser.add_argument("--show", default=None, metavar="FILE",
                        help="write the first result's reference clip (how it is signed) as an animated "
                             "skeleton (.gif, .mp4) or a .pose file; one lookup at a time")
    add_engine_arguments(parser)
    # streaming recognition (runtime/cli/stream.py owns this flag's behaviour)
    parser.add_argument("--segments", action="store_true",
                        help="find the signs of a longer video or .pose and look each one up on its "
                             "own (one JSON object per segment with --json)")


LABEL_COLUMN = 24  # a table cuts longer labels (JSON keeps them whole)
TEXT_COLUMN = 60


def cut(text: str, width: int) -> str:
    """`text` on one line in at most `width` characters, an ellipsis marking what was cut (labels
    taught before they were checked may hold anything)."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= width else text[:width - 1] + "…"


def format_table(name: str, matches: list) -> str:
    lines = [name]
    labels = [cut(m.label, LABEL_COLUMN) for m in matches]
    width = max([5, *(len(label) for label in labels)])
    sources = [cut(m.source, LABEL_COLUMN) for m in matches]  # "pack NAME" is as long as its name
    source_width = max([6, *(len(s) for s in sources)])
    lines.append(f"  {'#':>2}  {'label':<{width}}  {'lang':<5} {'score':>7}  "
                 f"{'source':<{source_width}}  text")
    for i, (m, label, source) in enumerate(zip(matches, labels, sources, strict=True), 1):
        lines.append(f"  {i:>2}  {label:<{width}}  {m.language or '-':<5} {m.score:7.3f}  "
                     f"{source:<{source_width}}  {cut(m.text, TEXT_COLUMN)}")
    return "\n".join(lines)


def input_error(name: str, error) -> str:
    """The line for an input that was refused, naming it once."""
    return f"{name}: error: {str(error).removeprefix(f'{name}: ')}"


def emit(name: str, matches, error: str | None, as_json: bool) -> None:
    if as_json:
        record = {"input": name, "results": [m.to_json() for m in matches or []]}
        if error:
            record["error"] = error
        print(json.dumps(record, ensure_ascii=False), flush=True)
    elif error:
        print(input_error(name, error), file=sys.stderr)
    else:
        print(format_table(name, matches), flush=True)


# ------------------------------------------------ signs one by one (--segments), shared with stream


def format_results(matches) -> str:
    if not matches:
        return "(no shoulders seen: not recognized)"
    return "  ".join(f"{cut(m.label, LABEL_COLUMN)} {m.score:.3f}" for m in matches)


def warm_up_beside_capture(inputs, encode, search, normalization) -> threading.Thread | None:
    """Where a video is among `inputs`: load Numba's kernels and the encoder on a thread while
    MediaPipe reads it, whose models leave part of a core free, instead of after it (0.3 s)."""
    from ..recognition.engine import VIDEO_SUFFIXES

    if not any(Path(p).suffix.lower() in VIDEO_SUFFIXES for p in inputs):
        return None
    from ..capture.holistic_graph import import_mediapipe

    try:  # first: the two imports would take turns holding the GIL
        import_mediapipe()
    except ImportError:  # reading the video says so
        return None
    from ..pose.layouts import HOLISTIC_576
    from ..recognition.recognizer import warm_up_offline

    def warm_up() -> None:
        with contextlib.suppress(Exception):  # the lookup meets the same error itself and reports it
            warm_up_offline(encode, search, normalization, HOLISTIC_576)

    thread = threading.Thread(target=warm_up, name="signclip warm-up", daemon=True)
    thread.start()
    return thread


def run_segments(args, engine) -> int:
    """`signclip lookup INPUT... --segments`: each sign of each input looked up on its own."""
    from ..recognition.reading import sign_search
    from ..recognition.recognizer import lookup_segments

    encode = engine.pose_encoder.embed_one
    search = sign_search(engine, args.top_k, args.language, kind=args.kind)
    warming = warm_up_beside_capture(args.inputs, encode, search, engine.bundle.normalization)
    failed = 0
    for path in args.inputs:
        try:
            clip = engine.read(path, at_model_rate=False)  # segments keep the input's frame numbers
            if warming is not None:  # one thread at a time in the encoder and Numba's caches
                warming.join()
        except SignclipError as e:
            failed += 1
            print(json.dumps({"input": path, "error": str(e)}) if args.json else input_error(path, e),
                  file=sys.stdout if args.json else sys.stderr, flush=True)
            continue
        segments = lookup_segments(clip, encode, search, normalization=engine.bundle.normalization,
                                   fps=engine.bundle.fps)
        if not segments and not args.json:
            print(f"{path}: no sign found", flush=True)
        for i, s in enumerate(segments):
            if args.json:
                print(json.dumps({"input": path, "segment": i, **s.to_json()}, ensure_ascii=False),
                      flush=True)
            else:
                print(f"{path} #{i} [{s.start_s:6.2f}-{s.end_s:6.2f} s, frames {s.start}-{s.end}]  "
                      f"{format_results(s.results)}", flush=True)
    return 2 if failed else 0


def show_reference(engine, matches, path) -> None:
    """The first result's reference clip into `path` (signclip lookup --show), with one line saying so."""
    from ..pose.render import write_animation

    if not matches:
        raise SignclipError("--show: nothing was found to show")
    first = matches[0]
    clip = engine.reference(first.label, first.language)
    if clip is None:
        raise SignclipError(f"--show: no reference clip of {first.label} ({first.language}); signs taught "
                            f"before takes were kept and bundles exported before reference clips have none")
    write_animation(clip, path)
    print(f"wrote {path}: how {first.label} ({first.language}) is signed", file=sys.stderr)


def run(args) -> int:
    if not args.inputs and not args.text:
        raise SignclipError("nothing to look up: give .pose files, videos or photos, or --text TEXT")
    check_top_k(args.top_k)
    if args.show is not None:
        from ..pose.render import check_show_path

        check_show_path(args.show)
        if len(args.inputs) + len(args.text) != 1 or args.segments:
            raise SignclipError("--show writes one sign: give one input or one --text (not --segments)")
    engine = open_engine(args)
    if args.segments:  # streaming recognition's offline path: one lookup per sign found
        if args.text:
            raise SignclipError("--segments looks up signs in clips; it does not combine with --text")
        return run_segments(args, engine)
    failed = 0
    inputs, names = [], []
    for path in args.inputs:   # read all first, so that every clip goes through the encoder together
        try:
            inputs.append(engine.prepare(path))
            names.append(path)
        except SignclipError as e:
            failed += 1
            emit(path, None, str(e), args.json)
    found = []
    if inputs:
        for name, matches in zip(names, engine.lookup_inputs(inputs, args.top_k, args.language, args.kind),
                                 strict=True):
            emit(name, matches, None, args.json)
            found.append(matches)
    for text in args.text:
        found.append(engine.lookup_text(text, args.top_k, args.language))
        emit(f"text:{text}", found[-1], None, args.json)
    if args.show is not None and found:
        show_reference(engine, found[0], args.show)
    return 2 if failed else 0
