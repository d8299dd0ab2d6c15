/**
 * How a render child shares its machine between Blender processes (pure).
 *
 * One Blender rendering frames one after another leaves cores idle during
 * each frame's single-threaded parts (scene sync, BVH build, image save). On
 * many cores, several Blenders each given a share of the threads (`-t N`) fill
 * those gaps. On a few cores the gaps are small, and each extra Blender costs
 * a start (loading the file and kernels) and its memory, so one Blender with
 * every thread stays: what Brender did before, never slower.
 */

/** Below this many cores a child runs one Blender. */
export const MIN_CORES_TO_SPLIT = 8;
/** Each Blender gets at least this many threads: fewer leaves each frame too long and multiplies memory. */
export const MIN_THREADS_PER_PROCESS = 4;

export type RenderProcessSplit = {
  /** Blender processes rendering at once. */
  readonly processes: number;
  /** Threads each one gets (`-t`); undefined: Blender's default, every core. */
  readonly threads?: number;
};

export type SplitInputs = {
  /** Cores this child may use. */
  readonly cores: number;
  /** Frames the child still has to render. */
  readonly frames: number;
  /** A GPU render: the GPU is the shared resource, so one Blender. */
  readonly gpu?: boolean;
  /** A fixed number of processes (BRENDER_RENDER_PROCESSES), still capped by the frames. */
  readonly processes?: number;
};

/**
 * The split for a child: one Blender on fewer than 8 cores or for one frame;
 * otherwise one per 4 cores, then as few as finish the frames in the same
 * number of rounds, so no Blender sits idle while others render a last round.
 */
export function chooseRenderProcesses(inputs: SplitInputs): RenderProcessSplit {
  const cores = Math.max(1, Math.floor(inputs.cores));
  const frames = Math.max(1, inputs.frames);
  let wanted: number;
  if (inputs.processes !== undefined) wanted = inputs.processes;
  else if (inputs.gpu || cores < MIN_CORES_TO_SPLIT) wanted = 1;
  else wanted = Math.floor(cores / MIN_THREADS_PER_PROCESS);
  wanted = Math.max(1, Math.min(wanted, frames));
  const rounds = Math.ceil(frames / wanted);
  const processes = Math.ceil(frames / rounds);
  if (processes === 1) return { processes: 1 };
  return { processes, threads: Math.max(1, Math.floor(cores / processes)) };
}

/** Deals frames out to `processes` Blenders in turn (1st, 2nd, … then again), so frames finish roughly in order. */
export function dealFrames(frames: readonly number[], processes: number): number[][] {
  const shares: number[][] = Array.from({ length: Math.max(1, processes) }, () => []);
  frames.forEach((frame, index) => shares[index % shares.length]!.push(frame));
  return shares.filter((share) => share.length > 0);
}
