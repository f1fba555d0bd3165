# The two commands: `make demo` and `make test`. Both start with an idempotent `make setup`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The versions CI passed with (uv's universal lock, Python 3.10+): `make setup` installs within them,
# `make lock` writes them anew, `make test-latest` tries the newest releases instead.
LOCK := requirements/constraints.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
VIDEOS := tests/data/videos

.PHONY: setup demo test test-fast test-py310 lint eval study default-model full-model bench clean web node chromium lock test-latest docs
HELD_OUT := asq,bzs,mfs
MODEL := models/edge-small

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: a looser requirement would pull a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The main job on the bundled default model: with a screen, the app on the joined C-A-B video;
# without one, the same lookups from the command line.
demo: setup
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(BIN)/signclip app --source $(VIDEOS)/asl_letters_CAB.mp4 --stop-at-end; \
	else \
		echo "== sign to text: four letter videos of a new signer, American Sign Language"; \
		$(BIN)/signclip lookup $(VIDEOS)/asl_letter_A.mp4 $(VIDEOS)/asl_letter_B.mp4 \
			$(VIDEOS)/asl_letter_C.mp4 $(VIDEOS)/asl_letter_L.mp4 --language ase; \
		echo "== a photo: a close-up of the hand signing C (no body in the picture)"; \
		$(BIN)/signclip lookup tests/data/photos/asl_letter_C_hand.jpg --language ase; \
		echo "== continuous signing: C-A-B, sign by sign"; \
		$(BIN)/signclip lookup $(VIDEOS)/asl_letters_CAB.mp4 --segments --language ase; \
		echo "== fingerspelling: the same video read letter by letter"; \
		$(BIN)/signclip spell $(VIDEOS)/asl_letters_CAB.mp4 --language ase --words en; \
		echo "== a word: HELLO by a Deaf signer no training saw (ISLR participant 53618, as a .pose file)"; \
		$(BIN)/signclip lookup tests/data/words/islr_hello_53618.pose --language ase; \
		echo "== text to sign: a word as written (its own clip first, and how it is signed, drawn), and B in every sign language"; \
		mkdir -p build/demo; \
		$(BIN)/signclip lookup --text "thank you" --language ase -k 3 --show build/demo/thank-you.gif; \
		$(BIN)/signclip lookup --text B; \
		echo "== words from real videos: SOUP and FOOTBALL (pose-format's test videos) taught, then found among the words"; \
		home=$$(mktemp -d); \
		SIGNCLIP_HOME=$$home $(BIN)/signclip teach SOUP $(VIDEOS)/asl_soup.mp4 --language ase; \
		SIGNCLIP_HOME=$$home $(BIN)/signclip teach FOOTBALL $(VIDEOS)/asl_football.mp4 --language ase; \
		SIGNCLIP_HOME=$$home $(BIN)/signclip lookup $(VIDEOS)/asl_soup.mp4 $(VIDEOS)/asl_football.mp4 --language ase -k 3; \
		rm -rf $$home; \
	fi

test: setup node chromium
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider
	$(BIN)/ruff check .
	@$(MAKE) --no-print-directory test-py310

# The runtime's tests under Python 3.10 (JetPack 6's), installed without torch as on a Jetson;
# skipped with a line where no 3.10 interpreter is found (python3.10 on PATH or pyenv's).
PY310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo $$p; break; }; done)
VENV310 := .venv310
STAMP310 := $(VENV310)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)

test-py310:
	@if [ -z "$(PY310)" ]; then echo "no Python 3.10 interpreter here: the runtime's 3.10 tests are skipped"; \
	else $(MAKE) --no-print-directory $(STAMP310) && \
		$(VENV310)/bin/python -m pytest -q -p no:cacheprovider tests/runtime; fi

$(STAMP310): pyproject.toml $(LOCK)
	test -x $(VENV310)/bin/python || $(PY310) -m venv $(VENV310)
	$(VENV310)/bin/python -m pip install --quiet --upgrade pip
	$(VENV310)/bin/python -m pip install --quiet -c $(LOCK) -e ".[test]"
	rm -f $(VENV310)/.installed-*
	touch $(STAMP310)

# The web page (web/): its npm packages from the lockfile (npm ci, once), then the static folder for
# the shipped bundle; serve it with any static server, or `signclip web --out DIR --serve`.
WEB_OUT ?= build/web
web: setup node
	$(BIN)/signclip web --out $(WEB_OUT)

# Node.js and Chromium from Debian where they are missing (CI runs as root); without apt, one line.
APT_INSTALL = if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null); \
	else echo "$(2)"; fi
