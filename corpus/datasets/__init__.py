"""Dataset readers, one module per layout; `READERS` maps a dataset's name to its reader.

A reader takes the dataset's own metadata file or folder and `ReadOptions`, and returns (entries,
the clips it lists whose video is missing); a file in another layout is one SignclipError line.
"""

from __future__ import annotations

from .asl_citizen import read_asl_citizen
from .autsl import read_autsl
from .folder import read_folder
from .lsa64 import read_lsa64
from .wlasl import read_wlasl

READERS = {
    "wlasl": read_wlasl,            # WLASL_v0.3.json
    "asl-citizen": read_asl_citizen,  # ASL_Citizen/ (splits/*.csv, videos/)
    "lsa64": read_lsa64,            # a folder of SSS_PPP_RRR.mp4
    "autsl": read_autsl,            # train_labels.csv with --classes SignList_ClassId_TR_EN.csv
    "folder": read_folder,          # ROOT/<word>/[<signer>/]<video>
}
# Sources that are not videos: where they are converted instead.
ELSEWHERE = {
    "islr": "ISLR ships landmarks, not videos: `signclip words convert islr FOLDER -o islr.npz` converts "
            "it, and `signclip lexicon --words islr` puts it into a manifest",
    "asl-app": "ASL-App ships landmarks, not videos: `signclip words convert asl-app SIGNS -o asl_app.npz`",
}
