"""Train a SignCLIP model from a config on a manifest (CPU, one GPU, or many under torchrun).

One CPU (the default model's data when --data is left out: the 600-clip fingerspelling lexicon and
ASL-HG's handshape photos):

    signclip train edge-small --out runs/edge-small
    signclip train edge-small --data lexicon.csv --out runs/edge-small --steps 500
    signclip train edge-small --out runs/edge-small --resume        # after Ctrl-C or --steps

One GPU (bf16 autocast and torch.compile when the config asks for them):

    signclip train paper-base --data manifest.csv --out runs/base

torchrun on one node with N processes (NCCL on GPUs, gloo on CPUs; train.batch_size is global):

    torchrun --standalone --nproc_per_node 8 -m signclip.trainer.train_cli paper-base \\
        --data manifest.csv --out runs/base

Two nodes (run on both; 10.0.0.1 is the first node; --out must be on a shared filesystem):

    torchrun --nnodes 2 --nproc_per_node 8 --node_rank 0 --rdzv_backend c10d \\
        --rdzv_endpoint 10.0.0.1:29500 -m signclip.trainer.train_cli paper-base \\
        --data manifest.csv --out /shared/runs/base
    (the same on the second node with --node_rank 1)

--data takes a manifest (.csv/.jsonl, packed once into OUT/cache), a packed cache folder, or
`synthetic[:N]` (random clips, for smoke tests and benchmarks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a named config (edge-small, paper-base) or a .yaml file")
    parser.add_argument("--data", default=None,
                        help="manifest (.csv/.jsonl), packed cache folder, or synthetic[:N] "
                             "(default: the fingerspelling lexicon of spoken-to-signed and ASL-HG's photos)")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/CONFIG)")
    parser.add_argument("--steps", type=int, default=None,
                        help="stop at this global step (default: the config's train.steps; the lr "
                             "schedule always spans train.steps)")
    parser.add_argument("--split", default="train",
                        help="train on the manifest rows of this split; rows without one count as "
                             "'train'; 'all' takes every row (default: train)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: a GPU if any)")
    parser.add_argument("--text-features", type=Path, default=None, metavar="NPZ",
                        help="precomputed prompts' tokens and frozen-tower features (text_features.py): "
                             "train without the text tower's package installed")
    add_set_argument(parser)


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="change one setting of the config, e.g. --set train.seed=1 --set "
                             "train.augmentation.finger_length_std=0.1 (repeatable)")


def run(args) -> int:
    from signclip.runtime.errors import SignclipError

    from .config import load_config, with_overrides
    from .distributed import env_ranks
    from .train import train

    cfg = with_overrides(load_config(args.config), args.overrides)
    out = args.out or Path("runs") / Path(args.config).stem
    if args.steps is not None and args.steps < 1:
        raise SignclipError(f"--steps {args.steps}: must be at least 1")
    data = args.data
    if data is None:  # the default model's data: the lexicon and ASL-HG's photos
        data = out / "manifest.csv"
        if env_ranks()[0] == 0 and not data.exists():
            from .lexicon import DEFAULT_HANDSHAPES, DEFAULT_LEXICON_WEIGHT, import_lexicon

            # under torchrun the others wait for rank 0 in open_source
            import_lexicon(data, handshapes=DEFAULT_HANDSHAPES, lexicon_weight=DEFAULT_LEXICON_WEIGHT)
    data = _split_manifest(data, args.split, out)
    features = None
    if args.text_features is not None:
        from .text_features import TextFeatures

        features = TextFeatures.load(args.text_features)
    result = train(cfg, data, out, steps=args.steps, resume=args.resume, device=args.device,
                   text_features=features)
    if env_ranks()[0] == 0:
        last = f"loss {result.losses[-1]:.4f}, " if result.losses else ""
        print(f"step {result.step}: {last}{result.clips_per_s:.1f} clips/s; "
              f"checkpoint {result.checkpoint}", file=sys.stderr)
    return 130 if result.interrupted else 0


def _split_manifest(data, split: str, out: Path):
    """A manifest restricted to one split, written into the run folder; other data as it is."""
    from .data import read_manifest, select_split, write_manifest

    path = Path(str(data))
    if split == "all" or path.suffix.lower() not in (".csv", ".jsonl") or not path.is_file():
        return data
    rows = read_manifest(path)
    chosen = select_split(rows, split)
    if len(chosen) == len(rows):
        return data
    target = out / f"split-{split}{path.suffix.lower()}"   # never the manifest given, even in OUT
    from .distributed import env_ranks

    if env_ranks()[0] == 0:
        write_manifest(chosen, target)
    return target


def main(argv=None) -> int:
    """`python -m signclip.trainer.train_cli` (what torchrun launches): the same as `signclip train`."""
    from signclip.runtime.errors import SignclipError

    parser = argparse.ArgumentParser(prog="signclip train", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except SignclipError as e:
        print(f"signclip train: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
