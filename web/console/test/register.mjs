// Browser test of the register (实有人口) in the area panel, driven by the
// Go test TestConsoleRegister: node register.mjs BASE_URL SCREENSHOT_PREFIX.
// The environment names the accounts — GRIDD_VIEWER_*, GRIDD_DISP_* (the
// grid's street's dispatcher), GRIDD_BOSS_* (an admin of the district),
// each _LOGIN and _PASSWORD — the grid (GRIDD_GRID) and a tag with one
// household in it (GRIDD_TAG). A viewer sees the grid's counts with their
// source, its buildings on the map and in the panel, and its households
// masked, with nothing to reveal; the dispatcher filters by the tag, is
// refused a reveal without a reason, reveals one resident with one, and
// asks to export the grid; the admin above approves in the panel. Prints
// one JSON line of what each saw, for the Go test to check against the
// database. The viewer also finds a building by its address
// (GRIDD_ADDRESS, in grid GRIDD_ADDRESS_GRID).
import { launchBrowser } from './browser.mjs';

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error('usage: node register.mjs BASE_URL SCREENSHOT_PREFIX');
  process.exit(2);
}
const env = process.env;
const { browser, fail } = await launchBrowser();
const check = (ok, msg) => {
  if (!ok) throw new Error(msg);
};

async function session(who, { grid = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login-user', env[`GRIDD_${who}_LOGIN`]);
  await page.fill('#login-pass', env[`GRIDD_${who}_PASSWORD`]);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => window.griddMap && window.griddMap.getLayer('grids-outline'), null, { timeout: 30000 });
  if (!grid) return { page, errors, context };
  // The grid, by search: its panel with the register's first page.
  await page.fill('#area-search', env.GRIDD_GRID);
  await page.click(`#search-results button[data-code="${env.GRIDD_GRID}"]`);
  await page.waitForSelector('#panel:not([hidden]) #panel-register .household');
  return { page, errors, context };
}

