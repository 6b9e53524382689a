/**
 * One meter's readings as a chart (cumulative volume over the meter's own time) with the readings below.
 * Only the modules the chart uses are taken from ECharts, drawn on canvas (no inline script or eval: the
 * console's CSP holds).
 */
import { ReloadOutlined } from '@ant-design/icons';
import {
  Alert,
  Button,
  Card,
  Col,
  Empty,
  Form,
  InputNumber,
  Row,
  Select,
  Space,
  Statistic,
  Table,
  Tag,
  Typography,
} from 'antd';
import { LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, ApiError, type MeterPoint, type MeterSummary } from '../api.ts';
import { useT } from '../i18n.ts';
import { fmtMeterTime, fmtTime } from '../format.ts';

echarts.use([LineChart, GridComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

function hashMeter(): string | undefined {
  const m = /[?&]meter=([0-9A-Fa-f]{1,32})/.exec(window.location.hash);
  return m?.[1];
}

export function ReadingsPage() {
  const { t, lang } = useT();
  const [meters, setMeters] = useState<MeterSummary[]>([]);
  const [meter, setMeter] = useState<string | undefined>(hashMeter);
  const [limit, setLimit] = useState(500);
  const [points, setPoints] = useState<MeterPoint[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    api<{ meters: MeterSummary[] }>('GET', '/v1/ops/meters?limit=1000').then(
      (r) => {
        setMeters(r.meters);
        setMeter((m) => m ?? r.meters[0]?.meterId);
      },
      (e) => setError(e instanceof ApiError ? e.text(lang) : String(e)),
    );
  }, [lang]);

  const load = useCallback(async () => {
    if (!meter) return;
    setLoading(true);
    try {
      const r = await api<{ readings: MeterPoint[] }>(
        'GET',
        `/v1/ops/meters/${encodeURIComponent(meter)}/readings?limit=${limit}`,
      );
      setPoints(r.readings);
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.text(lang) : String(e));
    } finally {
      setLoading(false);
    }
  }, [meter, limit, lang]);

  useEffect(() => {
    setPoints(null);
    void load();
    if (meter) window.history.replaceState(null, '', `#/readings?meter=${meter}`);
  }, [load, meter]);

  const series = useMemo(
    () =>
      (points ?? [])
        .filter((p) => p.cumulative !== null)
        .map((p) => [p.meterTime ?? p.receivedAt, Number(p.cumulative)] as [string, number]),
    [points],
  );
  const latest = [...(points ?? [])].reverse().find((p) => p.cumulative !== null);
  const first = (points ?? []).find((p) => p.cumulative !== null);
  // Decimal strings from the API: subtracted exactly, never through floats.
  const usage = latest && first ? decimalSub(latest.cumulative!, first.cumulative!) : '—';

  const option = useMemo(
    () => ({
      grid: { left: 64, right: 24, top: 24, bottom: 64 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', name: 'm³', scale: true },
      dataZoom: [{ type: 'inside' }, { type: 'slider' }],
      series: [
        {
          name: t('rd.cumulative'),
          type: 'line',
          showSymbol: series.length < 60,
          data: series,
          areaStyle: { opacity: 0.08 },
        },
      ],
      animation: false,
    }),
    [series, t],
  );

  return (
    <Card
      title={t('rd.title')}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading} disabled={!meter}>
          {t('common.refresh')}
        </Button>
      }
    >
      <Form layout="inline" style={{ marginBottom: 16 }}>
        <Form.Item label={t('rd.meter')}>
          <Select
            showSearch
            style={{ width: 340 }}
            placeholder={t('rd.pickMeter')}
            value={meter}
            onChange={setMeter}
            data-testid="meter-select"
            options={meters.map((m) => ({
              value: m.meterId,
              label: `${m.meterId} · ${m.maker} · ${t('rd.readingsCount', { n: m.readings })}`,
            }))}
          />
        </Form.Item>
        <Form.Item label={t('rd.points')}>
          <InputNumber min={10} max={5000} step={100} value={limit} onChange={(v) => setLimit(v ?? 500)} />
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      {!meter ? (
        <Empty description={t('rd.noMeter')} />
      ) : points && !points.length ? (
        <Empty description={t('rd.noData')} />
      ) : (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          <Row gutter={16}>
            <Col span={6}>
              <Statistic title={t('rd.latest')} value={latest?.cumulative ?? '—'} groupSeparator="" />
            </Col>
            <Col span={6}>
              <Statistic title={t('rd.usage')} value={usage} groupSeparator="" />
            </Col>
            <Col span={6}>
              <Statistic title={t('rd.count')} value={points?.length ?? 0} />
            </Col>
            <Col span={6}>
              <Statistic title={t('rd.lastHeard')} value={latest ? fmtTime(latest.receivedAt, lang) : '—'} />
            </Col>
          </Row>
          <div data-testid="reading-chart">
            <ReactEChartsCore
              echarts={echarts}
              option={option}
              notMerge
              style={{ height: 360 }}
              showLoading={loading && !points}
            />
          </div>
          <Table<MeterPoint>
            rowKey="id"
            size="small"
            dataSource={[...(points ?? [])].reverse()}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            columns={[
              { title: t('gw.meterTime'), dataIndex: 'meterTime', render: fmtMeterTime },
              {
                title: t('rd.cumulative'),
                dataIndex: 'cumulative',
                align: 'right',
                render: (v: string | null) => v ?? '—',
              },
              { title: t('rd.source'), dataIndex: 'source', render: (s: string) => <Tag>{s}</Tag> },
              { title: t('rd.valve'), dataIndex: 'valve', render: (v: string | null) => v ?? '—' },
              {
                title: t('rd.lowBattery'),
                dataIndex: 'lowBattery',
                render: (b: boolean) => (b ? <Tag color="red">{t('common.yes')}</Tag> : t('common.no')),
              },
              {
                title: t('rd.time'),
                dataIndex: 'receivedAt',
                render: (v: string) => <Typography.Text type="secondary">{fmtTime(v, lang)}</Typography.Text>,
              },
            ]}
          />
        </Space>
      )}
    </Card>
  );
}

/** a - b on decimal strings, exact (BigInt at the larger of the two scales). */
export function decimalSub(a: string, b: string): string {
  const scale = Math.max((a.split('.')[1] ?? '').length, (b.split('.')[1] ?? '').length);
  const scaled = (s: string) => {
    const neg = s.startsWith('-');
    const [i = '0', f = ''] = s.replace('-', '').split('.');
    const v = BigInt(i + f.padEnd(scale, '0'));
    return neg ? -v : v;
  };
  const d = scaled(a) - scaled(b);
  const neg = d < 0n;
  const digits = (neg ? -d : d).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = scale ? `.${digits.slice(digits.length - scale)}` : '';
  return `${neg ? '-' : ''}${int}${frac}`;
}
