"""Corpora to training data, torch-free: dataset readers in their own layouts to the trainer's
manifest (`datasets/`), and pose extraction at corpus scale on local worker processes or a Ray
cluster, with a report and resume (`job.py`). Imports `signclip.runtime`, never the reverse."""
