import type { CyclesForm } from "./render-form.ts";

type TextField = "noiseThreshold" | "maxBounces" | "clampDirect" | "clampIndirect" | "filterGlossy";
type FlagField = "adaptiveSampling" | "denoising" | "causticsReflective" | "causticsRefractive";

/** The advanced Cycles options, folded away; pre-filled with the file's values by the caller. */
export function CyclesOptions({ value, onChange }: { value: CyclesForm; onChange: (next: CyclesForm) => void }) {
  const text = (field: TextField) => ({
    name: `cycles.${field}`,
    type: "number",
    value: value[field],
    onChange: (e: { target: { value: string } }) => onChange({ ...value, [field]: e.target.value }),
  });
  const flag = (field: FlagField) => ({
    name: `cycles.${field}`,
    type: "checkbox",
    checked: value[field],
    onChange: (e: { target: { checked: boolean } }) => onChange({ ...value, [field]: e.target.checked }),
  });
  return (
    <details>
      <summary>Cycles options</summary>
      <p className="hint">Pre-filled from the file; only the ones you change are applied.</p>
      <div className="grid">
        <label className="check"><input {...flag("adaptiveSampling")} /> Adaptive sampling</label>
        <label>Noise threshold<input {...text("noiseThreshold")} min={0} max={1} step="any" disabled={!value.adaptiveSampling} /></label>
        <label className="check"><input {...flag("denoising")} /> Denoising</label>
        <label>Max bounces<input {...text("maxBounces")} min={0} max={1024} /></label>
        <label>Clamp direct<input {...text("clampDirect")} min={0} step="any" title="0 = no clamping" /></label>
        <label>Clamp indirect<input {...text("clampIndirect")} min={0} step="any" title="0 = no clamping" /></label>
        <label className="check"><input {...flag("causticsReflective")} /> Reflective caustics</label>
        <label className="check"><input {...flag("causticsRefractive")} /> Refractive caustics</label>
        <label>Filter glossy<input {...text("filterGlossy")} min={0} step="any" /></label>
      </div>
    </details>
  );
}
