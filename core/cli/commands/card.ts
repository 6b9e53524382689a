/**
 * `meterhub card …`: a small client of the station's local API, for the docs/station.md walk-through and
 * for trying the station by hand. Every command is one HTTP call to the station; output is Chinese and
 * English (or --json). Errors print their code and both texts and exit 2. The pairing key comes from
 * METERHUB_STATION_KEY and the clerk (营业员) from METERHUB_CLERK.
 */
import type { Command } from 'commander';
import { MeterHubError } from '../../errors/meterhub-error.ts';
import { loadCardClientConfig } from '../../config/load-config.ts';
import { runCli } from '../run-cli.ts';

interface Common {
  station?: string;
  json?: boolean;
}

async function call(o: Common, method: string, path: string, body?: unknown): Promise<Record<string, any>> {
  const config = loadCardClientConfig({ flags: o });
  let res: Response;
  try {
    // The station's proof: the pairing key made by `meterhub station pair`, and the clerk doing the work.
    // Both come from the environment, not the command line, where other users could read them.
    const headers: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
    if (config.stationKey) headers.authorization = `Bearer ${config.stationKey}`;
    if (config.clerk) headers['x-meterhub-clerk'] = config.clerk;
    res = await fetch(config.station.replace(/\/+$/, '') + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new MeterHubError({
      code: 'STATION_UNREACHABLE',
      status: 503,
      zh: `无法连接柜台工作站 ${config.station}`,
      en: `cannot reach the station at ${config.station}`,
    });
  }
  const parsed = (await res.json().catch(() => ({}))) as Record<string, any>;
  if (!res.ok) {
    const e = parsed.error ?? {};
    throw new MeterHubError(
      {
        code: e.code ?? `HTTP_${res.status}`,
        status: res.status,
        zh: e.messageZh ?? String(res.status),
        en: e.messageEn ?? String(res.status),
      },
      e.details,
    );
  }
  return parsed;
}

function print(o: Common, r: Record<string, any>, lines: string[]): void {
  if (o.json) console.log(JSON.stringify(r, null, 2));
  else console.log(lines.filter(Boolean).join('\n'));
}

const done = (r: Record<string, any>) => [
  `${r.message?.zh ?? ''}`,
  `${r.message?.en ?? ''}`,
  r.cardNo !== undefined
    ? `卡号 card no: ${r.cardNo ?? '-'}   气量 gas: ${r.gas ?? '-'}   次数 count: ${r.count ?? '-'}   厂家 maker: ${r.maker ?? '-'}`
    : '',
  r.transactionId ? `交易 transaction: ${r.transactionId} (${r.state})` : '',
  r.standIn ? '(stand-in library / 替身库)' : '',
];

function showCard(r: Record<string, any>): string[] {
  const kindZh: Record<string, string> = {
    user: '用户卡',
    tool: '工具卡',
    blank: '空白卡',
    unknown: '无法识别',
    'blank-or-unknown': '空白或无法识别',
  };
  const out = [
    `卡型 card type: ${r.cardType}   类别 kind: ${kindZh[r.kind] ?? r.kind} (${r.kind})   厂家 maker: ${r.maker ?? '-'}`,
  ];
  if (r.kind === 'user') {
    out.push(
      `卡号 card no: ${r.cardNo}   气量 gas: ${r.gas}   次数 count: ${r.count}   表类型 meter kind: ${r.meterKind === 2 ? '工业 industrial' : '民用 residential'}`,
    );
    const wb = r.writeBack;
    if (wb) {
      out.push(
        `表回写 meter write-back: ${wb.written ? '已回写 written' : '未回写 not written'}   状态 status: ${wb.status}`,
      );
      if (wb.lastCode)
        out.push(`表上代码 meter code ${wb.lastCode.code}: ${wb.lastCode.zh ?? '?'} / ${wb.lastCode.en ?? '?'}`);
      for (const m of wb.months ?? []) out.push(`  ${m.month} 用气 usage ${m.usage} m³`);
    }
    if (r.ledger)
      out.push(
        `台账 ledger: ${r.ledger.known ? `次数 count ${r.ledger.count}, 状态 ${r.ledger.status}${r.ledger.pendingTransactionId ? `, 未确认 pending ${r.ledger.pendingTransactionId}` : ''}` : '无记录 unknown'}`,
      );
  }
  if (r.attemptsLeft !== undefined) out.push(`密码剩余次数 password attempts left: ${r.attemptsLeft}`);
  if (r.standIn) out.push('(stand-in library / 替身库)');
  return out;
}

export function register(program: Command): void {
  const cmd = program.command('card').description('通过柜台工作站操作卡片 / work a card through the local station');
  const common = (c: Command) =>
    c
      .option('--station <url>', 'station URL (or METERHUB_STATION_URL; default http://127.0.0.1:8790)')
      .option('--json', 'JSON output');
  const int = (name: string, v: string) => {
    if (!/^\d+$/.test(v))
      throw new MeterHubError({
        code: 'BAD_INPUT',
        status: 400,
        zh: `${name} 应为整数`,
        en: `${name} must be a whole number`,
      });
    return Number(v);
  };

  common(
    cmd
      .command('insert <type>')
      .description('仿真：插入空白卡或镜像卡 / sim: insert a blank (or imaged) card: 4442 | 102 | cpu'),
  )
    .option('--image <hex>', 'card image hex')
    .option('--psc <hex>', '4442 PSC of the imaged card')
    .action((type: string, o: Common & { image?: string; psc?: string }) =>
      runCli(async () => {
        const r = await call(o, 'POST', '/v1/station/sim/insert', {
          cardType: type,
          ...(o.image ? { image: o.image } : {}),
          ...(o.psc ? { psc: o.psc } : {}),
        });
        print(o, r, [
          `已插入 ${type} 卡 / inserted a ${type} card${o.image ? '' : ' (blank factory card / 出厂空白卡)'}`,
        ]);
      }),
    );

  common(cmd.command('remove').description('仿真：拔卡 / sim: remove the card')).action((o: Common) =>
    runCli(async () => print(o, await call(o, 'POST', '/v1/station/sim/remove', {}), ['已拔卡 / card removed'])),
  );

  common(cmd.command('raw').description('仿真：卡片原始镜像（密码已屏蔽）/ sim: raw image, passwords masked')).action(
    (o: Common) =>
      runCli(async () => {
        const r = await call(o, 'GET', '/v1/station/sim/card');
        print({ ...o, json: true }, r, []);
      }),
  );

  common(cmd.command('show').description('读卡 / read and identify the card')).action((o: Common) =>
    runCli(async () => {
      const r = await call(o, 'GET', '/v1/station/card');
      print(o, r, showCard(r));
    }),
  );

  const issueLike = (name: string, path: string, zh: string) =>
    common(cmd.command(name).description(zh))
      .requiredOption('--maker <id>', 'maker plugin id, e.g. kingcard')
      .requiredOption('--card-no <no>', '卡号 card number')
      .option('--gas <m3>', '气量 gas', '0')
      .option('--meter-kind <1|2>', '1 民用 residential, 2 工业 industrial', '1')
      .action((o: Common & { maker: string; cardNo: string; gas: string; meterKind: string }) =>
        runCli(async () => {
          const r = await call(o, 'POST', path, {
            maker: o.maker,
            cardNo: o.cardNo,
            gas: int('--gas', o.gas),
            meterKind: int('--meter-kind', o.meterKind),
          });
          print(o, r, done(r));
        }),
      );
  issueLike('issue', '/v1/station/issue', '发新卡（空白卡）/ issue a new card on a blank card');
  issueLike('reissue', '/v1/station/reissue', '补卡（次数取台账）/ reissue a lost card (count from the ledger)');

  common(cmd.command('buy <gas>').description('购气 / sell gas')).action((gas: string, o: Common) =>
    runCli(async () => {
      const r = await call(o, 'POST', '/v1/station/purchase', { gas: int('gas', gas) });
      print(o, r, done(r));
    }),
  );
  common(cmd.command('refund').description('退气 / refund')).action((o: Common) =>
    runCli(async () => {
      const r = await call(o, 'POST', '/v1/station/refund', {});
      print(o, r, done(r));
    }),
  );
  common(cmd.command('format').description('擦卡 / format')).action((o: Common) =>
    runCli(async () => {
      const r = await call(o, 'POST', '/v1/station/format', {});
      print(o, r, done(r));
    }),
  );

  common(cmd.command('tool').description('制作工具卡 / make a tool card'))
    .requiredOption('--maker <id>')
    .requiredOption('--tool <kind>', 'e.g. CLEAR')
    .option('--param <k=v...>', 'tool parameters')
    .action((o: Common & { maker: string; tool: string; param?: string[] }) =>
      runCli(async () => {
        const params = Object.fromEntries(
          (o.param ?? []).map((kv) => {
            const i = kv.indexOf('=');
            return [kv.slice(0, i), kv.slice(i + 1)];
          }),
        );
        const r = await call(o, 'POST', '/v1/station/tool', {
          maker: o.maker,
          tool: o.tool,
          ...(o.param ? { params } : {}),
        });
        print(o, r, done(r));
      }),
    );

  common(
    cmd.command('meter').description('仿真：替身表读卡回写 / sim: the stand-in meter takes the gas and writes back'),
  )
    .option('--status <n>', 'meter status', '0')
    .option('--last-code <n>', 'last meter code', '0')
    .option('--month <yyyymm=usage...>', 'monthly usage in 0.01 m³, e.g. 202510=1234')
    .action((o: Common & { status: string; lastCode: string; month?: string[] }) =>
      runCli(async () => {
        const months = (o.month ?? []).map((m) => m.split('=').map((x) => int('--month', x)) as [number, number]);
        const r = await call(o, 'POST', '/v1/station/sim/meter', {
          status: int('--status', o.status),
          lastCode: int('--last-code', o.lastCode),
          months,
        });
        print(o, r, [`替身表已读卡并回写（${r.maker}）/ the stand-in meter took the card and wrote back (${r.maker})`]);
      }),
    );

  common(
    cmd
      .command('recover <transactionId> <action>')
      .description('恢复未完成的写卡 / recover: retry | confirm | rewrite | reverse'),
  )
    .option('--supervisor-token <t>', 'ops token for rewrite/reverse (or METERHUB_SUPERVISOR_TOKEN)')
    .action((transactionId: string, action: string, o: Common & { supervisorToken?: string }) =>
      runCli(async () => {
        const tok = loadCardClientConfig({ flags: o }).supervisorToken;
        const r = await call(o, 'POST', '/v1/station/recover', {
          transactionId,
          action,
          ...(tok ? { supervisorToken: tok } : {}),
        });
        print(o, r, [r.message?.zh ?? '', r.message?.en ?? '']);
      }),
    );

  common(cmd.command('pending').description('未完成的写卡 / unfinished writes')).action((o: Common) =>
    runCli(async () => {
      const r = await call(o, 'GET', '/v1/station/pending');
      print(
        o,
        r,
        r.pending.length
          ? r.pending.map(
              (p: any) => `${p.transactionId} ${p.operation} ${p.cardState} → ${p.recovery.join(', ') || '-'}`,
            )
          : ['没有未完成的写卡 / no unfinished writes'],
      );
    }),
  );
}
