import { useEffect, useRef, useState, type FormEvent } from "react";
import { estimateWords } from "../../src/domain/cost/cost-words.ts";
import { api, uploadProject, type Estimate, type Farms, type Inspection, type Upload } from "./api.ts";
import { CyclesOptions } from "./CyclesOptions.tsx";
import { formatBytes } from "./format.ts";
import { filesOfDrop, filesOfInput, projectKindOf, type ProjectFile } from "./project-files.ts";
import { defaultBlend, EMPTY_FORM, formOfScene, settingsOf, type CyclesForm, type Form } from "./render-form.ts";

type Busy = { label: string; sent?: number; total?: number };

/**
 * New render: pick or drop a .blend, a zipped project or a project folder. It
 * is uploaded once, the chosen .blend inspected to pre-fill the form, and the
 * render submitted against that upload.
 */
export function NewRender() {
  const [upload, setUpload] = useState<Upload | undefined>();
  const [blend, setBlend] = useState<string | undefined>();
  const [inspection, setInspection] = useState<Inspection | undefined>();
  const [form, setForm] = useState<Form>(EMPTY_FORM);
  /** The file's own Cycles options: only those the user changes are sent. */
  const [fileCycles, setFileCycles] = useState<CyclesForm>(EMPTY_FORM.cycles);
  const [farms, setFarms] = useState<Farms | undefined>();
  const [busy, setBusy] = useState<Busy | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [dragging, setDragging] = useState(false);
  /** The last estimate, and the request body (upload and settings) it was made for: submitted with the render only while they still match. */
  const [estimate, setEstimate] = useState<{ answer: Estimate; forBody: string } | undefined>();
  const generation = useRef(0);

  useEffect(() => {
    api<Farms>("/api/farms").then(setFarms, () => setFarms(undefined));
  }, []);

  const inspect = async (uploaded: Upload, chosen: string | undefined, mine: number) => {
    setBlend(chosen);
    setInspection(undefined);
    if (!chosen) return;
    setBusy({ label: `Reading ${chosen}…` });
    try {
      const body = JSON.stringify(uploaded.kind === "blend" ? { uploadId: uploaded.uploadId } : { uploadId: uploaded.uploadId, blend: chosen });
      const result = await api<Inspection>("/api/inspect", { method: "POST", headers: { "content-type": "application/json" }, body });
      if (mine !== generation.current) return;
      setInspection(result);
      const scene = result.scenes.find((s) => s.name === result.activeScene) ?? result.scenes[0];
      if (scene) {
        setForm((previous) => formOfScene(scene, previous));
        setFileCycles(formOfScene(scene, EMPTY_FORM).cycles);
      }
    } catch (e) {
      if (mine === generation.current) setError((e as Error).message);
    } finally {
      if (mine === generation.current) setBusy(undefined);
    }
  };

  const choose = async (files: ProjectFile[]) => {
    const mine = ++generation.current;
    setUpload(undefined);
    setInspection(undefined);
    setBlend(undefined);
    setForm((previous) => ({ ...EMPTY_FORM, farm: previous.farm, queue: previous.queue }));
    setError(undefined);
    if (files.length === 0) return;
    const kind = projectKindOf(files);
    if ("error" in kind) {
      setError(kind.error);
      return;
    }
    const total = files.reduce((sum, f) => sum + f.file.size, 0);
    const what = kind.kind === "folder" ? `${files.length} files` : files[0]!.path;
    setBusy({ label: `Uploading ${what}…`, sent: 0, total });
    try {
      const uploaded = await uploadProject(files, (sent, all) => {
        if (mine === generation.current) setBusy({ label: `Uploading ${what}…`, sent, total: all });
      });
      if (mine !== generation.current) return;
      setUpload(uploaded);
      setBusy(undefined);
      await inspect(uploaded, uploaded.kind === "blend" ? uploaded.name : defaultBlend(uploaded.blendFiles), mine);
    } catch (e) {
      if (mine === generation.current) {
        setError((e as Error).message);
        setBusy(undefined);
      }
    }
  };

  // Dropping a file or a folder anywhere on the page chooses it.
  useEffect(() => {
    const over = (event: DragEvent) => {
      event.preventDefault();
      setDragging(true);
    };
    const leave = () => setDragging(false);
    const drop = (event: DragEvent) => {
      event.preventDefault();
      setDragging(false);
      if (event.dataTransfer) void filesOfDrop(event.dataTransfer).then(choose, (e: Error) => setError(`The dropped files could not be read: ${e.message}`));
    };
    addEventListener("dragover", over);
    addEventListener("dragleave", leave);
    addEventListener("drop", drop);
    return () => {
      removeEventListener("dragover", over);
      removeEventListener("dragleave", leave);
      removeEventListener("drop", drop);
    };
  }, []);

  /** POST /api/renders' body for the form as it is (POST /api/estimate takes the same). */
  const settingsNow = (upload: Upload) => settingsOf(form, upload.kind === "blend" ? undefined : blend, { ...form, cycles: fileCycles });
  const requestBody = (upload: Upload) => JSON.stringify({ uploadId: upload.uploadId, settings: settingsNow(upload) });

  const runEstimate = async () => {
    if (!upload) return;
    const body = requestBody(upload);
    setBusy({ label: "Estimating: rendering a few frames on the server…" });
    setError(undefined);
    try {
      const answer = await api<Estimate>("/api/estimate", { method: "POST", headers: { "content-type": "application/json" }, body });
      setEstimate({ answer, forBody: body });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!upload) return;
    setBusy({ label: form.farm === "local" ? "Submitting…" : `Submitting to AWS farm ${form.farm}…` });
    setError(undefined);
    try {
      const settings = settingsNow(upload);
      // An estimate made for exactly these settings is kept with the render, to be shown next to the actual cost.
      const kept = estimate?.forBody === requestBody(upload) ? { estimate: estimate.answer.stored } : {};
      const body = JSON.stringify({ uploadId: upload.uploadId, settings: { ...settings, ...kept } });
      const { renderId } = await api<{ renderId: string }>("/api/renders", { method: "POST", headers: { "content-type": "application/json" }, body });
      location.hash = `#/renders/${renderId}`;
    } catch (e) {
      setError((e as Error).message);
      setBusy(undefined);
    }
  };

  const set = (field: keyof Form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: event.target.value }));
  const scene = inspection?.scenes.find((s) => s.name === form.scene);
  const awsFarm = farms?.aws.find((f) => f.farm === form.farm);
  const ready = upload !== undefined && inspection !== undefined && busy === undefined;

  return (
    <section className={dragging ? "dropping" : undefined}>
      <h1>New render</h1>
      <div className="drop">
        <label htmlFor="file">Blender file (.blend) or zipped project (.zip)</label>
        <input id="file" type="file" accept=".blend,.zip" onChange={(e) => void choose(filesOfInput(e.target.files))} />
        <label htmlFor="folder">or a project folder (the .blend with its textures and caches)</label>
        <input id="folder" type="file" {...{ webkitdirectory: "" }} onChange={(e) => void choose(filesOfInput(e.target.files))} />
        <p className="hint">or drop a file or folder anywhere on this page</p>
      </div>
      <div className="status-line" aria-live="polite">
        {busy && (
          <p role="status">
            {busy.label}
            {busy.total !== undefined && busy.total > 0 && (
              <>
                {" "}
                <progress value={busy.sent ?? 0} max={busy.total} /> {formatBytes(busy.sent ?? 0)} of {formatBytes(busy.total)}
              </>
            )}
          </p>
        )}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {upload && upload.kind !== "blend" && (
        <div className="grid project">
          <label>Blend file in {upload.name}
            <select name="blend" value={blend ?? ""} onChange={(e) => void inspect(upload, e.target.value, generation.current)}>
              {upload.blendFiles.map((b) => <option key={b} value={b}>{b}</option>)}
            </select>
          </label>
        </div>
      )}
      {inspection && inspection.missingFiles.length > 0 && (
        <div className="warning" role="note">
          <h2>Missing external files</h2>
          <p>These files are referenced by the .blend but were not found; the render will lack them. Pack them into the .blend, or upload the project folder or a zip of it.</p>
          <ul>
            {inspection.missingFiles.map((missing) => (
              <li key={`${missing.type}:${missing.path}`}><strong>{missing.type}</strong> {missing.name}: <code>{missing.path}</code></li>
            ))}
          </ul>
        </div>
      )}
      {inspection && (inspection.notInUpload?.length ?? 0) > 0 && (
        <div className="warning" role="note" aria-label="files not in the upload">
          <h2>Files the upload did not include</h2>
          <p>The .blend needs these files, which are not in what you uploaded; the render will lack them. Upload the folder that holds them (or a zip of it), or pack them into the .blend.</p>
          <ul>
            {inspection.notInUpload!.map((item) => (
              <li key={`${item.owner}:${item.path}`}><strong>{item.kind}</strong> {item.owner}: <code>{item.path}</code> ({item.reason})</li>
            ))}
          </ul>
        </div>
      )}
      {upload && inspection && (
        <form onSubmit={(e) => void submit(e)} className="settings">
          <div className="grid">
            <label>Scene
              <select name="scene" value={form.scene} onChange={(e) => {
                const chosen = inspection.scenes.find((s) => s.name === e.target.value);
                if (chosen) {
                  setForm((f) => formOfScene(chosen, f));
                  setFileCycles(formOfScene(chosen, EMPTY_FORM).cycles);
                }
              }}>
                {inspection.scenes.map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
              </select>
            </label>
            <label>View layer
              <select name="layer" value={form.layer} onChange={set("layer")}>
                <option value="">(all enabled layers)</option>
                {(scene?.viewLayers ?? []).map((l) => <option key={l.name} value={l.name}>{l.name}{l.use ? "" : " (disabled)"}</option>)}
              </select>
            </label>
            <label>Camera
              <select name="camera" value={form.camera} onChange={set("camera")}>
                <option value="">(scene's camera)</option>
                {(scene?.cameras ?? []).map((c) => <option key={c} value={c}>{c}</option>)}
              </select>
            </label>
          </div>
          <div className="grid">
            <label>Frames<input name="frames" value={form.frames} onChange={set("frames")} placeholder="file's range" /></label>
            <label>Engine
              <select name="engine" value={form.engine} onChange={set("engine")}>
                <option value="">(file's engine)</option>
                <option value="cycles">Cycles</option>
                <option value="eevee">Eevee</option>
                <option value="workbench">Workbench</option>
              </select>
            </label>
            <label>Resolution<input name="resolution" value={form.resolution} onChange={set("resolution")} placeholder="1920x1080" /></label>
            <label>Samples<input name="samples" type="number" min={1} value={form.samples} onChange={set("samples")} /></label>
            <label>Format<input name="format" value={form.format} onChange={set("format")} placeholder="PNG" /></label>
          </div>
          {form.engine === "cycles" && <CyclesOptions value={form.cycles} onChange={(cycles) => setForm((f) => ({ ...f, cycles }))} />}
          <div className="grid">
            <label>Farm
              <select name="farm" value={form.farm} onChange={(e) => setForm((f) => ({ ...f, farm: e.target.value, queue: e.target.value === "local" ? "" : (farms?.aws.find((a) => a.farm === e.target.value)?.queues?.[0] ?? "") }))}>
                <option value="local">This machine ({farms?.local.cores ?? "?"} cores)</option>
                {(farms?.aws ?? []).map((f) => (
                  <option key={`${f.farm}@${f.region}`} value={f.farm}>
                    AWS: {f.farm} ({f.region}{f.stackStatus && !["CREATE_COMPLETE", "UPDATE_COMPLETE"].includes(f.stackStatus) ? `, stack ${f.stackStatus}` : ""})
                  </option>
                ))}
              </select>
            </label>
            {farms?.discoveryError && <p className="hint">{farms.discoveryError}</p>}
            <p className="hint blender-choice">
              {form.farm === "local"
                ? <>Saved with Blender {inspection.savedWith}; renders here with Blender {inspection.renderBlender.version} <code>{inspection.renderBlender.path}</code></>
                : <>Saved with Blender {inspection.savedWith}; the farm renders with its deployed Blender nearest at or above {inspection.savedWith}</>}
            </p>
            {form.farm === "local" && inspection.renderBlender.warning && <p className="warning" role="note">{inspection.renderBlender.warning}</p>}
            {awsFarm && (
              <label>Queue
                <select name="queue" value={form.queue} onChange={set("queue")}>
                  {(awsFarm.queues ?? []).map((q) => <option key={q} value={q}>{q}</option>)}
                </select>
              </label>
            )}
          </div>
          <details>
            <summary>Job options</summary>
            <div className="grid">
              <label>Split frames
                <select name="split" value={form.split} onChange={(e) => setForm((f) => ({ ...f, split: e.target.value as Form["split"] }))}>
                  <option value="none">one render child</option>
                  <option value="array">across N children (array size)</option>
                  <option value="chunk">N frames per child (chunk size)</option>
                </select>
              </label>
              <label>N<input name="splitSize" type="number" min={1} value={form.splitSize} disabled={form.split === "none"} onChange={set("splitSize")} /></label>
              <label>Attempts<input name="attempts" type="number" min={1} max={10} value={form.attempts} onChange={set("attempts")} /></label>
              <label>Timeout per attempt<input name="timeout" value={form.timeout} onChange={set("timeout")} placeholder="15m" /></label>
              <label>Priority<input name="priority" type="number" value={form.priority} onChange={set("priority")} title="higher runs first" /></label>
              <label>
                Notify (e-mail or webhook URL)
                <input
                  name="notify"
                  value={form.notify}
                  onChange={set("notify")}
                  placeholder="me@studio.com, https://hooks.slack.com/services/…"
                  title="e-mail addresses and Slack, Discord or https:// webhook URLs told the result, separated by commas or spaces"
                />
              </label>
            </div>
          </details>
          {estimate && (
            <p className="estimate" data-testid="estimate" title={estimate.answer.method}>
              Estimated: {estimateWords(estimate.answer.stored)}
              {estimate.forBody !== requestBody(upload) && " (for earlier settings: estimate again)"}
            </p>
          )}
          <div className="actions">
            <button type="button" onClick={() => void runEstimate()} disabled={!ready}>Estimate</button>
            <button type="submit" disabled={!ready}>Submit</button>
          </div>
        </form>
      )}
    </section>
  );
}
