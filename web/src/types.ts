/** The API's answers and requests as the UI reads them (no DOM, so Node tests can import them). */

export type Upload = { uploadId: string; kind: "blend" | "zip" | "folder"; name: string; blendFiles: string[] };

export type Farms = {
  local: { cores: number; queue: { queued: number; running: number }; renders: { active: number; total: number } };
  aws: { farm: string; region: string; renders: number; queues?: string[] }[];
};

export type LogFile = { id: string; action: string; child: number | null; attempt: number; status?: string; size: number; url: string };

export type SceneInfo = {
  name: string;
  frameStart: number;
  frameEnd: number;
  frameStep: number;
  engine: string;
  resolution: { x: number; y: number; percentage: number };
  output: { format: string };
  camera: string | null;
  cameras: string[];
  viewLayers: { name: string; use: boolean }[];
  cycles: {
    samples: number;
    adaptiveSampling: boolean;
    noiseThreshold: number;
    denoising: boolean;
    maxBounces?: number;
    clampDirect?: number;
    clampIndirect?: number;
    causticsReflective?: boolean;
    causticsRefractive?: boolean;
    filterGlossy?: number;
  } | null;
};

export type ExternalFile = { type: string; name: string; path: string };

export type Inspection = {
  uploadId: string;
  file: string;
  activeScene: string;
  scenes: SceneInfo[];
  missingFiles: ExternalFile[];
};

export type RenderSettings = {
  frames?: string;
  engine?: string;
  samples?: number;
  resolution?: string;
  format?: string;
  scene?: string;
  camera?: string;
  layer?: string;
  blend?: string;
  arraySize?: number;
  chunkSize?: number;
  attempts?: number;
  timeout?: string;
  priority?: number;
  farm?: string;
  queue?: string;
  /** Advanced overrides in the payload's own shape (render.cycles …). */
  render?: { cycles?: Record<string, unknown> };
};

export type RenderListItem = { renderId: string; backend: string; project: string; submittedAt: string; status: string; statusError?: string };

export type FrameProgress = {
  framesTotal: number;
  framesDone: number;
  failedFrames: { frame: number; reason: string }[];
  current: { child: number; frame: number; sample?: number; samples?: number }[];
  etaSeconds?: number;
  frameTimes?: { frame: number; seconds: number; child?: number }[];
};

export type Output = { name: string; size: number; url: string };

export type JobSummary = { name: string; action: string; status: string; reason?: string; arraySize: number; children?: Record<string, number>; seconds?: number };

export type RenderDetail = {
  renderId: string;
  backend: string;
  jobs: JobSummary[];
  project: string;
  frames: string;
  type: string;
  status: string;
  stage?: string;
  reason?: string;
  progress: FrameProgress;
  warnings: string[];
  outputs: Output[];
};
