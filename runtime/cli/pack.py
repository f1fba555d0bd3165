"""Vocabulary packs: named sets of signs with example clips, shared and found by every lookup.

    signclip pack build FAMILY clips/ [--language ase]     # clips/hello/1.mp4, clips/water.pose...
    signclip pack add FAMILY MOTHER mother1.mp4 mother2.pose
    signclip pack list [FAMILY]
    signclip pack remove FAMILY [WORD]
    signclip pack install shared/FAMILY.npz [--name NAME]   # a pack file someone shared
    signclip pack restore FAMILY                            # its last good copy

Like `signclip teach`, every change is a locked read-modify-write with a last good copy
(runtime/vocabulary/personal_store.py): any number of commands and the app may add to one pack at once.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SignclipError
from .engine_args import add_engine_arguments, open_engine
from .lookup import LABEL_COLUMN, cut
from .teach import plural


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="a pack from a folder of clips named by word (replaces it)")
    build.add_argument("name", help="the pack's name (letters, digits, '-', '_')")
    build.add_argument("folder", type=Path, help="one sub-folder per word, or files named by the word")
    add = sub.add_parser("add", help="examples of one word added to a pack (created if new)")
    add.add_argument("name")
    add.add_argument("word")
    add.add_argument("clips", nargs="+", metavar="CLIP", help=".pose files, videos or photos")
    listing = sub.add_parser("list", help="the packs, or one pack's words")
    listing.add_argument("name", nargs="?")
    remove = sub.add_parser("remove", help="a word out of a pack, or the whole pack")
    remove.add_argument("name")
    remove.add_argument("word", nargs="?")
    install = sub.add_parser("install", help="add a pack file someone shared (same model)")
    install.add_argument("file", type=Path)
    install.add_argument("--name", default=None, help="install under this name (default: the file's)")
    restore = sub.add_parser("restore", help="replace an unreadable pack by its last good copy")
    restore.add_argument("name")
    for p in (build, add):
        p.add_argument("--language", "-l", default=None, metavar="L",
                       help="the sign language (ISO 639-3) of the words; default: every language filter")
    for p in (build, add, listing, remove, install, restore):
        add_engine_arguments(p)


def _describe(shelf, name: str) -> str:
    vocab = shelf.get(name)
    examples = sum(c for _, _, c in vocab.signs())
    return f"{name}: {plural(len(vocab), 'word')}, {plural(examples, 'example')} ({shelf.store(name).path})"


def _examples(engine, paths: list) -> tuple:
    """Unit embeddings, file names and takes of clips; a clip that cannot be read stops before any
    change."""
    clips = [engine.read(p) for p in paths]
    return engine.embed_clips(clips), [Path(p).name for p in paths], engine.takes(clips)


def run(args) -> int:
    from ..vocabulary.packs import build_plan, check_name
    from ..vocabulary.personal import PersonalVocabulary, clean_label, clean_language

    language = clean_language(getattr(args, "language", None))
    if args.action != "install" and args.name is not None:
        check_name(args.name)
    if args.action == "build":  # checked before any video goes through MediaPipe
        plan = build_plan(args.folder)
    if args.action == "add":
        word = clean_label(args.word)
    engine = open_engine(args, warn=args.action == "list")
    shelf = engine.packs
    if args.action == "build":
        vocab = PersonalVocabulary.empty(engine.dim, engine.bundle.model_hash)
        for word, clips in plan.items():
            embeddings, sources, takes = _examples(engine, clips)
            vocab = vocab.with_examples(word, embeddings, sources, language, takes)
        shelf.replace(args.name, vocab)
        print(f"built {_describe(shelf, args.name)}")
    elif args.action == "add":
        embeddings, sources, takes = _examples(engine, args.clips)
        shelf.add(args.name, word, embeddings, sources, language, takes)
        print(f"added {plural(len(args.clips), 'example')} of {word} to {_describe(shelf, args.name)}")
    elif args.action == "list":
        names = [args.name] if args.name else shelf.names()
        if not names:
            print(f"no packs in {shelf.folder} (signclip pack build NAME FOLDER)")
        for name in names:
            print(_describe(shelf, name))
            if args.name:
                for label, lang, count in shelf.get(name).signs():
                    print(f"  {cut(label, LABEL_COLUMN):<{LABEL_COLUMN}} {lang or 'any':<6} "
                          f"{plural(count, 'example')}")
    elif args.action == "remove":
        shelf.remove(args.name, args.word)
        print(f"removed {args.word + ' from ' if args.word else ''}pack {args.name}")
    elif args.action == "install":
        name, _ = shelf.install(args.file, args.name)
        print(f"installed {_describe(shelf, name)}")
    else:
        store = shelf.store(args.name)
        if not (store.path.exists() or store.last_good_path.exists()):
            raise SignclipError(f"no pack {args.name!r}; packs: {', '.join(shelf.names()) or 'none'}")
        vocab, kept = store.restore()
        print(f"restored pack {args.name} ({plural(len(vocab), 'word')})"
              + (f"; the damaged file is kept as {kept}" if kept else ""))
    return 0
