/** End-to-end tests of the web UI in Debian's headless Chromium, against the API started in-process. */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import assert from "node:assert/strict";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { DEFAULT_UI_DIR, uiFileFor } from "../../src/server/routes/ui.ts";
import sharp from "sharp";
import { makeScene, meanColor, REPO, tempDir } from "../helpers/blender.ts";
import { closedPort } from "../helpers/s3-server.ts";
import { makeDepsScene } from "../helpers/deps-scene.ts";
import { saveRenderRecord } from "../../src/backends/aws/render-record.ts";
import { parseRenderPayload } from "../../src/domain/render-payload.ts";
import { renderForm, startTestServer } from "../server/harness.ts";

const CHROMIUM = "/usr/bin/chromium";
// The docs' screenshots are refreshed only on request, so a test run leaves the tree clean.
const SCREENSHOTS = process.env.BRENDER_UPDATE_SCREENSHOTS === "1" ? join(REPO, "docs", "screenshots") : join(tmpdir(), `brender-ui-shots-${process.pid}`);

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
    if (!SCREENSHOTS.startsWith(REPO)) await rm(SCREENSHOTS, { recursive: true, force: true });
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
    // Which Blender renders it on this machine (the file's own release here).
    assert.match(await page.locator(".blender-choice").innerText(), /^Saved with Blender (\d+\.\d+); renders here with Blender \1\.\d+ \S*blender$/);
    // The file's Cycles options, folded away until asked for.
    assert.equal(await page.locator('input[name="cycles.maxBounces"]').isVisible(), false);
    await page.locator("summary", { hasText: "Cycles options" }).click();
    assert.equal(await page.locator('input[name="cycles.maxBounces"]').inputValue(), "12");
    assert.equal(await page.locator('input[name="cycles.adaptiveSampling"]').isChecked(), false);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "new-render.png"), fullPage: true });

    // An estimate first: a sample rendered by the server, shown in words, and kept with the render.
    await page.getByRole("button", { name: "Estimate" }).click();
    const estimate = page.getByTestId("estimate");
    await estimate.waitFor({ timeout: 30_000 });
    assert.match(await estimate.innerText(), /^Estimated: about \S+ \(.+\), \d+\.\d{4} CPU-hours$/);
    const estimated = (await estimate.innerText()).replace("Estimated: ", "");

    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/#\/renders\/[a-z0-9-]+$/);
    const renderId = decodeURIComponent(new URL(page.url()).hash.replace("#/renders/", ""));
    // From the first view of the render on, nothing on screen may move while progress streams in
    // (Chromium's Layout Instability API scores every visible shift).
    await page.getByTestId("render-status").waitFor();
    await page.evaluate(`(() => {
      window.layoutShifts = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.layoutShifts.push({ value: entry.value, nodes: entry.sources.map((s) => s.node?.nodeName + "." + (s.node?.className ?? "")) });
      }).observe({ type: "layout-shift" });
    })()`);
    await page.locator('[data-testid="render-status"]', { hasText: /^(SUCCEEDED|FAILED)$/ }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("render-status").textContent(), "SUCCEEDED");
    assert.equal(await page.getByTestId("frames-done").textContent(), "2/2");
    // Estimate and actual side by side: the same estimate, and the CPU time Blender used here.
    assert.equal(await page.getByTestId("cost-estimate").textContent(), estimated);
    await page.locator('[data-testid="cost-actual"]', { hasText: /CPU-hours/ }).waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId("cost-actual").textContent()) ?? "", /^0\.\d{4} CPU-hours in \S+ on \d+ cores$/);

    const cells = page.locator("li.cell");
    await page.waitForFunction(`document.querySelectorAll('li.cell[data-state="done"]').length === 2`, undefined, { timeout: 10_000 });
    assert.deepEqual(await cells.evaluateAll((items) => items.map((item) => [item.getAttribute("data-frame"), item.getAttribute("data-state")])), [
      ["1", "done"],
      ["2", "done"],
    ]);
    // Every thumbnail loaded a real image. (In-page code is given as strings: the root tsconfig has no DOM types.)
    await page.waitForFunction(`[...document.querySelectorAll("li.cell img")].every((img) => img.complete && img.naturalWidth > 0)`, undefined, { timeout: 10_000 });
    assert.deepEqual(await page.locator("li.cell img").evaluateAll((imgs) => imgs.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth)), [16, 16]);
    await page.waitForFunction(`(document.querySelector("pre.logs")?.textContent ?? "").includes("job started")`, undefined, { timeout: 10_000 });
    assert.match((await page.locator("video.preview").getAttribute("src")) ?? "", /\.mp4/);
    const shifts = (await page.evaluate("window.layoutShifts")) as { value: number; nodes: string[] }[];
    const score = shifts.reduce((sum, shift) => sum + shift.value, 0);
    assert.ok(score < 0.001, `layout shift score ${score.toFixed(4)}: ${JSON.stringify(shifts)}`);
    // Fits a laptop screen: nothing wider than the window.
    for (const size of [{ width: 1366, height: 768 }, { width: 1024, height: 700 }]) {
      await page.setViewportSize(size);
      assert.equal(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), true, `no horizontal scrolling at ${size.width}px`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(SCREENSHOTS, "job.png"), fullPage: true });

    // The full-size viewer.
    // By keyboard: Enter on a thumbnail opens the viewer, Escape closes it and gives focus back.
    await page.getByRole("button", { name: "View frame 2" }).focus();
    await page.keyboard.press("Enter");
    const viewer = page.locator("dialog.viewer[open]");
    await viewer.waitFor();
    await page.waitForFunction(`(document.querySelector("dialog.viewer img")?.naturalWidth ?? 0) > 0`);
    assert.match((await viewer.locator("img").getAttribute("src")) ?? "", /frames\/frame_0002\.png\?preview=2048$/);
    await page.keyboard.press("Escape");
    await viewer.waitFor({ state: "detached" });
    assert.equal(await page.evaluate(`document.activeElement?.getAttribute("aria-label")`), "View frame 2");

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
    // An ended render's frame count comes with the list (from its manifest), not from live events.
    assert.equal(await row.locator("td.num").textContent(), "2/2");
  });

  it("uploads a project folder, picks its .blend, and renders with the texture from a sibling folder", { timeout: 90_000 }, async (t) => {
    const dir = await tempDir(t);
    const project = join(dir, "forest");
    await mkdir(join(project, "textures"), { recursive: true });
    await mkdir(join(project, "shots", "alt"), { recursive: true });
    const texture = join(project, "textures", "green.png");
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(texture);
    await makeScene(join(project, "shots", "shot.blend"), { texture, resolution: [16, 16], frames: [1, 3], samples: 1 });
    await makeScene(join(project, "shots", "alt", "other.blend"), { resolution: [16, 16], frames: [1, 1], samples: 1 });
    const server = await startTestServer(t);
    const page = await newPage();
    t.after(() => page.close());

    await page.goto(`${server.base}/#/new`);
    await page.setInputFiles("#folder", project);
    const blendSelect = page.locator("select[name=blend]");
    await blendSelect.waitFor({ timeout: 30_000 });
    // The shallowest .blend is taken first; both are offered.
    assert.equal(await blendSelect.inputValue(), "shots/shot.blend");
    assert.deepEqual(await blendSelect.locator("option").allTextContents(), ["shots/alt/other.blend", "shots/shot.blend"]);
    await page.locator("input[name=frames]").waitFor({ timeout: 30_000 });
    assert.equal(await page.locator("input[name=frames]").inputValue(), "1-3");
    assert.equal(await page.getByRole("note").count(), 0, "the texture is in the folder, so nothing is missing");
    // View layers of the scene are offered.
    assert.deepEqual(await page.locator("select[name=layer] option").allTextContents(), ["(all enabled layers)", "ViewLayer"]);
    await page.locator("select[name=layer]").selectOption("ViewLayer");
    await page.locator("input[name=frames]").fill("2-3");

    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/#\/renders\/[a-z0-9-]+$/);
    await page.locator('[data-testid="render-status"]', { hasText: /^(SUCCEEDED|FAILED)$/ }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("render-status").textContent(), "SUCCEEDED");
    assert.deepEqual(await page.locator("li.cell").evaluateAll((items) => items.map((item) => item.getAttribute("data-frame"))), ["2", "3"]);
    // One bar per rendered frame in the render-time chart.
    await page.waitForFunction(`document.querySelectorAll("figure.chart rect.bar").length === 2`, undefined, { timeout: 10_000 });
    assert.match((await page.locator("figure.chart figcaption").textContent()) ?? "", /^2 frames · mean/);

    // The rendered frame is green: the texture travelled with the folder.
    const href = await page.locator("li.cell img").first().getAttribute("src");
    const frame = join(dir, "frame.png");
    const bytes = await page.evaluate(async (url) => [...new Uint8Array(await (await fetch(url)).arrayBuffer())], href!);
    await (await import("node:fs/promises")).writeFile(frame, Buffer.from(bytes));
    const [r, g, b] = await meanColor(frame);
    assert.ok(g > r * 1.5 && g > b * 1.5, `green texture expected, mean rgb ${r.toFixed(0)},${g.toFixed(0)},${b.toFixed(0)}`);

    // Logs are offered per job, child and attempt.
    const logOptions = await page.locator("select[name=log] option").allTextContents();
    assert.ok(logOptions.some((o) => /^copy_efs, attempt 1/.test(o)), logOptions.join(" | "));
    assert.ok(logOptions.some((o) => /^render, attempt 1/.test(o)), logOptions.join(" | "));
  });

  it("takes a .blend dropped on the page", { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeScene(join(dir, "dropped.blend"), { resolution: [16, 16], frames: [4, 9], samples: 1 });
    const server = await startTestServer(t, { runFarm: false });
    const page = await newPage();
    t.after(() => page.close());
    await page.goto(`${server.base}/#/new`);
    await page.getByText("or drop a file or folder").waitFor();
    // A synthetic drop: Chromium gives no file-system entries for it, so the page falls back to its file list.
    const base64 = (await readFile(scene)).toString("base64");
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], "dropped.blend"));
      document.querySelector("main").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    await page.locator("input[name=frames]").waitFor({ timeout: 30_000 });
    assert.equal(await page.locator("input[name=frames]").inputValue(), "4-9");
    assert.equal(await page.locator("select[name=blend]").count(), 0, "a single .blend needs no choice");

    // A notify target the server refuses is shown in its words, without the URL's secret path, and nothing is submitted.
    await page.getByText("Job options").click();
    await page.getByLabel("Notify (e-mail or webhook URL)").fill("me@studio.com, http://hooks.example.com/secret-token");
    await page.getByRole("button", { name: "Submit" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 10_000 });
    const message = (await alert.textContent()) ?? "";
    assert.match(message, /notify.*http:\/\/hooks\.example\.com\/….*plain http/);
    assert.doesNotMatch(message, /secret-token/);
    assert.match(page.url(), /#\/new$/);
  });

  it("says which files a dropped .blend needs that the upload did not include", { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeDepsScene(join(dir, "files"));
    const server = await startTestServer(t, { runFarm: false });
    const page = await newPage();
    t.after(() => page.close());
    await page.goto(`${server.base}/#/new`);
    await page.getByText("or drop a file or folder").waitFor();
    const base64 = (await readFile(scene.blend)).toString("base64");
    await page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(base64)}), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], "shot.blend"));
      document.querySelector("main").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
    const note = page.getByRole("note", { name: "files not in the upload" });
    await note.waitFor({ timeout: 30_000 });
    const text = await note.innerText();
    for (const path of ["//../tex/checker.png", "//../udim/tile.<UDIM>.png", "//../seq/frame_0001.png", "//../assets/lib.blend"]) assert.ok(text.includes(path), `${path} in: ${text}`);
  });

  it("cancels a render, shows its failed frames and logs, and retries only those", { timeout: 120_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeScene(join(dir, "slow.blend"), { resolution: [64, 64], frames: [1, 12], samples: 64 });
    const server = await startTestServer(t);
    const page = await newPage();
    t.after(() => page.close());

    await page.goto(`${server.base}/#/new`);
    await page.setInputFiles("#file", scene);
    await page.locator("input[name=frames]").waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/#\/renders\/[a-z0-9-]+$/);
    // Cancel once the first frame is done, while Blender renders the rest.
    await page.locator('li.cell[data-state="done"]').first().waitFor({ timeout: 60_000 });
    assert.equal(await page.getByRole("button", { name: "Retry failed frames" }).isDisabled(), true);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator('[data-testid="render-status"]', { hasText: "FAILED" }).waitFor({ timeout: 60_000 });
    const states = await page.locator("li.cell").evaluateAll((items) => items.map((item) => item.getAttribute("data-state")));
    const done = states.filter((s) => s === "done").length;
    assert.ok(done >= 1 && done < 12, states.join(","));
    assert.equal(states.filter((s) => s === "failed").length, 12 - done, states.join(","));
    assert.equal(await page.getByRole("button", { name: "Cancel" }).isDisabled(), true);
    // The failed render attempt's log is the one shown first.
    await page.waitForFunction(`(document.querySelector("select[name=log]")?.selectedOptions[0]?.textContent ?? "").startsWith("render, attempt 1, failed")`, undefined, { timeout: 10_000 });
    await page.screenshot({ path: join(SCREENSHOTS, "job-failed.png"), fullPage: true });

    await page.getByRole("button", { name: "Retry failed frames" }).click();
    await page.locator('[data-testid="render-status"]', { hasText: "SUCCEEDED" }).waitFor({ timeout: 90_000 });
    await page.waitForFunction(`document.querySelectorAll('li.cell[data-state="done"]').length === 12`, undefined, { timeout: 10_000 });
    assert.equal(await page.getByTestId("frames-done").textContent(), "12/12");
  });

  it("offers the AWS farms it knows with their queues, and shows AWS's one-line error when the farm cannot be reached", { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeScene(join(dir, "cloud.blend"), { resolution: [16, 16], frames: [1, 2], samples: 1 });
    // The server's AWS SDK has credentials but points at a closed port: AWS is configured and unreachable.
    const aws = { AWS_ENDPOINT_URL: `http://127.0.0.1:${await closedPort()}`, AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
    const saved = Object.fromEntries(Object.keys(aws).map((name) => [name, process.env[name]]));
    Object.assign(process.env, aws);
    t.after(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    const server = await startTestServer(t, { runFarm: false });
    // A render sent to farm "studio" earlier, as `brender render --backend aws` records it.
    const payload = parseRenderPayload({ schemaVersion: 1, renderId: "r-20260101-000000-abcdef", project: { name: "old", blendFile: "old.blend" }, type: "animation", mode: "auto", frames: "1-2", split: { arraySize: 1 } });
    await saveRenderRecord(server.home, {
      renderId: payload.renderId, farm: "studio", region: "eu-west-1", storage: "s3://studio-bucket", payload,
      bucketKey: "old/projects/r.manifest.json", submittedAt: new Date().toISOString(),
      jobs: [{ name: "old-copy", action: "copy_efs", jobId: "job-1", arraySize: 1 }],
    });
    const page = await newPage();
    t.after(() => page.close());

    await page.goto(`${server.base}/#/new`);
    await page.setInputFiles("#file", scene);
    await page.locator("input[name=frames]").waitFor({ timeout: 30_000 });
    assert.deepEqual(await page.locator("select[name=farm] option").allTextContents(), [`This machine (${availableParallelism()} cores)`, "AWS: studio (eu-west-1)"]);
    // Listing the account's farms failed: said in one line, the form still works.
    await page.getByText(/^Cannot list AWS farms: /).waitFor();
    assert.equal(await page.locator("select[name=queue]").count(), 0);
    await page.locator("select[name=farm]").selectOption("studio");
    assert.deepEqual(await page.locator("select[name=queue] option").allTextContents(), ["spot-cpu", "on-demand-cpu", "spot-gpu", "on-demand-gpu"]);
    await page.locator("select[name=queue]").selectOption("on-demand-cpu");
    await page.getByRole("button", { name: "Submit" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 30_000 });
    assert.match((await alert.textContent()) ?? "", /^Cannot reach AWS \(ECONNREFUSED\): check the network, AWS_REGION and AWS_ENDPOINT_URL where 'brender serve' runs\.$/);
    assert.match(page.url(), /#\/new$/, "still on the form, nothing lost");
    assert.equal(await page.locator("input[name=frames]").inputValue(), "1-2");
  });

  it("shows who a render tells with each webhook's scheme and host only, on its page and in the API", { timeout: 60_000 }, async (t) => {
    const dir = await tempDir(t);
    const scene = await makeScene(join(dir, "hooks.blend"), { resolution: [16, 16], frames: [1, 1], samples: 1 });
    const server = await startTestServer(t, { runFarm: false });
    const slack = "https://hooks.slack.com/services/T000/B000/SlackTokenNotShown";
    const settings = { frames: "1", notify: ["me@studio.com", slack, "https://ci.example.com/hook?token=QueryTokenNotShown"] };
    const response = await server.api("/api/renders", { method: "POST", body: await renderForm(scene, "hooks.blend", settings) });
    const { renderId } = (await response.json()) as { renderId: string };
    assert.equal(response.status, 202);
    const shown = ["me@studio.com", "https://hooks.slack.com/…", "https://ci.example.com/…"];
    const detail = await (await server.api(`/api/renders/${renderId}`)).text();
    assert.deepEqual((JSON.parse(detail) as { notify: string[] }).notify, shown);

    const page = await newPage();
    t.after(() => page.close());
    await page.goto(`${server.base}/#/renders/${renderId}`);
    const notify = page.getByTestId("notify");
    await notify.waitFor({ timeout: 10_000 });
    assert.equal(await notify.textContent(), shown.join(", "));
    for (const text of [detail, await page.content()]) assert.doesNotMatch(text, /SlackTokenNotShown|QueryTokenNotShown|\/services\//);
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
