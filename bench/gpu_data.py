"""The data a bare GPU machine trains on, built here (`make gpu-data`) into one folder that travels:

    lexicon.npz           the manifest's packed cache in float16 (lexicon clips, words, ASL-HG and
                          digits photos; each row keeps its split, language, signer) as one archive
                          (trainer/cache_archive.py: observed points only, deflated); gpu_run.py
                          unpacks it there into the very cache built here
    lexicon_text.npz      tokens and frozen MiniLM features of its prompts (text_features.py)
    synthetic_text.npz    the same for the prompts of bench/gpu_run.py's synthetic cache
    reference.json        the CPU model's held-out tables from this very data, by cache_eval.py

The cache itself is built in --cache (not carried). The raw lexicon (149 MB of .pose files), the
cache (about 50 MiB in float16) and MiniLM (88 MB) stay here: the device takes 64 MiB, tree included.

    python bench/gpu_data.py --manifest runs/gpu-data/manifest.csv \
        --reference runs/gpu-data/reference/checkpoint
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes
from signclip.trainer.cache import build_cache, build_synthetic_cache
from signclip.trainer.cache_archive import read_archive, write_archive
from signclip.trainer.cache_eval import held_out_tables
from signclip.trainer.checkpoint import load_checkpoint
from signclip.trainer.config import load_config
from signclip.trainer.data import read_manifest
from signclip.trainer.protocols import held_out
from signclip.trainer.text_features import compute_text_features


def synthetic_prompts(count: int) -> list:
    """The prompts build_synthetic_cache gives `count` texts (a two-clip cache: instant)."""
    with tempfile.TemporaryDirectory() as tmp:
        return build_synthetic_cache(2, tmp, texts=count, progress=False).texts


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True, help="rows with splits (signclip lexicon)")
    parser.add_argument("--reference", type=Path, required=True, help="the CPU model's checkpoint")
    parser.add_argument("--config", default="edge-small", help="whose text tower and normalization")
    parser.add_argument("--out", type=Path, default=Path(".gpu/data"))
    parser.add_argument("--cache", type=Path, default=Path("runs/gpu-data/cache"),
                        help="where the float16 cache is built (and reused); only its archive travels")
    parser.add_argument("--synthetic-texts", type=int, default=4096,
                        help="prompts of the synthetic throughput cache (gpu_run.py reads the count)")
    args = parser.parse_args(argv)
    model_cfg = load_config(args.config).model
    rows = read_manifest(args.manifest)
    cache = build_cache(rows, args.cache, model_cfg.normalization,
                        template=model_cfg.prompt_template, dtype="float16", progress=False)
    shutil.rmtree(args.out / "lexicon", ignore_errors=True)   # the uncompressed form of earlier versions
    archive = write_archive(cache, args.out / "lexicon.npz")
    with tempfile.TemporaryDirectory() as tmp:               # what the device unpacks: the same files
        read_archive(archive, tmp).close()
        names = sorted(p.name for p in Path(tmp).iterdir())
        if names != sorted(p.name for p in cache.root.iterdir() if p.is_file()) or \
                filecmp.cmpfiles(tmp, cache.root, names, shallow=False)[0] != names:
            raise SystemExit(f"{archive} does not unpack to the cache {cache.root}")
    print(f"{archive}: {archive.stat().st_size / 2**20:.1f} MiB for the cache's "
          f"{folder_mb(cache.root):.1f} MiB, which it unpacks to byte for byte")
    features = compute_text_features(cache.texts, model_cfg.text)
    features.save(args.out / "lexicon_text.npz")
    compute_text_features(synthetic_prompts(args.synthetic_texts), model_cfg.text).save(
        args.out / "synthetic_text.npz")

    model, cfg, state, _ = load_checkpoint(args.reference)
    tables = held_out_tables(model, cache, features)
    reference = {"model": f"{cfg.model.name}, {args.reference}, step {state.get('step')} of "
                          f"{cfg.train.steps} (trained on a CPU)", "tables": tables}
    atomic_write_bytes(args.out / "reference.json", json.dumps(reference, indent=2).encode())

    languages = tuple(tables["leave languages out"])
    raw = held_out(model, rows, languages) if languages else {}
    print("CPU model, leave languages out: from the carried data (float16 cache, float16 features) "
          "| from the .pose files and MiniLM (signclip evaluate --protocol held-out)")
    for lang in languages:
        a, b = tables["leave languages out"][lang], raw[lang]
        print(f"  {lang}: {a['clips']} clips, R@1 {a['R@1']:.3f} R@5 {a['R@5']:.3f} "
              f"| R@1 {b['R@1']:.3f} R@5 {b['R@5']:.3f}")
    for name in ("lexicon.npz", "lexicon_text.npz", "synthetic_text.npz", "reference.json"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size / 2**20:.1f} MiB")
    print(f"{args.out}: {folder_mb(args.out):.1f} MiB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
