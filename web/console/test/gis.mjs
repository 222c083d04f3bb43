// Browser test of the GIS workspace and the dashboard, driven by the Go test
// TestConsoleGis: node gis.mjs BASE_URL SCREENSHOT_DIR/console-gis.png
// Logs in as a gis user through the form, uploads a layer with the
// importer's options and reads its report, merges, reviews the report and
// the pieces on the map, activates the draft through the confirmation,
// compares the generations; then logs in as a viewer and checks that the
// dashboard's figures and charts show what GET /api/v1/metrics answers.
// Prints one JSON line with what it saw (the Go test checks it against the
// database and the API).
import { launchBrowser } from './browser.mjs';
import { dirname, join } from 'node:path';

const [base, shot] = process.argv.slice(2);
const env = process.env;
if (!base || !shot || !env.GRIDD_GIS_LOGIN || !env.GRIDD_VIEWER_LOGIN || !env.GRIDD_FIXTURE) {
  console.error('usage: GRIDD_GIS_LOGIN= GRIDD_GIS_PASSWORD= GRIDD_VIEWER_LOGIN= GRIDD_VIEWER_PASSWORD= GRIDD_FIXTURE=grids.geojson GRIDD_DEPT=dept node gis.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}
const shotDir = dirname(shot);
const shotPath = (name) => join(shotDir, name);
const LONG = { timeout: 90000 };

const { browser, fail } = await launchBrowser();
const check = async (ok, msg) => {
  if (!ok) await fail(msg);
};

async function login(page, user, pass) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#login-user', user);
  await page.fill('#login-pass', pass);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#login[hidden]', { state: 'attached' });
}

// mapIdle waits until a map (window[name]) has loaded its tiles.
async function mapIdle(page, name) {
  await page.waitForFunction((n) => window[n] && window[n].loaded() && window[n].areTilesLoaded(), name, LONG);
}

const result = { seconds: {} };
let mark = Date.now();
const lap = (name) => {
  result.seconds[name] = (Date.now() - mark) / 1000;
  mark = Date.now();
};
try {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Tile requests the map cancels while it moves are aborted, not failed.
  page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  // ---- the GIS workspace, as a gis user ----
  await page.goto(base + '/#gis');
  await login(page, env.GRIDD_GIS_LOGIN, env.GRIDD_GIS_PASSWORD);
  await page.waitForSelector('#view-gis:not([hidden]) #gis-upload');
  await page.waitForSelector('#gis-gens-table tr[data-state=active]');
  lap('login');

  // Upload with the importer's options: level, department, encoding.
  await page.setInputFiles('#gis-file', env.GRIDD_FIXTURE);
  await page.selectOption('#gis-level', 'grid');
  await page.fill('#gis-dept', env.GRIDD_DEPT);
  await page.selectOption('#gis-encoding', 'UTF-8');
  await page.click('#gis-upload button[type=submit]');
  await page.waitForSelector('#gis-job .status[data-state=done], #gis-job .status[data-state=failed], #gis-job .error', LONG);
  const jobState = await page.getAttribute('#gis-job .status', 'data-state');
  await check(jobState === 'done', 'import job: ' + (await page.textContent('#gis-job')));
  const dd = async (k) => (await page.textContent(`#gis-job dd[data-k=${k}]`)).trim();
  result.job = {
    status: (await page.textContent('#gis-job .status')).trim(),
    features: Number(await dd('features')),
    repaired: Number(await dd('repaired')),
    encoding: await dd('encoding'),
    issues: await page.locator('#gis-issues tbody tr').count(),
  };
  await page.screenshot({ path: shotPath('console-gis-upload.png') });
  lap('upload');

  // Merge into a draft: its report, its pieces on the map.
  await page.fill('#gis-base', 'zongzhi');
  await page.fill('#gis-merge input[name=note]', 'console test');
  await page.click('#gis-merge button[type=submit]');
  await page.waitForSelector('#gis-report-title[data-state=draft]', LONG);
  lap('merge');
  result.generation = Number(await page.getAttribute('#gis-report-title', 'data-gen'));
  result.reportGrids = Number((await page.textContent('#gis-levels tr[data-level=grid] td:nth-child(2)')).replace(/[^0-9]/g, ''));
  await page.waitForSelector('#gis-legend li[data-kind]', LONG);
  const counts = await page.$$eval('#gis-legend li[data-kind]', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.kind, Number(li.dataset.count)])));
  result.pieces = counts;
  result.piecesTotal = Object.values(counts).reduce((a, b) => a + b, 0);
  lap('pieces');
  // The pieces over the basemap and the active grids (the draft's dashed
  // lines may still be loading: their GCJ-02 geometry is made on first use).
  await page.waitForFunction(() => {
    const m = window.griddGisMap;
    return ['pieces', 'basemap', 'grids'].every((s) => m.isSourceLoaded(s)) && m.queryRenderedFeatures({ layers: ['pieces-fill'] }).length > 0;
  }, null, LONG);
  lap('map idle');
  result.renderedPieces = await page.evaluate(() => window.griddGisMap.queryRenderedFeatures({ layers: ['pieces-fill'] }).length);
  result.datum = await page.evaluate(() => window.griddGisMap.getStyle().metadata['gridd:datum']);
  result.basemapLayer = await page.evaluate(() => Boolean(window.griddGisMap.getLayer('basemap')));
  await page.screenshot({ path: shotPath('console-gis-merge.png') });
  lap('screenshot');

  // Disputed borders: the draft's list; the gis user confirms the largest
  // open one.
  await page.waitForSelector('#gis-disputes-summary', LONG);
  const dsum = (k) => page.getAttribute('#gis-disputes-summary', k).then(Number);
  result.disputes = { total: await dsum('data-total'), open: await dsum('data-open') };
  const openRow = page.locator('#gis-disputes-table tr[data-state=open]').first();
  result.disputes.confirmed = Number(await openRow.getAttribute('data-id'));
  await openRow.locator('button[data-action=show]').click();
  await openRow.locator('button[data-action=confirm]').click();
  await page.waitForSelector(`#gis-disputes-table tr[data-id="${result.disputes.confirmed}"][data-state=confirmed]`, LONG);
  result.disputes.openAfter = await dsum('data-open');
  await page.evaluate(() => document.querySelector('#gis-disputes').scrollIntoView());
  await page.screenshot({ path: shotPath('console-gis-disputes.png') });
  lap('disputes');

  // Activate through the confirmation dialog. (The 质量检查 button is not
  // pressed: the full topology check of a city takes longer than the rest
  // of this test; GET /check has its own tests.)
  await page.click('#gis-activate');
  await page.waitForSelector('#gis-confirm[open]');
  result.confirm = (await page.textContent('#gis-confirm p')).trim();
  await page.click('#gis-confirm-ok');
  await page.waitForSelector('#gis-activated', LONG);
  await page.waitForSelector(`#gis-gens-table tr[data-gen="${result.generation}"][data-state=active]`);
  result.reportState = await page.getAttribute('#gis-report-title', 'data-state');
  // The operator map follows: its grid tiles are the new generation's.
  await page.waitForFunction((gen) => (window.griddMap.getStyle()?.sources?.grids?.tiles || [])[0]?.includes(`gen=${gen}`),
    result.generation, LONG);

  // Compare the first generation with the new one.
  await page.selectOption('#gis-cmp-from', '1');
  await page.selectOption('#gis-cmp-to', String(result.generation));
  await page.click('#gis-cmp-go');
  await page.waitForSelector('#gis-compare-table');
  result.compareGrid = await page.$$eval('#gis-compare-table tr[data-level=grid] td', (tds) => tds.slice(1).map((td) => Number(td.textContent.replace(/[^0-9]/g, ''))));
  await page.evaluate(() => document.querySelector('#gis-compare').scrollIntoView());
  await page.screenshot({ path: shotPath('console-gis-activated.png') });
  lap('activate+compare');

  // The size review of the active generation's report, then a rebalance
  // draft with its histogram before and after.
  const histogram = async () => page.$$eval('#gis-histogram tbody tr', (trs) => trs.map((tr) => {
    const n = tr.querySelector('td.n').textContent.split('→').map((x) => Number(x.replace(/[^0-9]/g, '')));
    return { from: Number(tr.dataset.from), before: n.length > 1 ? n[0] : null, after: n[n.length - 1] };
  }));
  result.sizeRows = await histogram();
  await page.check('#gis-rebalance');
  await page.fill('#gis-merge input[name=note]', 'rebalance');
  await page.click('#gis-merge button[type=submit]');
  await page.waitForSelector(`#gis-report-title[data-gen="${result.generation + 1}"]`, LONG);
  await page.waitForSelector('#gis-size-done');
  result.rebalance = {
    generation: Number(await page.getAttribute('#gis-report-title', 'data-gen')),
    done: (await page.textContent('#gis-size-done')).trim(),
    rows: await histogram(),
  };
  await page.evaluate(() => document.querySelector('#gis-size').scrollIntoView());
  await page.screenshot({ path: shotPath('console-gis-rebalance.png') });
  lap('rebalance');

  // ---- the dashboard, as a viewer ----
  await page.evaluate(() => history.replaceState(null, '', '#dashboard')); // where the viewer lands
  await page.click('#logout');
  await login(page, env.GRIDD_VIEWER_LOGIN, env.GRIDD_VIEWER_PASSWORD);
  await page.waitForSelector('#view-dashboard[data-loaded] #dash-kpis .kpi', LONG);
  const dash = await page.evaluate(async () => {
    const root = document.getElementById('view-dashboard');
    const area = document.getElementById('dash-area').value;
    const by = document.getElementById('dash-by').value;
    const q = `area=${area}&from=${encodeURIComponent(root.dataset.from)}&to=${encodeURIComponent(root.dataset.to)}`;
    const total = (await (await fetch('/api/v1/metrics?' + q)).json()).metrics[0];
    const breakdown = (await (await fetch(`/api/v1/metrics?${q}&by=${by}`)).json()).metrics;
    const kpi = Object.fromEntries([...document.querySelectorAll('#dash-kpis .kpi')].map((k) => [k.dataset.k, Number(k.dataset.value)]));
    const kpiText = Object.fromEntries([...document.querySelectorAll('#dash-kpis .kpi')].map((k) => [k.dataset.k, k.querySelector('.kpi-v').textContent]));
    const bars = [...document.querySelectorAll('#dash-byarea svg g[data-area]')].map((g) => ({ area: g.dataset.area, value: Number(g.dataset.value) }));
    const cols = [...document.querySelectorAll('#dash-byperiod svg g[data-k=received]')].reduce((s, g) => s + Number(g.dataset.value), 0);
    return { area, by, total, breakdown, kpi, kpiText, bars, periodReceived: cols };
  });
  for (const k of ['received', 'closed', 'on_time_rate', 'overdue', 'reworked', 'rework_rate', 'verdicts', 'satisfaction_rate']) {
    await check(dash.kpi[k] === dash.total[k], `dashboard ${k} shows ${dash.kpi[k]}, the API says ${dash.total[k]}`);
  }
  await check(dash.kpiText.received === String(dash.total.received), `received reads ${dash.kpiText.received}`);
  await check(dash.bars.length === dash.breakdown.length, `${dash.bars.length} bars for ${dash.breakdown.length} areas`);
  for (const b of dash.breakdown) {
    await check(dash.bars.some((x) => x.area === b.area && x.value === b.received), `no bar of ${b.received} for ${b.area}`);
  }
  await check(dash.periodReceived === dash.total.received, `period chart counts ${dash.periodReceived}, total ${dash.total.received}`);
  // The map colours the areas by the figure (feature-state).
  await mapIdle(page, 'griddDashMap');
  await page.waitForFunction(() => window.griddDashMap.getLayer('dash-fill'), null, LONG);
  dash.mapStates = await page.evaluate((bd) => bd.map((b) => window.griddDashMap.getFeatureState({ source: 'streets', sourceLayer: 'streets', id: Number(b.area) }).v), dash.breakdown);
  for (let i = 0; i < dash.breakdown.length; i++) {
    await check(dash.mapStates[i] === dash.breakdown[i].received, `map state of ${dash.breakdown[i].area} is ${dash.mapStates[i]}`);
  }
  await page.screenshot({ path: shotPath('console-dashboard.png') });
  // Another figure recolours the map and redraws the bars.
  await page.selectOption('#dash-metric', 'closed');
  await page.waitForFunction((bd) => bd.every((b) => window.griddDashMap.getFeatureState({ source: 'streets', sourceLayer: 'streets', id: Number(b.area) }).v === b.closed)
    && document.querySelector('#dash-byarea svg').dataset.metric === 'closed', dash.breakdown, LONG);
  dash.closedBars = await page.$$eval('#dash-byarea svg g[data-area]', (gs) => gs.map((g) => ({ area: g.dataset.area, value: Number(g.dataset.value) })));
  // English switch.
  await page.click('#lang');
  dash.englishLabel = (await page.textContent('#dash-kpis .kpi[data-k=received] .kpi-l')).trim();
  result.dashboard = { received: dash.total.received, closed: dash.total.closed, onTimeRate: dash.total.on_time_rate,
    bars: dash.bars, closedBars: dash.closedBars, mapStates: dash.mapStates, by: dash.by, englishLabel: dash.englishLabel, kpiText: dash.kpiText };

  lap('dashboard');
  if (errors.length) await fail('page errors: ' + errors.slice(0, 10).join('; '));
  console.log(JSON.stringify(result));
} catch (e) {
  await fail(String(e) + '\nseen so far: ' + JSON.stringify(result));
}
await browser.close();
