import { useEffect, useState, type FormEvent } from "react";
import { api, type Inspection, type RenderSettings, type SceneInfo } from "./api.ts";

type Form = {
  scene: string;
  camera: string;
  frames: string;
  engine: string;
  resolution: string;
  samples: string;
  format: string;
  split: "none" | "array" | "chunk";
  splitSize: string;
  attempts: string;
  timeout: string;
};

const EMPTY_FORM: Form = { scene: "", camera: "", frames: "", engine: "", resolution: "", samples: "", format: "", split: "none", splitSize: "2", attempts: "1", timeout: "" };

/** Blender's engine identifiers to the API's names. */
function engineOf(blenderEngine: string): string {
  if (blenderEngine === "CYCLES") return "cycles";
  if (blenderEngine.startsWith("BLENDER_EEVEE")) return "eevee";
  if (blenderEngine === "BLENDER_WORKBENCH") return "workbench";
  return "";
}

/** The form as the file has it for one scene. */
function formOfScene(scene: SceneInfo, previous: Form): Form {
  const range = `${scene.frameStart}-${scene.frameEnd}${scene.frameStep > 1 ? `:${scene.frameStep}` : ""}`;
  return {
    ...previous,
    scene: scene.name,
    camera: scene.camera ?? "",
    frames: range,
    engine: engineOf(scene.engine),
    resolution: `${scene.resolution.x}x${scene.resolution.y}`,
    samples: scene.cycles ? String(scene.cycles.samples) : "",
    format: scene.output.format,
  };
}

/** The API's settings from the form; empty fields keep the file's own. */
function settingsOf(form: Form): RenderSettings {
  const settings: RenderSettings = {};
  if (form.scene) settings.scene = form.scene;
  if (form.camera) settings.camera = form.camera;
  if (form.frames.trim()) settings.frames = form.frames.trim();
  if (form.engine) settings.engine = form.engine;
  if (form.resolution.trim()) settings.resolution = form.resolution.trim();
  if (form.samples.trim()) settings.samples = Number(form.samples);
  if (form.format.trim()) settings.format = form.format.trim();
  if (form.split === "array") settings.arraySize = Number(form.splitSize);
  if (form.split === "chunk") settings.chunkSize = Number(form.splitSize);
  if (form.attempts.trim()) settings.attempts = Number(form.attempts);
  if (form.timeout.trim()) settings.timeout = form.timeout.trim();
  return settings;
}

