/* The pages of cr_tape_html in a real browser (Debian's chromium, headless, driven
 * by puppeteer-core): for lessons 1, 2 and 6 (f = x·(x+y); f = x·exp((3x)·max(x,y));
 * the 3-5-2 network) load the page from disk, walk every step with the arrow keys
 * and check from the DOM that
 *   - each forward step shows the node's value line,
 *   - each backward step shows exactly the lines the text trace printed for that
 *     node (same digits), and the totals step the trace's totals,
 *   - the final gradients are the expected ones: 5 and 2 (lesson 1); 25e12 and 0
 *     (lesson 2); the shapes 3x5 and 5x2 of the network's gradients (lesson 6),
 *   - no console error, no page error and no request but the page itself;
 * then the page of one step of examples/train (closed layers open on a click);
 * then every page of every lesson (as make graphs writes them): each step shows
 * something, each node opens its table, no console error, no request.
 * Usage: node page_test.js BUILD_DIR OUT_DIR [all]   (tests/browser/run.sh runs it;
 * "all": also every lesson's pages)
 * Prints one line per check that fails and "browser: N passed, M failed". */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [build, out, all] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
let passed = 0, failed = 0;

function check(ok, what) {
  if (ok) passed++;
  else { failed++; console.log('FAIL: ' + what); }
}

/* The trace in a lesson's output: blocks of lines, one per backward step (the
 * first one with its "backward from" line), and the totals' lines. */
function traceOf(text) {
  const lines = text.split('\n');
  let i = lines.findIndex(l => l.startsWith('backward from '));
  const steps = [], totals = [];
  if (i < 0) return { steps, totals };
  for (let j = i; j < lines.length; j++) {
    const l = lines[j];
    if (l === 'totals:') {
      for (j++; j < lines.length && lines[j].startsWith('  '); j++) totals.push(lines[j]);
      break;
    }
    if (!l.startsWith(' ') && !(j > i && lines[j - 1].startsWith('backward from '))) steps.push([]);
    steps[steps.length - 1].push(l);
  }
  return { steps, totals };
}

function lesson(name, extra) {
  const page = path.resolve(out, name + (extra.length ? '.' + extra.join('') : '') + '.html');
  const text = execFileSync(path.join(build, 'examples/lessons', name),
                            ['-o', out, '--html', page].concat(extra), { encoding: 'utf8' });
  return { page, trace: traceOf(text) };
}

async function open(browser, file) {
  const p = await browser.newPage();
  const seen = { errors: [], requests: [] };
  p.on('console', m => { if (m.type() === 'error') seen.errors.push(m.text()); });
  p.on('pageerror', e => seen.errors.push(e.message));
  p.on('request', r => seen.requests.push(r.url()));
  await p.setViewport({ width: 1280, height: 800 });
  await p.goto('file://' + file, { waitUntil: 'load' });
  return { p, seen };
}

const dom = p => p.evaluate(() => ({
  step: +document.getElementById('cr-step').getAttribute('data-step'),
  steps: +document.getElementById('cr-step').getAttribute('data-steps'),
  phase: document.getElementById('cr-step').getAttribute('data-phase'),
  lines: Array.from(document.querySelectorAll('#cr-lines .tl')).map(e => e.textContent),
  grads: Object.fromEntries(Array.from(document.querySelectorAll('.node[data-u]'))
    .filter(g => g.hasAttribute('data-grad'))
    .map(g => [g.getAttribute('data-name'), g.getAttribute('data-grad')])),
}));

