/**
 * `meterhub conformance --lib <path> [--card 4442|102|cpu] [--strict] [--json]`: how ops accept a maker's
 * library. Exit 0 only when every core check passes (and, with --strict, every extension).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CARD_TYPES, type CardType } from '../../cards/card-types.ts';
import { runConformance } from '../../conformance/kit.ts';
import { formatCheck, formatReport } from '../../conformance/report-text.ts';
import { bundledPeers } from '../../conformance/stand-in-peers.ts';
import { BadInput } from '../../errors/common-errors.ts';
import { runCli } from '../run-cli.ts';

interface Opts {
  lib: string;
  card?: string[];
  strict?: boolean;
  json?: boolean;
  against?: string[];
  peers: boolean;
  com: string;
  timeout: string;
  execPath?: string;
}

export function register(program: Command): void {
  program
    .command('conformance')
    .description('一致性测试：按统一接口规范检查厂家动态库 / check a maker library against the unified interface spec')
    .requiredOption('--lib <path>', 'library (DLL / .so) to check')
    .option('--card <type...>', 'card types to check (4442, 102, cpu); default: every complete type')
    .option('--strict', 'extensions are required too')
    .option('--json', 'JSON report')
    .option('--against <lib...>', "other makers' libraries whose cards must be refused")
    .option('--no-peers', "do not check against the bundled plugins' libraries")
    .option('--com <n>', 'CPU cards: reader port with a blank card', '0')
    .option('--timeout <ms>', 'per-call timeout', '3000')
    .option('--exec-path <path>', 'driver host runtime (e.g. a 32-bit node.exe)')
    .action((o: Opts) =>
      runCli(async () => {
        const cards = o.card?.map((c) => {
          if (!(CARD_TYPES as readonly string[]).includes(c))
            throw BadInput({ field: 'card' }, { zh: `未知卡型 ${c}`, en: `unknown card type ${c}` });
          return c as CardType;
        });
        const library = resolve(o.lib);
        const against = [
          ...(o.peers ? bundledPeers(library) : []),
          ...(o.against ?? []).map((l, i) => ({ name: `against-${i + 1}`, library: resolve(l) })),
        ];
        const report = await runConformance({
          library,
          ...(cards ? { cardTypes: cards } : {}),
          strict: !!o.strict,
          against,
          com: Number(o.com),
          callTimeoutMs: Number(o.timeout),
          ...(o.execPath ? { execPath: o.execPath } : {}),
          ...(o.json ? {} : { onCheck: (c) => console.log(formatCheck(c)) }),
        });
        if (o.json) console.log(JSON.stringify(report, null, 2));
        else console.log('\n' + formatReport(report).split('\n').slice(-4).join('\n'));
        process.exitCode = report.passed ? 0 : 1;
      }),
    );
}
