// A spoken language's words as a prior on spelled letters: runtime/recognition/word_prior.py's WordPrior. The
// word list (wordfreq's, upper-cased, with each word's Zipf frequency) is written into the web
// bundle by `signclip web`; a word's cost is a weighted edit distance to the letters read, where a
// letter the lookup ranked close behind its choice is a cheap substitution, plus a small cost for
// rarer words. The best word is taken only if it is close enough; else the letters stand as read.

/** Weighted edit distance from one word (char codes) to the letters read (sub: [positions][chars]). */
function editCost(codes, sub, row, prev) {
  const nPos = sub.length;
  for (let i = 0; i <= nPos; i++) prev[i] = i;
  for (let j = 0; j < codes.length; j++) {
    const c = codes[j];
    row[0] = j + 1;
    for (let i = 1; i <= nPos; i++) {
      let best = prev[i - 1] + sub[i - 1][c];
      if (prev[i] + 1 < best) best = prev[i] + 1;
      if (row[i - 1] + 1 < best) best = row[i - 1] + 1;
      row[i] = best;
    }
    prev.set(row);
  }
  return prev[nPos];
}

export class WordPrior {
  /** `list`: {language, words, zipf} as the web bundle ships it; `alphabet`: the sign language's letters. */
  constructor(list, alphabet, config) {
    this.language = list.language;
    this.config = config;
    const chars = alphabet ? new Set([...alphabet].join('').toUpperCase()) : null;
    const words = [];
    const zipf = [];
    list.words.forEach((w, i) => {
      if ([...w].length >= config.min_length && (chars === null || [...w].every((c) => chars.has(c)))) {
        words.push(w);
        zipf.push(list.zipf[i]);
      }
    });
    if (!words.length) {
      throw new Error(`none of the ${list.language} words is written in the letters of this sign language`);
    }
    this.chars = [...new Set([...words.join(''), ...(chars ?? [])])].sort();
    this.code = new Map(this.chars.map((c, i) => [c, i]));
    this.words = words;
    this.codes = words.map((w) => Int32Array.from([...w], (c) => this.code.get(c)));
    const top = Math.max(...zipf);
    this.rarity = zipf.map((z) => config.rarity * (top - z));
  }

  substitutions(letters) {
    const rows = [];
    for (const letter of letters) {
      const top = letter.candidates.length ? letter.candidates[0][1] : letter.score;
      const near = new Map([...letter.letter].length === 1
        ? letter.candidates.filter(([label]) => [...label].length === 1).map(([label, s]) => [label.toUpperCase(), s])
        : []);
      for (const ch of letter.letter.toUpperCase()) {
        const row = new Float64Array(this.chars.length).fill(1);
        for (const [c, score] of near) {
          if (this.code.has(c)) row[this.code.get(c)] = Math.min(1, Math.max(0, (top - score) / this.config.gap));
        }
        if (this.code.has(ch)) row[this.code.get(ch)] = 0;
        rows.push(row);
      }
    }
    return rows;
  }

  /** {raw, word, edits}: the word for the letters read (their candidates make near misses cheap). */
  correct(letters) {
    const raw = letters.map((x) => x.letter).join('');
    if (!letters.length) return { raw, word: raw, edits: 0 };
    const sub = this.substitutions(letters);
    const n = sub.length;
    const reach = Math.max(1, Math.trunc(this.config.max_edits * n));
    const row = new Float64Array(n + 1);
    const prev = new Float64Array(n + 1);
    let best = -1;
    let bestTotal = Infinity;
    let bestEdits = 0;
    this.codes.forEach((codes, i) => {
      if (Math.abs(codes.length - n) > reach) return;
      const edits = editCost(codes, sub, row, prev);
      const total = edits + this.rarity[i];
      if (total < bestTotal) {
        bestTotal = total;
        best = i;
        bestEdits = edits;
      }
    });
    if (best < 0 || bestEdits > this.config.max_edits * n) return { raw, word: raw, edits: 0 };
    return { raw, word: this.words[best], edits: bestEdits };
  }

  word(letters) {
    return this.correct(letters).word;
  }
}
