/**
 * Starts moto's server (a real AWS API endpoint, on loopback) for tests that
 * talk to AWS through the real SDK. Each call gets its own server on a free
 * port, so test files can run in parallel; stop() ends it.
 *
 * moto_server is found through $MOTO_SERVER, then PATH, then pyenv's shims.
 * When it is missing the start FAILS (never skips) with how to install it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pythonTool } from "./python-tools.ts";

export const INSTALL_HINT =
  'moto_server was not found: install it with `pip install "moto[server]"` (Python 3.9+, it brings Flask) or set MOTO_SERVER to its path';

/** One request moto received, as its recorder wrote it. */
export type RecordedRequest = {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text (moto stores it base64-encoded when binary). */
  readonly body: string;
};

export type MotoServer = {
  /** e.g. "http://127.0.0.1:45123": give it to every SDK client as `endpoint`. */
  readonly endpoint: string;
  readonly region: string;
  /** Fake credentials moto accepts; keeps the SDK away from the machine's real ones. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** POSTs moto's configuration, e.g. { batch: { use_docker: false } }. */
  configure(config: object): Promise<void>;
  /**
   * How moto moves Batch jobs between statuses (its state manager), e.g.
   * { progression: "manual", times: 1 }; undefined restores the default.
   */
  setBatchJobTransition(transition: object | undefined): Promise<void>;
  /**
   * Enforces IAM from the next request on (moto's /moto-api/reset-auth): every AWS call must then be signed
   * by an IAM user's key and allowed by that user's policies. Until then (INITIAL_NO_AUTH_ACTION_COUNT) anything goes.
   */
  enforceIam(): Promise<void>;
  /** Starts (from empty) recording every request moto receives. */
  startRecording(): Promise<void>;
  /** The requests recorded since startRecording. */
  recordedRequests(): Promise<RecordedRequest[]>;
  stop(): Promise<void>;
};

/** Starts moto_server on 127.0.0.1 and waits until it answers. */
export async function startMotoServer(
  options: { region?: string; startTimeoutMs?: number; env?: Readonly<Record<string, string>>; iamSignatureFix?: boolean } = {},
): Promise<MotoServer> {
  const found = findMotoServer();
  if (found === undefined) throw new Error(INSTALL_HINT);
  // For IAM enforcement: moto_server through moto_iam_server.py, which fixes moto's signature check of encoded queries.
  const [command, ...prefixArgs] = options.iamSignatureFix
    ? [process.env["MOTO_PYTHON"] ?? pythonOf(found), fileURLToPath(new URL("./moto_iam_server.py", import.meta.url))]
    : [found];
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const workDir = await mkdtemp(join(tmpdir(), "brender-moto-"));
  const recordingPath = join(workDir, "recording.jsonl");

  // Own process group: the pyenv shim execs python, but a group kill also ends anything it forks.
  const child = spawn(command!, [...prefixArgs, "-H", "127.0.0.1", "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...options.env, MOTO_RECORDER_FILEPATH: recordingPath, PYTHONUNBUFFERED: "1" },
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error(INSTALL_HINT) : error),
    );
    child.once("exit", (code, signal) => reject(new Error(`moto_server exited (${code ?? signal}) before answering: ${stderr.trim()}`)));
  });
  exited.catch(() => {}); // observed below; keeps a late exit from being an unhandled rejection

  const giveUp = new AbortController();
  try {
    await Promise.race([waitUntilAnswering(endpoint, options.startTimeoutMs ?? 30_000, giveUp.signal), exited]);
  } catch (error) {
    giveUp.abort();
    await stopProcess(child);
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }

  const post = async (path: string, body?: object): Promise<Response> => {
    const response = await fetch(endpoint + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? "" : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`moto ${path} answered ${response.status}: ${await response.text()}`);
    return response;
  };

  return {
    endpoint,
    region: options.region ?? "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    async configure(config) {
      await post("/moto-api/config", config);
    },
    async setBatchJobTransition(transition) {
      const path = transition === undefined ? "unset-transition" : "set-transition";
      await post(`/moto-api/state-manager/${path}`, { model_name: "batch::job", ...(transition ? { transition } : {}) });
    },
    async enforceIam() {
      const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: "POST", body: "0" });
      if (!response.ok) throw new Error(`moto /moto-api/reset-auth answered ${response.status}: ${await response.text()}`);
    },
    async startRecording() {
      await post("/moto-api/recorder/reset-recording");
      await post("/moto-api/recorder/start-recording");
    },
    async recordedRequests() {
      const response = await fetch(`${endpoint}/moto-api/recorder/download-recording`);
      const text = response.ok ? await response.text() : await readFile(recordingPath, "utf8").catch(() => "");
      return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => toRecordedRequest(JSON.parse(line) as Record<string, unknown>));
    },
    async stop() {
      await stopProcess(child);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

function toRecordedRequest(entry: Record<string, unknown>): RecordedRequest {
  const rawBody = typeof entry["body"] === "string" ? entry["body"] : "";
  const body = entry["body_encoded"] === true ? Buffer.from(rawBody, "base64").toString("utf8") : rawBody;
  return {
    method: String(entry["method"] ?? ""),
    url: String(entry["url"] ?? ""),
    headers: (entry["headers"] ?? {}) as Record<string, string>,
    body,
  };
}

function findMotoServer(): string | undefined {
  return process.env["MOTO_SERVER"] || pythonTool("moto_server");
}

/** The Python that runs moto_server (its "#!" line when that names one), so moto imports in the launcher too. */
function pythonOf(motoServer: string): string {
  const firstLine = readFileSync(motoServer, "utf8").split("\n", 1)[0] ?? "";
  const shebang = /^#!\s*(\S*python[\d.]*)\s*$/.exec(firstLine)?.[1];
  return shebang && existsSync(shebang) ? shebang : "python3";
}

/** A port nothing listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilAnswering(endpoint: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted) {
    try {
      await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 3000);
  await gone;
  clearTimeout(timer);
}
