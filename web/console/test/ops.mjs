// Browser test of the console's operator side, driven by the Go test
// TestConsoleOps: node ops.mjs BASE_URL SCREENSHOT_PREFIX
// (screenshots go to PREFIX-search.png, -queue.png, -case.png, -street.png).
// The Go test makes the accounts and people and passes them in the
// environment: GRIDD_LOGIN/PASSWORD (a dispatcher), GRIDD_STREET_LOGIN/
// PASSWORD (a street's dispatcher), GRIDD_DEV_TOKEN (to post a case and
// to act as its handler through the API), GRIDD_GRID and GRIDD_CHAIN (the
// grid to search and its chain), GRIDD_LON/LAT (a point in it),
// GRIDD_ASSIGNEE (the person routing suggests), GRIDD_OWN/OTHER (cases in
// the street user's street and in another). Prints one JSON line.
import { launchBrowser } from './browser.mjs';

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error('usage: node ops.mjs BASE_URL SCREENSHOT_PREFIX');
  process.exit(2);
}
const env = process.env;

const { browser, fail } = await launchBrowser();
const check = (ok, msg) => {
  if (!ok) throw new Error(msg);
};

// The API as the development token, acting as actor in role.
async function devAPI(method, path, body, actor, role) {
  const headers = { Authorization: 'Bearer ' + env.GRIDD_DEV_TOKEN, 'Content-Type': 'application/json' };
  if (actor) headers['X-Gridd-Actor'] = actor;
  if (role) headers['X-Gridd-Role'] = role;
  const res = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

async function login(page, user, password) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login-user', user);
  await page.fill('#login-pass', password);
  await page.click('#login button[type=submit]');
  // The console is usable once the style is in: the queue and the
  // incidents layer do not wait for the coverage's tiles.
  await page.waitForFunction(() => window.griddMap && window.griddMap.getLayer('grids-outline'), null, { timeout: 30000 });
}