/* Walk the page from step 0 to the end with the right arrow; compare with the trace. */
async function walk(browser, name, L) {
  const { p, seen } = await open(browser, L.page);
  let s = await dom(p);
  check(s.step === 0 && s.phase === 'start', name + ': opens at step 0');
  let b = 0, f = 0, last = s;
  for (let k = 1; k <= s.steps; k++) {
    await p.keyboard.press('ArrowRight');
    const now = await dom(p);
    check(now.step === k, name + ': step ' + k + ' after ArrowRight (got ' + now.step + ')');
    if (now.phase === 'forward') {
      check(now.lines.length === 1 && / = /.test(now.lines[0]), name + ': forward step ' + k + ' shows a value');
      f++;
    } else if (now.phase === 'backward') {
      const want = L.trace.steps[b] || [];
      check(JSON.stringify(now.lines) === JSON.stringify(want),
            name + ': backward step ' + (b + 1) + ' shows\n  ' + now.lines.join('\n  ') + '\nbut the trace has\n  ' +
            want.join('\n  '));
      b++;
    } else if (now.phase === 'totals') {
      check(JSON.stringify(now.lines) === JSON.stringify(L.trace.totals),
            name + ': totals ' + JSON.stringify(now.lines) + ' vs trace ' + JSON.stringify(L.trace.totals));
    }
    last = now;
  }
  check(b === L.trace.steps.length && b > 0, name + ': ' + b + ' backward steps, the trace has ' + L.trace.steps.length);
  check(last.phase === 'totals', name + ': ends on the totals');
  await p.keyboard.press('ArrowLeft');
  check((await dom(p)).step === s.steps - 1, name + ': ArrowLeft steps back');
  await p.keyboard.press('Home');
  check((await dom(p)).step === 0, name + ': Home goes to step 0');
  await p.click('#cr-last');
  check((await dom(p)).step === s.steps, name + ': the end button goes to the last step');
  return { p, seen, last, forward: f };
}

function clean(name, seen, file) {
  check(seen.errors.length === 0, name + ': console errors: ' + seen.errors.join(' | '));
  const others = seen.requests.filter(u => u !== 'file://' + file);
  check(others.length === 0, name + ': requests other than the page: ' + others.join(' '));
}

const num = s => Number(s);

/* every lesson's pages (as make graphs writes them): every step and every node's
   table without a console error or a request */
