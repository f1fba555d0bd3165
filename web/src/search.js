// Top-k over the bundle's vocabulary by cosine, with a sign-language filter: what runtime/recognition/engine.py's
// lookup_embedding and lookup_text do over an exact index (runtime/model/index.py), for a pose-only bundle
// (text queries are answered from the vocabulary's own prompts, embedded in advance).

/** Exact cosine top-k over unit rows [N, D]; ties go to the lower position in language order. */
export class VectorIndex {
  constructor(rows, dim, languages) {
    this.rows = rows;
    this.dim = dim;
    this.languages = languages;
    // rows sorted by language (stable), as the Python index stores them: its tie order
    const order = languages.map((_, i) => i);
    order.sort((a, b) => (languages[a] < languages[b] ? -1 : languages[a] > languages[b] ? 1 : a - b));
    this.order = order;
  }

  /** [{id, score}] best first: the k rows most similar to `query` among `language`'s rows. */
  search(query, k, language = null) {
    const d = this.dim;
    const hits = [];
    this.order.forEach((id, position) => {
      if (language !== null && this.languages[id] !== language) return;
      let score = 0;
      for (let j = 0; j < d; j++) score += this.rows[id * d + j] * query[j];
      hits.push({ id, score: Math.fround(score), position });
    });
    hits.sort((a, b) => b.score - a.score || a.position - b.position);
    return hits.slice(0, k);
  }
}

