"""The multi-positive symmetric InfoNCE against hand-computed values and against CLIP's loss."""

import math

import pytest
import torch
import torch.nn.functional as F

from signclip.trainer.loss import (
    ClipLoss,
    gather_features,
    multi_positive_clip_loss,
    unique_texts,
    vocabulary_loss,
)


def test_hand_computed_multi_positive_case():
    # clips 0 and 1 share text 5 (text embedding (1, 0)); clip 2 has text 9 ((0, 1)); scale 2
    pose = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ids = torch.tensor([5, 5, 9])
    loss = multi_positive_clip_loss(pose, text, ids, torch.tensor(2.0))
    # pose -> text over the unique texts: rows [2, 0], [0, 2], [1.2, 1.6]; targets 5, 5, 9
    pose_to_text = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(2))
                    + math.log(1 + math.exp(-0.4))) / 3
    # text 5 -> clips [2, 0, 1.2], target (1/2, 1/2, 0); text 9 -> clips [0, 2, 1.6], target clip 2
    lse5 = math.log(math.exp(2) + 1 + math.exp(1.2))
    lse9 = math.log(1 + math.exp(2) + math.exp(1.6))
    text_to_pose = ((lse5 - 0.5 * 2 - 0.5 * 0) + (lse9 - 1.6)) / 2
    assert loss.item() == pytest.approx((pose_to_text + text_to_pose) / 2, abs=1e-6)


def _unit(*shape, seed=0):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def test_reduces_to_clip_loss_when_all_texts_differ():
    pose, text, scale = _unit(6, 8, seed=1), _unit(6, 8, seed=2), torch.tensor(7.0)
    ids = torch.tensor([40, 3, 17, 8, 99, 0])  # distinct, unsorted: the column order must not matter
    logits = scale * pose @ text.T
    labels = torch.arange(6)
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert multi_positive_clip_loss(pose, text, ids, scale).item() == pytest.approx(clip.item(), abs=1e-6)


def test_duplicate_texts_are_not_negatives():
    # two clips of one text: clip 1 is pulled towards the text it shares with clip 0
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    ids = torch.tensor([0, 0, 1])
    pose = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], requires_grad=True)
    multi_positive_clip_loss(pose, text, ids, torch.tensor(10.0)).backward()
    assert pose.grad[1, 0] < 0  # gradient descent increases clip 1's agreement with its text
    # the loss is invariant to reordering the batch
    perm = torch.tensor([2, 0, 1])
    a = multi_positive_clip_loss(pose.detach(), text, ids, torch.tensor(3.0))
    b = multi_positive_clip_loss(pose.detach()[perm], text[perm], ids[perm], torch.tensor(3.0))
    assert a.item() == pytest.approx(b.item(), abs=1e-6)


def test_unique_texts_average_copies_and_give_each_clip_its_column():
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    texts, column = unique_texts(text, torch.tensor([7, 2, 7]))
    assert column.tolist() == [1, 0, 1]
    assert torch.allclose(texts[0], torch.tensor([0.0, 1.0]))
    assert torch.allclose(texts[1], F.normalize(torch.tensor([1.6, 0.8]), dim=0))


def test_single_process_loss_module_matches_the_function_and_trains_the_scale():
    pose, text = _unit(4, 8, seed=3), _unit(4, 8, seed=4)
    ids = torch.tensor([0, 1, 0, 2])
    scale = torch.tensor(5.0, requires_grad=True)
    loss = ClipLoss()(pose, text, ids, scale)
    assert loss.item() == pytest.approx(multi_positive_clip_loss(pose, text, ids, scale).item())
    loss.backward()
    assert scale.grad is not None and scale.grad.item() != 0.0
    assert gather_features(pose, text, ids)[2] is ids  # one process: nothing to gather


def test_vocabulary_loss_scores_each_clip_against_its_own_language_only():
    # prompts 0-2 are one language (0, 1 look alike), 3 another; clip 0 shows prompt 0, clip 1 prompt 3
    vocabulary = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [1.0, 0.0]])
    groups = torch.tensor([0, 0, 0, 1])
    pose, ids, scale = torch.tensor([[1.0, 0.0], [0.6, 0.8]]), torch.tensor([0, 3]), torch.tensor(2.0)
    clip0 = math.log(math.exp(2) + math.exp(1.6) + 1) - 2       # over prompts 0, 1, 2
    clip1 = 0.0                                                 # alone in its language
    loss = vocabulary_loss(pose, vocabulary, ids, groups, scale)
    assert loss.item() == pytest.approx((clip0 + clip1) / 2, abs=1e-6)
    # another language's prompts never count, however close to the clip they are
    moved = vocabulary.clone()
    moved[3] = torch.tensor([0.0, 1.0])
    assert vocabulary_loss(pose[:1], moved, ids[:1], groups, scale).item() == pytest.approx(clip0, abs=1e-6)


def test_vocabulary_margin_takes_the_margin_off_the_right_prompt_only():
    vocabulary = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    groups, scale = torch.tensor([0, 0, 0]), torch.tensor(2.0)
    pose, ids = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    m = 0.3
    expected = math.log(math.exp(2 * (1 - m)) + math.exp(1.6) + 1) - 2 * (1 - m)
    loss = vocabulary_loss(pose, vocabulary, ids, groups, scale, margin=m)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert loss.item() > vocabulary_loss(pose, vocabulary, ids, groups, scale).item()
