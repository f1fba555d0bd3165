// Fingerspelling read letter by letter from a continuous hand: runtime/recognition/spelling.py's SpellReader,
// line for line. Each hold of the hand (holds.js) is looked up among the letters of one sign
// language as soon as it ends; a double letter counts twice only if the wrist travelled between its
// holds; a long movement between holds that traces a shape may be a moving letter (ASL's J and Z),
// and a hold reads as a letter made without moving; a word ends when the
// hand drops or leaves. The encoder answers asynchronously in the page, so `push` is async: it
// returns the events a frame decided, letters ({type: 'letter', ...}) and word ends ({type: 'word'}).

import { HoldTracker } from './holds.js';
import { LEFT_HAND, RIGHT_HAND } from './layouts.js';
import { StreamingNormalizer } from './normalize.js';
import { FrameRing } from './recognizer.js';
import { HandActivitySegmenter } from './segmentation.js';
import { roundHalfEven } from './numeric.js';

const FINGERTIPS = ['THUMB_TIP', 'INDEX_FINGER_TIP', 'MIDDLE_FINGER_TIP', 'RING_FINGER_TIP', 'PINKY_TIP'];

/**
 * Whether a movement (model-layout frames before normalization, flat [T * n * 3], mask [T * n])
 * traces a letter's shape (spelling.py `traces_a_shape`): some fingertip travels at least
 * `trace_min` shoulder widths along a path at least `trace_ratio` times the straight line between
 * its ends.
 */
export function tracesAShape(frames, mask, model, config) {
  const n = model.points;
  const count = mask.length / n;
  const [a, b] = model.shoulders;
  let width = 0;
  let seen = 0;
  for (let t = 0; t < count; t++) {
    if (!mask[t * n + a] || !mask[t * n + b]) continue;
    width += Math.hypot(frames[3 * (t * n + a)] - frames[3 * (t * n + b)],
      frames[3 * (t * n + a) + 1] - frames[3 * (t * n + b) + 1]);
    seen += 1;
  }
  if (!seen || width <= 0) return false;
  width /= seen;
  for (const hand of [RIGHT_HAND, LEFT_HAND]) {
    for (const name of FINGERTIPS) {
      const tip = model.layout.at(hand, name);
      let path = 0;
      let first = null;
      let last = null;
      for (let t = 0; t < count; t++) {
        if (!mask[t * n + tip]) continue;
        const xy = [frames[3 * (t * n + tip)] / width, frames[3 * (t * n + tip) + 1] / width];
        if (last !== null) path += Math.hypot(xy[0] - last[0], xy[1] - last[1]);
        if (first === null) first = xy;
        last = xy;
      }
      if (first === null || first === last) continue;
      if (path >= config.trace_min && path >= config.trace_ratio * Math.hypot(last[0] - first[0], last[1] - first[1])) {
        return true;
      }
    }
  }
  return false;
}

/**
 * The letters of one sign language (or of all): labels short enough to be letters, not numbers, and
 * not one of the bundle's lexical `signs` ([label, language] pairs: ASL's WHY is a word).
 */
export function alphabet(labels, languages, language, maxChars, signs = []) {
  const words = new Set(signs.map(([label, lang]) => `${label}\u0000${lang}`));
  const out = new Set();
  labels.forEach((label, i) => {
    const n = [...String(label)].length;
    if ((language === null || languages[i] === language) && n > 0 && n <= maxChars
        && !/^\p{Nd}+$/u.test(String(label)) && !words.has(`${label}\u0000${languages[i]}`)) {
      out.add(String(label));
    }
  });
  return out;
}

/** What the page needs to spell in one sign language: its letters and its moving letters. */
function spellingFor(web, language) {
  const s = web.manifest.spelling;
  const v = web.vocabulary;
  const letters = alphabet(v.labels, v.languageOf, language, s.max_letter_chars, s.signs ?? []);
  const movingLists = language === null ? Object.values(s.moving_letters) : [s.moving_letters[language] ?? []];
  const moving = new Set(movingLists.flat().filter((x) => letters.has(x)));
  return { letters, moving };
}

