/** Runs the test S3 server in its own process for benchmarks: prints its endpoint, stops on SIGTERM. */
import { startS3Server } from "../test/helpers/s3-server.ts";

const server = await startS3Server(undefined, ["bench"], { latencyMs: Number(process.env.LATENCY_MS ?? 0) });
process.stdout.write(`${server.endpoint}\n`);
process.once("SIGTERM", () => void server.stop().then(() => process.exit(0)));
