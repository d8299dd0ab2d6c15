import { formatSeconds } from "./format.ts";

type FrameTime = { frame: number; seconds: number; child?: number };

const HEIGHT = 120;
const MAX_BAR = 24;

/**
 * Render time per frame as bars (an SVG, so it needs no chart library): slow
 * frames stand out, and the mean line shows what the ETA is based on.
 */
export function FrameTimesChart({ times }: { times: readonly FrameTime[] }) {
  if (times.length === 0) {
    // The same box as the chart, so the page does not shift when the first frame lands.
    return (
      <figure className="chart">
        <div className="chart-empty" style={{ height: HEIGHT }}>Render times appear here as frames finish.</div>
        <figcaption>&nbsp;</figcaption>
      </figure>
    );
  }
  const slowest = Math.max(...times.map((t) => t.seconds), 0.001);
  const mean = times.reduce((sum, t) => sum + t.seconds, 0) / times.length;
  const bar = Math.max(2, Math.min(MAX_BAR, Math.floor(960 / times.length) - 1));
  const width = times.length * (bar + 1);
  const heightOf = (seconds: number) => Math.max(1, (seconds / slowest) * (HEIGHT - 4));
  const sorted = [...times].sort((a, b) => a.frame - b.frame);
  return (
    <figure className="chart">
      <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={`Render time per frame: mean ${formatSeconds(mean)}, slowest ${formatSeconds(slowest)}`}>
        {sorted.map((t, i) => (
          <rect key={t.frame} data-frame={t.frame} x={i * (bar + 1)} y={HEIGHT - heightOf(t.seconds)} width={bar} height={heightOf(t.seconds)} className="bar">
            <title>Frame {t.frame}: {formatSeconds(t.seconds)}{t.child !== undefined ? ` (child ${t.child})` : ""}</title>
          </rect>
        ))}
        <line x1={0} x2={width} y1={HEIGHT - heightOf(mean)} y2={HEIGHT - heightOf(mean)} className="mean" />
      </svg>
      <figcaption>
        {times.length} frames · mean {formatSeconds(mean)} · slowest {formatSeconds(slowest)} (frame {sorted.find((t) => t.seconds === slowest)?.frame})
      </figcaption>
    </figure>
  );
}
