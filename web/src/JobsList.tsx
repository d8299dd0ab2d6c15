import { useEffect, useState } from "react";
import { api, followEvents, type FrameProgress, type RenderListItem } from "./api.ts";

/** Home: every render, newest first, statuses and frame counts kept live by the event stream. */
export function JobsList() {
  const [renders, setRenders] = useState<RenderListItem[] | undefined>();
  const [progress, setProgress] = useState<Record<string, FrameProgress>>({});
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api<RenderListItem[]>("/api/renders").then(
        (list) => !stopped && setRenders(list),
        (e: Error) => !stopped && setError(e.message),
      );
    void load();
    const stop = followEvents((type, data) => {
      const renderId = String(data.renderId);
      if (type === "progress") setProgress((all) => ({ ...all, [renderId]: data as unknown as FrameProgress }));
      if (type === "render") {
        setRenders((list) => {
          if (!list?.some((row) => row.renderId === renderId)) {
            // A render this page has not seen yet (submitted elsewhere): reload the list for its full row.
            void load();
            return list;
          }
          return list.map((row) => (row.renderId === renderId ? { ...row, status: data.status as RenderListItem["status"] } : row));
        });
      }
    });
    return () => {
      stopped = true;
      stop();
    };
  }, []);

  return (
    <section>
      <div className="heading-row">
        <h1>Renders</h1>
        <a className="button" href="#/new">New render</a>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {renders === undefined && !error && <p>Loading…</p>}
      {renders?.length === 0 && <p>No renders yet. <a href="#/new">Start one</a>.</p>}
      {renders && renders.length > 0 && (
        <table className="jobs">
          <thead>
            <tr><th>Render</th><th>Project</th><th>Farm</th><th>Submitted</th><th>Status</th><th>Frames</th></tr>
          </thead>
          <tbody>
            {renders.map((row) => {
              const p = progress[row.renderId];
              return (
                <tr key={row.renderId}>
                  <td><a href={`#/renders/${row.renderId}`}>{row.renderId}</a></td>
                  <td>{row.project}</td>
                  <td>{row.backend === "local" ? "this machine" : `AWS ${row.backend.slice(4)}`}</td>
                  <td>{new Date(row.submittedAt).toLocaleString()}</td>
                  <td><span className={`status status-${row.status.toLowerCase()}`} data-testid="job-status" title={row.statusError}>{row.status}</span></td>
                  <td className="num">{p ? `${p.framesDone}/${p.framesTotal}` : row.framesTotal !== undefined ? `${row.framesDone ?? 0}/${row.framesTotal}` : ""}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
