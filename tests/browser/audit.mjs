// Accessibility audit of pages in headless Chromium (tests/test_browser.py runs it): axe-core's rules, and
// whether every link, button and field of a page is reached by the Tab key.
//
// Also loads pages under their own Content-Security-Policy (the audit itself bypasses it, to inject axe-core)
// and reports every report the browser makes of a violation.
//
// Usage: node audit.mjs CONFIG.json, CONFIG being {"executable": "/usr/bin/chromium", "args": [...],
// "urls": [...], "policy_urls": [...]}. Prints one JSON object: {"pages": [{url, status, violations,
// focusable, unreachable}], "policy": [{url, status, reports, done}]}, `done` telling whether a query the
// page was asked to run (/ui?run=NAME) was drawn.
// playwright-core drives the Debian Chromium (no browser is downloaded); axe-core and playwright-core come
// from the npm registry, pinned in ui/package-lock.json (dev dependencies: `npm ci --prefix ui`).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "ui");
const require = createRequire(join(ui, "package.json"));
const { chromium } = require("playwright-core");
const axePath = require.resolve("axe-core/axe.min.js");

const config = JSON.parse(readFileSync(process.argv[2], "utf-8"));

// Marks every element a keyboard user must be able to reach, visible ones only, and returns how many.
function markFocusable() {
  const selector = [
    "a[href]", "button:not([disabled])", "input:not([type=hidden]):not([disabled])", "select:not([disabled])",
    "textarea:not([disabled])", "summary", "[tabindex]:not([tabindex='-1'])",
  ].join(", ");
  let count = 0;
  for (const element of document.querySelectorAll(selector)) {
    const closed = element.closest("details:not([open])");
    const hiddenInClosedDetails = closed && element.tagName !== "SUMMARY";
    const outer = element.tagName === "SUMMARY" && element.parentElement.parentElement;
    const summaryOfNested = outer && outer.closest("details:not([open])");
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    const visible = box.width > 0 && box.height > 0 && style.visibility !== "hidden" && style.display !== "none";
    // The skip link is visible once focused: it counts.
    const skip = element.classList && element.classList.contains("skip");
    if ((visible || skip) && !hiddenInClosedDetails && !summaryOfNested) {
      element.setAttribute("data-audit-focus", String(count++));
    }
  }
  return count;
}

const browser = await chromium.launch({ executablePath: config.executable, args: config.args, headless: true });
const pages = [];
const policy = [];
try {
  for (const url of config.urls || []) {
    const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const response = await page.goto(url, { waitUntil: "load" });
    await page.addScriptTag({ path: axePath });
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
        count: v.nodes.length,
      }));
    });
    const focusable = await page.evaluate(markFocusable);
    const reached = new Set();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    for (let press = 0; press < focusable + 20 && reached.size < focusable; press++) {
      await page.keyboard.press("Tab");
      const mark = await page.evaluate(() => {
        const active = document.activeElement;
        return active && active.getAttribute ? active.getAttribute("data-audit-focus") : null;
      });
      if (mark !== null) reached.add(mark);
    }
    const unreachable = await page.evaluate((seen) => {
      const found = [];
      for (const element of document.querySelectorAll("[data-audit-focus]")) {
        if (!seen.includes(element.getAttribute("data-audit-focus"))) {
          found.push(element.outerHTML.slice(0, 160));
        }
      }
      return found;
    }, [...reached]);
    pages.push({ url, status: response.status(), violations, focusable, unreachable });
    await context.close();
  }
  for (const url of config.policy_urls || []) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const reports = [];
    page.on("console", (message) => {
      if (message.text().includes("Content Security Policy")) reports.push(message.text().slice(0, 300));
    });
    page.on("pageerror", (error) => reports.push("page error: " + String(error).slice(0, 300)));
    const response = await page.goto(url, { waitUntil: "networkidle" });
    let done = null;
    if (new URL(url).searchParams.has("run")) {
      done = await page
        .waitForSelector("body[data-query-done]", { timeout: 20000 })
        .then(() => true, () => false);
    }
    policy.push({ url, status: response.status(), reports, done });
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ pages, policy }));
