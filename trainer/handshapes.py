"""Handshape photos of many signers as training clips: ASL-HG (10 named signers) and a digits set.

The fingerspelling lexicon has one signer per language, so a model trained on it alone learns one
person's hands. These sets add many people's hands (`assets/README.md`). A photo becomes a clip
in the model layout with its hand(s) where a video's would be and the body and face masked, held
for `photo_frames` identical frames, as the runtime holds a photo it looks up (`runtime/capture/photo.py`).

    signclip lexicon -o train.csv --handshapes asl-hg,digits   # the photos as manifest rows
    signclip lexicon -o train.csv --handshapes asl-hg --hold-out-signers P1,P2   # P1, P2: "test"
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from signclip.runtime.capture.photo import PHOTO_FPS, hold, place_hands
from signclip.runtime.errors import SignclipError
from signclip.runtime.pose.clip import PoseClip
from signclip.runtime.pose.layouts import MODEL_203

from .data import ManifestRow


@dataclass(frozen=True)
class HandshapeSet:
    """One file of photo landmarks and what its rows mean."""

    file: str
    title: str
    license: str
    credit: str
    sign_language: str   # ISO 639-3; UNSPECIFIED where the set does not say which it shows


ASL_HG_CREDIT = (
    "Md. Famidul Islam Pranto, Md. Rifatul Islam, Md. Ali Akbor, Nabonita Ghosh, Md. Rahatun Alam, "
    "Sudipto Chaki, Md. Masudul Islam. \"ASL-HG: American Sign Language Hand Gesture Image Dataset\", "
    "Mendeley Data, V1, 2025, doi:10.17632/j4y5w2c8w9.1; \"A comprehensive image dataset of American "
    "Sign Language hand gestures\", Data in Brief, 2026, doi:10.1016/j.dib.2026.112492. "
    "License: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)")

# ISO 639's collective code, "sign languages": a set that names no sign language teaches hand shapes
# under prompts of their own (`<en> <sgn> 7`), which no vocabulary a user looks up in contains.
UNSPECIFIED = "sgn"

SETS = {
    "asl-hg": HandshapeSet("asl_hg_subset.npz", "ASL-HG (ASL letters and digits, 10 signers)",
                           "CC-BY-4.0", ASL_HG_CREDIT, "ase"),
    "digits": HandshapeSet("sign_language_digits.npz", "Sign Language Digits Dataset (218 students)",
                           "Apache-2.0", "Sign Language Digits Dataset, Turkey Ankara Ayrancı Anadolu "
                           "High School students (github.com/ardamavi/Sign-Language-Digits-Dataset), "
                           "Apache-2.0", UNSPECIFIED),
}
ASL_HG_SIGNERS = tuple(f"P{i}" for i in range(1, 11))
STATIC_LETTERS = tuple("ABCDEFGHIKLMNOPQRSTUVWXY")   # A-Y without J: Z and J move


def asset_path(name: str) -> Path:
    """The shipped landmark file of a set ("asl-hg", "digits")."""
    if name not in SETS:
        raise SignclipError(f"unknown handshape set {name!r}; known: {', '.join(SETS)}")
    return Path(str(resources.files("signclip.trainer.assets") / SETS[name].file))


@lru_cache(maxsize=4)
def load_set(path: str) -> dict:
    """Every array of a landmark file (no pickles), read once per process."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise SignclipError(f"{path}: not a handshape landmark file ({e})") from None


def photo_clip(path, item: int, frames: int) -> PoseClip:
    """Row `item` of a landmark file as a clip of `frames` identical model-layout frames (hands only)."""
    z = load_set(str(path))
    if not 0 <= item < len(z["label"]):
        raise SignclipError(f"{path}: no row {item} (it has {len(z['label'])})")
    size = np.array([z["width"][item], z["height"][item], 1.0], np.float32)  # pixels, as a video's
    hands = [(str(z["handedness"][item]), z["image"][item] * size)]
    if z["hands_found"][item] > 1:
        hands.append((str(z["second_handedness"][item]), z["second_image"][item] * size))
    frame, mask = place_hands(MODEL_203, hands)
    return PoseClip(MODEL_203, *hold(frame, mask, frames), PHOTO_FPS, int(z["width"][item]),
                    int(z["height"][item]))


def handshape_rows(name: str, *, sign_language: str | None = None, hold_out_signers=(),
                   labels=None, weight: int = 1) -> list:
    """Manifest rows for a set's photos; rows of `hold_out_signers` get split 'test'.

    `sign_language` overrides the set's own. A set without named signers has none to hold out."""
    path = asset_path(name)
    z = load_set(str(path))
    language = sign_language or SETS[name].sign_language
    signers = set_signers(name)
    unknown = sorted(set(hold_out_signers) - set(signers))
    if unknown and signers:
        raise SignclipError(f"--hold-out-signers: {', '.join(unknown)} not in {name} "
                            f"(its signers: {', '.join(signers) or 'not named'})")
    rows = []
    for i, (label, signer) in enumerate(zip(z["label"].tolist(), z["signer"].tolist(), strict=True)):
        if labels is not None and label not in labels:
            continue
        split = "test" if signer in hold_out_signers else "train"
        rows.append(ManifestRow(path, label, "en", language, signer or None, split, item=i, weight=weight,
                                source=f"{name} {signer or '-'}/{i}", license=SETS[name].license))
    return rows


def set_signers(name: str) -> list:
    """The named signers of a set (none for a set of anonymous photos)."""
    return sorted(set(load_set(str(asset_path(name)))["signer"].tolist()) - {""})


def credits(records, sets=None) -> list:
    """The sets (default: the photo sets; any with file, title, license, credit) that manifest records
    (`ManifestRow.to_record()` dicts) draw on, with license and credit: checkpoints and bundles carry
    them (ASL-HG's CC BY 4.0 requires it)."""
    used = {Path(r["pose"]).name for r in records if r.get("item") is not None}
    return [{"name": s.title, "license": s.license, "credit": s.credit}
            for s in (SETS.values() if sets is None else sets) if s.file in used]
