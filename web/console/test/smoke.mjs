// Browser smoke test of the console, driven by the Go test
// TestConsoleInChromium: node smoke.mjs BASE_URL SCREENSHOT.png
// Loads the page in Debian's headless Chromium, waits until the map has
// rendered grid tiles, clicks a grid and checks the panel's code chain.
import { launchBrowser } from './browser.mjs';

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error('usage: node smoke.mjs BASE_URL SCREENSHOT.png');
  process.exit(2);
}

const { browser, fail } = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  await page.goto(base + '/');
  // Log in through the console's form (console_test.go makes the account).
  if (process.env.GRIDD_LOGIN) {
    await page.fill('#login-user', process.env.GRIDD_LOGIN);
    await page.fill('#login-pass', process.env.GRIDD_PASSWORD);
    await page.click('#login button[type=submit]');
  }
  await page.waitForFunction(() => window.griddMap && window.griddMap.loaded() && window.griddMap.areTilesLoaded(),
    null, { timeout: 30000 });
  // Zoom in until grids show and render.
  await page.evaluate(() => window.griddMap.jumpTo({ center: [121.60, 29.82], zoom: 12.5 }));
  await page.waitForFunction(() => window.griddMap.loaded() && window.griddMap.areTilesLoaded()
    && window.griddMap.queryRenderedFeatures({ layers: ['grids-fill'] }).length > 0, null, { timeout: 30000 });
  const rendered = await page.evaluate(() => window.griddMap.queryRenderedFeatures({ layers: ['grids-fill'] }).length);
  // Click the middle of the map: the panel shows the chain.
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('#panel:not([hidden]) #panel-chain code', { timeout: 10000 });
  const codes = await page.locator('#panel-chain code').allTextContents();
  await page.screenshot({ path: shot });
  if (errors.length) await fail('page errors: ' + errors.join('; '));
  if (codes.length !== 4 || codes[0] !== '330212' || !codes[3].startsWith(codes[2]) || codes[3].length !== 15) {
    await fail('panel chain is wrong: ' + JSON.stringify(codes));
  }
  console.log(JSON.stringify({ renderedGrids: rendered, chain: codes }));
} catch (e) {
  await fail(String(e));
}
await browser.close();