/**
 * SpellReader's options for one sign language, as `signclip spell` makes them (reader_options in
 * runtime/cli/spell.py): `encode`, a lookup among the vocabulary's rows of that language, its
 * letters and moving letters, and the word prior `priorFor(letters)` gives (null: letters as read).
 */
export async function readerOptions(web, language, encode, priorFor = async () => null) {
  const { letters, moving } = spellingFor(web, language);
  const prior = await priorFor(letters);
  const k = 2 * web.spelling.config.candidates; // spare rows for signs that are not letters
  return { encode, search: (embedding) => web.vocabulary.lookupEmbedding(embedding, k, language, 'letters'), letters,
    moving, prior, correct: prior ? (read) => prior.word(read) : null };
}

export class SpellReader {
  /**
   * `encode(input)` -> Promise of an embedding; `search(embedding)` -> matches best first;
   * `correct(letters)` -> the word (the prior), or null to keep the letters as read.
   */
  constructor(layout, fps, { model, normalization, spelling }, { encode, search, letters = null,
    moving = new Set(), correct = null }) {
    const config = spelling.config;
    this.layout = layout;
    this.fps = fps;
    this.config = config;
    this.encode = encode;
    this.search = search;
    this.correct = correct;
    this.letters = letters;
    this.moving = moving;
    this.words = new HandActivitySegmenter(layout, fps, config.words);
    this.tracker = new HoldTracker(layout, fps, config.hold, spelling.hand_points);
    this.approach = roundHalfEven(config.approach_s * fps);
    this.context = roundHalfEven(config.context_s * fps);
    this.movingFrames = Math.max(1, roundHalfEven(config.moving_s * fps));
    const back = Math.max(this.approach, this.context) + this.tracker.holdFrames;
    this.ring = new FrameRing(back + this.words.frames.preRoll + this.words.frames.start + 2, layout.size);
    this.holdInput = new StreamingNormalizer(layout, model, normalization);
    this.moveInput = new StreamingNormalizer(layout, model, normalization);
    this.model = model;
    this.t = 0;
    this.word = null;           // {start, letters, holds, afterMovement}
    this.pushed = 0;            // hold frames in holdInput: [hold start or context, pushed)
    this.holdStamp = [0, 0];
    this.moveStart = -1;        // first frame of the movement in moveInput, -1: none open
    this.moveStamp = [0, 0];
    this.moveTop = 0;           // wrist height where the movement began
    this.travel = 0;            // wrist travel before the open hold
  }

  get inWord() {
    return this.word !== null;
  }

  get inHold() {
    return this.tracker.inHold;
  }

  /** A word or hold is open (the page restarts a reader at a new frame rate only between words). */
  get inSign() {
    return this.inWord || this.inHold;
  }

  /** One frame [K * 3] + mask [K] in the reader's layout; the letters and word ends it decided. */
  async push(frame, mask, { index = null, timeS = null } = {}) {
    const t = this.t++;
    this.ring.store(t, frame, mask, index === null ? t : index, timeS === null ? t / this.fps : timeS);
    const word = this.words.step(frame, mask);
    const hold = this.tracker.step(frame, mask, this.words.shoulders);
    if (word.started !== null && this.word === null) this.word = newWord(word.started);
    const events = [];
    if (hold.ended !== null) {
      events.push(...await this.holdEnded(hold.ended[0], hold.ended[1], t));
      this.openMovement(hold.ended[1], t);
    }
    if (hold.started !== null) {
      events.push(...await this.movementEnded(t));
      this.openHold(hold.started, t);
    } else if (this.tracker.inHold && this.tracker.lastHeld === t) {
      this.catchUp(t + 1);
    } else if (this.moveStart >= 0 && this.tracker.height < this.moveTop + this.config.drop) {
      this.moveInput.push(frame, mask);
    }
    if (word.ended !== null || !(this.words.inSign || this.tracker.inHold)) {
      events.push(...await this.movementEnded(t), ...this.wordEnded(t));
      if (word.started !== null) this.word = newWord(word.started); // a word past the maximum goes on
    }
    return events;
  }

  /** End of stream: the open hold, movement and word are read. */
  async finish() {
    const t = this.t - 1;
    const events = [];
    const hold = this.tracker.finish();
    if (hold.ended !== null) events.push(...await this.holdEnded(hold.ended[0], hold.ended[1], t));
    events.push(...await this.movementEnded(t));
    this.words.finish();
    if (this.word !== null) events.push(...this.wordEnded(t));
    return events;
  }

