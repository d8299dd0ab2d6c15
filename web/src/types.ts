/**
 * The API's answers and requests as the UI reads them: inferred from the
 * server's zod schemas (type-only imports, so no server code reaches the
 * bundle), so the UI, the API and its OpenAPI document cannot drift apart.
 */
import type { z } from "zod";
import type {
  estimateResponseSchema,
  farmsSchema,
  frameProgressSchema,
  inspectResponseSchema,
  logFileSchema,
  renderDetailSchema,
  renderListItemSchema,
  renderSettingsSchema,
  uploadResponseSchema,
} from "../../src/server/schemas.ts";

export type Upload = z.output<typeof uploadResponseSchema>;
export type Farms = z.output<typeof farmsSchema>;
export type LogFile = z.output<typeof logFileSchema>;
export type Inspection = z.output<typeof inspectResponseSchema>;
export type SceneInfo = Inspection["scenes"][number];
/** What the form sends: defaults (attempts, priority, farm) may be left out. */
export type RenderSettings = z.input<typeof renderSettingsSchema>;
export type RenderListItem = z.output<typeof renderListItemSchema>;
export type FrameProgress = z.output<typeof frameProgressSchema>;
export type RenderDetail = z.output<typeof renderDetailSchema>;
export type Estimate = z.output<typeof estimateResponseSchema>;
