/**
 * A pass-through stage for stream pipelines that reports the bytes seen so
 * far, so every store reports transfer progress the same way.
 */
export function countBytes(onProgress: ((bytesDone: number) => void) | undefined) {
  return async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let done = 0;
    for await (const chunk of chunks) {
      done += chunk.length;
      onProgress?.(done);
      yield chunk;
    }
  };
}
