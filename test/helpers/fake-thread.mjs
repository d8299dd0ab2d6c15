// A stand-in for src/worker/thread.ts in the runner's tests: it speaks the
// same messages ({ type: "job", env, logFd } in, { type: "done", exitCode,
// error } out) but does no work. The job's environment says what to do:
//   FAKE_CRASH=1   throw an uncaught error a moment after the job arrives (the thread dies)
//   FAKE_HANG=1    wait until the runner aborts the job, then fail with "aborted"
//   FAKE_EXIT=N    end with exit code N (default 0)
import { writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";

parentPort.on("message", (message) => {
  if (message.type === "abort") {
    writeSync(globalThis.logFd, "brender worker: aborted\n");
    parentPort.postMessage({ type: "done", exitCode: 1, error: "aborted" });
    parentPort.close();
    return;
  }
  const { env, logFd } = message;
  globalThis.logFd = logFd;
  writeSync(logFd, `fake thread ran ${env.JOB_ACTION_TYPE} in pid ${process.pid}\n`);
  if (env.FAKE_CRASH === "1") {
    setTimeout(() => {
      throw new Error("fake thread crash");
    }, 50);
    return;
  }
  if (env.FAKE_HANG === "1") return;
  const exitCode = Number(env.FAKE_EXIT ?? "0");
  if (exitCode !== 0) writeSync(logFd, `brender worker: fake failure ${exitCode}\n`);
  parentPort.postMessage({ type: "done", exitCode, ...(exitCode !== 0 ? { error: `fake failure ${exitCode}` } : {}) });
  parentPort.close();
});
