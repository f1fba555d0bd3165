"""Lexical signs (HELLO, MOTHER, WATER...) as training clips: word sets converted once to one file each.

Two openly licensed sources exist (`assets/README.md`): the Google ISLR corpus's HELLO and THANK-YOU
by 21 Deaf signers (CC BY 4.0; parquet, one row per frame and landmark) and ASL-App's 100 signs of
one tutorial signer (MIT; one JSON per sign). Each converter reads the source's own layout and
returns `WordClip`s; `write_word_set` stores them as one `.npz`: the body and both hands in
`BODY_HANDS_75` (the face is dropped: the default model hides it), float16 image fractions with NaN
for a missing point, its provenance and license in `meta`. A manifest row points at the file with
`item` = the clip's number, as a handshape photo row does.

    signclip words convert islr ISLR_FOLDER -o islr.npz       # train.csv + train_landmark_files/
    signclip words convert asl-app ASL_APP_SIGNS -o asl_app.npz
    signclip words list                                       # the shipped sets, their words, signers
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import BODY_HANDS_75

from .data import ManifestRow
from .handshapes import load_set

POINTS = BODY_HANDS_75.size  # 33 body, 21 left hand, 21 right hand
# The ISLR corpus's rows per frame, in its order: face 0-467, left hand, pose, right hand.
ISLR_PARTS = {"face": (0, 468), "left_hand": (468, 21), "pose": (489, 33), "right_hand": (522, 21)}
ISLR_TO_75 = np.r_[489:522, 468:489, 522:543]   # corpus row -> BODY_HANDS_75 order
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class WordClip:
    """One signed word: its gloss, who signed it, where it came from, points [T, 75, 3] (NaN: missing)."""

    label: str
    signer: str
    source_id: str
    points: np.ndarray


@dataclass(frozen=True)
class WordSet:
    """A shipped word file and what it is; width/height turn its image fractions into pixels."""

    file: str
    title: str
    license: str
    credit: str
    sign_language: str
    width: int
    height: int
    fps: float
    weight: int   # draws per epoch: one clip per sign and signer is drawn as often as a lexicon clip


ISLR_CREDIT = ("Google - Isolated Sign Language Recognition (Kaggle, 2023), data by the Deaf Professional "
               "Arts Network and Georgia Tech (PopSign ASL), CC BY 4.0 according to its data card "
               "(https://creativecommons.org/licenses/by/4.0/); HELLO and THANK-YOU by 21 participants as "
               "committed to GitHub jojangandha-saha/asl_signs_isl at 4f9782e")
ASL_APP_CREDIT = "ASL-App by Shravan Chandra (github.com/shravnchandr/ASL-App, commit 1ce4377), MIT"

# The corpus's videos are phone selfies of unknown size, ASL-App's a landscape tutorial. The aspect
# ratios are estimated from shoulder width against nose height, as in the lexicon's videos (1.7).
WORD_SETS = {
    "islr": WordSet("words_islr.npz", "Google ISLR: HELLO and THANK-YOU by 21 Deaf signers", "CC-BY-4.0",
                    ISLR_CREDIT, "ase", 720, 960, 30.0, 1),
    "asl-app": WordSet("words_asl_app.npz", "ASL-App: 100 ASL signs of one signer", "MIT",
                       ASL_APP_CREDIT, "ase", 1280, 720, 29.97, 12),
}
# Five of ISLR's 21 participants (every fourth by number), chosen before any training: `signclip
# lexicon --words islr` marks their clips "test" unless told otherwise, so the default model never
# sees them and its word table is measured on strangers.
ISLR_HELD_OUT = ("4718", "25571", "29302", "36257", "53618")


def gloss(word: str) -> str:
    """A source's word as the vocabulary writes it: thank_you, thankyou -> THANK-YOU; one -> 1."""
    word = word.strip().lower()
    if word in NUMBERS:
        return str(NUMBERS.index(word))
    if word == "thankyou":  # the corpus writes it as one word
        word = "thank_you"
    return word.replace("_", "-").upper()


# ---------------------------------------------------------------- the sources' own layouts


def read_islr(folder) -> list:
    """Every clip of the corpus layout: `train.csv` and `train_landmark_files/<participant>/<seq>.parquet`."""
    folder = Path(folder)
    index = folder / "train.csv"
    if not index.is_file():
        raise SignclipError(f"{folder}: no train.csv: not the ISLR corpus layout "
                            f"(train.csv, train_landmark_files/)")
    try:
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise SignclipError("reading the ISLR parquet files needs pyarrow: "
                            "pip install 'signclip-edge[train]'") from None
    clips = []
    with index.open(encoding="utf-8") as f:
        for record in csv.DictReader(f):
            path = folder / record["path"]
            try:
                table = pq.read_table(path, columns=["frame", "type", "landmark_index", "x", "y", "z"])
            except (OSError, ValueError) as e:
                raise SignclipError(f"{path}: not a landmark parquet file ({e})") from None
            clips.append(WordClip(gloss(record["sign"]), record["participant_id"], record["sequence_id"],
                                  islr_points(table.to_pydict())))
    return clips


def islr_points(columns: dict) -> np.ndarray:
    """A long table (frame, type, landmark_index, x, y, z per row) as points [T, 75, 3], NaN missing."""
    frames = np.asarray(columns["frame"])
    order = np.unique(frames)
    t = np.searchsorted(order, frames)
    start = np.array([ISLR_PARTS[k][0] for k in columns["type"]])
    row = start + np.asarray(columns["landmark_index"])
    full = np.full((len(order), 543, 3), np.nan, np.float32)
    full[t, row] = np.stack([np.asarray(columns[c], np.float32) for c in "xyz"], axis=-1)
    return full[:, ISLR_TO_75]


