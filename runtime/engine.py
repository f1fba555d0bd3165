"""One object that loads a bundle once and serves many inputs: clip -> embedding -> top-k, text -> top-k.

Every lookup searches the bundle's vocabulary and the user's personal (taught) signs at once.
Encoders load on first use: a text-only session never opens the pose model, and the reverse.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .bundle import Bundle, load_bundle
from .encoders import EncoderOptions, PoseEncoder, TextEncoder
from .errors import SignclipError
from .index import IndexKind, VectorIndex
from .normalize import ModelInput, preprocess
from .personal import ANY_LANGUAGE, PersonalVocabulary, read_personal, vocabulary_path, write_personal
from .pose import PoseClip
from .pose_io import is_pose_file, read_pose

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
DEFAULT_SPOKEN = "en"


@dataclass(frozen=True)
class Match:
    """One result: `label` the bare word or letter, `text` the prompt or clip text, cosine `score`."""

    label: str
    language: str
    text: str
    score: float
    source: str  # "bundle" (vocabulary), "clip" (a vocabulary clip) or "personal" (taught)

    def to_json(self) -> dict:
        return {**asdict(self), "score": round(float(self.score), 6)}


def parse_prompt(template: str, text: str) -> dict | None:
    """The fields of `text` made from `template` ({"spoken": "en", ...}), None if it does not fit."""
    import re

    pattern, named = "", set()
    try:
        for literal, field, _, _ in string.Formatter().parse(template):
            pattern += re.escape(literal)
            if field is not None:
                ok = field.isidentifier() and field not in named
                pattern += f"(?P<{field}>.+?)" if ok else ".+?"
                named.add(field)
        m = re.fullmatch(pattern, text, flags=re.S)
    except (ValueError, re.error):
        return None
    return m.groupdict() if m else None


def spoken_languages(template: str, texts, languages) -> dict:
    """Sign language -> the spoken language its prompts use, read back from the vocabulary's texts."""
    out = {}
    for text, lang in zip(texts, languages, strict=True):
        if lang not in out:
            fields = parse_prompt(template, str(text))
            if fields and "spoken" in fields:
                out[str(lang)] = fields["spoken"]
    return out


def make_prompt(template: str, text: str, signed: str, spoken: str) -> str:
    try:
        return template.format(text=text, signed=signed, spoken=spoken)
    except (KeyError, IndexError, ValueError):
        return text  # a template with other fields: embed the bare text


def merge(candidates: list, k: int) -> list:
    """Best first, one entry per (label, language, source), at most k."""
    seen, out = set(), []
    for m in sorted(candidates, key=lambda m: -m.score):
        key = (m.label, m.language, m.source)
        if key not in seen:
            seen.add(key)
            out.append(m)
        if len(out) == k:
            break
    return out


def read_clip(path) -> PoseClip:
    """A `.pose` file, or a video through MediaPipe Holistic, trimmed to its signing."""
    path = Path(path)
    if is_pose_file(path):
        return read_pose(path)
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise SignclipError(f"{path}: unknown input type {path.suffix or '(none)'}; give a .pose file "
                            f"or a video ({', '.join(VIDEO_SUFFIXES)})")
    try:
        from .capture import video_to_clip
    except ImportError as e:
        raise SignclipError(f"{path}: videos need MediaPipe ({e.name or e}); install mediapipe==0.10.18 "
                            f"or give a .pose file") from e
    from .segmentation import trim_rest

    return trim_rest(video_to_clip(path))  # a recording holds rest before and after the sign