const result = {};
try {
  // 1. The viewer: counts and their source, buildings, masked rows only.
  const v = await session('VIEWER');
  result.source = await v.page.getAttribute('#panel-households-source', 'data-source');
  result.households = await v.page.textContent('#panel-households');
  result.buildings = await v.page.textContent('#panel-buildings');
  await v.page.waitForSelector('#panel-building-list li[data-id]');
  result.buildingList = await v.page.locator('#panel-building-list li[data-id]').evaluateAll((ls) => ls.map((l) => l.dataset.id));
  result.viewerNames = await v.page.locator('#panel-register td.name').allTextContents();
  result.viewerReveal = await v.page.locator('#panel-register button.reveal').count();
  result.viewerText = await v.page.textContent('body');
  // The buildings layer from zoom 14: fly to the first listed building.
  await v.page.click('#panel-building-list li[data-id] button');
  await v.page.waitForFunction(() => {
    const m = window.griddMap;
    return m.getZoom() >= 14 && !m.isMoving() &&
      m.queryRenderedFeatures({ layers: ['buildings-points', 'buildings-fill'].filter((l) => m.getLayer(l)) }).length > 0;
  }, null, { timeout: 30000, polling: 200 });
  result.onMap = await v.page.evaluate(() => window.griddMap.queryRenderedFeatures({ layers: ['buildings-points', 'buildings-fill'] }).map((f) => f.properties.id));
  // Search by address (门牌): the building is a hit; picking it flies
  // there and opens its grid's panel.
  await v.page.fill('#area-search', env.GRIDD_ADDRESS);
  await v.page.waitForSelector('#search-results:not([hidden]) button[data-building]');
  result.addressHits = await v.page.locator('#search-results button[data-building]').evaluateAll((bs) => bs.map((b) => b.dataset.building));
  await v.page.locator('#search-results button[data-building]').first().click();
  await v.page.waitForFunction((g) => !document.getElementById('panel').hidden && document.getElementById('panel-chain').textContent.includes(g),
    env.GRIDD_ADDRESS_GRID, { timeout: 30000 });
  await v.page.waitForFunction(() => window.griddMap.getZoom() >= 16.5 && !window.griddMap.isMoving(), null, { timeout: 30000, polling: 200 });
  result.addressPanel = await v.page.textContent('#panel-chain');
  await v.page.screenshot({ path: shot + '-viewer.png' });
  check(v.errors.length === 0, 'viewer page errors: ' + v.errors.join('; '));
  await v.context.close();

  // 2. The dispatcher: the tag filter, a refused and a granted reveal, an
  // export request.
  const d = await session('DISP');
  await d.page.selectOption('#reg-tag', env.GRIDD_TAG);
  await d.page.waitForFunction(() => document.querySelectorAll('#panel-register .household').length === 1);
  result.tagMatched = await d.page.textContent('#reg-matched');
  const row = d.page.locator('#panel-register tr[data-resident]').first();
  result.resident = Number(await row.getAttribute('data-resident'));
  result.maskedName = await row.locator('td.name').textContent();
  await row.locator('button.reveal').click();
  await row.locator('button.reveal-confirm').click();
  await row.locator('small.error:not(:empty)').waitFor();
  result.noReason = await row.locator('small.error').textContent();
  check(!(await row.getAttribute('class') || '').includes('revealed'), 'revealed without a reason');
  await row.locator('input.reveal-reason').fill('走访核实独居老人情况');
  await row.locator('button.reveal-confirm').click();
  await d.page.waitForSelector(`#panel-register tr.revealed[data-resident="${result.resident}"]`);
  result.revealed = {
    name: await row.locator('td.name').textContent(),
    id: await row.locator('td.idno').textContent(),
  };
  await d.page.click('#reg-export summary');
  await d.page.fill('#reg-export-reason', '民政部门核对低保名单');
  await d.page.click('#reg-export-send');
  await d.page.waitForSelector('#reg-export-msg[data-id]');
  result.export = Number(await d.page.getAttribute('#reg-export-msg', 'data-id'));
  await d.page.screenshot({ path: shot + '-reveal.png' });
  check(d.errors.length === 0, 'dispatcher page errors: ' + d.errors.join('; '));
  await d.context.close();

  // 3. The district's admin approves it in the panel.
  const b = await session('BOSS');
  const req = `#reg-approvals [data-export="${result.export}"]`;
  await b.page.waitForSelector(req);
  await b.page.click(`${req} button.approve`);
  await b.page.waitForFunction((sel) => !document.querySelector(sel + ' button'), req);
  result.approved = await b.page.textContent(req);
  await b.page.screenshot({ path: shot + '-approve.png' });
  check(b.errors.length === 0, 'admin page errors: ' + b.errors.join('; '));
  await b.context.close();

  // 4. An activation that moves more households than the rule allows
  // (GRIDD_GEN, a draft): GIS staff are refused and ask; the top admin
  // approves in the GIS workspace; the second try activates.
  const g = await session('GIS', { grid: false });
  const activate = async () => {
    await g.page.click('#gis-activate');
    await g.page.waitForSelector('#gis-confirm[open]');
    await g.page.click('#gis-confirm-ok');
  };
  await g.page.click('nav [data-view=gis]');
  await g.page.click(`#gis-gens-table tr[data-gen="${env.GRIDD_GEN}"] button`);
  await g.page.waitForSelector(`#gis-report-title[data-gen="${env.GRIDD_GEN}"]`);
  await activate();
  await g.page.waitForSelector('#act-needed');
  result.refusal = await g.page.textContent('#act-needed p.error');
  await g.page.fill('#act-reason', '网格调整方案已经街道会审');
  await g.page.click('#act-ask');
  await g.page.waitForSelector('#act-msg[data-id]');
  result.activationRequest = Number(await g.page.getAttribute('#act-msg', 'data-id'));
  const top = await session('TOP', { grid: false });
  await top.page.click('nav [data-view=gis]');
  const ask = `#act-pending [data-request="${result.activationRequest}"]`;
  await top.page.waitForSelector(ask);
  await top.page.click(`${ask} button.approve`);
  await top.page.waitForFunction((sel) => !document.querySelector(sel + ' button'), ask);
  check(top.errors.length === 0, 'top admin page errors: ' + top.errors.join('; '));
  await top.context.close();
  await activate();
  await g.page.waitForSelector('#gis-activated');
  await g.page.waitForSelector(`#gis-gens-table tr[data-gen="${env.GRIDD_GEN}"][data-state=active]`);
  await g.page.screenshot({ path: shot + '-activated.png' });
  check(g.errors.length === 0, 'gis page errors: ' + g.errors.join('; '));
  await g.context.close();
} catch (e) {
  await fail(String(e.stack || e));
}
await browser.close();
console.log(JSON.stringify(result));
