/* The pictures of docs/TUTORIAL.md and docs/TUTORIAL.zh.md: the pages of lessons
 * 1 and 2 (cr_tape_html) at step 0, mid-way through the backward pass and at the
 * end, in English and in Chinese, taken by headless chromium.
 * Usage: node screenshots.js BUILD_DIR OUT_DIR   (make page-shots) */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [build, out] = process.argv.slice(2).map(p => path.resolve(p));
/* step 0, a middle step of the backward pass (lesson 1: x's second path, the
   running sum 3 + 2 = 5; lesson 2: w = a·m), the end (totals) */
const shots = [['01_chain_rule', 'lesson1', b => [0, b.forward + 2, b.steps]],
               ['02_exp_max', 'lesson2', b => [0, b.forward + 3, b.steps]]];

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const tmp = fs.mkdtempSync('/tmp/cr-shots-');
  const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  for (const [lesson, tag, pick] of shots) {
    for (const lang of ['en', 'zh']) {
      const page = path.join(tmp, tag + '-' + lang + '.html');
      execFileSync(path.join(build, 'examples/lessons', lesson), ['-q', '-o', tmp, '--html', page, '--lang', lang],
                   { stdio: 'ignore' });
      const p = await browser.newPage();
      await p.setViewport({ width: 1200, height: 720 });
      await p.goto('file://' + page);
      const info = await p.evaluate(() => ({ forward: window.crPage.forward, steps: window.crPage.steps }));
      const names = ['start', 'mid', 'end'];
      const steps = pick(info);
      for (let i = 0; i < 3; i++) {
        await p.evaluate(s => window.crPage.go(s), steps[i]);
        const file = path.join(out, 'page-' + tag + '-' + names[i] + (lang === 'zh' ? '.zh' : '') + '.png');
        await p.screenshot({ path: file });
        console.log(file);
      }
      await p.close();
    }
  }
  await browser.close();
  fs.rmSync(tmp, { recursive: true, force: true });
})();
