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
// q.input (frames, mask, length of a model input): its hands decide the kind too, as in the page
const bothHands = (q) => (q.input ? usesBothHands({ frames: Float32Array.from(q.input.frames),
  mask: Uint8Array.from(q.input.mask), length: q.input.length }, web.model) : false);
const lookup = (q) => (q.text !== undefined
  ? web.vocabulary.lookupText(q.text, q.k, q.language)
  : web.vocabulary.lookupEmbedding(Float32Array.from(q.embedding), q.k, q.language, q.kind ?? 'auto',
    bothHands(q)));
const results = queries.map((q) => lookup(q)
  .map((m) => ({ label: m.label, language: m.language, score: m.score, source: m.source })));
writeFileSync(outFile, JSON.stringify({ results, languages: web.vocabulary.languages() }));
