import { useCallback, useEffect, useRef, useState } from "react";
import { api, followEvents, frameOfOutput, framesOf, isEnded, withToken, type RenderDetail } from "./api.ts";
import { actualWords, estimateWords } from "../../src/domain/cost/cost-words.ts";
import { formatBytes, formatDuration } from "./format.ts";
import { FrameTimesChart } from "./FrameTimesChart.tsx";
import { LogsPanel } from "./LogsPanel.tsx";


type CellState = { state: "queued" | "rendering" | "done" | "failed"; label: string; url?: string };

/** Each frame's cell: done when its file exists, failed, rendering (with samples) or queued. */
function cellsOf(detail: RenderDetail): Map<number, CellState> {
  const cells = new Map<number, CellState>();
  for (const frame of framesOf(detail.frames)) cells.set(frame, { state: "queued", label: "queued" });
  for (const now of detail.progress.current) {
    const samples = now.sample !== undefined && now.samples !== undefined ? ` ${now.sample}/${now.samples}` : "";
    cells.set(now.frame, { state: "rendering", label: `rendering${samples}` });
  }
  for (const failed of detail.progress.failedFrames) cells.set(failed.frame, { state: "failed", label: `failed: ${failed.reason}` });
  for (const output of detail.outputs) {
    const frame = frameOfOutput(output.name);
    if (frame !== undefined) cells.set(frame, { state: "done", label: "done", url: output.url });
  }
  return cells;
}

/** Preview sizes (the API's ?preview=): small for the grid, large for the viewer. */
const GRID_PREVIEW = 256;
const VIEWER_PREVIEW = 2048;