/** Best first, one entry per (label, language, source), at most k (a stable sort, as Python's). */
export function merge(candidates, k) {
  const seen = new Set();
  const out = [];
  for (const m of [...candidates].sort((a, b) => b.score - a.score)) {
    const key = `${m.label}\u0000${m.language}\u0000${m.source}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(m);
    }
    if (out.length === k) break;
  }
  return out;
}

/** The prompt for a text in one sign language (the bundle's template, as str.format fills it). */
export function makePrompt(template, text, signed, spoken) {
  const fields = { text, signed, spoken };
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in fields ? fields[name] : whole));
}

/** Entry kinds a lookup may answer with, per --kind choice (runtime/recognition/kinds.py's ENTRY_KINDS). */
const ENTRY_KINDS = { signs: new Set(['sign']), letters: new Set(['letter', 'digit']), all: null };

/**
 * The entry kinds to answer with (null: every kind): the choice, or with 'auto' what the bundle's kind
 * head reads in the embedding (a logistic regression: a lexical sign above its threshold), as
 * runtime/recognition/kinds.py's allowed_kinds.
 */
export function allowedKinds(choice, head, embedding, bothHands = false, language = null) {
  if (choice === 'auto') {
    if (!head) return null;
    // both hands raised in a language whose letters use one hand: a sign (kinds.py's KindHead.kind)
    if (bothHands && language !== null && !(head.two_handed_alphabets ?? []).includes(language)) {
      return ENTRY_KINDS.signs;
    }
    let z = 0;
    for (let j = 0; j < head.weights.length; j++) z = Math.fround(z + Math.fround(head.weights[j] * embedding[j]));
    const p = 1 / (1 + Math.exp(-Math.min(Math.max(z + head.bias, -60), 60)));
    choice = p > head.threshold ? 'signs' : 'letters';
  }
  if (!(choice in ENTRY_KINDS)) throw new Error(`kind ${choice}: choose one of auto, signs, letters, all`);
  return ENTRY_KINDS[choice];
}

/** A text folded for comparison: case, accents, spaces and punctuation ignored (dictionary.py's dictionary_key). */
export function dictionaryKey(text) {
  return String(text).normalize('NFKD').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/** A taught sign's language that matches every language filter (runtime/vocabulary/personal.py's ANY_LANGUAGE). */
export const ANY_LANGUAGE = '';

/** Row `r` of a flat [N, D] matrix dotted with `query`, rounded to float32 as numpy's float32 product. */
function rowDot(matrix, dim, r, query) {
  let s = 0;
  for (let j = 0; j < dim; j++) s += matrix[r * dim + j] * query[j];
  return Math.fround(s);
}

/** Mean and population standard deviation of `rows`' dot products with `query` (rows of unit [N, D]). */
function dotStats(matrix, dim, rows, query) {
  const dots = rows.map((r) => rowDot(matrix, dim, r, query));
  const mean = dots.reduce((a, b) => a + b, 0) / dots.length;
  const sd = Math.sqrt(dots.reduce((a, b) => a + (b - mean) ** 2, 0) / dots.length);
  return { mean, sd: sd || 1.0 };
}

/** The vocabulary of a web bundle: labels, prompts and embeddings, and its lookups. */
export class Vocabulary {
  constructor(manifest, embeddings, clipEmbeddings, taughtEmbeddings = null) {
    const v = manifest.vocabulary;
    this.dim = manifest.embedding_dim;
    this.template = manifest.prompt_template;
    this.spoken = manifest.spoken_languages;
    this.texts = v.texts;
    this.labels = v.labels;
    this.languageOf = v.languages;
    this.rowOfText = new Map(v.texts.map((t, i) => [t, i]));
    this.kinds = v.kinds ?? null;
    this.kindHead = v.kinds && manifest.kind_head ? manifest.kind_head : null;
    this.embeddings = embeddings;
    this.index = new VectorIndex(embeddings, this.dim, v.languages);
    this.clips = v.clips && clipEmbeddings
      ? { ...v.clips, embeddings: clipEmbeddings,
        index: new VectorIndex(clipEmbeddings, this.dim, v.clips.languages) }
      : null;
    // the signs of vocabulary packs (signclip web --packs): pose prototypes, as the engine's taught signs
    this.taught = v.taught && taughtEmbeddings
      ? { ...v.taught, index: new VectorIndex(taughtEmbeddings, this.dim, v.taught.languages) }
      : null;
  }

  /** Sign languages to filter by (those of the clips for text queries, where the bundle has clips). */
  languages(textQuery = false) {
    const source = textQuery && this.clips ? this.clips.languages : this.languageOf;
    const taught = this.taught ? this.taught.languages.filter((lang) => lang !== ANY_LANGUAGE) : [];
    return [...new Set([...source, ...taught])].sort();
  }

  /** Every label (word or letter) of the vocabulary, for the search box's suggestions. */
  labelsFor(language = null) {
    const labels = this.labels.filter((_, i) => language === null || this.languageOf[i] === language);
    return [...new Set(labels)].sort();
  }

  checkLanguage(language, textQuery = false) {
    if (language !== null && !this.languages(textQuery).includes(language)) {
      throw new Error(`language ${language} is not in the vocabulary; known: ${this.languages(textQuery)}`);
    }
  }

  /**
   * Top-k vocabulary entries for a pose embedding [D] (`bothHands`: its clip raises both hands); signs
   * are scored by `whole`, the clip's whole-view embedding, where given, and re-ranked by their
   * reference clips where `input`, the clip's model input, is given (engine.py's read_signs).
   */
  lookupEmbedding(embedding, k = 5, language = null, kind = 'auto', bothHands = false, input = null, whole = null) {
    this.checkLanguage(language);
    const allowed = this.kinds ? allowedKinds(kind, this.kindHead, embedding, bothHands, language) : null;
    let hits = this.index.search(embedding, allowed === null ? k * 2 : this.labels.length, language);
    if (allowed !== null) {
      const ofKind = hits.filter(({ id }) => allowed.has(this.kinds[id]));
      // auto in a language without entries of that kind: every kind
      hits = ofKind.length || kind !== 'auto' ? ofKind : hits;
    }
    if (allowed === ENTRY_KINDS.signs && input && whole) {
      hits = hits.map(({ id }) => ({ id, score: rowDot(this.embeddings, this.dim, id, whole) }))
        .sort((a, b) => b.score - a.score);
    }
    if (allowed === ENTRY_KINDS.signs && input && this.templates) {
      hits = this.templates.rerank(hits, hits.map(({ id }) => [this.labels[id], this.languageOf[id]]), input);
    }
    let taught = this.taughtMatches(embedding, k, language);
    if (allowed === ENTRY_KINDS.signs && input && this.templates) {
      // a taught word the bundle has is read through its takes (templates), not beside it
      const named = hits.map(({ id }) => [dictionaryKey(this.labels[id]), this.languageOf[id]]);
      taught = taught.filter((m) => !this.templates.readsAsBundleSign(m, named));
    }
    const found = hits.slice(0, k * 2).map(({ id, score }) => ({
      label: this.labels[id], language: this.languageOf[id], text: this.texts[id], score, source: 'bundle',
    }));
    return merge([...found, ...taught], k);
  }

  /**
   * Taught signs for a pose embedding, their cosine put on the texts' scale as runtime/recognition/engine.py's
   * _calibration does: standardized against the query's cosines to the bundle's clips, then mapped
   * onto its cosines to the texts (the same sampled rows, `calibration`).
   */
  taughtMatches(query, k, language) {
    if (!this.taught) return [];
    const c = this.taught.calibration;
    let scale = (s) => s;
    if (c && this.clips) {
      const pose = dotStats(this.clips.embeddings, this.dim, c.clip_rows, query);
      const text = dotStats(this.embeddings, this.dim, c.text_rows, query);
      scale = (s) => text.mean + (s - pose.mean) / pose.sd * text.sd;
    }
    const out = [];
    for (const lang of language === null ? [null] : [language, ANY_LANGUAGE]) {
      for (const { id, score } of this.taught.index.search(query, k, lang)) {
        const label = this.taught.labels[id];
        out.push({ label, language: this.taught.languages[id], text: label, score: scale(score),
          source: this.taught.sources[id] });
      }
    }
    return out;
  }

  /**
   * Text to sign as runtime/recognition/engine.py's lookup_text: a text that spells vocabulary or taught
   * entries (any case, spaces or punctuation) returns their own clips first, then the neighbours.
   */
  lookupText(text, k = 5, language = null) {
    if (!String(text).trim()) throw new Error('the search text is empty: give a word or letter');
    this.checkLanguage(language, true);
    const named = this.named(text, language);
    const taught = this.taughtNamed(text, language);
    if (!named.length && !taught.length) return this.textSearch(text, k, language);
    const own = [...named.map(([label, lang]) => this.ownEntry(label, lang)), ...taught]
      .sort((a, b) => b.score - a.score);
    const ownKeys = new Set(own.map((m) => `${m.label}\u0000${m.language}`));
    const neighbours = named.length ? this.textSearch(named[0][0], k, language) : [];
    return [...own, ...neighbours.filter((m) => !ownKeys.has(`${m.label}\u0000${m.language}`))].slice(0, k);
  }

  /** The (label, language) entries a text spells, in first-seen order (dictionary.py's Dictionary.find). */
  named(text, language) {
    const key = dictionaryKey(text);
    const [labels, languages] = this.clips ? [this.clips.labels, this.clips.languages] : [this.labels, this.languageOf];
    const seen = new Set();
    const out = [];
    labels.forEach((label, i) => {
      const id = `${label}\u0000${languages[i]}`;
      if (seen.has(id) || dictionaryKey(label) !== key || (language !== null && languages[i] !== language)) return;
      seen.add(id);
      out.push([label, languages[i]]);
    });
    return out;
  }

  /** Taught signs whose label the text spells: found by name, scored 1. */
  taughtNamed(text, language) {
    if (!this.taught) return [];
    const key = dictionaryKey(text);
    return this.taught.labels.flatMap((label, i) => {
      const lang = this.taught.languages[i];
      const fits = language === null || lang === language || lang === ANY_LANGUAGE;
      return dictionaryKey(label) === key && fits
        ? [{ label, language: lang, text: label, score: 1.0, source: this.taught.sources[i] }] : [];
    });
  }

  /** The best of a label's own clips for its prompt (or its label row, without clips). */
  ownEntry(label, language) {
    const row = this.rowOfText.get(makePrompt(this.template, label, language, this.spoken[language] ?? 'en'));
    const query = this.embeddings.subarray(row * this.dim, (row + 1) * this.dim);
    const dot = (matrix, id) => {
      let s = 0;
      for (let j = 0; j < this.dim; j++) s += matrix[id * this.dim + j] * query[j];
      return Math.fround(s);
    };
    if (!this.clips) {
      const id = this.labels.findIndex((l, i) => l === label && this.languageOf[i] === language);
      return { label, language, text: this.texts[id], score: dot(this.embeddings, id), source: 'bundle' };
    }
    let best = null;
    this.clips.labels.forEach((l, id) => {
      if (l !== label || this.clips.languages[id] !== language) return;
      const score = dot(this.clips.embeddings, id);
      if (best === null || score > best.score) best = { id, score };
    });
    return { label, language, text: this.clips.texts[best.id], score: best.score, source: 'clip' };
  }

  /** The text prompted per sign language, its stored embedding against the clips. */
  textSearch(text, k, language) {
    const target = this.clips ? this.clips.index : this.index;
    const langs = language !== null ? [language] : this.languages(true);
    const rows = langs.map((lang) => this.rowOfText.get(
      makePrompt(this.template, text, lang, this.spoken[lang] ?? 'en')));
    if (rows.every((row) => row === undefined)) {
      throw new Error(`"${text}" is not in the vocabulary: this page answers the vocabulary's own words`);
    }
    const found = [];
    langs.forEach((lang, i) => {
      const row = rows[i];
      if (row === undefined) return; // only the vocabulary's own prompts can be answered
      const query = this.embeddings.subarray(row * this.dim, (row + 1) * this.dim);
      for (const { id, score } of target.search(query, k * 4, lang)) {
        found.push(this.clips
          ? { label: this.clips.labels[id], language: this.clips.languages[id], text: this.clips.texts[id],
            score, source: 'clip' }
          : { label: this.labels[id], language: this.languageOf[id], text: this.texts[id], score,
            source: 'bundle' });
      }
    });
    return merge(found, k);
  }
}