/** New render: pick or drop a .blend (inspected to pre-fill the form) or a zipped project, adjust, submit. */
export function NewRender() {
  const [file, setFile] = useState<File | undefined>();
  const [inspection, setInspection] = useState<Inspection | undefined>();
  const [form, setForm] = useState<Form>(EMPTY_FORM);
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [dragging, setDragging] = useState(false);

  const choose = async (chosen: File | undefined) => {
    setFile(chosen);
    setInspection(undefined);
    setForm(EMPTY_FORM);
    setError(undefined);
    if (!chosen) return;
    const lower = chosen.name.toLowerCase();
    if (lower.endsWith(".zip")) return;
    if (!lower.endsWith(".blend")) {
      setError(`"${chosen.name}" is neither a .blend nor a .zip; choose a Blender file or a zipped project.`);
      setFile(undefined);
      return;
    }
    setBusy("Reading the file…");
    try {
      const body = new FormData();
      body.append("file", chosen, chosen.name);
      const result = await api<Inspection>("/api/inspect", { method: "POST", body });
      setInspection(result);
      const scene = result.scenes.find((s) => s.name === result.activeScene) ?? result.scenes[0];
      if (scene) setForm(formOfScene(scene, EMPTY_FORM));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  // Dropping a file anywhere on the page chooses it.
  useEffect(() => {
    const over = (event: DragEvent) => {
      event.preventDefault();
      setDragging(true);
    };
    const leave = () => setDragging(false);
    const drop = (event: DragEvent) => {
      event.preventDefault();
      setDragging(false);
      const dropped = event.dataTransfer?.files[0];
      if (dropped) void choose(dropped);
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

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setBusy("Submitting…");
    setError(undefined);
    try {
      const settings = settingsOf(form);
      let init: RequestInit;
      if (inspection) {
        init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uploadId: inspection.uploadId, settings }) };
      } else {
        const body = new FormData();
        body.append("settings", JSON.stringify(settings));
        body.append("file", file, file.name);
        init = { method: "POST", body };
      }
      const { renderId } = await api<{ renderId: string }>("/api/renders", init);
      location.hash = `#/renders/${renderId}`;
    } catch (e) {
      setError((e as Error).message);
      setBusy(undefined);
    }
  };

  const set = (field: keyof Form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: event.target.value }));
  const scene = inspection?.scenes.find((s) => s.name === form.scene);
  const ready = file !== undefined && busy === undefined && (inspection !== undefined || file.name.toLowerCase().endsWith(".zip"));

  return (
    <section className={dragging ? "dropping" : undefined}>
      <h1>New render</h1>
      <div className="drop">
        <label htmlFor="file">Blender file (.blend) or zipped project (.zip)</label>
        <input id="file" type="file" accept=".blend,.zip" onChange={(e) => void choose(e.target.files?.[0])} />
        <p className="hint">or drop it anywhere on this page</p>
      </div>
      {busy && <p role="status">{busy}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {inspection && inspection.missingFiles.length > 0 && (
        <div className="warning" role="note">
          <h2>Missing external files</h2>
          <p>These files are referenced by the .blend but were not found; the render will lack them. Pack them or upload a zipped project.</p>
          <ul>
            {inspection.missingFiles.map((missing) => (
              <li key={`${missing.type}:${missing.path}`}><strong>{missing.type}</strong> {missing.name}: <code>{missing.path}</code></li>
            ))}
          </ul>
        </div>
      )}
      {file && (inspection || file.name.toLowerCase().endsWith(".zip")) && (
        <form onSubmit={(e) => void submit(e)} className="settings">
          {inspection && (
            <div className="grid">
              <label>Scene
                <select name="scene" value={form.scene} onChange={(e) => {
                  const chosen = inspection.scenes.find((s) => s.name === e.target.value);
                  if (chosen) setForm((f) => formOfScene(chosen, f));
                }}>
                  {inspection.scenes.map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
                </select>
              </label>
              <label>Camera
                <select name="camera" value={form.camera} onChange={set("camera")}>
                  <option value="">(scene's camera)</option>
                  {(scene?.cameras ?? []).map((c) => <option key={c} value={c}>{c}</option>)}
                </select>
              </label>
            </div>
          )}
          <div className="grid">
            <label>Frames<input name="frames" value={form.frames} onChange={set("frames")} placeholder="file's range" /></label>
            <label>Engine
              <select value={form.engine} onChange={set("engine")}>
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
          <details>
            <summary>Advanced</summary>
            <div className="grid">
              <label>Split frames
                <select value={form.split} onChange={(e) => setForm((f) => ({ ...f, split: e.target.value as Form["split"] }))}>
                  <option value="none">one render child</option>
                  <option value="array">across N children (array size)</option>
                  <option value="chunk">N frames per child (chunk size)</option>
                </select>
              </label>
              <label>N<input name="splitSize" type="number" min={1} value={form.splitSize} disabled={form.split === "none"} onChange={set("splitSize")} /></label>
              <label>Attempts<input name="attempts" type="number" min={1} max={10} value={form.attempts} onChange={set("attempts")} /></label>
              <label>Timeout per attempt<input name="timeout" value={form.timeout} onChange={set("timeout")} placeholder="15m" /></label>
            </div>
          </details>
          <button type="submit" disabled={!ready}>Submit</button>
        </form>
      )}
    </section>
  );
}
