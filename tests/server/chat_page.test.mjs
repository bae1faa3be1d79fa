// The chat page at / in headless Chromium (Debian's chromium, driven by puppeteer-core): the API
// key field unlocks the API, a typed message streams its answer in (several DOM updates), the stop
// button ends a generation mid-stream (the server sees the client leave), a reload finds the
// conversation, stored model text renders as markdown without ever becoming markup, thoughts sit
// in a folded <details>, and "new chat" clears it. Writes a screenshot into OUT_DIR.
// usage: node chat_page.test.mjs GEMMA4_CLI MODEL_DIR REFS_NODE_MODULES CHROMIUM OUT_DIR
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { main, startServer, check, REFS } from './harness.mjs';

const [CHROMIUM, OUT_DIR] = process.argv.slice(5);
const KEY = 'page-key';

await main('server.chat_page', async () => {
  const puppeteer = createRequire(path.resolve(REFS, 'index.js'))('puppeteer-core');
  const server = await startServer(['-t', '1', '--api-key', KEY]);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-chromium-'));
  // A closed network: nothing in the background, a fresh profile, no sandbox (containers).
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1000, height: 800 });
    const problems = [];
    const bodies = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) problems.push(`console: ${m.text()}`); });
    page.on('request', (r) => {
      if (!r.url().startsWith(server.base + '/') && !r.url().startsWith('data:')) problems.push(`foreign request: ${r.url()}`);
      if (r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData()));
    });
    const state = () => page.evaluate(() => document.body.dataset.state);
    const waitIdle = () => page.waitForFunction(() => document.body.dataset.state === 'idle', { timeout: 60000 });
    const assistants = () => page.$$eval('#log .msg.assistant', (els) => els.map((e) => ({
      text: e.querySelector('.content').textContent, meta: e.querySelector('.meta')?.textContent ?? '',
      error: e.querySelector('.error')?.textContent ?? '' })));

    const res = await page.goto(server.base + '/');
    check(res.status() === 200, `GET / answered ${res.status()}`, server);
    assert.match(res.headers()['content-security-policy'], /script-src 'sha256-/);
    // Without the key the API says so in the header; with it, the model's name shows.
    await page.waitForFunction(() => document.getElementById('model').textContent.includes('API key'));
    await page.click('#toggle-settings');
    await page.$eval('#log', (log) => { log.scrollTop = log.scrollHeight; });
    await page.type('#api_key', KEY);
    await page.type('#temperature', '0');
    await page.type('#max_tokens', '300');  // long enough to span many frames even on a fast machine
    await page.keyboard.press('Tab');  // 'change' on the key field
    await page.waitForFunction(() => document.getElementById('model').textContent === 'text-q4');

    // 1. A message streams in: the answer's text grows over several DOM updates.
    await page.evaluate(() => {
      window.seen = [];
      new MutationObserver(() => {
        const c = document.querySelector('#log .msg.assistant:last-child .content');
        if (c && c.textContent.length && window.seen.at(-1) !== c.textContent.length) window.seen.push(c.textContent.length);
      }).observe(document.getElementById('log'), { childList: true, subtree: true, characterData: true });
    });
    await page.type('#input', 'Bonjour ! Raconte une histoire.');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.dataset.state === 'streaming');
    await waitIdle();
    const first = (await assistants())[0];
    check(!first.error, `first answer failed: ${first.error}`, server);
    check(first.text.length > 0, 'first answer is empty', server);
    assert.match(first.meta, /\d+ tokens/);
    const seen = await page.evaluate(() => window.seen);
    check(seen.length > 1, `the answer arrived in ${seen.length} DOM update(s): ${seen}`, server);
    console.log(`server.chat_page: the first answer grew over ${seen.length} DOM updates (${seen.join(' ')} characters)`);
    assert.deepEqual(bodies[0].messages, [{ role: 'user', content: 'Bonjour ! Raconte une histoire.' }]);
    assert.equal(bodies[0].stream, true);
    assert.equal(bodies[0].temperature, 0);
    assert.equal(bodies[0].max_tokens, 300);
    assert.equal(bodies[0].chat_template_kwargs, undefined);

    // 2. Stop mid-stream: a long answer (thinking on), stopped once its first tokens show.
    await page.click('#thinking');
    await page.click('#max_tokens', { clickCount: 3 });
    await page.type('#max_tokens', '4000');
    await page.type('#input', 'Encore, plus longue.');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const m = document.querySelector('#log .msg.assistant:last-child');
      return m && (m.querySelector('.content').textContent.length > 0 || m.querySelector('details')) ;
    }, { timeout: 60000, polling: 'mutation' });
    check(await state() === 'streaming', 'the long answer ended before it could be stopped', server);
    await page.click('#stop');
    await waitIdle();
    const stopped = (await assistants())[1];
    assert.match(stopped.meta, /stopped/);
    assert.deepEqual(bodies[1].chat_template_kwargs, { enable_thinking: true });
    assert.equal(bodies[1].messages.length, 3);  // the first exchange, then the new question
    // The server saw the client leave and cancelled the generation.
    const left = /POST \/v1\/chat\/completions .*(client disconnected|\(cancelled\))/;
    for (let i = 0; i < 100 && !left.test(server.log()); ++i) await new Promise((r) => setTimeout(r, 100));
    check(left.test(server.log()), 'the server did not log the stopped request as cancelled', server);

    // 3. Reload: the conversation and the settings come back.
    await page.reload();
    await page.waitForSelector('#log .msg');
    const restored = await page.$$eval('#log .msg', (els) => els.map((e) => e.className));
    assert.deepEqual(restored, ['msg user', 'msg assistant', 'msg user', 'msg assistant']);
    const again = await assistants();
    assert.equal(again[0].text, first.text);
    assert.match(again[1].meta, /stopped/);
    assert.equal(await page.$eval('#max_tokens', (e) => e.value), '4000');
    assert.equal(await page.$eval('#thinking', (e) => e.checked), true);
    assert.equal(await page.$eval('#api_key', (e) => e.value), KEY);

    // 4. Stored model text renders as markdown and never as markup; thoughts are folded.
    const hostile = [
      '# Title', 'Some **bold**, *italic*, `<code>` and [a link](https://example.com/a_b_c).',
      '- one', '- two', '1. first', '```js', 'const x = "<script>alert(1)</script>";', '```',
      '<img src=x onerror="window.pwned=1"> [bad](javascript:alert(1)) <b>not bold</b>'].join('\n');
    await page.evaluate((content) => {
      const chat = JSON.parse(localStorage.getItem('gemma4.chat'));
      chat.messages.push({ role: 'user', content: '<i>hi</i>' }, { role: 'assistant', content, reasoning: 'Let me think <b>hard</b>.' });
      localStorage.setItem('gemma4.chat', JSON.stringify(chat));
    }, hostile);
    await page.reload();
    await page.waitForSelector('#log .msg:nth-child(6)');
    const last = '#log .msg.assistant:last-child';
    const html = await page.$eval(`${last} .content`, (e) => e.innerHTML);
    assert.match(html, /<h1>Title<\/h1>/);
    assert.match(html, /<strong>bold<\/strong>, <em>italic<\/em>, <code>&lt;code&gt;<\/code>/);
    assert.match(html, /<a href="https:\/\/example.com\/a_b_c" target="_blank" rel="noopener noreferrer">a link<\/a>/);
    assert.match(html, /<ul><li>one<\/li><li>two<\/li><\/ul><ol><li>first<\/li><\/ol>/);
    assert.match(html, /<pre><code class="language-js">const x = "&lt;script&gt;alert\(1\)&lt;\/script&gt;";<\/code><\/pre>/);
    assert.equal(await page.$$eval('#log img, #log script, #log b, #log i', (e) => e.length), 0);
    assert.equal(await page.$$eval('#log a[href^="javascript"]', (e) => e.length), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.$eval('#log .msg.user:nth-last-child(2)', (e) => e.textContent), '<i>hi</i>');
    const thought = await page.$eval(`${last} details`, (d) => ({ open: d.open, summary: d.querySelector('summary').textContent,
      text: d.querySelector('.thought').textContent }));
    assert.deepEqual(thought, { open: false, summary: 'Thoughts', text: 'Let me think <b>hard</b>.' });
    await page.click(`${last} summary`);
    await page.click('#toggle-settings');
    await page.$eval('#log', (log) => { log.scrollTop = log.scrollHeight; });

    const shot = path.resolve(OUT_DIR, 'chat_page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`server.chat_page: screenshot ${shot}`);

    // 5. New chat: an empty page, and it stays empty after a reload.
    await page.click('#new-chat');
    await page.reload();
    await page.waitForSelector('#log .empty');
    assert.equal(await page.$$eval('#log .msg', (e) => e.length), 0);
    check(problems.length === 0, `the page had problems:\n${problems.join('\n')}`, server);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await server.stop();
  }
});
