import { useEffect, useState } from "react";
import { api, type LogFile } from "./api.ts";
import { formatBytes } from "./format.ts";
import { readableLog } from "./log-lines.ts";

/** The last 256 KiB of a log is what a person reads in a page; the download has it all. */
const TAIL_BYTES = 256 * 1024;

function labelOf(log: LogFile): string {
  const child = log.child === null ? "" : ` child ${log.child}`;
  const status = log.status ? `, ${log.status.toLowerCase()}` : "";
  return `${log.action}${child}, attempt ${log.attempt}${status} (${formatBytes(log.size)})`;
}

/**
 * Logs one job child attempt at a time, as lines a person reads (time, level,
 * message; progress events in words): the list comes from the render's log
 * files, a failed attempt (else the newest) is shown until the user picks one, and `version`
 * (bumped by the page on every event) reloads both while the render runs.
 */
export function LogsPanel({ renderId, version }: { renderId: string; version: number }) {
  const [files, setFiles] = useState<LogFile[] | undefined>();
  const [chosen, setChosen] = useState<string | undefined>();
  /** Until the user picks a log, the panel follows the one that matters most right now. */
  const [picked, setPicked] = useState(false);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let stale = false;
    api<LogFile[]>(`/api/renders/${encodeURIComponent(renderId)}/log-files`).then(
      (list) => {
        if (stale) return;
        setFiles(list);
        setError(undefined);
        setChosen((current) => (picked && current && list.some((f) => f.id === current) ? current : preferred(list)?.id));
      },
      (e: Error) => !stale && setError(e.message),
    );
    return () => {
      stale = true;
    };
  }, [renderId, version, picked]);

  const file = files?.find((f) => f.id === chosen);
  useEffect(() => {
    if (!file) return;
    let stale = false;
    api<string>(`${file.url}?tail=${TAIL_BYTES}`).then(
      (body) => !stale && setText(body),
      (e: Error) => !stale && setError(e.message),
    );
    return () => {
      stale = true;
    };
  }, [file?.url, file?.size]);

  if (error) return <p className="hint">{error}</p>;
  if (!files) return <p className="hint">Loading logs…</p>;
  if (files.length === 0) return <p className="hint">(no logs yet)</p>;
  return (
    <div className="logs-panel">
      <label>Log
        <select name="log" value={chosen ?? ""} onChange={(e) => {
          setPicked(true);
          setChosen(e.target.value);
        }}>
          {files.map((f) => <option key={f.id} value={f.id}>{labelOf(f)}</option>)}
        </select>
      </label>
      <pre className="logs" tabIndex={0} aria-label="Logs">
        {text ? readableLog(text).map((line, index) => (
          <div key={index} className={`log-line${line.level ? ` log-${line.level}` : ""}`}>
            {line.time ? <span className="log-time">{line.time} </span> : null}
            {line.level ? <span className="log-level">{line.level.toUpperCase().padEnd(5)} </span> : null}
            <span className="log-message">{line.message}</span>
          </div>
        )) : "(empty)"}
      </pre>
    </div>
  );
}

/** A failed attempt if there is one (that is what the user came for), else the render's last log. */
function preferred(list: readonly LogFile[]): LogFile | undefined {
  return list.find((f) => f.status === "FAILED") ?? list.filter((f) => f.action !== "upload_render_output").at(-1) ?? list.at(-1);
}
