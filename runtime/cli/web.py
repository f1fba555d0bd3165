"""Build the web page (camera, MediaPipe and the model, all in the browser) as a static folder.

    signclip web --out build/web                          # the shipped bundle
    signclip web --out site --bundle my-bundle --serve    # then serve it on http://127.0.0.1:8000/

Any static file server serves the folder. Browsers open the camera only on a secure origin:
localhost, or HTTPS. The first build runs `npm ci` in web/ (Node.js and the npm registry); later
builds and the page itself need no network.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SignclipError


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write (a page built here before is replaced)")
    parser.add_argument("--bundle", metavar="DIR", default=None,
                        help="model bundle (default: $SIGNCLIP_BUNDLE, else the bundle shipped with the "
                             "package)")
    parser.add_argument("--words", default=None, metavar="LANGS",
                        help="spoken languages (ISO 639-1, comma-separated; '' for none) whose word lists "
                             "the Spell mode ships for its prior, about 0.9 MB each (default: en, where the "
                             "wordfreq package is installed)")
    parser.add_argument("--packs", default=None, metavar="NAME,...",
                        help="vocabulary packs whose signs the page finds too (default: every pack of this "
                             "bundle's model on this machine; 'none' for none)")
    parser.add_argument("--serve", action="store_true", help="then serve the folder until interrupted")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")


def default_words() -> tuple:
    """English's word list where wordfreq is installed; else none (the Spell mode reads letters as seen)."""
    import importlib.util

    from .webpage import DEFAULT_WORDS

    if importlib.util.find_spec("wordfreq") is None:
        print("no word lists for the Spell mode: pip install 'signclip-edge[words]' adds them")
        return ()
    return DEFAULT_WORDS


def packs_for_page(bundle, wanted: str | None) -> tuple:
    """The (source, vocabulary) pairs of the packs the page ships, and the calibration's rows."""
    from ..recognition.engine import Engine

    engine = Engine(bundle)
    found = {source.removeprefix("pack "): (source, vocab) for source, vocab in engine.taught()
             if source.startswith("pack ")}
    if wanted is None:
        names = sorted(found)
    elif wanted.strip().lower() == "none":
        names = []
    else:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        missing = [n for n in names if n not in found]
        if missing:
            raise SignclipError(f"--packs: no pack {', '.join(missing)} for this bundle's model; packs: "
                                f"{', '.join(sorted(found)) or 'none'} (signclip pack list)")
    return [found[n] for n in names], engine.calibration_rows()


def run(args) -> int:
    from ..model.bundle import load_bundle
    from .webpage import build_site, check_out_folder, make_server

    if not 0 <= args.port <= 65535:
        raise SignclipError(f"--port {args.port}: expected 0-65535")
    check_out_folder(Path(args.out))  # before the bundle loads: a wrong --out fails at once
    bundle = load_bundle(args.bundle)
    words = tuple(w.strip() for w in args.words.split(",") if w.strip()) if args.words is not None \
        else default_words()
    taught, calibration = packs_for_page(bundle, args.packs)
    mark = build_site(bundle, args.out, words=words, taught=taught, calibration=calibration)
    packs = ", ".join(source.removeprefix("pack ") for source in mark["packs"])
    print(f"{args.out}: the web page for {mark['model']} ({mark['bytes'] / 1e6:.1f} MB; "
          + ", ".join(f"{k} {v}" for k, v in mark["packages"].items()) + ")"
          + (f" with the packs {packs}" if packs else ""))
    if not args.serve:
        return 0
    server = make_server(args.out, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving {args.out} on http://{host}:{port}/ (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
