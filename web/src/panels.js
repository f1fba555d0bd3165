// The page's side panels, one per mode, shown one at a time under tabs. A panel is
// {id, title, element, onSign(sign)?, onLanguage(language)?}: app.js hands every recognized sign and
// every change of the language filter to each panel; the Spell panel gets the letters and words of
// app.js's SpellReader instead of signs.

const HISTORY_SIZE = 20;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** An ordered list of matches: label, language, score (with a bar), best first. */
export function renderMatches(list, matches) {
  list.replaceChildren(...matches.map((m) => {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${Math.max(0, Math.min(1, m.score)) * 100}%`;
    return el('li', { 'data-label': m.label, 'data-language': m.language },
      el('span', { class: 'label' }, m.label), el('span', { class: 'language' }, m.language),
      el('span', { class: 'score' }, m.score.toFixed(3)), bar);
  }));
}

/** Sign mode: the top-5 of the last sign, and a history of the signs before it. */
export function signPanel() {
  const top = el('ol', { id: 'top5', class: 'matches' });
  const when = el('p', { class: 'hint', id: 'last-sign' }, 'Sign in front of the camera: raise your hand, '
    + 'hold the sign, lower your hand. The five closest signs appear here.');
  const history = el('ol', { id: 'history', class: 'history' });
  const element = el('section', { 'data-mode': 'sign' }, el('h2', {}, 'Last sign'), when, top,
    el('h3', {}, 'Before'), history);
  const show = (sign) => {
    renderMatches(top, sign.results);
    when.textContent = `${sign.startS.toFixed(1)}-${sign.endS.toFixed(1)} s, ${sign.language ?? 'all languages'}`;
  };
  return {
    id: 'sign',
    title: 'Sign',
    element,
    onSign(sign) {
      if (!sign.results.length) return;
      show(sign);
      const best = sign.results[0];
      const item = el('li', { 'data-label': best.label }, el('button', { type: 'button' },
        el('span', { class: 'label' }, best.label), ` ${best.language} · ${sign.startS.toFixed(1)} s`));
      item.querySelector('button').addEventListener('click', () => show(sign));
      history.prepend(item);
      while (history.children.length > HISTORY_SIZE) history.lastChild.remove();
    },
  };
}

/** Search mode: text to sign over the vocabulary's own words (suggested as you type). */
/** A canvas that plays a sign's reference clip in a loop (frames: drawSkeleton's results), on dark. */
export function referencePlayer(draw) {
  const canvas = el('canvas', { id: 'search-reference', width: 240, height: 240,
    'aria-label': 'how the first match is signed' });
  let timer = null;
  const play = (frames, fps) => {
    clearInterval(timer);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#202020';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!frames || !frames.length) return;
    let t = 0;
    const step = () => {
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      draw(canvas, frames[t % frames.length]);
      canvas.dataset.shown = String(++t);
    };
    step();
    timer = setInterval(step, 1000 / fps);
  };
  return { canvas, play };
}

export function searchPanel(vocabulary, getLanguage, references = null, draw = null) {
  const input = el('input', { id: 'search-text', list: 'search-labels', autocomplete: 'off',
    placeholder: 'a word or letter of the vocabulary', 'aria-label': 'search text' });
  const labels = el('datalist', { id: 'search-labels' });
  const results = el('ol', { id: 'search-results', class: 'matches' });
  const message = el('p', { class: 'hint' }, 'Which signs of the vocabulary match a word or letter.');
  const form = el('form', { class: 'search' }, input, labels, el('button', { type: 'submit' }, 'Search'));
  const player = references && draw ? referencePlayer(draw) : null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      const found = vocabulary.lookupText(input.value, 5, getLanguage());
      renderMatches(results, found);
      message.textContent = found.length ? `"${input.value}": the closest signs` : 'nothing found';
      // how the first match is signed, from the bundle's reference clip (none for a taught sign)
      if (player) player.play(found.length ? references.frames(found[0].label, found[0].language) : null,
        references.fps);
    } catch (e) {
      results.replaceChildren();
      message.textContent = e.message;
    }
  });
  const fill = (language) => labels.replaceChildren(
    ...vocabulary.labelsFor(language).map((label) => el('option', { value: label })));
  fill(getLanguage());
  return {
    id: 'search',
    title: 'Search',
    element: el('section', { 'data-mode': 'search' }, el('h2', {}, 'Search by text'), form, message, results,
      ...(player ? [player.canvas] : [])),
    onLanguage: fill,
  };
}

/** Spell mode: the letters of the word being spelled as they are read, and the words before. */
export function spellPanel() {
  const current = el('ol', { id: 'letters', class: 'letters' });
  const hint = el('p', { class: 'hint', id: 'spell-hint' }, 'Fingerspell a word: hold each letter a '
    + 'moment, lower your hand after the last. Letters appear as they are read; the word, corrected '
    + 'by the spoken language\'s word list where the page has one, when the hand drops.');
  const words = el('ol', { id: 'words', class: 'history' });
  return {
    id: 'spell',
    title: 'Spell',
    element: el('section', { 'data-mode': 'spell' }, el('h2', {}, 'Spelling'), hint, current,
      el('h3', {}, 'Words, in order'), words),
    onLetter(letter) {
      const item = el('li', { 'data-letter': letter.letter, title: letter.candidates
        .map(([label, score]) => `${label} ${score.toFixed(3)}`).join(', ') }, letter.letter);
      current.append(item);
    },
    onWord(word) {
      current.replaceChildren();
      const read = word.raw !== word.word ? ` (read ${word.raw})` : '';
      // in reading order, as a transcript: the newest word last
      words.append(el('li', { 'data-word': word.word }, el('span', { class: 'label' }, word.word), read));
      while (words.children.length > HISTORY_SIZE) words.firstChild.remove();
    },
    onNote(text) {
      hint.textContent = text;
    },
  };
}