async function sweep(browser) {
  const lessonsDir = path.join(build, 'examples/lessons');
  const pagesDir = path.join(out, 'pages');
  fs.mkdirSync(pagesDir, { recursive: true });
  for (const l of fs.readdirSync(lessonsDir).filter(n => !n.includes('.')).sort())
    execFileSync(path.join(lessonsDir, l), ['-q', '-o', pagesDir, '--pages'], { stdio: 'ignore' });
  const pages = fs.readdirSync(pagesDir).filter(n => n.endsWith('.html')).sort();
  check(pages.length >= 12, 'lesson pages: ' + pages.length + ' (want one per graph, >= 12)');
  for (const name of pages) {
    const file = path.join(pagesDir, name);
    const { p, seen } = await open(browser, file);
    const res = await p.evaluate(() => {
      const n = window.crPage.steps;
      let shown = 0;
      for (let s = 0; s <= n; s++) {
        window.crPage.go(s);
        if (document.querySelectorAll('#cr-lines > div').length) shown++;
      }
      document.querySelectorAll('#cr-layers button').forEach(b => b.click());   /* open layers */
      const nodes = Array.from(document.querySelectorAll('.node[data-u]'));
      let tables = 0;
      nodes.forEach(g => {
        g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
        if (!document.getElementById('cr-detail').hidden) tables++;
      });
      return { n, shown, nodes: nodes.length, tables };
    });
    check(res.shown === res.n + 1, name + ': every step shows something in the panel (' + res.shown + ' of ' + (res.n + 1) + ')');
    check(res.nodes > 0 && res.tables === res.nodes, name + ': every node opens its table (' + res.tables + ' of ' + res.nodes + ')');
    clean(name, seen, file);
    await p.close();
  }
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    /* lesson 1: f = x·(x + y) at x = 2, y = 1 */
    let L = lesson('01_chain_rule', []);
    let r = await walk(browser, 'lesson 1', L);
    check(r.forward === 4, 'lesson 1: 4 forward steps (x, y, z, f), got ' + r.forward);
    check(L.trace.steps.length === 2, 'lesson 1: the trace has 2 backward steps');
    check(num(r.last.grads.x) === 5 && num(r.last.grads.y) === 2,
          'lesson 1: final gradients on the graph ∂f/∂x = 5, ∂f/∂y = 2, got ' + JSON.stringify(r.last.grads));
    check(r.last.lines.join('|') === '  ∂f/∂x = 5|  ∂f/∂y = 2', 'lesson 1: totals ∂f/∂x = 5, ∂f/∂y = 2');
    /* the running sum of x at its second path: 3 + 2 = 5 */
    await r.p.evaluate(() => window.crPage.go(window.crPage.forward + 2));
    const sums = await r.p.$$eval('#cr-lines .sum', e => e.map(x => x.textContent));
    check(sums.length === 1 && sums[0].includes('∂f/∂x = 3 + 2 = 5'), 'lesson 1: running sum 3 + 2 = 5: ' + sums);
    /* clicking a node shows its value */
    await r.p.click('.node[data-name="z"]');
    const cell = await r.p.$eval('#cr-detail', e => e.hidden ? '' : e.querySelector('td').textContent);
    check(cell === '3', 'lesson 1: clicking z shows its value 3, got ' + cell);
    clean('lesson 1', r.seen, L.page);
    await r.p.close();

    /* lesson 1 in Chinese: same trace lines, Chinese controls */
    L = lesson('01_chain_rule', ['--lang', 'zh']);
    r = await walk(browser, 'lesson 1 (zh)', L);
    const next = await r.p.$eval('#cr-next', e => e.textContent);
    check(next.includes('下一步'), 'lesson 1 (zh): the next button says 下一步, got ' + next);
    clean('lesson 1 (zh)', r.seen, L.page);
    await r.p.close();

    /* lesson 2: f = x·exp((x·3)·max(x, y)): ∂f/∂x = 25e¹², ∂f/∂y = 0 */
    L = lesson('02_exp_max', []);
    r = await walk(browser, 'lesson 2', L);
    const e12 = Math.exp(12);
    check(Math.abs(num(r.last.grads.x) / e12 - 25) < 25 * 1e-6, 'lesson 2: ∂f/∂x = 25e12, got ' + r.last.grads.x);
    check(r.last.grads.y === '0', 'lesson 2: ∂f/∂y = 0, got ' + r.last.grads.y);
    check(L.trace.steps.length === 5, 'lesson 2: 5 backward steps (f, e, w, m, a)');
    clean('lesson 2', r.seen, L.page);
    await r.p.close();

    /* lesson 6: the 3-5-2 network */
    L = lesson('06_backprop_352', []);
    r = await walk(browser, 'lesson 6', L);
    const shapes = await r.p.$$eval('.node[data-u]', e => Object.fromEntries(e.map(g =>
      [g.getAttribute('data-name'), (g.querySelector('.sh') || {}).textContent || ''])));
    check(/3x5/.test(shapes.W_IH) && /5x2/.test(shapes.W_HO) && /1x3/.test(shapes.X),
          'lesson 6: X 1x3, W_IH 3x5, W_HO 5x2: ' + JSON.stringify(shapes));
    check(L.trace.steps.length === 7, 'lesson 6: 7 backward steps, got ' + L.trace.steps.length);
    await r.p.click('.node[data-name="W_IH"]');
    const cells = await r.p.$$eval('#cr-detail table', t => t.map(x => x.querySelectorAll('td').length));
    check(cells.length === 2 && cells[0] === 15 && cells[1] === 15,
          'lesson 6: W_IH shows 15 values and 15 gradients: ' + cells);
    clean('lesson 6', r.seen, L.page);
    await r.p.close();

    /* a training step of the training program (MLP 2-8-8-3 on the spirals): drawn
       by layer, one closed box per layer; a click opens it; walks to the end */
    const trainPage = path.resolve(out, 'train.html');
    execFileSync(path.join(build, 'examples/train'), ['--no-progress', '--spiral-points', '60',
      '--hidden', '8,8', '--batch', '16', '--epochs', '1', '--max-steps', '1', '--out',
      path.resolve(out, 'train.crm'), '--html', trainPage], { stdio: 'ignore' });
    {
      const { p, seen } = await open(browser, trainPage);
      const count = () => p.evaluate(() => ({
        groups: document.querySelectorAll('.node.group').length,
        nodes: document.querySelectorAll('.node[data-u]').length }));
      const closed = await count();
      check(closed.groups === 3, 'train: three closed layers fc1, fc2, fc3, got ' + closed.groups);
      await p.click('.node.group');
      const opened = await count();
      check(opened.groups === 2 && opened.nodes > closed.nodes, 'train: a click opens a layer: ' +
            JSON.stringify(closed) + ' -> ' + JSON.stringify(opened));
      await p.keyboard.press('End');
      const end = await dom(p);
      check(end.phase === 'totals' && end.lines.length === 6,
            'train: ends on the 6 parameter gradients: ' + end.lines.length);
      clean('train', seen, trainPage);
      await p.close();
    }
    if (all === 'all') await sweep(browser);
  } catch (e) {
    check(false, 'exception: ' + (e && e.stack || e));
  } finally {
    await browser.close();
  }
  console.log('browser: ' + passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
})();