node:
	@command -v node >/dev/null && command -v npm >/dev/null || $(call APT_INSTALL,nodejs npm,no npm and no apt here: install Node.js 18+ with npm)
chromium:
	@command -v chromium >/dev/null || $(call APT_INSTALL,chromium,no Chromium and no apt here: the browser test is skipped)

# The lock from pyproject's ranges: every extra make setup installs, for every Python from 3.10.
lock: setup
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 --quiet \
		--custom-compile-command "make lock" -o $(LOCK)

# The newest releases within pyproject's ranges, in a venv of their own: which packages moved past
# the lock, then the fast tests on them (what breaks is what fails here).
LATEST := .venv-latest
test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip "torch==2.13.0"
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
	$(LATEST)/bin/python scripts/newer_than_lock.py $(LOCK)
	QT_QPA_PLATFORM=offscreen $(LATEST)/bin/python -m pytest -q -p no:cacheprovider -m "not slow"

# The documentation (docs/, README's links to it) as a site in build/docs; a broken link or anchor fails.
docs: setup
	$(BIN)/mkdocs build --strict --quiet
	@echo "build/docs/index.html"

# The CPU benchmarks, one after the other, each writing its section of docs/speed.md (--markdown):
# the page's numbers come from here, never by hand. About 20 minutes; run it on an idle machine.
BENCHES := encoders normalize index streaming spelling capture app train cache
bench: setup
	for b in $(BENCHES); do $(BIN)/python bench/$$b.py --markdown docs/speed.md || echo "bench/$$b.py: exit $$? (a missed target or a failure)"; done

test-fast: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .

# The shipped model: edge-small on the lexicon, ASL-HG's photos of 10 signers and the lexical signs of
# ISLR and ASL-App (five of ISLR's participants held out: trainer/words.py, ISLR_HELD_OUT), then its
# pose-only bundle. TRAIN_DATA is the recipe (docs/training.md).
TRAIN_DATA := --handshapes asl-hg,digits --lexicon-weight 12 --words islr,asl-app
default-model: setup
	$(BIN)/signclip lexicon -o runs/edge-small/manifest.csv $(TRAIN_DATA)
	$(BIN)/signclip train edge-small --data runs/edge-small/manifest.csv --out runs/edge-small
	$(BIN)/python -m signclip.trainer.checkpoint runs/edge-small/checkpoint $(MODEL)
	cp runs/edge-small/metrics.csv runs/edge-small/curve.png $(MODEL)/
	$(BIN)/signclip export $(MODEL) --format onnx-int8 --no-text-encoder --clips 600 \
		--data runs/edge-small/manifest.csv --out runtime/models/default
	$(BIN)/signclip kinds runtime/models/default --data runs/edge-small/manifest.csv

# The shipped model with its text tower, for free text to sign (`--bundle runs/full-bundle`): the
# default bundle's vocabulary, clips, references and kind head, and the text encoder (25 MB).
full-model: setup
	$(BIN)/signclip lexicon -o runs/edge-small/manifest.csv $(TRAIN_DATA)
	$(BIN)/signclip export $(MODEL) --format onnx-int8 --clips 600 --data runs/edge-small/manifest.csv \
		--out runs/full-bundle
	$(BIN)/signclip kinds runs/full-bundle --data runs/edge-small/manifest.csv

# The evaluation tables (docs/evaluation.md): (a), (f) a model trained without three sign languages and two ASL-HG signers,
# (b)-(d) the shipped model, (g) its held-out word signers,
# (e) five models each trained without two of ASL-HG's signers (runs/new-signers, reused when there).
eval: setup
	$(BIN)/signclip lexicon -o runs/leave-languages-out/manifest.csv --hold-out $(HELD_OUT) $(TRAIN_DATA) \
		--hold-out-signers P1,P2
	test -f runs/leave-languages-out/checkpoint/checkpoint.json || $(BIN)/signclip train edge-small \
		--data runs/leave-languages-out/manifest.csv --out runs/leave-languages-out
	$(BIN)/signclip evaluate runs/leave-languages-out/checkpoint --protocol held-out \
		--data runs/leave-languages-out/manifest.csv
	$(BIN)/signclip evaluate runs/leave-languages-out/checkpoint --protocol new-body \
		--data runs/leave-languages-out/manifest.csv
	$(BIN)/signclip lexicon -o runs/lexicon.csv
	$(BIN)/signclip evaluate $(MODEL) --data runs/lexicon.csv --plot docs/embeddings.png
	$(BIN)/signclip evaluate $(MODEL) --protocol robustness --data runs/lexicon.csv
	$(BIN)/signclip evaluate $(MODEL) --protocol new-signer --data runs/lexicon.csv --videos $(VIDEOS)
	$(BIN)/signclip evaluate $(MODEL) --protocol augmented --data runs/lexicon.csv
	$(BIN)/signclip lexicon -o runs/manifest.csv $(TRAIN_DATA)
	$(BIN)/signclip evaluate $(MODEL) --protocol words --data runs/manifest.csv
	$(BIN)/signclip evaluate $(MODEL) --protocol new-signers --data runs/manifest.csv --runs runs/new-signers

