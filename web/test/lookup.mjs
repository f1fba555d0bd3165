// The page's vocabulary lookups in Node, for tests/web/test_packs_page.py:
//
//   node test/lookup.mjs QUERIES_JSON MODEL_DIR OUT_JSON
//
// QUERIES_JSON: [{embedding: [D numbers] or text, language: code or null, k, kind, input}]; OUT_JSON gets, for
// each, the matches of the page's Vocabulary.lookupEmbedding, or of lookupText for a text (bundle
// entries and the packs' taught signs).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWebModel } from '../src/bundle.js';
import { usesBothHands } from '../src/normalize.js';

const [queriesFile, modelDir, outFile] = process.argv.slice(2);
const read = async (name) => {
  const b = readFileSync(join(modelDir, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const web = await loadWebModel(read);
const queries = JSON.parse(readFileSync(queriesFile, 'utf8'));
// q.input (frames, mask, length, plain of a model input): its hands decide the kind too, and its
// templates re-rank signs, as in the page; q.whole: its whole-clip embedding, which signs are read from
const input = (q) => (q.input ? { frames: Float32Array.from(q.input.frames), mask: Uint8Array.from(q.input.mask),
  length: q.input.length, points: web.model.points,
  plain: q.input.plain ? Float32Array.from(q.input.plain) : null } : null);
const lookup = (q) => {
  if (q.text !== undefined) return web.vocabulary.lookupText(q.text, q.k, q.language);
  const x = input(q);
  return web.vocabulary.lookupEmbedding(Float32Array.from(q.embedding), q.k, q.language, q.kind ?? 'auto',
    x ? usesBothHands(x, web.model) : false, x, q.whole ? Float32Array.from(q.whole) : null);
};
const results = queries.map((q) => lookup(q)
  .map((m) => ({ label: m.label, language: m.language, score: m.score, source: m.source })));
writeFileSync(outFile, JSON.stringify({ results, languages: web.vocabulary.languages() }));