  openHold(start, t) {
    if (this.word === null) this.word = newWord(start);
    let back = this.context;
    if (this.word.holds === 0) back = Math.max(back, Math.min(this.approach, start - this.word.start));
    const first = Math.max(start - back, 0, this.t - this.ring.size);
    this.holdInput.reset();
    this.pushed = first;
    this.holdStamp = this.ring.stamp(first);
    this.catchUp(t + 1);
    this.travel = this.tracker.path;
    this.word.holds += 1;
  }

  catchUp(until) {
    for (let u = this.pushed; u < until; u++) this.holdInput.push(...this.ring.get(u));
    this.pushed = Math.max(this.pushed, until);
  }

  async holdEnded(start, end, decided) {
    const read = await this.read(this.holdInput, this.holdStamp, end, decided, 'hold');
    if (read === null || this.word === null) return [];
    const word = this.word;
    const last = word.letters.length ? word.letters[word.letters.length - 1] : null;
    const afterMovement = word.afterMovement;
    word.afterMovement = false;
    // the end of the moving letter just read (J ends in a hold)
    if (afterMovement && last !== null && last.letter === read.letter) return [];
    let letter = read;
    if (this.moving.has(read.letter) && word.holds > 1) {
      letter = stillLetter(read, this.moving); // a hold is still: J is I's shape moved, not held
      if (letter === null) return [];
    }
    // one hold that a tremor split
    if (last !== null && last.letter === letter.letter && this.travel < this.config.double_travel) return [];
    word.letters.push(letter);
    return [letter];
  }

  openMovement(start, t) {
    if (!this.moving.size) return;
    this.moveInput.reset();
    this.moveTop = this.tracker.height;
    this.moveStart = Math.max(start, this.t - this.ring.size);
    this.moveStamp = this.ring.stamp(this.moveStart);
    for (let u = this.moveStart; u < t; u++) this.moveInput.push(...this.ring.get(u));
  }

  async movementEnded(decided) {
    const start = this.moveStart;
    this.moveStart = -1;
    if (start < 0 || this.word === null || this.moveInput.count < this.movingFrames) return [];
    const { frames, mask } = this.moveInput.raw();
    if (!tracesAShape(frames, mask, this.model, this.config)) return []; // a slide to the next hold
    const read = await this.read(this.moveInput, this.moveStamp, decided, decided, 'movement');
    if (read === null || !this.moving.has(read.letter)) return [];
    this.word.letters.push(read);
    this.word.afterMovement = true;
    return [read];
  }

  async read(source, first, end, decided, kind) {
    if (!source.hasShoulders || source.count === 0) return null;
    const matches = this.search(await this.encode(source.modelInput()));
    const found = matches.filter((m) => this.letters === null || this.letters.has(m.label))
      .map((m) => [m.label, m.score]);
    if (!found.length) return null;
    const [last, lastS] = this.ring.stamp(end - 1);
    return {
      type: 'letter', letter: found[0][0], startFrame: first[0], endFrame: last + 1, startS: first[1],
      endS: lastS + 1 / this.fps, score: found[0][1], candidates: found.slice(0, this.config.candidates),
      decidedFrame: this.ring.stamp(decided)[0], kind,
    };
  }

  wordEnded(decided) {
    const word = this.word;
    this.word = null;
    this.moveStart = -1;
    if (word === null || !word.letters.length) return [];
    const raw = word.letters.map((x) => x.letter).join('');
    return [{ type: 'word', letters: word.letters, raw, word: this.correct ? this.correct(word.letters) : raw,
      decidedFrame: this.ring.stamp(decided)[0] }];
  }
}

/** A hold's reading without the moving letters (spelling.py `still_letter`); null if all move. */
function stillLetter(read, moving) {
  const still = read.candidates.filter(([label]) => !moving.has(label));
  if (!still.length) return null;
  return { ...read, letter: still[0][0], score: still[0][1], candidates: still };
}

function newWord(start) {
  return { start, letters: [], holds: 0, afterMovement: false };
}
