/** Company-wide tool-card kinds (reference/card-domain.md §4.5). Maker-specific kinds start with "X_". */
export const TOOL_KINDS = {
  CLEAR: { zh: '清零卡', en: 'Clearing card', params: [] },
  CHECK: { zh: '检查卡/数据采集卡', en: 'Check / data-collection card', params: [] },
  SETUP: { zh: '设置卡/参数卡', en: 'Setup / parameter card', params: ['alarmGas', 'overdraft', 'limit'] },
  VALVE_OPEN: { zh: '开阀卡', en: 'Valve-open card', params: [] },
  VALVE_CLOSE: { zh: '关阀卡', en: 'Valve-close card', params: [] },
  TRANSFER: { zh: '转移卡/换表卡', en: 'Transfer / meter-swap card', params: ['cardNo'] },
  CLOCK: { zh: '校时卡', en: 'Clock-setting card', params: ['time'] },
  REKEY: { zh: '改密卡', en: 'Key-change card', params: [] },
} as const satisfies Record<string, { zh: string; en: string; params: readonly string[] }>;

export type StandardToolKind = keyof typeof TOOL_KINDS;

export function isToolKindName(kind: string): boolean {
  return kind in TOOL_KINDS || /^X_[A-Z0-9_]{1,30}$/.test(kind);
}
