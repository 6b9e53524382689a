/** One line of a conformance report. */
import type { CardType } from '../cards/card-types.ts';

export type CheckGroup = 'core' | 'extension';
export type CheckStatus = 'pass' | 'fail' | 'missing';

/** What kind of failure, so ops (and tests) can tell a crash from a wrong answer. */
export type Finding =
  | 'crash'
  | 'hang'
  | 'protocol'
  | 'wrong-result'
  | 'output-length'
  | 'output-form'
  | 'not-terminated'
  | 'overrun'
  | 'false-claim'
  | 'accepts-bad-input'
  | 'nondeterministic'
  | 'missing-function'
  /** Another maker's library could not be loaded or asked for a card: a check that could not be made. */
  | 'peer-unavailable';

export interface CheckResult {
  id: string;
  group: CheckGroup;
  cardType?: CardType;
  zh: string;
  en: string;
  status: CheckStatus;
  finding?: Finding;
  detail?: string;
}

export interface ConformanceReport {
  library: string;
  cardTypes: CardType[];
  strict: boolean;
  interfaceVersion?: string;
  functions: string[];
  missing: string[];
  checks: CheckResult[];
  coreConformant: boolean;
  extensionsComplete: boolean;
  passed: boolean;
  driverRestarts: number;
}
