"""One object that loads a bundle once and serves many inputs: clip -> embedding -> top-k, text -> top-k.

Every lookup searches the bundle's vocabulary and the user's personal (taught) signs at once.
Encoders load on first use: a text-only session never opens the pose model, and the reverse.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import SignclipError
from ..model.bundle import Bundle, load_bundle
from ..model.encoders import EncoderOptions, PoseEncoder, TextEncoder
from ..model.index import IndexKind, VectorIndex
from ..model.references import boxed_clip, load_references, no_clip, unit_box
from ..pose.clip import PoseClip
from ..pose.io import is_pose_file, read_pose
from ..pose.normalize import ModelInput, preprocess
from ..pose.timing import at_rate
from ..vocabulary.packs import PackShelf
from ..vocabulary.packs import restore_command as pack_restore_command
from ..vocabulary.personal import (
    ANY_LANGUAGE,
    PersonalVocabulary,
    clean_label,
    clean_language,
    vocabulary_path,
)
from ..vocabulary.personal_store import RESTORE_COMMAND, PersonalStore, Unreadable
from .dictionary import Dictionary, dictionary_key
from .kinds import ENTRY_KINDS, KindHead, allowed_kinds, check_choice, entry_kinds, uses_both_hands
from .templates import ReferenceTemplates

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # runtime/capture/photo.py reads them
DEFAULT_SPOKEN = "en"


# how to get a bundle that embeds free text (docs/runtime.md)
FULL_BUNDLE = ("for free text use a full bundle with --bundle DIR: signclip export CHECKPOINT --format "
               "onnx-int8 --data MANIFEST --out DIR (make full-model in a clone writes the shipped model's "
               "to runs/full-bundle)")


@dataclass(frozen=True)
class Match:
    """One result: `label` the bare word or letter, `text` the prompt or clip text, cosine `score`."""

    label: str
    language: str
    text: str
    score: float
    source: str  # "bundle" (vocabulary), "clip" (a vocabulary clip), "personal" or "pack NAME" (taught)

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


def read_clip(path, photo_frames: int = 1, capture=None) -> PoseClip:
    """A `.pose` file, a video through MediaPipe Holistic trimmed to its signing, or a photo held
    for `photo_frames` frames (the bundle's normalization says how many); `capture`: the video's
    CaptureConfig (default: Holistic whole)."""
    path = Path(path)
    if is_pose_file(path):
        return read_pose(path)
    if not path.exists():
        raise SignclipError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise SignclipError(f"{path}: unknown input type {path.suffix or '(none)'}; give a .pose file, "
                            f"a video ({', '.join(VIDEO_SUFFIXES)}) or a photo ({', '.join(IMAGE_SUFFIXES)})")
    try:
        from ..capture.holistic import CaptureConfig, video_to_clip
        from ..capture.photo import photo_to_clip
    except ImportError as e:
        raise SignclipError(f"{path}: videos and photos need MediaPipe ({e.name or e}); install "
                            f"mediapipe==0.10.18 or give a .pose file") from e
    if suffix in IMAGE_SUFFIXES:
        return photo_to_clip(path, photo_frames)
    from .segmentation import trim_rest

    # a recording holds rest before and after the sign
    return trim_rest(video_to_clip(path, capture or CaptureConfig()))


def sample_indices(n: int, limit: int = 2048) -> np.ndarray:
    """At most `limit` of n row numbers, a fixed random sample (the same every run; the web page
    is given the same ones)."""
    if n > limit:
        return np.random.default_rng(0).choice(n, limit, replace=False)
    return np.arange(n)


class Engine:
    """Loads a bundle (and the personal vocabulary) once; embeds and looks up many inputs."""

    def __init__(self, bundle: Bundle | str | Path | None = None, options: EncoderOptions = EncoderOptions(),
                 *, personal: bool = True, index_kind: IndexKind = IndexKind.EXACT,
                 restore_command: str = RESTORE_COMMAND):
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
        self.store = (PersonalStore(self.personal_path, self.dim, self.bundle.model_hash)
                      if personal else None)
        self.packs = PackShelf(self.dim, self.bundle.model_hash) if personal else None
        self.restore_command = restore_command  # named in warnings: the CLI adds its --bundle
        self._no_personal = PersonalVocabulary.empty(self.dim, self.bundle.model_hash)
        self._indexes: dict = {}  # source -> (vocabulary, its index), rebuilt when the file changed
        self._languages: dict = {}
        self._pose = self._text = self._rows = self._reference = self._dictionary = None
        self._entry_kinds = None
        self._references = None  # the bundle's reference clips, read on first use
        self._templates = None
        self._taught_templates: tuple = ((), {})  # (the taught vocabularies, their takes' templates)
        self.kind_head = KindHead.from_meta(self.bundle.meta)  # tells a lexical sign from a letter

    # ------------------------------------------------------------ encoders

    @property
    def pose_encoder(self) -> PoseEncoder:
        if self._pose is None:
            from ..model.tensorrt_runner import load_pose_encoder

            self._pose = load_pose_encoder(self.bundle, self.options)
        return self._pose

    @property
    def text_encoder(self) -> TextEncoder:
        if not self.bundle.has_text_encoder:
            raise self._no_text_encoder()
        if self._text is None:
            options = self.options
            if options.provider == "tensorrt-native":  # the native runner serves the pose tower only
                options = EncoderOptions(None, options.threads, options.batch_size)
            self._text = TextEncoder(self.bundle, options)
        return self._text

    def model_input(self, clip: PoseClip) -> ModelInput:
        return preprocess(clip, self.bundle.normalization)

    @property
    def capture_config(self):
        """How videos are captured for this bundle (runtime/capture/holistic.py: no face mesh if it
        hides the face)."""
        from ..capture.holistic import capture_for

        return capture_for(self.bundle.normalization)

    def read(self, path, at_model_rate: bool = True) -> PoseClip:
        """A .pose file, video or photo as a clip (a photo held as this bundle's model was trained);
        with `at_model_rate` a video or .pose file at the bundle's frame rate (a photo has no time)."""
        clip = read_clip(path, self.bundle.normalization.photo_frames, self.capture_config)
        if not at_model_rate or Path(path).suffix.lower() in IMAGE_SUFFIXES:
            return clip
        return at_rate(clip, self.bundle.fps)

    def prepare(self, path) -> ModelInput:
        """A .pose file, video or photo read and normalized: what the pose encoder takes."""
        return self.model_input(self.read(path))

    def embed_clips(self, clips) -> np.ndarray:
        """Unit embeddings [B, D] of PoseClips (any layout), in padded, masked batches."""
        return self.embed_inputs([self.model_input(c) for c in clips])

    def embed_inputs(self, inputs) -> np.ndarray:
        """Unit embeddings [B, D] of normalized ModelInputs."""
        return self.pose_encoder.embed(list(inputs))

    def embed_files(self, paths) -> np.ndarray:
        return self.embed_clips([self.read(p) for p in paths])

    def embed_texts(self, texts) -> np.ndarray:
        """Unit embeddings of prompts: the text encoder, or a pose-only bundle's stored vocabulary."""
        texts = list(texts)
        if self.bundle.has_text_encoder:
            return self.text_encoder.embed(texts)
        rows = [self._vocabulary_rows.get(t) for t in texts]
        if any(r is None for r in rows):
            raise self._no_text_encoder(next(t for t, r in zip(texts, rows) if r is None))
        return self.vocabulary.embeddings[np.array(rows, dtype=np.int64)]

    def _no_text_encoder(self, text: str | None = None) -> SignclipError:
        what = f"{text!r} is not in its vocabulary and " if text else ""
        return SignclipError(f"{what}bundle {self.bundle.path} has no text encoder (it answers only the "
                             f"texts of its vocabulary); {FULL_BUNDLE}")

    def knows_text(self, text: str) -> bool:
        """Whether a prompt can be embedded here (always, with a text encoder)."""
        return self.bundle.has_text_encoder or text in self._vocabulary_rows

    @property
    def _vocabulary_rows(self) -> dict:
        if self._rows is None:
            self._rows = {str(t): i for i, t in enumerate(self.vocabulary.texts)}
        return self._rows

    # ------------------------------------------------------------ search

    @property
    def personal(self) -> PersonalVocabulary:
        """The taught signs as their file holds them now: another process's teaching shows up at the
        next lookup; empty while the file is unreadable (`personal_problem`)."""
        return self.store.current() if self.store is not None else self._no_personal

    @property
    def personal_problem(self) -> Unreadable | None:
        """Why taught signs are left out of lookups, or None."""
        if self.store is None:
            return None
        self.store.current()
        return self.store.problem

    def personal_warning(self) -> str | None:
        """One line for the user when taught signs or a pack are left out, else None."""
        problem = self.personal_problem
        if problem:
            return problem.message("the bundle answers alone", self.restore_command)
        for name, _, problem in (self.packs.current() if self.packs is not None else []):
            if problem:
                return problem.message(f"pack {name} is left out", pack_restore_command(name))
        return None

    def taught(self) -> list:
        """(source, vocabulary) of the signs taught here: the personal vocabulary, then every pack."""
        found = [("personal", self.personal)] if self.store is not None else []
        if self.packs is not None:
            found += [(f"pack {name}", vocab) for name, vocab, _ in self.packs.current()]
        return [(source, vocab) for source, vocab in found if len(vocab)]

    @property
    def personal_index(self) -> VectorIndex:
        return self._index_of("personal", self.personal)

    def _index_of(self, source: str, vocab: PersonalVocabulary) -> VectorIndex:
        indexed, index = self._indexes.get(source, (None, None))
        if indexed is not vocab:  # rebuilt when the file changed
            index = VectorIndex(vocab.prototypes, vocab.languages)
            self._indexes[source] = (vocab, index)
        return index

    def languages(self, text_query: bool = False) -> list:
        taught = {lg for _, vocab in self.taught() for lg in vocab.languages.tolist()} - {ANY_LANGUAGE}
        return sorted(self._bundle_languages(text_query) | taught)

    def _bundle_languages(self, text_query: bool) -> frozenset:
        """The bundle's own languages (of its clips, for text queries where it has clips), built once."""
        key = text_query and self.clip_index is not None
        if key not in self._languages:
            self._languages[key] = frozenset((self.clip_index if key else self.label_index).languages)
        return self._languages[key]

    def check_language(self, language: str | None, text_query: bool = False) -> None:
        """A SignclipError naming the known languages where `language` is not one of them."""
        if language is None or language in self._bundle_languages(text_query):
            return  # the common case: no pack folder is read on the way to every lookup
        if language not in self.languages(text_query):
            raise SignclipError(f"language {language!r} is not in the vocabulary; known: "
                                f"{', '.join(self.languages(text_query)) or 'none'}")

    def _check_not_empty(self, target: VectorIndex) -> None:
        if len(target) == 0 and not self.taught():
            raise SignclipError("nothing to look up: the bundle's vocabulary is empty and no sign is "
                                "taught (signclip teach LABEL CLIP...)")

    def _personal_matches(self, query: np.ndarray, k: int, language: str | None,
                          against_texts: bool = True) -> list:
        taught = self.taught()  # one snapshot of each file: it may change between two reads
        if not taught:  # no taught signs: skip the calibration's two scans too
            return []
        scale = self._calibration(query) if against_texts else None
        out = []
        for source, p in taught:
            for lang in ([None] if language is None else [language, ANY_LANGUAGE]):
                hits = self._index_of(source, p).search(query, k, lang)
                out += [Match(str(p.labels[i]), str(p.languages[i]), str(p.labels[i]),
                              float(scale(s) if scale else s), source)
                        for i, s in zip(hits.ids, hits.scores, strict=True)]
        return out

    def _calibration(self, query: np.ndarray):
        """Map a pose-to-pose cosine onto this query's pose-to-text scale, or None.

        Taught signs are pose prototypes; the vocabulary holds texts. Pose embeddings sit much closer
        to each other than to texts, so raw cosines would let any taught sign beat every text. Each
        score is standardized against its own kind (this query against the bundle's clips, and
        against its texts) and a taught sign's is put back on the text scale: it wins only where
        it stands out among clips as much as the best text stands out among texts.
        """
        stats = self._reference_rows()
        if stats is None:
            return None
        clips, texts = stats
        q = np.asarray(query, np.float32)
        pose, text = clips @ q, texts @ q
        p_mu, p_sd = float(pose.mean()), float(pose.std()) or 1.0
        t_mu, t_sd = float(text.mean()), float(text.std()) or 1.0
        return lambda s: t_mu + (s - p_mu) / p_sd * t_sd

    def calibration_rows(self) -> tuple | None:
        """Which clip and text rows of the vocabulary the calibration reads (up to 2,048 of each), or
        None where the bundle has too few (then taught signs keep their raw cosine)."""
        v = self.vocabulary
        if not v.has_clips or len(v.embeddings) < 2 or len(v.clip_embeddings) < 2:
            return None
        return sample_indices(len(v.clip_embeddings)), sample_indices(len(v.embeddings))

    def _reference_rows(self):
        """The sampled clip and text embeddings of `calibration_rows`, read once."""
        if self._reference is None:
            rows = self.calibration_rows()
            v = self.vocabulary
            self._reference = () if rows is None else (np.asarray(v.clip_embeddings[rows[0]], np.float32),
                                                        np.asarray(v.embeddings[rows[1]], np.float32))
        return self._reference or None

    @property
    def entry_kinds(self) -> np.ndarray:
        """Each vocabulary entry's kind (sign, letter, digit), in the vocabulary's order."""
        if self._entry_kinds is None:
            v = self.vocabulary
            self._entry_kinds = entry_kinds(v.labels, v.languages, self.bundle.signs)
        return self._entry_kinds

    def lookup_embedding(self, embedding: np.ndarray, k: int = 5, language: str | None = None,
                         kind: str = "auto", model_input: ModelInput | None = None,
                         whole: np.ndarray | None = None) -> list:
        """Top-k vocabulary entries and taught signs for a pose embedding [D], among the entries of
        `kind` (kinds.CHOICES; auto: the kind the clip shows, where the bundle can tell: from the
        embedding, and from `model_input`'s hands where given). Signs are read from `model_input`
        where given (`whole`: its whole-clip embedding, if the caller has it; see read_signs)."""
        self.check_language(language)
        self._check_not_empty(self.label_index)
        v = self.vocabulary
        both = kind == "auto" and model_input is not None and uses_both_hands(model_input)
        allowed = allowed_kinds(kind, self.kind_head, embedding, both, language)
        hits = self.label_index.search(embedding, k * 2 if allowed is None else len(v), language)
        rows = list(zip(hits.ids, hits.scores, strict=True))
        if allowed is not None:
            of_kind = [(i, s) for i, s in rows if self.entry_kinds[i] in allowed]
            # auto in a language without entries of that kind (no lexical signs of gss): all kinds
            rows = of_kind if of_kind or kind != "auto" else rows
        taught = self._personal_matches(embedding, k, language)
        if allowed == ENTRY_KINDS["signs"] and model_input is not None and rows:
            rows = self.read_signs(rows, model_input, whole)
            # a taught word the bundle has is read through its takes (templates), not beside it
            named = {(dictionary_key(v.labels[i]), str(v.languages[i])) for i, _ in rows}
            taught = [m for m in taught if not self._read_as_bundle_sign(m, named)]
        found = [Match(str(v.labels[i]), str(v.languages[i]), str(v.texts[i]), float(s), "bundle")
                 for i, s in rows[:k * 2]]  # spare rows survive de-duplication
        return merge(found + taught, k)

    def _read_as_bundle_sign(self, m: Match, named: set) -> bool:
        """Whether a taught match's takes re-rank a bundle sign among `named` ((folded label,
        language) of the candidates) instead of standing beside it."""
        key = dictionary_key(m.label)
        if not self.taught_templates().get((key, m.language)):
            return False  # no take kept (taught before takes were): it stands as it is
        return any(k == key and m.language in (lang, ANY_LANGUAGE) for k, lang in named)

    def read_signs(self, rows: list, x: ModelInput, whole: np.ndarray | None = None) -> list:
        """(row, score) sign candidates scored by the whole clip `x`'s embedding, then re-ranked by
        their reference clips (templates.py), best first.

        Why the whole clip: the hands-alone view mixed into every embedding reads new people's
        letters better, but it shows neither where the hands are nor how they move, which is what
        tells signs apart (HELLO's hand is B's). The encoder alone, mean of three seeds of the default
        recipe (docs/evaluation.md): ISLR's held-out participants 0.895 -> 0.913, one-clip words
        0.561 -> 0.651.

        A taught word that the bundle has (the same folded spelling, in its language or any) adds
        its takes to the word's templates and is not matched beside it: matched by its prototype,
        a mixed embedding, one person's HELLO took other people's THANK-YOU (docs/evaluation.md's
        takes table). Taught words the bundle lacks keep their prototype."""
        if whole is None:
            whole = self.pose_encoder.embed_whole([x])[0]
        ids = np.array([i for i, _ in rows], np.int64)
        scores = self.vocabulary.embeddings[ids] @ np.asarray(whole, np.float32)
        order = np.argsort(-scores, kind="stable")
        rows = [(int(ids[i]), float(scores[i])) for i in order]
        v = self.vocabulary
        keys = [(str(v.labels[i]), str(v.languages[i])) for i, _ in rows]
        taught = self.taught_templates()
        more = [taught.get((dictionary_key(la), lg), []) + taught.get((dictionary_key(la), ANY_LANGUAGE), [])
                for la, lg in keys]
        return self.templates.rerank(rows, keys, x, more)

    def taught_templates(self) -> dict:
        """{(folded label, language): template features of its taught takes}, personal and packs,
        made again whenever one of their files changed."""
        taught = tuple(vocab for _, vocab in self.taught())
        made_for, found = self._taught_templates
        if len(made_for) != len(taught) or any(a is not b for a, b in zip(made_for, taught, strict=True)):
            found = {}
            for vocab in taught:
                for row, (label, language) in enumerate(zip(vocab.labels, vocab.languages, strict=True)):
                    clips = [boxed_clip(t, self.bundle.fps) for t in vocab.takes_of(row)]
                    features = [f for f in map(self.templates.template, clips) if f is not None]
                    if features:
                        found.setdefault((dictionary_key(label), str(language)), []).extend(features)
            self._taught_templates = (taught, found)
        return found

    def lookup_clips(self, clips, k: int = 5, language: str | None = None, kind: str = "auto") -> list:
        """One top-k list per clip; all clips go through the encoder in shared batches."""
        return self.lookup_inputs([self.model_input(c) for c in clips], k, language, kind)

    def lookup_inputs(self, inputs, k: int = 5, language: str | None = None, kind: str = "auto") -> list:
        """One top-k list per normalized ModelInput."""
        self.check_language(language)
        self._check_not_empty(self.label_index)
        check_choice(kind)
        inputs = list(inputs)
        mixed, whole = self.pose_encoder.embed_views(inputs)  # signs are read from the whole view
        return [self.lookup_embedding(e, k, language, kind, x, w)
                for e, x, w in zip(mixed, inputs, whole, strict=True)]

    @property
    def dictionary(self) -> Dictionary:
        """The vocabulary's labels by folded spelling (hello, Thank you -> HELLO, THANK-YOU)."""
        if self._dictionary is None:
            v = self.vocabulary
            labels, languages = (v.clip_labels, v.clip_languages) if v.has_clips else (v.labels, v.languages)
            self._dictionary = Dictionary.of(labels, languages)
        return self._dictionary

    def lookup_text(self, text: str, k: int = 5, language: str | None = None) -> list:
        """Text to sign. A query that spells vocabulary or taught entries (any case, spaces or
        punctuation) returns their own clips first; then the query, prompted per sign language,
        against the vocabulary's clips (or, in a bundle without clips, the labels' prompts) and the
        taught signs."""
        if not str(text).strip():
            raise SignclipError("--text is empty: give a word or phrase to look up")
        self.check_language(language, text_query=True)
        named = self.dictionary.find(text, language)
        taught = self._taught_named(text, language)
        if not named and not taught:
            return self._text_search(text, k, language)
        template = self.bundle.prompt_template
        prompts = [make_prompt(template, la, lg, self.spoken.get(lg, DEFAULT_SPOKEN)) for la, lg in named]
        queries = self.embed_texts(prompts) if named else []  # one encoder call for every language
        own = [self._own_entry(la, lg, q) for (la, lg), q in zip(named, queries, strict=True)]
        own = sorted(own + taught, key=lambda m: -m.score)
        neighbours = self._text_search(named[0][0], k, language) if named else []
        return (own + [m for m in neighbours if (m.label, m.language) not in
                       {(o.label, o.language) for o in own}])[:k]

    def _own_entry(self, label: str, language: str, query: np.ndarray) -> Match:
        """The best of `label`'s own clips for its prompt's embedding `query` (or its label row, in a
        bundle without clips)."""
        v = self.vocabulary
        if self.clip_index is None:
            row = next(i for i, (la, lg) in enumerate(zip(v.labels, v.languages, strict=True))
                       if la == label and lg == language)
            return Match(label, language, str(v.texts[row]), float(v.embeddings[row] @ query), "bundle")
        rows = np.flatnonzero((v.clip_labels == label) & (v.clip_languages == language))
        scores = v.clip_embeddings[rows] @ query
        best = rows[int(np.argmax(scores))]
        return Match(label, language, str(v.clip_texts[best]), float(scores.max()), "clip")

    def _taught_named(self, text: str, language: str | None) -> list:
        """Taught signs whose label the query spells: found by name, so scored 1."""
        key = dictionary_key(text)
        return [Match(str(label), str(lang), str(label), 1.0, source)
                for source, vocab in self.taught()
                for label, lang in zip(vocab.labels, vocab.languages, strict=True)
                if dictionary_key(label) == key and (language is None or lang in (language, ANY_LANGUAGE))]

    def _not_in_vocabulary(self, text: str, language: str | None) -> SignclipError:
        """One line for free text that a bundle without a text tower cannot answer, with the nearest
        vocabulary words by spelling."""
        nearest = self.dictionary.nearest(text, language)
        hint = (f"nearest words: {', '.join(nearest)}" if nearest else
                "no vocabulary word is spelled like it")
        return SignclipError(f"{text!r} is not in the vocabulary ({hint}); bundle {self.bundle.path} has "
                             f"no text encoder: {FULL_BUNDLE}")

    def _text_search(self, text: str, k: int, language: str | None) -> list:
        """The query, prompted per sign language, against the clips (or labels) and taught signs."""
        v = self.vocabulary
        use_clips = self.clip_index is not None
        target = self.clip_index if use_clips else self.label_index
        self._check_not_empty(target)
        langs = [language] if language is not None else self.languages(text_query=True)
        template = self.bundle.prompt_template
        prompts = [make_prompt(template, text, lg, self.spoken.get(lg, DEFAULT_SPOKEN)) for lg in langs]
        if not self.bundle.has_text_encoder:  # only the vocabulary's own prompts can be answered
            known = [(lg, p) for lg, p in zip(langs, prompts) if self.knows_text(p)]
            if not known:
                raise self._not_in_vocabulary(text, language)
            langs, prompts = [lg for lg, _ in known], [p for _, p in known]
        bare = [text] if self.knows_text(text) else []        # the bare text, for taught signs
        queries = self.embed_texts([*prompts, *bare])
        found = []
        for lang, q in zip(langs, queries[:len(prompts)], strict=True):
            hits = target.search(q, k * 4, lang)
            for i, s in zip(hits.ids, hits.scores, strict=True):
                if use_clips:
                    found.append(Match(str(v.clip_labels[i]), str(v.clip_languages[i]), str(v.clip_texts[i]),
                                       float(s), "clip"))
                else:
                    found.append(Match(str(v.labels[i]), str(v.languages[i]), str(v.texts[i]), float(s),
                                       "bundle"))
            found += [m for m in self._personal_matches(q, k, lang, against_texts=False)
                      if m.language == lang]
        if bare:
            found += [m for m in self._personal_matches(queries[-1], k, None, against_texts=False)
                      if m.language == ANY_LANGUAGE]
        return merge(found, k)

    @property
    def templates(self) -> ReferenceTemplates:
        """The reference clips as sign templates (templates.py), made on first use."""
        if self._templates is None:
            self._templates = ReferenceTemplates(self.references_of, self.model_input, self.bundle.fps)
        return self._templates

    def reference(self, label: str, language: str) -> PoseClip | None:
        """How an entry is signed: the bundle's reference clip, else a taught sign's first kept take
        (personal, then packs); None where neither is."""
        references = self._loaded_references()
        clip = references.clip(label, language) if references else None
        if clip is not None:
            return clip
        for _, vocab in self.taught():
            rows = np.flatnonzero((vocab.labels == label) & (vocab.languages == language))
            takes = vocab.takes_of(int(rows[0])) if len(rows) else []
            if takes:
                return boxed_clip(takes[0], self.bundle.fps)
        return None

    def references_of(self, label: str, language: str) -> list:
        """All the bundle's reference clips of an entry (for some words, one of each signer)."""
        references = self._loaded_references()
        return references.clips(label, language) if references else []

    def _loaded_references(self):
        if self._references is None:
            self._references = load_references(self.bundle.path) or False
        return self._references

    # ------------------------------------------------------------ teach

    def _store(self) -> PersonalStore:
        if self.store is None:
            raise SignclipError("this engine was opened without a personal vocabulary")
        return self.store

    def teach(self, label: str, clips, sources, language: str | None = None) -> PersonalVocabulary:
        """Add clips as examples of `label`, each take kept; saved under the store's lock; later
        lookups include it."""
        store = self._store()
        label, language = clean_label(label), clean_language(language)  # before the encoder runs
        clips = list(clips)
        embeddings, takes = self.embed_clips(clips), self.takes(clips)
        return store.change(lambda v: v.with_examples(label, embeddings, sources, language, takes),
                            self.restore_command)

    def takes(self, clips) -> list:
        """Each clip as a taught example keeps it: at the bundle's rate in its unit box (as the
        bundle's reference clips), float16 [T, 75, 2]; empty where it shows no point."""
        out = []
        for clip in clips:
            try:
                out.append(unit_box(at_rate(clip, self.bundle.fps)))
            except SignclipError:
                out.append(no_clip())
        return out

    def forget(self, label: str, language: str | None = None) -> PersonalVocabulary:
        return self._store().change(lambda v: v.without(label, language), self.restore_command)

    def restore_personal(self) -> tuple:
        """Bring back the last good copy of the personal vocabulary: (vocabulary, damaged file kept)."""
        return self._store().restore()
