// Page actions both browser drivers understand, so a flow is written once and run by Playwright
// (Chromium, e2e/*.spec.js) and by puppeteer-core over WebDriver BiDi (Firefox, e2e/firefox/).
// Waits are bounded; a failed wait throws with what it waited for.
const TIMEOUT = 10_000;

function wrap(page, { waitFor, fill, close }) {
  return {
    page,
    goto: (url) => page.goto(url),
    click: (sel) => page.click(sel),
    fill: (sel, value) => fill(sel, value),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    url: () => page.url(),
    close,
    async waitFor(what, fn, arg) {
      try {
        await waitFor(fn, arg);
      } catch (e) {
        throw new Error(`timed out waiting for ${what}: ${e.message}`);
      }
    },
  };
}

export function playwrightDriver(browser) {
  return {
    async newPage() {
      const context = await browser.newContext();
      const page = await context.newPage();
      return wrap(page, {
        waitFor: (fn, arg) => page.waitForFunction(fn, arg, { timeout: TIMEOUT }),
        fill: (sel, value) => page.fill(sel, value),
        close: () => context.close(),
      });
    },
  };
}

export function puppeteerDriver(browser) {
  return {
    async newPage() {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      return wrap(page, {
        waitFor: (fn, arg) => page.waitForFunction(fn, { timeout: TIMEOUT }, arg),
        fill: (sel, value) => page.locator(sel).fill(value),
        close: () => context.close(),
      });
    },
  };
}

// The element matching `sel` contains `text` (or, with `absent`, does not).
export function hasText(ui, sel, text, absent = false) {
  return ui.waitFor(`${sel} ${absent ? 'without' : 'with'} "${text}"`, ({ sel, text, absent }) => {
    const el = document.querySelector(sel);
    return !!el && el.textContent.includes(text) !== absent;
  }, { sel, text, absent });
}
