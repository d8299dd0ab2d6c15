/** End-to-end tests of the web UI in Debian's headless Chromium, against the API started in-process. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { DEFAULT_UI_DIR, uiFileFor } from "../../src/server/routes/ui.ts";
import { makeScene, REPO, tempDir } from "../helpers/blender.ts";
import { startTestServer } from "../server/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(REPO, "docs", "screenshots");

let browser: BrowserContext;
let profile: string;

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  return page;
}

describe("web UI", { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: scripts/setup.sh installs it` }, () => {
  before(async () => {
    if (!existsSync(join(DEFAULT_UI_DIR, "index.html"))) {
      await promisify(execFile)(join(REPO, "node_modules", ".bin", "vite"), ["build", "web", "--logLevel", "error"], { cwd: REPO });
    }
    profile = await mkdtemp(join(tmpdir(), "brender-chromium-"));
    // A persistent context is how playwright takes a user-data-dir: a fresh one per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  after(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("submits a render of a .blend, watches it finish, views a frame and downloads the zip", { timeout: 90_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeScene(join(dir, "tiny.blend"), { resolution: [16, 16], frames: [1, 2], samples: 1 });
    const server = await startTestServer(t);
    const page = await newPage();
    t.after(() => page.close());

    await page.goto(`${server.base}/#/new`);
    await page.setInputFiles("#file", scene);
    // The form appears pre-filled from the inspection.
    const sceneSelect = page.locator("select[name=scene]");
    await sceneSelect.waitFor({ timeout: 30_000 });
    assert.equal(await sceneSelect.inputValue(), "Demo");
    assert.equal(await page.locator("input[name=frames]").inputValue(), "1-2");
    assert.equal(await page.locator("input[name=resolution]").inputValue(), "16x16");
    assert.equal(await page.locator("input[name=samples]").inputValue(), "1");
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "new-render.png") });

    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/#\/renders\/[a-z0-9-]+$/);
    const renderId = decodeURIComponent(new URL(page.url()).hash.replace("#/renders/", ""));
    await page.locator('[data-testid="render-status"]', { hasText: /^(SUCCEEDED|FAILED)$/ }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("render-status").textContent(), "SUCCEEDED");
    assert.equal(await page.getByTestId("frames-done").textContent(), "2/2");

    const cells = page.locator("li.cell");
    await page.waitForFunction(`document.querySelectorAll('li.cell[data-state="done"]').length === 2`, undefined, { timeout: 10_000 });
    assert.deepEqual(await cells.evaluateAll((items) => items.map((item) => [item.getAttribute("data-frame"), item.getAttribute("data-state")])), [
      ["1", "done"],
      ["2", "done"],
    ]);
    // Every thumbnail loaded a real image. (In-page code is given as strings: the root tsconfig has no DOM types.)
    await page.waitForFunction(`[...document.querySelectorAll("li.cell img")].every((img) => img.complete && img.naturalWidth > 0)`, undefined, { timeout: 10_000 });
    assert.deepEqual(await page.locator("li.cell img").evaluateAll((imgs) => imgs.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth)), [16, 16]);
    assert.match(await page.getByLabel("Logs").textContent() ?? "", /\S/);
    assert.match((await page.locator("video.preview").getAttribute("src")) ?? "", /\.mp4/);
    await page.screenshot({ path: join(SCREENSHOTS, "job.png"), fullPage: true });

    // The full-size viewer.
    await page.getByRole("button", { name: "View frame 2" }).click();
    const viewer = page.locator("dialog.viewer[open]");
    await viewer.waitFor();
    await page.waitForFunction(`(document.querySelector("dialog.viewer img")?.naturalWidth ?? 0) > 0`);
    assert.match((await viewer.locator("img").getAttribute("src")) ?? "", /frames\/frame_0002\.png$/);
    await page.keyboard.press("Escape");
    await viewer.waitFor({ state: "detached" });

    // The zip link downloads a zip.
    const href = await page.getByTestId("zip-link").getAttribute("href");
    assert.ok(href, "a zip link");
    const bytes = await page.evaluate(async (url) => [...new Uint8Array(await (await fetch(url)).arrayBuffer()).slice(0, 4)], href);
    assert.deepEqual(bytes, [0x50, 0x4b, 0x03, 0x04]);

    // The jobs list shows the render with its final status.
    await page.goto(`${server.base}/#/`);
    const row = page.locator("tr", { has: page.getByRole("link", { name: renderId }) });
    await row.waitFor();
    assert.equal(await row.getByTestId("job-status").textContent(), "SUCCEEDED");
  });

  it("is served when the API needs a token, and its API calls without the token get 401", { timeout: 30_000 }, async (t) => {
    const server = await startTestServer(t, { token: "s3cret-token", runFarm: false });
    const page = await newPage();
    t.after(() => page.close());

    const response = await page.goto(`${server.base}/`);
    assert.equal(response?.status(), 200);
    await page.getByRole("heading", { name: "Renders" }).waitFor();
    await page.getByRole("alert").filter({ hasText: /needs a token/ }).waitFor();
    assert.equal(await page.evaluate(async () => (await fetch("/api/renders")).status), 401);

    // With ?token= the UI keeps it and its calls pass.
    await page.goto(`${server.base}/?token=s3cret-token#/`);
    await page.getByText("No renders yet").waitFor();
    assert.equal(await page.getByRole("alert").count(), 0);
  });
});

describe("uiFileFor", () => {
  it("finds built files and refuses paths that leave the UI folder", async () => {
    const root = join(REPO, "web");
    assert.equal(await uiFileFor(root, "/index.html"), join(root, "index.html"));
    assert.equal(await uiFileFor(root, "/renders/abc"), undefined);
    assert.equal(await uiFileFor(root, "/%2e%2e/package.json"), undefined);
    assert.equal(await uiFileFor(root, "/../package.json"), undefined);
    assert.equal(await uiFileFor(root, "/src"), undefined);
    assert.equal(await uiFileFor(root, "/%E0%A4%A"), undefined);
  });
});
