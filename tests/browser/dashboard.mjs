// Drives headless chromium against a front's dashboard for the scenario test
// tests/scenario/dashboard.cpp, which owns the cluster. The two talk through
// this script's stdout (lines the test waits for) and files in DIR (which
// this script waits for):
//
//   node dashboard.mjs URL CHROMIUM SCREENSHOT DIR NODES VICTIM
//
//   1. opens URL, waits until NODES verifier nodes show "up"   -> "READY"
//   2. waits for DIR/killed, then until VICTIM shows "down"     -> "DOWN <ms>"
//   3. waits for DIR/restarted, then until VICTIM shows "up"    -> "UP <ms>"
//   4. verifies the article's text in each style with the form -> "ANSWER <style> <json>"
//   5. saves a screenshot to SCREENSHOT, reports the console    -> "ERRORS <json>", "DONE"
//
// Every wait is bounded; any failure prints "FAIL <why>" and exits 1.
import { existsSync } from "node:fs";
import puppeteer from "puppeteer-core";

const [url, chromium, screenshot, dir, nodesArg, victim] = process.argv.slice(2);
const nodes = Number(nodesArg);
const say = (line) => process.stdout.write(line + "\n");

async function waitForFile(path, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`no ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function nodeState(page, name, state, timeoutMs) {
  await page.waitForFunction(
    (n, s) => {
      const row = [...document.querySelectorAll("tr.node")].find((r) => r.dataset.node === n);
      return row !== undefined && row.dataset.state === s;
    },
    { timeout: timeoutMs, polling: 25 },
    name,
    state,
  );
}

async function verify(page, style) {
  await page.select("#style", style);
  await page.$eval("#answer", (e) => { e.textContent = ""; });
  await page.click("#verify");
  await page.waitForFunction(
    () => /"verified"|HTTP [45]\d\d/.test(document.getElementById("answer").textContent),
    { timeout: 15000, polling: 50 },
  );
  return page.$eval("#answer", (e) => e.textContent);
}

const errors = [];
let browser;
try {
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.setViewport({ width: 1280, height: 1000 });
  await page.goto(url, { waitUntil: "load", timeout: 20000 });

  await page.waitForFunction(
    (n) => {
      const rows = [...document.querySelectorAll("tr.node")];
      return rows.length >= n && rows.every((r) => r.dataset.state === "up");
    },
    { timeout: 30000, polling: 50 },
    nodes,
  );
  const live = await page.$eval("#conn", (e) => e.className);
  say(`READY ${live}`);

  await waitForFile(`${dir}/killed`, 60000);
  let t0 = Date.now();
  await nodeState(page, victim, "down", 15000);
  say(`DOWN ${Date.now() - t0}`);

  await waitForFile(`${dir}/restarted`, 60000);
  t0 = Date.now();
  await nodeState(page, victim, "up", 30000);
  say(`UP ${Date.now() - t0}`);

  for (const style of ["orchestration", "direct", "choreography"])
    say(`ANSWER ${style} ${JSON.stringify(await verify(page, style))}`);
  const logged = await page.$$eval("#log li", (xs) => xs.map((x) => x.textContent));
  say(`LOG ${JSON.stringify(logged)}`);

  await page.screenshot({ path: screenshot, fullPage: true });
  say(`ERRORS ${JSON.stringify(errors)}`);
  say("DONE");
  await browser.close();
  process.exit(0);
} catch (e) {
  say(`FAIL ${String(e && e.message ? e.message : e).split("\n")[0]}`);
  say(`ERRORS ${JSON.stringify(errors)}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
