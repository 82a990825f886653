/**
 * Smoke test of the TypeScript client against a live backup-master: lists the components, starts
 * a backup, waits for it to end, checks it succeeded and reads its report.
 * Environment: BM_URL (e.g. http://127.0.0.1:8080), BM_TOKEN (an operator or admin token).
 * Run: `npm run smoke` (builds with tsc, runs on Node >= 18); exits non-zero on failure.
 */
import { createBackupMasterClient, type Schema } from "../src/index.js";

// Node's globals, declared here so that the client needs no @types/node.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

/** The last line is `Final completion date: ...`, preceded by the success line. */
function checkReport(report: string): void {
  const lines = report.trimEnd().split("\n");
  const n = lines.length;
  check(
    n >= 2 &&
      lines[n - 1].startsWith("Final completion date: ") &&
      lines[n - 2] === "The backup was completed successfully",
    `unexpected report ending:\n${report}`,
  );
}

async function main(): Promise<void> {
  const client = createBackupMasterClient(env("BM_URL"), env("BM_TOKEN"));

  const list = await client.GET("/api/v1/components");
  check(list.data, `list components: ${list.response.status} ${JSON.stringify(list.error)}`);
  check(list.data.length > 0, "no components");
  console.log("components:", list.data.map((c: Schema<"ComponentView">) => c.name));

  const start = await client.POST("/api/v1/backups");
  check(start.response.status === 202 && start.data, `start backup: ${start.response.status} ${JSON.stringify(start.error)}`);
  const id = start.data.id;
  console.log(`started backup ${id} (${start.data.status})`);

  const deadline = Date.now() + 120_000;
  let record: Schema<"BackupRecord">;
  for (;;) {
    const r = await client.GET("/api/v1/backups/{id}", { params: { path: { id } } });
    check(r.data, `get backup: ${r.response.status} ${JSON.stringify(r.error)}`);
    record = r.data;
    if (record.status !== "running") break;
    check(Date.now() < deadline, `backup ${id} still running after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.log(`backup ${id} ended: ${record.status}`);
  check(record.status === "succeeded", `backup ${id} ended ${record.status}: ${JSON.stringify(record.errors)}`);

  const report = await client.GET("/api/v1/backups/{id}/report", {
    params: { path: { id } },
    parseAs: "text",
  });
  check(report.data !== undefined, `report: ${report.response.status} ${JSON.stringify(report.error)}`);
  const ct = report.response.headers.get("content-type") ?? "";
  check(ct.startsWith("text/plain"), `report content type ${ct}`);
  checkReport(report.data);
  console.log(`report: ${report.data.split("\n").length} lines, ends as expected`);
}

main().then(
  () => console.log("typescript smoke: ok"),
  (e: unknown) => {
    console.error(`typescript smoke: FAILED: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
