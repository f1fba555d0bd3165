"""The takes-and-people measurement: teachers' clips are never tested, the taught signs are the
engine's own, and each row compares with the bundle alone on the same clips."""

import numpy as np

from signclip.runtime.recognition.engine import Engine
from signclip.trainer.takes import draw_once, format_table, held_out_clips, measure


def test_a_draw_teaches_from_some_participants_and_tests_on_the_others(signclip_home):
    engine = Engine()
    clips = held_out_clips(engine.bundle.fps)
    assert len(clips) == 5 and sum(len(c) for p in clips.values() for c in p.values()) == 161
    assert all(c.fps == engine.bundle.fps for p in clips.values() for cs in p.values() for c in cs)
    taught, alone, tested = draw_once(engine, clips, 3, 2, np.random.default_rng(1))
    labels = sorted(engine.personal.labels.tolist())
    assert labels == ["HELLO", "THANK-YOU"] and len(engine.personal.examples) == 3 * 2 * 2
    assert 0 < tested < 161 and 0.0 <= taught <= 1.0 and 0.0 <= alone <= 1.0
    teachers = {str(source).split()[1] for source in engine.personal.example_sources}
    everyone = sum(len(c) for p in clips.values() for c in p.values())
    assert len(teachers) == 3
    assert tested == everyone - sum(len(c) for p in teachers for c in clips[p].values())

def test_the_table_has_every_people_and_takes_row(signclip_home):
    rows = measure(draws=2)
    assert [(r.people, r.takes) for r in rows] == [(1, 1), (1, 3), (1, 5), (3, 1), (3, 3), (3, 5)]
    assert all(abs(r.gain - (r.top1 - r.alone)) < 1e-9 for r in rows)
    assert format_table(rows).count("\n") == len(rows) + 1
