"""signclip.trainer: models, data, loss, the training loop and evaluation (torch).

Importing it makes OpenMP's idle threads sleep instead of spinning, unless the user chose a
policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT): torch's CPU ops run on OpenMP threads, and by default
an idle one spins for about 3 ms before it sleeps. When another process keeps one of two cores
busy, the spinning thread and the busy process share that core and every parallel region waits
for it: a training step took 20x longer. Sleeping threads kept it within 2x (`python bench/train.py
--section contention` measures both). OpenMP reads the variable when torch loads, so this has to
run first: `signclip train` and torchrun's `-m signclip.trainer.train_cli` import this package
before torch.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