const result = { ms: {} };
const start = Date.now();
const lap = (name) => { result.ms[name] = Date.now() - start; };
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  // Generous waits for a busy machine (the first tiles of a generation
  // are built while the test runs); the 2 s of the live step are its own.
  page.setDefaultTimeout(60000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');

  // 1. Log in through the form; the page is in Chinese.
  await login(page, env.GRIDD_LOGIN, env.GRIDD_PASSWORD);
  lap('login');
  check(await page.textContent('#queue h2') === '案件队列', 'the queue is not titled in Chinese');

  // 2. Search the grid's code: pick it, the panel shows its chain.
  await page.fill('#area-search', env.GRIDD_GRID);
  await page.click(`#search-results button[data-code="${env.GRIDD_GRID}"]`);
  await page.waitForFunction((n) => document.querySelectorAll('#panel:not([hidden]) #panel-chain code').length === n,
    env.GRIDD_CHAIN.split(',').length, { timeout: 30000 });
  result.chain = await page.locator('#panel-chain code').allTextContents();
  const sel = await page.evaluate((code) => window.griddMap.getFeatureState({ source: 'grids', sourceLayer: 'grids', id: Number(code) }), env.GRIDD_GRID);
  check(sel.selected === true, 'the searched grid is not selected on the map: ' + JSON.stringify(sel));
  await page.screenshot({ path: shot + '-search.png' });
  lap('search');

  // 3. A case posted through the API appears in the queue and on the map.
  const t0 = Date.now();
  const inc = await devAPI('POST', '/api/v1/incidents', {
    category: 'E0102', lon: Number(env.GRIDD_LON), lat: Number(env.GRIDD_LAT), description: '路口暴露垃圾', address: '测试路口', source: 'hotline',
    reporter: { name: '王先生', phone: '13912345678' },
  }, 'hotline-agent');
  result.incident = inc.id;
  const row = `#queue-list li[data-id="${inc.id}"]`;
  await Promise.all([
    page.waitForSelector(row, { timeout: 2000 }).then(() => { result.queueMs = Date.now() - t0; }),
    page.waitForFunction((id) => window.griddMap.queryRenderedFeatures({ layers: ['incidents-points'] }).some((f) => f.id === id),
      inc.id, { timeout: 2000, polling: 50 }).then(() => { result.mapMs = Date.now() - t0; }),
  ]);
  check(await page.getAttribute(row, 'data-due') === 'ok', 'a new case is not green');
  await page.screenshot({ path: shot + '-queue.png' });
  lap('live');

  // 4. Through the case drawer: register, dispatch to the suggested person.
  const caseState = async (state) => page.waitForSelector(`#case:not([hidden]) #case-state[data-state="${state}"]`, { timeout: 30000 });
  const buttons = async () => page.locator('#case .buttons button').evaluateAll((bs) => bs.map((b) => b.dataset.action));
  result.states = [];
  await page.click(row);
  await caseState('reported');
  check(JSON.stringify(await buttons()) === JSON.stringify(['register', 'cancel']), 'reported case offers ' + await buttons());
  await page.click('#case button[data-action=register]');
  await caseState('registered');
  result.states.push('registered');
  check(await page.inputValue('#case-assignee') === env.GRIDD_ASSIGNEE, 'the suggested assignee is not pre-filled');
  await page.fill('#case-note', '请尽快处置');
  await page.click('#case button[data-action=dispatch]');
  await caseState('dispatched');
  result.states.push('dispatched');
  // The centre may not accept for the handler: the drawer does not offer it.
  check(!(await buttons()).includes('accept'), 'a dispatcher is offered accept');

  // The handler accepts and reports it handled (through the API); the
  // drawer follows the stream.
  for (const action of ['accept', 'handle']) {
    const cur = await devAPI('GET', `/api/v1/incidents/${inc.id}`);
    await devAPI('POST', `/api/v1/incidents/${inc.id}/transitions`, { action, version: cur.version, note: '已处理' }, 'cg-1', 'chengguan');
  }
  await caseState('handled');
  result.states.push('handled');
  await page.click('#case button[data-action=verify]');
  await caseState('verified');
  result.states.push('verified');
  await page.waitForSelector('#case-history li[data-action=verify]');
  await page.waitForFunction(() => window.griddMap.areTilesLoaded(), null, { timeout: 30000 });
  await page.screenshot({ path: shot + '-case.png' });
  // Hover outlines the area under the pointer (feature-state).
  await page.mouse.move(400, 500);
  const hover = await page.evaluate(() => {
    const m = window.griddMap;
    const f = m.queryRenderedFeatures([400, 500 - m.getContainer().getBoundingClientRect().top], { layers: ['grids-fill'] })[0];
    return f ? m.getFeatureState({ source: 'grids', sourceLayer: 'grids', id: f.id }).hover === true : 'no grid under the pointer';
  });
  check(hover === true, 'hover state: ' + hover);
  // The layer switcher: a department's own layer, the incidents layer.
  await page.click('#layers-toggle');
  const dept = await page.locator('#layers label[data-layer^="dept-"]').first();
  const deptLayer = await dept.getAttribute('data-layer');
  await dept.locator('input').check();
  check(await page.evaluate((id) => window.griddMap.getLayoutProperty(id, 'visibility'), deptLayer) === 'visible', deptLayer + ' did not show');
  await page.locator('#layers label[data-layer="incidents-points"] input').uncheck();
  check(await page.evaluate(() => window.griddMap.getLayoutProperty('incidents-points', 'visibility')) === 'none', 'the incidents layer did not hide');
  await page.locator('#layers label[data-layer="incidents-points"] input').check();
  await page.click('#layers-toggle');
  await page.click('#case button[data-action=close]');
  await caseState('closed');
  result.states.push('closed');
  // Closed cases leave the queue of open ones.
  await page.waitForSelector(row, { state: 'detached', timeout: 5000 });
  lap('workflow');

  // 4a. 群众签单: the dispatcher makes the citizen's link in the drawer; the
  // citizen, with no account, is not satisfied; the drawer follows the
  // case back to rework and shows the verdict.
  await page.click('#case-verdict #verdict-link');
  await page.waitForSelector('#verdict-link-out:not([hidden]) input', { timeout: 10000 });
  const verdictURL = await page.inputValue('#verdict-link-out input');
  check(verdictURL.startsWith(base + '/verdict/'), 'verdict link ' + verdictURL);
  const vres = await fetch(base + '/api/v1/verdicts', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ link: verdictURL.slice((base + '/verdict/').length), satisfied: false, comment: '路口还有垃圾' }) });
  check(vres.status === 201, 'the citizen\'s verdict: ' + vres.status);
  await caseState('dispatched');
  await page.waitForSelector('#case-verdict p[data-satisfied=false]', { timeout: 10000 });
  await page.waitForSelector('#case-history li[data-action=reopen]', { timeout: 10000 });
  result.states.push('reopened');
  lap('verdict');

  // 4b. A second report of one problem, 10 m from the first: the drawer
  // shows it may repeat the first, and the dispatcher merges it.
  const report = (dlon, what) => devAPI('POST', '/api/v1/incidents', {
    category: 'E0103', lon: Number(env.GRIDD_LON) + dlon, lat: Number(env.GRIDD_LAT), description: what, source: 'hotline',
  }, 'hotline-agent');
  const dupA = await report(0, '占道堆物');
  const dupB = await report(0.0001, '又有人占道堆物');
  await page.waitForSelector(`#queue-list li[data-id="${dupB.id}"]`, { timeout: 5000 });
  await page.click(`#queue-list li[data-id="${dupB.id}"]`);
  await page.waitForSelector(`#case-duplicates #dup-candidates li[data-id="${dupA.id}"]`, { timeout: 10000 });
  await page.screenshot({ path: shot + '-duplicate.png' });
  await page.click(`#dup-candidates button[data-into="${dupA.id}"]`);
  await page.waitForSelector('#case-duplicates #dup-merged', { timeout: 10000 });
  check((await page.textContent('#case h2')).includes(String(dupA.id)), 'after the merge the drawer does not show the surviving case');
  result.duplicate = { into: dupA.id, merged: dupB.id, state: (await devAPI('GET', `/api/v1/incidents/${dupB.id}`, null, 'ops')).state };
  lap('duplicate');

  // 4c. 吹哨报到: the dispatcher summons 公安 and 市场监管 on the reopened
  // case from its drawer and sees both children; 公安's officer, signed
  // in, finds the summons in the department's queue and reports (报到).
  await page.waitForSelector(`#queue-list li[data-id="${result.incident}"]`, { timeout: 10000 });
  await page.click(`#queue-list li[data-id="${result.incident}"]`);
  await page.waitForSelector('#case-summons #summon', { timeout: 10000 });
  await page.check('#case-summons input[name=summons-dept][value=gongan]');
  await page.check('#case-summons input[name=summons-dept][value=shichang]');
  await page.fill('#summons-task', '联合整治占道经营');
  await page.click('#case-summons #summon');
  await page.waitForFunction(() => document.querySelectorAll('#summons-list li[data-dept]').length === 2, null, { timeout: 10000 });
  result.summons = await page.locator('#summons-list li[data-dept]').evaluateAll((ls) => ls.map((l) => ({ id: Number(l.dataset.id), dept: l.dataset.dept, state: l.dataset.state })));
  await page.screenshot({ path: shot + '-summons.png' });
  await page.click('#logout');
  await login(page, env.GRIDD_DEPT_LOGIN, env.GRIDD_DEPT_PASSWORD);
  const mine = result.summons.find((x) => x.dept === 'gongan');
  const other = result.summons.find((x) => x.dept === 'shichang');
  await page.waitForSelector(`#summons-queue-list li[data-id="${mine?.id}"] button[data-action=accept]`, { timeout: 30000 });
  check(await page.locator(`#summons-queue-list li[data-id="${other?.id}"]`).count() === 0, 'the 公安 officer sees 市场监管\'s summons');
  await page.click(`#summons-queue-list li[data-id="${mine.id}"] button[data-action=accept]`);
  await page.waitForSelector(`#summons-queue-list li[data-id="${mine.id}"][data-state=accepted]`, { timeout: 10000 });
  result.deptQueue = await page.locator('#summons-queue-list li[data-id]').evaluateAll((ls) => ls.map((l) => Number(l.dataset.id)));
  await page.screenshot({ path: shot + '-dept.png' });
  lap('summons');

  // 5. A street's dispatcher sees their street's case, not another's.
  await page.click('#logout');
  await login(page, env.GRIDD_STREET_LOGIN, env.GRIDD_STREET_PASSWORD);
  await page.waitForSelector(`#queue-list li[data-id="${env.GRIDD_OWN}"]`, { timeout: 30000 });
  result.streetQueue = (await page.locator('#queue-list li[data-id]').evaluateAll((ls) => ls.map((l) => Number(l.dataset.id))));
  check(!result.streetQueue.includes(Number(env.GRIDD_OTHER)), 'the street dispatcher sees another street\'s case');
  // English on request, Chinese again after.
  await page.click('#lang');
  check(await page.textContent('#queue h2') === 'Incident queue', 'the queue did not switch to English');
  check((await page.textContent(`#queue-list li[data-id="${env.GRIDD_OWN}"] .state`)) === 'Reported', 'the rows did not switch to English');
  await page.click('#lang');
  check(await page.textContent('#queue h2') === '案件队列', 'the queue did not switch back to Chinese');
  await page.screenshot({ path: shot + '-street.png' });
  lap('street');
  // The same on a laptop's screen, with the street's panel open.
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.fill('#area-search', env.GRIDD_CHAIN.split(',')[1]);
  await page.press('#area-search', 'Enter');
  await page.waitForSelector('#panel:not([hidden]) #panel-children button', { timeout: 30000 });
  check(await page.isHidden('#search-results'), 'the search results stay open after Enter');
  await page.waitForFunction(() => window.griddMap.loaded() && window.griddMap.areTilesLoaded(), null, { timeout: 30000 });
  await page.screenshot({ path: shot + '-laptop.png' });
  // Drill down: street → community → grid through the panel's children.
  const chain = env.GRIDD_CHAIN.split(',');
  for (const [i, code] of [[3, chain[2]], [4, chain[3]]]) {
    await page.click(`#panel-children button[data-code="${code}"]`);
    await page.waitForFunction((n) => document.querySelectorAll('#panel-chain code').length === n, i, { timeout: 30000 });
  }
  check((await page.locator('#panel-chain code').allTextContents()).join(',') === env.GRIDD_CHAIN, 'drill-down did not reach the grid');
  lap('drilldown');
  if (errors.length) await fail('page errors: ' + errors.join('; '));
  console.log(JSON.stringify(result));
} catch (e) {
  await fail(String(e.stack || e) + '\nso far: ' + JSON.stringify(result));
}
await browser.close();
