import type { DatabaseSync } from "node:sqlite";

/**
 * The job store's schema, one SQL script per version. Migration i brings the
 * database from version i to i + 1; the version lives in PRAGMA user_version.
 * Never edit a migration that has shipped: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the AWS Batch model (compute environments, queues, definitions, jobs,
  // their children and every attempt of every child).
  `
  CREATE TABLE compute_environments (
    name TEXT PRIMARY KEY,
    max_vcpus INTEGER NOT NULL CHECK (max_vcpus >= 1),
    state TEXT NOT NULL DEFAULT 'ENABLED' CHECK (state IN ('ENABLED', 'DISABLED'))
  );

  CREATE TABLE job_queues (
    name TEXT PRIMARY KEY,
    priority INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT 'ENABLED' CHECK (state IN ('ENABLED', 'DISABLED')),
    compute_environment TEXT NOT NULL REFERENCES compute_environments (name)
  );

  CREATE TABLE job_definitions (
    name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    blender_executable TEXT,
    vcpus INTEGER NOT NULL CHECK (vcpus >= 1),
    memory_mib INTEGER NOT NULL CHECK (memory_mib >= 1),
    attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts BETWEEN 1 AND 10),
    timeout_seconds INTEGER CHECK (timeout_seconds >= 1),
    PRIMARY KEY (name, revision)
  );

  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    queue TEXT NOT NULL REFERENCES job_queues (name),
    definition TEXT NOT NULL,
    definition_revision INTEGER NOT NULL,
    action TEXT NOT NULL,
    environment TEXT NOT NULL,
    array_size INTEGER NOT NULL CHECK (array_size >= 1),
    attempts INTEGER NOT NULL CHECK (attempts >= 1),
    timeout_seconds INTEGER,
    vcpus INTEGER NOT NULL,
    blender_executable TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    stopped_at INTEGER,
    status TEXT NOT NULL,
    status_reason TEXT,
    run_on_dependency_failure INTEGER NOT NULL DEFAULT 0,
    render_id TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    cancel_reason TEXT,
    terminate_reason TEXT,
    FOREIGN KEY (definition, definition_revision) REFERENCES job_definitions (name, revision)
  );
  CREATE INDEX jobs_by_status ON jobs (status, seq);
  CREATE INDEX jobs_by_render ON jobs (render_id);
  -- The scheduler only looks at live jobs; finished ones pile up over time.
  CREATE INDEX jobs_live ON jobs (queue, priority, seq) WHERE status NOT IN ('SUCCEEDED', 'FAILED');

  CREATE TABLE job_dependencies (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    depends_on TEXT NOT NULL REFERENCES jobs (id),
    type TEXT NOT NULL CHECK (type IN ('SEQUENTIAL', 'N_TO_N')),
    PRIMARY KEY (job_id, depends_on)
  ) WITHOUT ROWID;
  CREATE INDEX job_dependencies_reverse ON job_dependencies (depends_on);

  -- Children per status per job, kept by the trigger below, so a parent's
  -- status and summary never need a scan of its (up to 100,000) children.
  CREATE TABLE job_status_counts (
    job_id TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (job_id, status)
  ) WITHOUT ROWID;

  CREATE TABLE children (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    attempts_used INTEGER NOT NULL DEFAULT 0,
    attempt_seq INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_ms INTEGER,
    lease_expires_at INTEGER,
    deadline_at INTEGER,
    terminate_requested INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    stopped_at INTEGER,
    PRIMARY KEY (job_id, idx)
  ) WITHOUT ROWID;
  CREATE INDEX children_by_status ON children (job_id, status, idx);
  CREATE INDEX children_in_flight ON children (owner) WHERE status IN ('STARTING', 'RUNNING');

  CREATE TRIGGER children_count_status AFTER UPDATE OF status ON children
  WHEN old.status <> new.status
  BEGIN
    UPDATE job_status_counts SET count = count - 1 WHERE job_id = old.job_id AND status = old.status;
    UPDATE job_status_counts SET count = count + 1 WHERE job_id = new.job_id AND status = new.status;
  END;

  CREATE TABLE attempts (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT NOT NULL,
    counted INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    stopped_at INTEGER,
    deadline_at INTEGER,
    exit_code INTEGER,
    reason TEXT,
    log_file TEXT,
    PRIMARY KEY (job_id, idx, attempt)
  ) WITHOUT ROWID;
  `,
  // 2: a record per render (as AWS renders have one), so renders are listed
  // and found by id or prefix without scanning jobs. Existing homes get one
  // for every render their jobs name, from its newest submission.
  `
  CREATE TABLE renders (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    -- the render job payload it was (last) submitted with, JSON
    settings TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    -- the newest submission's job ids, in plan order (JSON array)
    job_ids TEXT NOT NULL,
    -- SUCCEEDED or FAILED once that submission ended and was judged; NULL before
    final_status TEXT CHECK (final_status IN ('SUCCEEDED', 'FAILED'))
  );
  CREATE INDEX renders_by_time ON renders (submitted_at);

  INSERT INTO renders (id, project, settings, submitted_at, job_ids)
  SELECT copy.render_id,
         COALESCE(json_extract(copy.tags, '$.project'), ''),
         json_extract(copy.environment, '$.BRENDER_JOB_PAYLOAD'),
         (SELECT MAX(job.created_at) FROM jobs job WHERE job.render_id = copy.render_id AND job.seq >= copy.seq),
         (SELECT json_group_array(id) FROM (SELECT job.id FROM jobs job WHERE job.render_id = copy.render_id AND job.seq >= copy.seq ORDER BY job.seq))
  FROM jobs copy
  WHERE copy.action = 'copy_efs' AND copy.render_id IS NOT NULL
    AND json_extract(copy.environment, '$.BRENDER_JOB_PAYLOAD') IS NOT NULL
    AND copy.seq = (SELECT MAX(other.seq) FROM jobs other WHERE other.render_id = copy.render_id AND other.action = 'copy_efs');
  `,
];

/** Brings the database up to the newest schema, each step in its own transaction. Refuses a database newer than this code. */
export function migrate(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  const current = row?.user_version ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`job database schema version ${current} is newer than this Brender understands (${MIGRATIONS.length}); upgrade Brender`);
  }
  for (let version = current; version < MIGRATIONS.length; version += 1) {
    db.exec("BEGIN IMMEDIATE");
    try {
      // Another process may have migrated while we waited for the lock.
      const now = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
      if (now === version) {
        db.exec(MIGRATIONS[version] ?? "");
        db.exec(`PRAGMA user_version = ${version + 1}`);
      }
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
  return MIGRATIONS.length;
}