/** One render: status, frame grid with thumbnails, viewer, preview video, downloads, cancel/retry, logs. */
export function JobPage({ id }: { id: string }) {
  const [detail, setDetail] = useState<RenderDetail | undefined>();
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | undefined>();
  const [viewing, setViewing] = useState<{ frame: number; url: string } | undefined>();
  const dialog = useRef<HTMLDialogElement>(null);

  const load = useCallback(async () => {
    try {
      setDetail(await api<RenderDetail>(`/api/renders/${encodeURIComponent(id)}`));
      setVersion((v) => v + 1);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [id]);

  const onAws = detail?.backend.startsWith("aws:") ?? false;
  // Events say something changed; the detail route says what, so bursts are folded into one reload.
  useEffect(() => {
    void load();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = followEvents(() => {
      if (timer === undefined) timer = setTimeout(() => ((timer = undefined), void load()), 250);
    }, id);
    return () => {
      stop();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [id, load]);

  useEffect(() => {
    if (viewing && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [viewing]);

  const act = async (action: "cancel" | "retry") => {
    try {
      await api(`/api/renders/${encodeURIComponent(id)}/${action}`, { method: "POST" });
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (!detail) return <section><h1>Render {id}</h1>{error ? <p role="alert" className="error">{error}</p> : <p>Loading…</p>}</section>;

  const cells = cellsOf(detail);
  const ended = isEnded(detail.status);
  const zip = detail.outputs.find((o) => o.name.toLowerCase().endsWith(".zip"));
  const video = detail.outputs.find((o) => /\.(mp4|webm|mov)$/i.test(o.name));
  const frameOutputs = detail.outputs.filter((o) => frameOfOutput(o.name) !== undefined);
  const { framesDone, framesTotal, etaSeconds } = detail.progress;

  return (
    <section>
      <div className="heading-row">
        <h1>{detail.project} <small>{detail.renderId} · {onAws ? `AWS farm ${detail.backend.slice(4)}` : "this machine"}</small></h1>
        <div className="actions">
          <button type="button" onClick={() => void act("cancel")} disabled={ended}>Cancel</button>
          <button type="button" onClick={() => void act("retry")} disabled={!ended || detail.status === "SUCCEEDED"}>Retry failed frames</button>
        </div>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <dl className="summary">
        <div><dt>Status</dt><dd><span className={`status status-${detail.status.toLowerCase()}`} data-testid="render-status">{detail.status}</span>{detail.stage && !ended ? ` (${detail.stage})` : ""}</dd></div>
        <div><dt>Frames</dt><dd data-testid="frames-done">{framesDone}/{framesTotal}</dd></div>
        <div><dt>ETA</dt><dd data-testid="eta">{etaSeconds !== undefined && !ended ? formatDuration(etaSeconds) : "–"}</dd></div>
        {detail.reason && <div><dt>Reason</dt><dd>{detail.reason}</dd></div>}
        {detail.notify.length > 0 && <div><dt>Notify</dt><dd data-testid="notify">{detail.notify.join(", ")}</dd></div>}
      </dl>
      {/* Always there, so nothing moves when the actual figures arrive at the end. */}
      <dl className="summary cost" aria-label="Cost">
        <div><dt>Estimated</dt><dd data-testid="cost-estimate">{detail.cost?.estimate ? estimateWords(detail.cost.estimate) : "no estimate was made"}</dd></div>
        <div>
          <dt>Actual</dt>
          <dd data-testid="cost-actual" title={detail.cost?.actual?.method}>
            {detail.cost?.actual ? actualWords(detail.cost.actual) : detail.cost?.actualError ?? (ended ? "unknown" : "when the render ends")}
          </dd>
        </div>
      </dl>
      {detail.warnings.length > 0 && <ul className="warning">{detail.warnings.map((w) => <li key={w}>{w}</li>)}</ul>}

      <table className="jobs job-steps" aria-label="Jobs">
        <thead><tr><th>Job</th><th>Status</th><th>Children</th><th>Time</th><th>Reason</th></tr></thead>
        <tbody>
          {detail.jobs.map((job) => (
            <tr key={job.name}>
              <td>{job.action}</td>
              <td><span className={`status status-${job.status.toLowerCase()}`}>{job.status}</span></td>
              <td className="num">{job.children ? Object.entries(job.children).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state.toLowerCase()}`).join(", ") : job.arraySize}</td>
              <td className="num">{job.seconds !== undefined ? formatDuration(job.seconds) : ""}</td>
              <td title={job.reason}>{job.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Frames</h2>
      <ol className="frames" aria-label="Frames">
        {[...cells].map(([frame, cell]) => (
          <li key={frame} className={`cell cell-${cell.state}`} data-frame={frame} data-state={cell.state}>
            {cell.state === "done" && cell.url ? (
              <button type="button" className="thumb" onClick={() => setViewing({ frame, url: cell.url! })} aria-label={`View frame ${frame}`}>
                <img src={withToken(`${cell.url}?preview=${GRID_PREVIEW}`)} alt={`Frame ${frame}`} loading="lazy" />
              </button>
            ) : (
              <span className="placeholder" aria-hidden="true" />
            )}
            <span className="cell-label">{frame} · {cell.label}</span>
          </li>
        ))}
      </ol>

      <h2>Render time per frame</h2>
      <FrameTimesChart times={detail.progress.frameTimes ?? []} />

      {detail.type !== "still" && (
        <>
          <h2>Preview</h2>
          {/* The box is there from the start, so the page below does not jump when the video arrives. */}
          {video ? <video controls src={withToken(video.url)} className="preview" /> : <div className="preview preview-pending">{ended ? "No preview video" : "The preview video is made when the frames are uploaded."}</div>}
        </>
      )}

      <h2>Downloads</h2>
      <ul className="downloads">
        {zip && <li><a href={withToken(`${zip.url}?download`)} download data-testid="zip-link">All frames (.zip, {formatBytes(zip.size)})</a></li>}
        {frameOutputs.map((o) => <li key={o.name}><a href={withToken(`${o.url}?download`)} download>{o.name}</a></li>)}
      </ul>

      <h2>Logs</h2>
      {onAws ? <CloudWatchLogs renderId={detail.renderId} /> : <LogsPanel renderId={detail.renderId} version={version} />}

      <dialog ref={dialog} className="viewer" onClose={() => setViewing(undefined)} aria-label={viewing ? `Frame ${viewing.frame}` : "Frame"}>
        {viewing && (
          <>
            <div className="viewer-bar">
              <span>Frame {viewing.frame}</span>
              <a href={withToken(`${viewing.url}?download`)} download>Download</a>
              <button type="button" onClick={() => dialog.current?.close()} autoFocus>Close</button>
            </div>
            <img src={withToken(`${viewing.url}?preview=${VIEWER_PREVIEW}`)} alt={`Frame ${viewing.frame}, full size`} />
          </>
        )}
      </dialog>
    </section>
  );
}

/** An AWS render's logs come from CloudWatch, read on request (each read costs API calls). */
function CloudWatchLogs({ renderId }: { renderId: string }) {
  const [text, setText] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const read = async () => {
    setBusy(true);
    try {
      setText(await api<string>(`/api/renders/${encodeURIComponent(renderId)}/logs`));
    } catch (e) {
      setText((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="logs-panel">
      <button type="button" onClick={() => void read()} disabled={busy}>{text === undefined ? "Read the logs from CloudWatch" : "Read them again"}</button>
      {text !== undefined && <pre className="logs" tabIndex={0} aria-label="Logs">{text || "(no log lines yet)"}</pre>}
    </div>
  );
}