class Engine:
    """Loads a bundle (and the personal vocabulary) once; embeds and looks up many inputs."""

    def __init__(self, bundle: Bundle | str | Path | None = None, options: EncoderOptions = EncoderOptions(),
                 *, personal: bool = True, index_kind: IndexKind = IndexKind.EXACT):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.options = options
        self.vocabulary = self.bundle.vocabulary()
        self.dim = self.bundle.embedding_dim
        v = self.vocabulary
        self.label_index = VectorIndex(v.embeddings, v.languages, kind=index_kind)
        self.clip_index = (VectorIndex(v.clip_embeddings, v.clip_languages, kind=index_kind)
                           if v.has_clips else None)
        self.spoken = spoken_languages(self.bundle.prompt_template, v.texts, v.languages)
        self.personal_path = vocabulary_path(self.dim, self.bundle.model_hash) if personal else None
        self.personal = (read_personal(self.personal_path, self.dim, self.bundle.model_hash)
                         if personal else PersonalVocabulary.empty(self.dim, self.bundle.model_hash))
        self._personal_index = None
        self._pose = self._text = None

    # ------------------------------------------------------------ encoders

    @property
    def pose_encoder(self) -> PoseEncoder:
        if self._pose is None:
            from .tensorrt_runner import load_pose_encoder

            self._pose = load_pose_encoder(self.bundle, self.options)
        return self._pose

    @property
    def text_encoder(self) -> TextEncoder:
        if self._text is None:
            options = self.options
            if options.provider == "tensorrt-native":  # the native runner serves the pose tower only
                options = EncoderOptions(None, options.threads, options.batch_size)
            self._text = TextEncoder(self.bundle, options)
        return self._text

    def model_input(self, clip: PoseClip) -> ModelInput:
        return preprocess(clip, self.bundle.normalization)

    def prepare(self, path) -> ModelInput:
        """A .pose file or video read and normalized: what the pose encoder takes."""
        return self.model_input(read_clip(path))

    def embed_clips(self, clips) -> np.ndarray:
        """Unit embeddings [B, D] of PoseClips (any layout), in padded, masked batches."""
        return self.embed_inputs([self.model_input(c) for c in clips])

    def embed_inputs(self, inputs) -> np.ndarray:
        """Unit embeddings [B, D] of normalized ModelInputs."""
        return self.pose_encoder.embed(list(inputs))

    def embed_files(self, paths) -> np.ndarray:
        return self.embed_clips([read_clip(p) for p in paths])

    def embed_texts(self, texts) -> np.ndarray:
        return self.text_encoder.embed(texts)

    # ------------------------------------------------------------ search

    @property
    def personal_index(self) -> VectorIndex:
        if self._personal_index is None:
            self._personal_index = VectorIndex(self.personal.prototypes, self.personal.languages)
        return self._personal_index

    def languages(self, text_query: bool = False) -> list:
        target = self.clip_index if (text_query and self.clip_index is not None) else self.label_index
        return sorted(set(target.languages) | (set(self.personal.languages.tolist()) - {ANY_LANGUAGE}))

    def _check_language(self, language: str | None, text_query: bool = False) -> None:
        if language is not None and language not in self.languages(text_query):
            raise SignclipError(f"language {language!r} is not in the vocabulary; known: "
                                f"{', '.join(self.languages(text_query)) or 'none'}")

    def _check_not_empty(self, target: VectorIndex) -> None:
        if len(target) == 0 and len(self.personal) == 0:
            raise SignclipError("nothing to look up: the bundle's vocabulary is empty and no sign is "
                                "taught (signclip teach LABEL CLIP...)")

    def _personal_matches(self, query: np.ndarray, k: int, language: str | None) -> list:
        p = self.personal
        out = []
        for lang in ([None] if language is None else [language, ANY_LANGUAGE]):
            hits = self.personal_index.search(query, k, lang)
            out += [Match(str(p.labels[i]), str(p.languages[i]), str(p.labels[i]), float(s), "personal")
                    for i, s in zip(hits.ids, hits.scores, strict=True)]
        return out

    def lookup_embedding(self, embedding: np.ndarray, k: int = 5, language: str | None = None) -> list:
        """Top-k vocabulary entries and taught signs for a pose embedding [D]."""
        self._check_language(language)
        self._check_not_empty(self.label_index)
        v = self.vocabulary
        hits = self.label_index.search(embedding, k * 2, language)  # spare rows survive de-duplication
        found = [Match(str(v.labels[i]), str(v.languages[i]), str(v.texts[i]), float(s), "bundle")
                 for i, s in zip(hits.ids, hits.scores, strict=True)]
        return merge(found + self._personal_matches(embedding, k, language), k)

    def lookup_clips(self, clips, k: int = 5, language: str | None = None) -> list:
        """One top-k list per clip; all clips go through the encoder in shared batches."""
        return self.lookup_inputs([self.model_input(c) for c in clips], k, language)

    def lookup_inputs(self, inputs, k: int = 5, language: str | None = None) -> list:
        """One top-k list per normalized ModelInput."""
        self._check_language(language)
        self._check_not_empty(self.label_index)
        return [self.lookup_embedding(e, k, language) for e in self.embed_inputs(inputs)]

    def lookup_text(self, text: str, k: int = 5, language: str | None = None) -> list:
        """Text to sign: the query, prompted per sign language, against the vocabulary's clips
        (or, in a bundle without clips, against the labels' prompts) and the taught signs."""
        if not str(text).strip():
            raise SignclipError("--text is empty: give a word or phrase to look up")
        self._check_language(language, text_query=True)
        v = self.vocabulary
        use_clips = self.clip_index is not None
        target = self.clip_index if use_clips else self.label_index
        self._check_not_empty(target)
        langs = [language] if language is not None else self.languages(text_query=True)
        template = self.bundle.prompt_template
        prompts = [make_prompt(template, text, lg, self.spoken.get(lg, DEFAULT_SPOKEN)) for lg in langs]
        queries = self.embed_texts([*prompts, text])           # the bare text for taught signs
        found = []
        for lang, q in zip(langs, queries[:-1], strict=True):
            hits = target.search(q, k * 4, lang)
            for i, s in zip(hits.ids, hits.scores, strict=True):
                if use_clips:
                    found.append(Match(str(v.clip_labels[i]), str(v.clip_languages[i]), str(v.clip_texts[i]),
                                       float(s), "clip"))
                else:
                    found.append(Match(str(v.labels[i]), str(v.languages[i]), str(v.texts[i]), float(s),
                                       "bundle"))
            found += [m for m in self._personal_matches(q, k, lang) if m.language == lang]
        found += [m for m in self._personal_matches(queries[-1], k, None) if m.language == ANY_LANGUAGE]
        return merge(found, k)

    # ------------------------------------------------------------ teach

    def teach(self, label: str, clips, sources, language: str | None = None) -> PersonalVocabulary:
        """Add clips as examples of `label`; saved atomically; later lookups include it."""
        if self.personal_path is None:
            raise SignclipError("this engine was opened without a personal vocabulary")
        embeddings = self.embed_clips(clips)
        self.personal = self.personal.with_examples(label, embeddings, sources, language or ANY_LANGUAGE)
        write_personal(self.personal, self.personal_path)
        self._personal_index = None
        return self.personal

    def forget(self, label: str, language: str | None = None) -> PersonalVocabulary:
        if self.personal_path is None:
            raise SignclipError("this engine was opened without a personal vocabulary")
        self.personal = self.personal.without(label, language)
        write_personal(self.personal, self.personal_path)
        self._personal_index = None
        return self.personal
