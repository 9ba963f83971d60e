// End-to-end test of the Chinese web UI in a real browser (Debian's Chromium, driven by
// playwright-core). Started by e2e/run.sh, which serves a freshly seeded demo store and passes
// its address in ECOWARDEN_URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.ECOWARDEN_URL || '').replace(/\/$/, '');
const PASSWORD = 'Demo-2024!';
const ARTIFACTS = path.resolve(
  process.env.E2E_ARTIFACTS || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts'),
);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

let browser;

before(async () => {
  assert.ok(BASE, 'ECOWARDEN_URL must be set (run e2e/run.sh)');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
});

/** A fresh browser context (own cookies) with a page whose failures are recorded. */
async function newPage() {
  const context = await browser.newContext({
    baseURL: BASE,
    locale: 'zh-CN',
    viewport: { width: 1366, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // HTTP errors are checked by status below; the console only repeats them.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  // Error statuses other than the ones a test expects, e.g. a missing asset.
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() >= 400 && u.pathname !== '/favicon.ico') {
      problems.push(`${r.status()} ${r.request().method()} ${u.pathname}${u.search}`);
    }
  });
  // The app serves every asset itself (bureau intranets have no internet): any request
  // leaving the server under test is a bug.
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE) && !u.startsWith('data:') && !u.startsWith('about:')) {
      problems.push(`request outside the app: ${u}`);
    }
  });
  return { context, page, problems };
}

/** Fills in and submits the login form (the page at hand may already be /login?next=…). */
async function submitLogin(page, username, password) {
  if (new URL(page.url()).pathname !== '/login') await page.goto('/login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login');
}

/** Signs in and waits for the page the login form's `next` leads to. */
async function login(page, username) {
  await submitLogin(page, username, PASSWORD);
  await page.waitForURL((u) => u.pathname !== '/login', { waitUntil: 'load' });
}

/** A session over the JSON API, for finding data the browser user may not see. */
async function apiSession(username) {
  const res = await fetch(`${BASE}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200, `API login of ${username}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('ew_session='));
  assert.ok(cookie, 'API login sets ew_session');
  return {
    async get(p) {
      const r = await fetch(`${BASE}${p}`, { headers: { cookie } });
      assert.equal(r.status, 200, `GET ${p} as ${username}`);
      return r.json();
    },
  };
}

test('a wrong password is refused with a Chinese message', async () => {
  const { context, page, problems } = await newPage();
  try {
    // Another account than the flow below uses, so its failure counter stays at zero.
    await submitLogin(page, 'xm_leader', 'not-the-password');
    await page.locator('.login .error').waitFor();
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match(await page.locator('.login .error').innerText(), /用户名或密码错误/);
    // No session cookie was handed out.
    const cookies = await context.cookies();
    assert.equal(cookies.filter((c) => c.name === 'ew_session' && c.value).length, 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'login-error.png') });
    assert.deepEqual(problems, ['401 POST /login']);
  } finally {
    await context.close();
  }
});

test('county officer: dashboard, case list, case page, out-of-scope case, logout', async (t) => {
  const { context, page, problems } = await newPage();
  try {
    await t.test('an anonymous visit goes to the login page', async () => {
      await page.goto('/');
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login');
      assert.equal(u.searchParams.get('next'), '/');
      assert.equal(await page.title(), '登录 · 生态环境执法效能平台');
    });

    await t.test('login lands on the dashboard with its charts drawn', async () => {
      await login(page, 'gulou');
      assert.equal(new URL(page.url()).pathname, '/');
      await page.waitForFunction(() => document.body.dataset.chartsReady === '1');
      assert.match(await page.locator('header .who').innerText(), /吴海燕 · 县级执法人员/);
      assert.match(await page.locator('h1').first().innerText(), /年执法概况/);
      const kpi = Number((await page.locator('#kpi-cases').innerText()).trim());
      assert.ok(Number.isInteger(kpi) && kpi > 0, `#kpi-cases is a positive count, got ${kpi}`);
      for (const id of ['chart-month', 'chart-region', 'chart-source']) {
        const canvas = page.locator(`#${id} canvas`).first();
        await canvas.waitFor({ state: 'attached' });
        const size = await canvas.evaluate((c) => ({
          w: c.width,
          h: c.height,
          box: c.getBoundingClientRect().width * c.getBoundingClientRect().height,
          // Something was painted: not every pixel is transparent.
          painted: (() => {
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
            return false;
          })(),
        }));
        assert.ok(size.w > 0 && size.h > 0 && size.box > 0, `#${id} canvas has a size: ${JSON.stringify(size)}`);
        assert.ok(size.painted, `#${id} canvas is painted`);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    });

    let firstCaseNo;
    await t.test('the case list shows only the county\'s cases', async () => {
      await page.click('nav.side a[href="/cases"]');
      await page.waitForURL((u) => u.pathname === '/cases');
      const rows = page.locator('#case-list tbody tr');
      assert.ok((await rows.count()) > 0);
      const regions = await page.locator('#case-list tbody tr td:nth-child(3)').allInnerTexts();
      assert.ok(regions.length > 0);
      assert.deepEqual([...new Set(regions.map((r) => r.trim()))], ['350102']);
      firstCaseNo = (await page.locator('#case-list tbody tr a').first().innerText()).trim();
      await page.screenshot({ path: path.join(ARTIFACTS, 'cases.png'), fullPage: false });
    });

    await t.test('a case page opens from the list', async () => {
      await page.locator('#case-list tbody tr a').first().click();
      await page.waitForURL(/\/cases\/\d+$/);
      // The heading is the case number (possibly followed by the status).
      const h1 = (await page.locator('main h1').innerText()).trim();
      assert.ok(h1.startsWith(firstCaseNo), `heading ${h1} names case ${firstCaseNo}`);
      assert.match(await page.locator('dl.fields').innerText(), /鼓楼区（350102）/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'case.png') });
    });

    await t.test('a case of 台江区 answers 403 无权访问', async () => {
      const taijiang = await apiSession('taijiang');
      const list = await taijiang.get('/api/v1/cases?region=350103');
      assert.ok(list.items.length > 0, 'taijiang has cases');
      const other = list.items[0];
      assert.equal(other.region_code, '350103');
      const res = await page.goto(`/cases/${other.id}`);
      assert.equal(res.status(), 403);
      assert.match(await page.locator('body').innerText(), /无权访问/);
      assert.doesNotMatch(await page.content(), new RegExp(other.case_no));
      await page.screenshot({ path: path.join(ARTIFACTS, 'forbidden.png') });
      // Filtering the list by the other county is refused too.
      const res2 = await page.goto('/cases?region=350103');
      assert.equal(res2.status(), 403);
      assert.match(await page.locator('body').innerText(), /无权访问/);
    });

    await t.test('logout ends the session', async () => {
      await page.goto('/');
      await Promise.all([page.waitForURL((u) => u.pathname === '/login'), page.click('#logout')]);
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.locator('#username').waitFor();
      await page.goto('/');
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.goto('/cases');
      const u = new URL(page.url());
      assert.equal(u.pathname, '/login');
      assert.equal(u.searchParams.get('next'), '/cases');
    });

    // Only the two refusals asked for above, no failed asset or script error.
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0], /^403 GET \/cases\/\d+$/);
    assert.equal(problems[1], '403 GET /cases?region=350103');
  } finally {
    await context.close();
  }
});