def read_islr_npz(path) -> list:
    """The 747 clips as converted once from the corpus (`landmarks` [F, 543, 3] with `offsets`)."""
    z = load_set(str(path))
    if "landmarks" not in z or "offsets" not in z:
        raise SignclipError(f"{path}: not an ISLR landmark file (needs landmarks, offsets)")
    o = z["offsets"]
    return [WordClip(gloss(str(z["sign"][i])), str(z["participant_id"][i]), str(z["sequence_id"][i]),
                     z["landmarks"][o[i]:o[i + 1]][:, ISLR_TO_75].astype(np.float32))
            for i in range(len(o) - 1)]


def _part(points, count: int) -> np.ndarray:
    """A part's points as an array; absent (null, or a list of nulls): NaN."""
    if points is None or not len(points) or points[0] is None:
        return np.full((count, 3), np.nan, np.float32)
    return np.asarray(points, np.float32).reshape(count, 3)


def read_asl_app(folder) -> list:
    """Every `<sign>.json` of ASL-App's `signs/` folder (frames of pose, left_hand, right_hand)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SignclipError(f"{folder}: no <sign>.json files: not ASL-App's signs folder")
    clips = []
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            points = np.stack([np.concatenate([_part(f["pose"], 33), _part(f["left_hand"], 21),
                                               _part(f["right_hand"], 21)]) for f in record["frames"]])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SignclipError(f"{path}: not an ASL-App sign file ({type(e).__name__}: {e})") from None
        clips.append(WordClip(gloss(record.get("sign", path.stem)), "asl-app", path.stem, points))
    return clips


# ---------------------------------------------------------------- the converted file


def write_word_set(clips, path, meta: dict) -> None:
    """One `.npz` (atomic): points float16 [F, 75, 3], offsets, label, signer, source_id, meta JSON."""
    if not clips:
        raise SignclipError(f"{path}: no clips to write")
    lengths = [len(c.points) for c in clips]
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, points=np.concatenate([c.points for c in clips]).astype(np.float16),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        label=np.array([c.label for c in clips]), signer=np.array([c.signer for c in clips]),
        source_id=np.array([c.source_id for c in clips]), meta=np.array(json.dumps(meta)))
    atomic_write_bytes(Path(path), buffer.getvalue())


def set_meta(name: str) -> dict:
    """What a converted file records of its set: title, license, credit, image size, fps."""
    s = WORD_SETS[name]
    return {"set": name, "title": s.title, "license": s.license, "credit": s.credit,
            "sign_language": s.sign_language, "width": s.width, "height": s.height, "fps": s.fps}


def asset_path(name: str) -> Path:
    if name not in WORD_SETS:
        raise SignclipError(f"unknown word set {name!r}; known: {', '.join(WORD_SETS)}")
    return Path(str(resources.files("signclip.trainer.assets") / WORD_SETS[name].file))


def is_word_file(z: dict) -> bool:
    return "offsets" in z and "points" in z


def word_clip(path, item: int) -> PoseClip:
    """Clip `item` of a converted word file as a PoseClip in pixels (NaN points masked)."""
    z = load_set(str(path))
    o = z["offsets"]
    if not 0 <= item < len(o) - 1:
        raise SignclipError(f"{path}: no clip {item} (it has {len(o) - 1})")
    meta = json.loads(str(z["meta"]))
    points = z["points"][o[item]:o[item + 1]].astype(np.float32)
    mask = ~np.isnan(points).any(axis=-1)
    frames = np.where(mask[..., None], points * np.array([meta["width"], meta["height"], meta["width"]],
                                                         np.float32), 0).astype(np.float32)
    return PoseClip(BODY_HANDS_75, frames, mask, float(meta["fps"]), int(meta["width"]), int(meta["height"]))


def is_lexical(label: str) -> bool:
    """Whether a gloss names a lexical sign: not one letter, not one digit (10 is a sign of its own)."""
    return len(label) > 1


def word_rows(name: str, *, hold_out_signers=(), path=None, lexical_only: bool = True) -> list:
    """Manifest rows for a word file's lexical signs (with `lexical_only`: ASL-App's letter and digit
    clips are left out), each drawn its set's `weight` times an epoch, with its provenance and
    license; clips of `hold_out_signers` get split 'test'.

    Why leave letters out: ASL-App's letter clips are tutorial clips that move into and out of the
    letter; the letters-only model read them first 0.19 of the time (5 of 26), against about 2 in 3
    for new people's letter videos, so under the lexicon's letter prompts they would teach a second,
    unlike look of each letter. Letters come from the lexicon and the photos of 10 signers."""
    path = Path(path) if path is not None else asset_path(name)
    z = load_set(str(path))
    meta = json.loads(str(z["meta"]))
    signers = sorted(set(z["signer"].tolist()))
    unknown = sorted(set(hold_out_signers) - set(signers))
    if unknown:
        raise SignclipError(f"--hold-out-word-signers: {', '.join(unknown)} not in {name} "
                            f"(its signers: {', '.join(signers)})")
    weight = WORD_SETS[name].weight if name in WORD_SETS else 1
    return [ManifestRow(path, label, "en", meta["sign_language"], signer,
                        "test" if signer in hold_out_signers else "train", item=i, weight=weight,
                        source=f"{name} {signer}/{source_id}", license=meta["license"])
            for i, (label, signer, source_id) in enumerate(zip(
                z["label"].tolist(), z["signer"].tolist(), z["source_id"].tolist(), strict=True))
            if is_lexical(label) or not lexical_only]

