// A stand-in for `brender worker` in the runner's tests: it does no work, but
// behaves like the real worker towards the runner (environment in, exit code
// and a last "brender worker: <reason>" stderr line out, dies with its parent).
//
// Environment:
//   FAKE_EXIT             exit code (default 0)
//   FAKE_SLEEP_MS         how long to "work" before exiting (default 0); "30000,0" sleeps 30 s on
//                         attempt 1 and 0 on attempt 2 (the last value holds for later attempts)
//   FAKE_FAIL_ON_ATTEMPT  exit 1 when AWS_BATCH_JOB_ATTEMPT is one of these (comma-separated)
//   FAKE_RECORD_FILE      appends one JSON line per run: action, index, attempt, pids, upstream failure
//   FAKE_GRANDCHILD=1     also starts a sleeping grandchild in its process group (recorded as grandchildPid)
//   FAKE_RECORD_DELAY_MS  wait this long before writing the record (makes a slow start, as on a busy machine, certain)
//   FAKE_WAIT_FOR_RUNNERS N  before finishing, wait (up to 60 s) until the record file holds runs started by
//                         N different runners, so each runner is sure to take part however late it starts
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";

const env = process.env;
let grandchild;
if (env.FAKE_GRANDCHILD === "1") {
  grandchild = spawn(process.execPath, ["-e", "setTimeout(() => {}, 120000)"], { stdio: "ignore" });
}

function writeRecord() {
  const record = {
    action: env.JOB_ACTION_TYPE,
    index: env.AWS_BATCH_JOB_ARRAY_INDEX ?? null,
    attempt: env.AWS_BATCH_JOB_ATTEMPT,
    jobId: env.AWS_BATCH_JOB_ID,
    pid: process.pid,
    runnerPid: process.ppid,
    grandchildPid: grandchild?.pid ?? null,
    upstreamFailure: env.BRENDER_UPSTREAM_FAILURE ?? null,
  };
  appendFileSync(env.FAKE_RECORD_FILE, `${JSON.stringify(record)}\n`);
}
if (env.FAKE_RECORD_FILE) {
  const delayMs = Number(env.FAKE_RECORD_DELAY_MS ?? "0");
  if (delayMs > 0) setTimeout(writeRecord, delayMs);
  else writeRecord();
}

// The same rule as `brender worker`: when the runner's stdin pipe closes, stop.
if (env.BRENDER_EXIT_WITH_PARENT === "1") {
  const gone = () => {
    grandchild?.kill("SIGKILL");
    process.stderr.write("brender worker: parent exited\n");
    process.exit(3);
  };
  process.stdin.on("end", gone);
  process.stdin.on("close", gone);
  process.stdin.on("error", gone);
  process.stdin.resume();
}

const attempt = Number(env.AWS_BATCH_JOB_ATTEMPT ?? "1");
const failThisAttempt = (env.FAKE_FAIL_ON_ATTEMPT ?? "").split(",").includes(String(attempt));
const code = failThisAttempt ? 1 : Number(env.FAKE_EXIT ?? "0");
const sleeps = (env.FAKE_SLEEP_MS ?? "0").split(",").map(Number);
const sleepMs = sleeps[Math.min(attempt, sleeps.length) - 1] ?? 0;

function runnersRecorded() {
  const lines = readFileSync(env.FAKE_RECORD_FILE, "utf8").split("\n").filter(Boolean);
  return new Set(lines.map((line) => JSON.parse(line).runnerPid)).size;
}

async function waitForRunners() {
  const wanted = Number(env.FAKE_WAIT_FOR_RUNNERS ?? "0");
  const giveUpAt = Date.now() + 60_000;
  while (wanted > 0 && runnersRecorded() < wanted && Date.now() < giveUpAt) {
    await new Promise((done) => setTimeout(done, 20));
  }
}

await waitForRunners();
setTimeout(() => {
  process.stdout.write(`{"event":"child_finished","code":${code}}\n`);
  if (code !== 0) {
    process.stderr.write("some log line\n");
    process.stderr.write(`brender worker: frame ${env.AWS_BATCH_JOB_ARRAY_INDEX ?? 0} failed (attempt ${env.AWS_BATCH_JOB_ATTEMPT})\n`);
  }
  grandchild?.kill("SIGKILL");
  process.exit(code);
}, sleepMs);
