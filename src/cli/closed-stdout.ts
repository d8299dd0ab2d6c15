/**
 * `brender status ID | head -1`: once the reader closes the pipe, further
 * writes fail with EPIPE. That is the reader saying "enough", not an error:
 * the command ends quietly (exit 0, nothing on stderr) instead of crashing.
 */
export function endQuietlyWhenStdoutCloses(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}
