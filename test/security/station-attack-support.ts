/**
 * Shared set-up for the station's security tests: a real central server, a station on the simulated reader
 * holding an issued user card, and a raw HTTP client that sends exactly the headers an attacker's browser
 * (or a rebound page) would — fetch() would not let a test set Host.
 */
import { request } from 'node:http';
import {
  cleanup,
  freshCardNo,
  startCentral,
  startTestStation,
  type CentralProcess,
  type TestStation,
} from '../station/support.ts';

export interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTP request with exactly these headers (no key, no clerk unless given). */
export function raw(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export interface AttackBench {
  central: CentralProcess;
  st: TestStation;
  port: string;
  cardNo: string;
  /** The card as the station's own paired client sees it. */
  card(): Promise<{ gas: number; count: number; kind: string }>;
  close(): Promise<void>;
}

/** A station with a kingcard user card holding `gas` m³ in the simulated reader. */
export async function attackBench(gas = 12, o: Parameters<typeof startTestStation>[1] = {}): Promise<AttackBench> {
  const central = await startCentral();
  const st = await startTestStation(central, o);
  const cardNo = freshCardNo();
  const ins = await st.call('POST', '/v1/station/sim/insert', { cardType: '4442' });
  if (ins.status !== 200) throw new Error(`insert: ${JSON.stringify(ins.body)}`);
  const issued = await st.call('POST', '/v1/station/issue', { maker: 'kingcard', cardNo, gas });
  if (issued.status !== 200) throw new Error(`issue: ${JSON.stringify(issued.body)}`);
  return {
    central,
    st,
    cardNo,
    port: new URL(st.url).port,
    async card() {
      const r = await st.call('GET', '/v1/station/card');
      if (r.status !== 200) throw new Error(`card: ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async close() {
      await st.close();
      await central.stop();
      cleanup(central.dataDir);
    },
  };
}
