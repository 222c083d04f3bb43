// The headless Chromium every browser test runs in: Debian's, started the
// way DEVELOPERS.md prescribes (no sandbox, no GPU — software WebGL — and
// no background networking), and fail, which prints why, closes the
// browser and exits non-zero.
import { chromium } from 'playwright-core';

export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const fail = async (msg) => {
    console.error(msg);
    await browser.close();
    process.exit(1);
  };
  return { browser, fail };
}