# The variant study for strangers' hands (docs/training.md, "Variants over three seeds"): the shipped
# recipe and each variant trained with seeds 0-2 without the two hardest folds' signers (runs/study,
# reused when there; about 7 minutes a model on 2 CPU cores).
STUDY = $(BIN)/signclip evaluate $(MODEL) --protocol new-signers --data runs/manifest.csv \
	--seeds 0,1,2 --folds P7+P8,P1+P2
study: setup
	$(BIN)/signclip lexicon -o runs/manifest.csv $(TRAIN_DATA)
	$(STUDY) --runs runs/study/baseline
	$(STUDY) --runs runs/study/margin --set train.vocabulary_margin=0.2
	$(STUDY) --runs runs/study/fingers --set train.augmentation.finger_length_std=0.1

clean:
	rm -rf $(VENV) $(VENV310) $(LATEST) build *.egg-info web/node_modules

# ---- The GPU machine (bench/gpu_run.sh; docs/gpu.md): no package index there, 64 MiB may travel.
# gpu-wheelhouse: the pinned wheels its image lacks (bench/gpu-wheels.txt) for its Python 3.12 and for
# this machine's Python (the offline check below), into .gpu/wheels. gpu-data: what it trains on,
# into .gpu/data (its packed cache as one archive, trainer/cache_archive.py: the cache itself, built
# beside the manifest, is too big). gpu-image: a stand-in for its python3 here. gpu-check: the
# offline run on this CPU.
GPU_DIR := .gpu
GPU_IMAGE := .venv-gpu-image
GPU_MANIFEST := runs/gpu-data/manifest.csv
GPU_REFERENCE ?= runs/gpu-data/reference/checkpoint
GPU_PLATFORMS := $(foreach n,28 27 17,--platform manylinux_2_$(n)_x86_64) --platform manylinux2014_x86_64

.PHONY: gpu-wheelhouse gpu-data gpu-image gpu-check

gpu-wheelhouse:
	rm -rf $(GPU_DIR)/wheels
	for v in 3.12 $$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); do \
		$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
			--python-version $$v $(GPU_PLATFORMS) -d $(GPU_DIR)/wheels -r bench/gpu-wheels.txt || exit 1; done
	@ls -s --block-size=K $(GPU_DIR)/wheels

$(GPU_MANIFEST): setup
	$(BIN)/signclip lexicon -o $@ --hold-out $(HELD_OUT) $(TRAIN_DATA) --hold-out-signers P1,P2

# GPU_REFERENCE: the CPU model beside which the GPU's held-out tables print: edge-small on the same rows
gpu-data: setup $(GPU_MANIFEST)
	test -f $(GPU_REFERENCE)/checkpoint.json || \
		$(BIN)/signclip train edge-small --data $(GPU_MANIFEST) --out $(dir $(GPU_REFERENCE))
	$(BIN)/python bench/gpu_data.py --manifest $(GPU_MANIFEST) --reference $(GPU_REFERENCE) \
		--cache $(dir $(GPU_MANIFEST))cache --out $(GPU_DIR)/data

$(GPU_IMAGE)/.installed: bench/gpu-image.txt
	test -x $(GPU_IMAGE)/bin/python || $(PYTHON) -m venv $(GPU_IMAGE)
	$(GPU_IMAGE)/bin/python -m pip install --quiet -r bench/gpu-image.txt
	touch $@

gpu-image: $(GPU_IMAGE)/.installed

gpu-check: gpu-wheelhouse gpu-data gpu-image
	@tree=$$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -1 | cut -f1); \
		gpu=$$(find $(GPU_DIR) -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1); \
		bytes=$$((tree + gpu)); \
		echo "the tree ($$((tree / 1048576)) MiB) and $(GPU_DIR) ($$((gpu / 1048576)) MiB) travel:" \
			"$$((bytes / 1048576)) MiB (the device takes 64)"; \
		test $$bytes -le 67108864
	PYTHON=$(GPU_IMAGE)/bin/python DEVICE=cpu STEPS=5 PIP_NO_INDEX=1 bash bench/gpu_run.sh
