// Browser test of the console on a city that is not the demo, driven by
// the Go test TestConsoleCity: node city.mjs BASE_URL SCREENSHOT.png
// Logs in, leaves the map where the console opens it, and reports where
// that is, the grids it renders there and its attribution line.
import { launchBrowser } from './browser.mjs';

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error('usage: node city.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}

const { browser, fail } = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  await page.goto(base + '/');
  await page.fill('#login-user', process.env.GRIDD_LOGIN);
  await page.fill('#login-pass', process.env.GRIDD_PASSWORD);
  await page.click('#login button[type=submit]');
  // No jump, no zoom: the grids must be on the first screen.
  await page.waitForFunction(() => window.griddMap && window.griddMap.loaded() && window.griddMap.areTilesLoaded()
    && window.griddMap.getLayer('grids-fill') && window.griddMap.queryRenderedFeatures({ layers: ['grids-fill'] }).length > 0,
  null, { timeout: 30000 }).catch(async () => {
    const where = await page.evaluate(() => window.griddMap && { center: window.griddMap.getCenter(), zoom: window.griddMap.getZoom() });
    await fail('no grids rendered on the first screen: ' + JSON.stringify(where));
  });
  const res = await page.evaluate(() => {
    const m = window.griddMap;
    const c = m.getCenter();
    const codes = m.queryRenderedFeatures({ layers: ['grids-fill'] }).map((f) => f.properties.code);
    return {
      center: [c.lng, c.lat], zoom: m.getZoom(), view: m.getBounds().toArray(), rendered: codes.length, codes: [...new Set(codes)].slice(0, 50),
      attribution: document.querySelector('#map .maplibregl-ctrl-attrib-inner')?.textContent || '',
    };
  });
  await page.screenshot({ path: shot });
  // An activation elsewhere (the Go test runs the CLI when asked): the map
  // follows it, its attribution line with it.
  if (process.env.GRIDD_ACTIVATE_URL) {
    const r = await fetch(process.env.GRIDD_ACTIVATE_URL, { method: 'POST' });
    if (!r.ok) await fail('activation: ' + r.status + ' ' + (await r.text()));
    const want = process.env.GRIDD_NEW_ATTRIBUTION;
    await page.waitForFunction((w) => (document.querySelector('#map .maplibregl-ctrl-attrib-inner')?.textContent || '').includes(w),
      want, { timeout: 30000 }).catch(() => {});
    Object.assign(res, await page.evaluate(() => ({
      attributionAfter: document.querySelector('#map .maplibregl-ctrl-attrib-inner')?.textContent || '',
      styleAfter: window.griddMap.getStyle().name,
    })));
  }
  if (errors.length) await fail('page errors: ' + errors.join('; '));
  console.log(JSON.stringify(res));
} catch (e) {
  await fail(String(e));
}
await browser.close();
