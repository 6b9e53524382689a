/**
 * `COPY … FROM STDIN` on a pg client without another dependency: pg's `query()` accepts any object with
 * `submit(connection)` and drives it with the protocol's messages (this is how pg-copy-streams works too).
 * The whole payload is sent in 64 KiB CopyData messages, then CopyDone; the promise settles at ReadyForQuery
 * with the row count, or with the server's error.
 */
import type pg from 'pg';

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

export function copyFrom(client: pg.PoolClient, text: string, payload: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let rows = 0;
    let error: unknown = null;
    const submittable = {
      text,
      submit(connection: CopyConnection) {
        connection.query(text);
      },
      handleCopyInResponse(connection: CopyConnection) {
        const buf = Buffer.from(payload, 'utf8');
        for (let o = 0; o < buf.length; o += 65_536) connection.sendCopyFromChunk(buf.subarray(o, o + 65_536));
        connection.endCopyFrom();
      },
      handleCommandComplete(msg: { text?: string }) {
        const m = /^COPY (\d+)/.exec(msg.text ?? '');
        if (m) rows = Number(m[1]);
      },
      handleError(e: unknown) {
        error = e;
      },
      handleReadyForQuery() {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(rows);
      },
      handleRowDescription() {},
      handleDataRow() {},
      handlePortalSuspended() {},
      handleEmptyQuery() {},
      handleCopyData() {},
    };
    client.query(submittable as never);
  });
}

/** One value in COPY's text format: \N for null; backslash, tab and line breaks escaped. */
export function copyText(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  if (!/[\\\t\n\r]/.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
