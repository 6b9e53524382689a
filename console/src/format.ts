/** Display helpers. Volumes stay decimal strings from the API; only the chart turns them into numbers. */
import type { Lang } from './i18n.ts';

export function fmtTime(v: string | number | null | undefined, lang: Lang): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}

export function fmtDuration(ms: number, lang: Lang): string {
  if (!ms) return '0';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} ${lang === 'zh' ? '秒' : 's'}`;
  const m = s / 60;
  if (m < 60) return `${m.toFixed(0)} ${lang === 'zh' ? '分钟' : 'min'}`;
  return `${(m / 60).toFixed(1)} ${lang === 'zh' ? '小时' : 'h'}`;
}

/** A meter time from the wire ("2025-01-01T00:00:00", no zone) is the meter's local time: shown as is. */
export function fmtMeterTime(v: string | null): string {
  return v ? v.replace('T', ' ') : '—';
}
